"""The simulated Plex server's playlists as a world model (reference section 3.6), without HTTP.

``GET /playlists`` lists every playlist of the account (regular and smart, every ``playlistType``), and
the simulation starts with playlists the user made (see :data:`SEEDED_PLAYLISTS`) whose titles equal or
contain the title of a Spotify playlist of the catalog, so that matching by title alone fails here as it
would against a real server. Items are ``(playlistItemID, rating key)``; plexapi adds, removes and moves
them by item id (reference 3.3).
"""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

from soulsync.sim.plex_library import BASE_TIME, PlexError, PlexLibrary


@dataclass
class PPlaylist:
    """A playlist of the account, regular or smart, of any ``playlistType``."""

    rk: int
    title: str
    guid: str
    added_at: int
    updated_at: int
    items: list[tuple[int, int]] = field(default_factory=list)
    """(playlistItemID, track rating key) in order."""
    smart: bool = False
    playlist_type: str = "audio"
    summary: str = ""
    content: str | None = None
    """A smart playlist's filter (a ``library://`` URI; reference section 3.4, exact text unverified)."""


@dataclass(frozen=True)
class SeededPlaylist:
    """A playlist the simulated user made in Plex before SoulSync ever ran."""

    title: str
    smart: bool = False
    playlist_type: str = "audio"
    items: int = 0
    """How many library tracks it holds (picked with the catalog's seed)."""
    summary: str = ""


SEEDED_PLAYLISTS: tuple[SeededPlaylist, ...] = (
    SeededPlaylist("Chill — Rainy Days", items=7, summary="My own rainy-day picks"),
    SeededPlaylist("Chill — Rainy Days (smart)", smart=True, items=12),
    SeededPlaylist("Late Night Drive", smart=True, items=9),
    SeededPlaylist("Road Trip '19 — the long way", items=5),
    SeededPlaylist("Chill — Rainy Days", playlist_type="video"),
)
"""The user's own playlists (reference section 3.6): a regular and a video playlist with exactly the title of
the catalog's Spotify playlist "Chill — Rainy Days", smart ones whose titles equal ("Late Night Drive") or
contain one, and a regular one whose title contains "Road Trip '19". Seeded only when the catalog has a
Spotify playlist whose title it equals or contains."""


@dataclass(frozen=True)
class PlaylistInfo:
    """A snapshot of one simulated playlist, for tests."""

    rating_key: str
    title: str
    smart: bool
    playlist_type: str
    summary: str
    item_keys: list[str]


