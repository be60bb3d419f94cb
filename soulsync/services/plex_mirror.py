"""Mirroring a playlist on Plex without ever touching a playlist the user made.

A title is no identity on Plex (reference ``service-apis.md`` section 3.6):
``/playlists`` lists every playlist of the account, smart ones and other media
types included, and its ``title`` filter is a partial match. So a Plex
playlist is SoulSync's own only when all of these hold:

1. its rating key is the one the store remembers from SoulSync's own
   ``POST /playlists`` (with the same ``guid``), or, when the store has lost
   it, the marker below is in its summary;
2. its summary holds the marker SoulSync wrote right after creating it
   (:func:`marker`), unless the server was seen not to keep summaries;
3. it is a regular (``smart`` false) ``audio`` playlist with exactly the
   title SoulSync gave it.

Only such a playlist is ever extended, deleted or re-created. A playlist of
the user with the mirrored playlist's title stays as it is, and SoulSync's
own goes under a distinct title (``"<name> (SoulSync)"``); the result says so.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from soulsync.core import failpoints
from soulsync.core.store import Store
from soulsync.core.store_records import PlexPlaylistRecord
from soulsync.services.errors import ServiceError
from soulsync.services.plex import SERVICE, PlexClient, PlexPlaylist

log = logging.getLogger(__name__)

MARKER_TAG = "soulsync-mirror"
DISTINCT_SUFFIX = "SoulSync"
MAX_TITLE_TRIES = 5
"""Distinct titles tried (``"<name> (SoulSync)"``, ``"<name> (SoulSync 2)"``...) before giving up."""


def marker(playlist_id: str) -> str:
    """The tag written into the summary of the Plex playlist that mirrors ``playlist_id``."""
    return f"[{MARKER_TAG} {playlist_id}]"


def summary_text(name: str, playlist_id: str) -> str:
    """The whole summary SoulSync gives its playlist: a sentence for people, then the marker."""
    return (f"Mirror of the playlist \u201c{name}\u201d, kept in step by SoulSync: changes made here are "
            f"replaced on the next sync. {marker(playlist_id)}")


def candidate_titles(name: str) -> list[str]:
    """The titles SoulSync may give its playlist, in order of preference."""
    return [name] + [f"{name} ({DISTINCT_SUFFIX}{'' if n == 1 else f' {n}'})" for n in range(1, MAX_TITLE_TRIES)]


def _same_title(a: str, b: str) -> bool:
    """Titles a person would take for the same playlist (so SoulSync does not add a look-alike)."""
    return a.strip().casefold() == b.strip().casefold()


def is_own(playlist: PlexPlaylist, playlist_id: str, title: str, need_marker: bool = True) -> bool:
    """Whether ``playlist`` passes checks 2 and 3 of the module docstring for a mirror titled ``title``."""
    return (not playlist.smart and playlist.playlist_type == "audio" and playlist.title == title
            and (not need_marker or marker(playlist_id) in playlist.summary))


@dataclass
class MirrorResult:
    """What mirroring one playlist did."""

    name: str
    """The mirrored playlist's name."""
    title: str
    """The title of SoulSync's Plex playlist (the name, or a distinct title beside the user's own)."""
    action: str
    """``created``, ``appended``, ``recreated``, ``unchanged`` or ``empty`` (no track of it is in the library)."""
    size: int = 0
    rating_key: str | None = None
    user_playlist: str | None = None
    """The title of the user's own playlist that was left untouched, when one has the mirrored name."""

    @property
    def message(self) -> str:
        """One or two sentences for the user."""
        words = {"created": "created", "recreated": "replaced", "appended": "extended",
                 "unchanged": "already up to date"}
        if self.action == "empty":
            text = f"Plex playlist {self.title!r} not created (no track of it is in the library)"
        else:
            text = f"Plex playlist {self.title!r} {words.get(self.action, self.action)} ({self.size} tracks)"
        if self.user_playlist is not None:
            text += (f". Your own Plex playlist {self.user_playlist!r} (not made by SoulSync) was left "
                     "untouched")
        return text


class PlaylistMirror:
    """Mirrors playlists on one Plex server, remembering SoulSync's own playlists in the store."""

    def __init__(self, client: PlexClient, store: Store) -> None:
        self.client = client
        self.store = store

    def mirror(self, playlist_id: str, name: str, rating_keys: list[str]) -> MirrorResult:
        """Make SoulSync's Plex playlist for ``playlist_id`` hold exactly ``rating_keys`` in order (duplicates
        dropped): extended when it holds a prefix of them, re-created when it differs otherwise, created
        when there is none. Never changes a playlist that is not SoulSync's own (module docstring)."""
        wanted = list(dict.fromkeys(str(k) for k in rating_keys if str(k).strip()))
        server_id = self.client.machine_identifier()
        own = self._remembered(server_id, playlist_id, name)
        if own is not None:
            title = own.title
            user_playlist = name if title != name and self._taken_by_user(name, playlist_id) else None
        else:
            own, title, user_playlist = self._find_or_choose_title(server_id, playlist_id, name)
        if not wanted:
            return MirrorResult(name, title, "empty", 0, own.rating_key if own else None, user_playlist)
        if own is None:
            created = self._create(server_id, playlist_id, name, title, wanted)
            return MirrorResult(name, title, "created", len(wanted), created.rating_key, user_playlist)
        have = self.client.playlist_items(own.rating_key)
        if have == wanted:
            return MirrorResult(name, title, "unchanged", len(have), own.rating_key, user_playlist)
        if have and wanted[:len(have)] == have:
            self.client.append_to_playlist(own.rating_key, wanted[len(have):])
            return MirrorResult(name, title, "appended", len(wanted), own.rating_key, user_playlist)
        self.client.delete_playlist(own.rating_key)
        self.store.forget_plex_playlist(server_id, playlist_id)
        created = self._create(server_id, playlist_id, name, title, wanted)
        return MirrorResult(name, title, "recreated", len(wanted), created.rating_key, user_playlist)

    def _remembered(self, server_id: str, playlist_id: str, name: str) -> PlexPlaylist | None:
        """The remembered playlist when it is still SoulSync's (marked now if it was not yet); otherwise the
        record is forgotten (deleted on the server, or made the user's by a new title or a removed marker)."""
        record = self.store.plex_playlist(server_id, playlist_id)
        if record is None:
            return None
        current = self.client.playlist(record.rating_key)
        if (current is not None and (not record.guid or current.guid == record.guid)
                and is_own(current, playlist_id, record.title, need_marker=record.marked)):
            if not record.marked:  # a run stopped before marking it, or the server does not keep summaries
                try:
                    self._mark(record, name, playlist_id)
                except ServiceError as exc:  # still known by its rating key; marking waits for the next sync
                    log.info("Plex: could not mark playlist %s: %s", record.rating_key, exc)
            return current
        self.store.forget_plex_playlist(server_id, playlist_id)
        return None

    def _taken_by_user(self, title: str, playlist_id: str) -> bool:
        return any(_same_title(p.title, title) and not is_own(p, playlist_id, title)
                   for p in self.client.playlists(title=title))

    def _find_or_choose_title(self, server_id: str, playlist_id: str,
                              name: str) -> tuple[PlexPlaylist | None, str, str | None]:
        """SoulSync's playlist found by its marker (the store lost it), or the first title free of the
        user's playlists; and the user's playlist called ``name``, if any."""
        user_playlist: str | None = None
        for title in candidate_titles(name):
            same = [p for p in self.client.playlists(title=title) if _same_title(p.title, title)]
            mine = [p for p in same if is_own(p, playlist_id, title)]
            if mine:
                self.store.save_plex_playlist(PlexPlaylistRecord(server_id, playlist_id, mine[0].rating_key,
                                                                 mine[0].guid, title))
                return mine[0], title, user_playlist
            if not same:
                return None, title, user_playlist
            if title == name:
                user_playlist = name
        raise ServiceError(SERVICE, f"playlists called {name!r} and {candidate_titles(name)[-1]!r} already exist on "
                                    "Plex and were not made by SoulSync; rename one to let SoulSync mirror this "
                                    "playlist")

    def _create(self, server_id: str, playlist_id: str, name: str, title: str, wanted: list[str]) -> PlexPlaylist:
        """Create the playlist, remember it at once (a run stopped before the marker is written still knows
        it by its rating key), then mark it; a playlist whose marking fails is removed again."""
        created = self.client.create_playlist(title, wanted)
        record = PlexPlaylistRecord(server_id, playlist_id, created.rating_key, created.guid, created.title,
                                    marked=False)
        self.store.save_plex_playlist(record)
        failpoints.hit("plex.playlist_created")
        try:
            self._mark(record, name, playlist_id)
        except ServiceError:
            self.client.delete_playlist(created.rating_key)
            self.store.forget_plex_playlist(server_id, playlist_id)
            raise
        return created

    def _mark(self, record: PlexPlaylistRecord, name: str, playlist_id: str) -> None:
        """Write the marker into the playlist's summary and remember whether the server kept it."""
        self.client.edit_playlist_summary(record.rating_key, summary_text(name, playlist_id))
        reread = self.client.playlist(record.rating_key)
        if reread is not None and marker(playlist_id) in reread.summary:
            self.store.save_plex_playlist(dataclasses.replace(record, marked=True))