class PlexPlaylists(PlexLibrary):
    """The playlists of :class:`~soulsync.sim.plex.PlexSim`'s account (a mixin: the server calls
    :meth:`_init_playlists` after :meth:`_init_library`)."""

    def _init_playlists(self, seed_playlists: bool) -> None:
        self._playlists: dict[int, PPlaylist] = {}
        self._next_item_id = 1
        if seed_playlists:
            self._seed_playlists()

    def _seed_playlists(self) -> None:
        """The user's own playlists (:data:`SEEDED_PLAYLISTS`), made before SoulSync ran, with tracks of their own."""
        spotify_titles = [p.name for p in self.catalog.playlists]
        rng = random.Random(f"plex-playlists-{self.catalog.seed}")
        keys = sorted(self._tracks)
        for n, seeded in enumerate(SEEDED_PLAYLISTS):
            if not any(title in seeded.title for title in spotify_titles):
                continue
            when = BASE_TIME - 86400 * (30 + n)
            guid = f"com.plexapp.agents.none://{uuid.UUID(int=rng.getrandbits(128))}"
            p = PPlaylist(self._new_key(), seeded.title, guid, when, when, smart=seeded.smart,
                           playlist_type=seeded.playlist_type, summary=seeded.summary)
            if seeded.playlist_type == "audio":
                p.items = [(self._item_id(), k) for k in rng.sample(keys, min(seeded.items, len(keys)))]
            if seeded.smart:
                p.content = (f"library://{self.section_uuid}/directory/%2Flibrary%2Fsections%2F{self.section_key}"
                             f"%2Fall%3Ftype%3D10%26sort%3DaddedAt%253Adesc%26limit%3D{seeded.items}")
            self._playlists[p.rk] = p

    def playlist_titles(self) -> list[str]:
        """Titles of every playlist, in creation order (duplicates included)."""
        with self._lock:
            return [p.title for p in self._playlists.values()]

    def playlists(self) -> list[PlaylistInfo]:
        """A snapshot of every playlist, in creation order."""
        with self._lock:
            return [PlaylistInfo(str(p.rk), p.title, p.smart, p.playlist_type, p.summary,
                                 [str(rk) for _, rk in p.items if rk in self._tracks])
                    for p in self._playlists.values()]

    def playlist_rating_keys(self, title: str, smart: bool = False, playlist_type: str = "audio") -> list[str]:
        """Track rating keys, in order, of the one playlist called exactly ``title`` of that kind.

        Raises KeyError when there is none and ValueError when there are several."""
        found = [p for p in self.playlists()
                 if p.title == title and p.smart == smart and p.playlist_type == playlist_type]
        if not found:
            raise KeyError(title)
        if len(found) > 1:
            raise ValueError(f"{len(found)} playlists are called {title!r}")
        return found[0].item_keys

    def playlist(self, rk: int, regular: bool = False) -> PPlaylist:
        """A playlist; ``regular``: 400 for a smart one, whose items come from its filter
        (plexapi refuses to add, remove or move them client-side; what PMS answers is unverified)."""
        p = self._playlists.get(rk)
        if p is None:
            raise PlexError(404)
        if regular and p.smart:
            raise PlexError(400)
        return p

    def uri_keys(self, uri: str) -> list[int]:
        prefix = f"server://{self.machine_identifier}/com.plexapp.plugins.library/library/metadata/"
        if not uri.startswith(prefix):
            raise PlexError(400)
        keys = []
        for part in uri[len(prefix):].split(","):
            if part.strip().isdigit() and int(part) in self._tracks:
                keys.append(int(part))
        return keys

    def _item_id(self) -> int:
        value = self._next_item_id
        self._next_item_id += 1
        return value

    def create_playlist(self, title: str, uri: str) -> PPlaylist:
        """A regular audio playlist of the library tracks a ``server://`` URI names (400 when none)."""
        keys = self.uri_keys(uri)
        if not keys:
            raise PlexError(400)
        now = int(self.clock())
        p = PPlaylist(self._new_key(), title, f"com.plexapp.agents.none://{uuid.uuid4()}", now, now)
        p.items = [(self._item_id(), k) for k in keys]
        self._playlists[p.rk] = p
        return p

    def edit_playlist(self, p: PPlaylist, title: str | None, summary: str | None) -> None:
        if title is not None:
            if not title.strip():
                raise PlexError(400)
            p.title = title
        if summary is not None:
            p.summary = summary
        p.updated_at = int(self.clock())

    def add_to_playlist(self, p: PPlaylist, uri: str) -> int:
        """Append the library tracks a URI names; returns how many were added."""
        keys = self.uri_keys(uri)
        p.items.extend((self._item_id(), k) for k in keys)
        p.updated_at = int(self.clock())
        return len(keys)

    def remove_from_playlist(self, p: PPlaylist, item: int) -> None:
        before = len(p.items)
        p.items = [(iid, rk) for iid, rk in p.items if iid != item]
        if len(p.items) == before:
            raise PlexError(404)
        p.updated_at = int(self.clock())

    def move_in_playlist(self, p: PPlaylist, item: int, after: int | None) -> None:
        """Move an item first, or right after the item ``after``."""
        moving = [entry for entry in p.items if entry[0] == item]
        if not moving:
            raise PlexError(404)
        rest = [entry for entry in p.items if entry[0] != item]
        position = 0
        if after is not None:
            ids = [iid for iid, _ in rest]
            if after not in ids:
                raise PlexError(400)
            position = ids.index(after) + 1
        p.items = rest[:position] + moving + rest[position:]
        p.updated_at = int(self.clock())

    def delete_playlist(self, rk: int) -> None:
        if self._playlists.pop(rk, None) is None:
            raise PlexError(404)
