"""The simulated Spotify's world: catalog, playlists, Liked Songs and search, without HTTP.

State and rules only; :mod:`soulsync.sim.spotify` parses the Web API's requests and renders the
answers (:mod:`soulsync.sim.spotify_render`). The rules are cited where they are applied
(reference ``service-apis.md`` 2.4 and 2.5: the February 2026 Web API changelog and its
migration guide for development mode).

Besides what the real API can do, the world changes at run time the way Spotify changes under
a user (for the demo and for tests of scheduled syncs): :meth:`SpotifyWorld.publish_release`
puts out a new album, EP or single of an artist, and :meth:`SpotifyWorld.add_tracks` /
:meth:`SpotifyWorld.remove_tracks` change a playlist's contents, bumping its ``snapshot_id``
as every change does on Spotify.

One playlist (the second of the catalog, when it has 12+ tracks) also holds a local file, an
unavailable (``null``) track and a podcast episode, as real playlists do; they count in its
``total``.
"""
from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from soulsync.core.models import Album, AlbumType, Artist, Playlist, Track
from soulsync.sim.catalog import IMAGE_PATH, SPOTIFY_OWNED_PREFIX, Catalog, strip_accents

QUOTA_MODES = ("development", "extended")
_BASE62 = re.compile(r"^[0-9A-Za-z]+$")
_BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SEARCH_TOKEN = re.compile(r'(\w+):"([^"]*)"|(\w+):(\S+)|"([^"]*)"|(\S+)')
_SEARCH_FIELDS = {"track", "artist", "album", "year", "isrc", "genre"}
_EPOCH = datetime(2019, 1, 1, tzinfo=timezone.utc).timestamp()
_GROUP_ORDER = {"album": 0, "single": 1, "compilation": 2, "appears_on": 3}
RELEASE_KINDS = {"album": AlbumType.ALBUM, "ep": AlbumType.SINGLE, "single": AlbumType.SINGLE,
                 "compilation": AlbumType.COMPILATION}
"""Kinds :meth:`SpotifyWorld.publish_release` takes. The Web API has no EP type: an EP's
``album_type`` is ``single`` (Web API reference, Album object)."""
PUBLISHED_LABEL = "Sim Fresh Releases"
_ISRC_REGISTRANT = "QZS1M"
"""Country ``QZ`` and registrant ``S1M`` of the ISRCs of published tracks (CC + 3 + YY + 5)."""


class ApiError(Exception):
    """Raised by the world's rules to answer with Spotify's error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Entry:
    """One entry of a playlist."""

    kind: str
    """``track``, ``local``, ``null`` or ``episode``."""
    track: Track | None
    added_at: str
    added_by: str


@dataclass
class PlaylistState:
    """A playlist as the service holds it: its metadata and entries."""

    meta: Playlist
    entries: list[Entry]
    version: int = 1
    followers: int = 0


def iso(ts: float) -> str:
    """An API timestamp, ``2026-03-09T12:00:00Z``."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def stable_int(text: str, modulo: int) -> int:
    """A number in ``range(modulo)`` that always comes out the same for ``text``."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % modulo


def fold(text: str) -> str:
    """Search folding: accents stripped, case folded."""
    return strip_accents(text).casefold()


def is_base62(value: str) -> bool:
    """Whether ``value`` is made of base-62 characters (as every Spotify id is)."""
    return bool(_BASE62.match(value))


def check_id(value: str) -> str:
    """A base-62 id, or the Web API's 400."""
    if not is_base62(value):
        raise ApiError(400, "Invalid base62 id")
    return value


def new_id() -> str:
    """A fresh 22-character base-62 id."""
    return "".join(secrets.choice(_BASE62_ALPHABET) for _ in range(22))


def new_snapshot(version: int) -> str:
    """A ``snapshot_id`` as Spotify makes them: base64 of the version and a random part."""
    return base64.b64encode(f"{version},{secrets.token_hex(16)}".encode()).decode()


class SpotifyWorld:
    """Catalog indexes, playlists, Liked Songs and search of the simulated Spotify.

    ``quota`` is the app's mode (``development`` or ``extended``), which decides what may be read;
    ``clock`` gives the time of changes (``added_at``, release dates).
    """

    def __init__(self, catalog: Catalog, quota: str, clock: Callable[[], float]) -> None:
        if quota not in QUOTA_MODES:
            raise ValueError(f"unknown quota mode {quota!r}; expected one of {QUOTA_MODES}")
        self.catalog = catalog
        self.quota = quota
        self.clock = clock
        self.user_id = catalog.user_id
        self.lock = threading.Lock()
        self.tracks = {t.spotify_id: t for t in catalog.tracks}
        self.albums = {a.spotify_id: a for a in catalog.albums}
        self.artists = {a.spotify_id: a for a in catalog.artists}
        self._artist_albums = self._index_artist_albums()
        self.playlists: dict[str, PlaylistState] = {}
        self.playlist_order: list[str] = []
        for index, playlist in enumerate(catalog.playlists):
            self._add_playlist_state(playlist, odd_entries=index == 1)
        self.liked = [(t, iso(self._liked_time(i))) for i, t in enumerate(catalog.liked)]
        self._search_rows: list[tuple[str, str, str, Track]] | None = None
        self._isrc_serial = 0

    @property
    def development(self) -> bool:
        """True in development mode (the default), False for an extended-quota app."""
        return self.quota == "development"

    # ------------------------------------------------------------ set-up
    @staticmethod
    def _liked_time(index: int) -> float:
        return _EPOCH + 5 * 365 * 86400 - index * 86400 * 0.7

    def _add_playlist_state(self, playlist: Playlist, odd_entries: bool) -> None:
        meta = Playlist(id=playlist.id, name=playlist.name, owner=playlist.owner, snapshot_id=playlist.snapshot_id,
                        image_url=playlist.image_url, description=playlist.description,
                        collaborative=playlist.collaborative, public=playlist.public)
        collaborators = [playlist.owner, self.user_id] if playlist.collaborative else [playlist.owner]
        entries = [Entry("track", t, iso(_EPOCH + i * 86400 * 1.3 + stable_int(playlist.id, 86400)),
                         collaborators[i % len(collaborators)]) for i, t in enumerate(playlist.tracks)]
        if odd_entries and len(entries) >= 12:
            when = entries[2].added_at
            entries.insert(3, Entry("local", None, when, playlist.owner))
            entries.insert(7, Entry("null", None, when, playlist.owner))
            entries.insert(10, Entry("episode", None, when, playlist.owner))
        self.playlists[playlist.id] = PlaylistState(meta, entries, followers=stable_int(playlist.id, 5000))
        self.playlist_order.append(playlist.id)

    def _index_artist_albums(self) -> dict[str, list[tuple[Album, str]]]:
        index: dict[str, list[tuple[Album, str]]] = {}
        for album in self.catalog.albums:
            for aid, group in _album_groups(album):
                index.setdefault(aid, []).append((album, group))
        for albums in index.values():
            _sort_discography(albums)
        return index

    # ------------------------------------------------------------ playlists: reading
    def playlist_total(self, playlist_id: str) -> int:
        """Entries of a playlist as the API counts them (local, null and episode entries included)."""
        return len(self.playlists[playlist_id].entries)

    def playlist_track_ids(self, playlist_id: str) -> list[str]:
        """Spotify ids of the real tracks of a playlist, in order."""
        return [e.track.spotify_id or "" for e in self.playlists[playlist_id].entries
                if e.kind == "track" and e.track is not None]

    def state(self, playlist_id: str) -> PlaylistState:
        """A playlist the Web API may show this app, or its 404."""
        state = self.playlists.get(check_id(playlist_id))
        if state is None:
            raise ApiError(404, "Resource not found")
        if self.development and state.meta.id.startswith(SPOTIFY_OWNED_PREFIX):
            # Spotify-owned editorial/algorithmic playlists: unavailable since 2024-11-27 (blog "Introducing some
            # changes to our Web API"), observed as 404 (fondberg/spotcast PR #611, fiso64/sockseek issue #149).
            raise ApiError(404, "Resource not found")
        return state

    def visible_playlists(self, scopes: frozenset[str]) -> list[PlaylistState]:
        """The user's playlists a token with ``scopes`` lists, in the user's order."""
        with self.lock:
            return [self.playlists[pid] for pid in self.playlist_order if self._visible(self.playlists[pid], scopes)]

    def _visible(self, state: PlaylistState, scopes: frozenset[str]) -> bool:
        p = state.meta
        if p.owner != self.user_id and not p.collaborative:
            return True  # followed playlists are listed (their items are another matter)
        if p.collaborative:
            return "playlist-read-collaborative" in scopes
        return bool(p.public) or "playlist-read-private" in scopes

    def own_or_collaborative(self, state: PlaylistState) -> bool:
        return state.meta.owner == self.user_id or state.meta.collaborative

    def readable(self, state: PlaylistState) -> bool:
        """Whether the items may be read: in development mode only of playlists the user owns or collaborates
        on (migration guide, February 2026; reference 2.5)."""
        return not self.development or self.own_or_collaborative(state)

    # ------------------------------------------------------------ playlists: changing
    def create_playlist(self, name: str, public: bool, collaborative: bool, description: str) -> PlaylistState:
        """A new empty playlist of the user's, first in their list (as Spotify puts it)."""
        if collaborative and public:
            raise ApiError(400, "You cannot create a public collaborative playlist")
        pid = new_id()
        meta = Playlist(id=pid, name=name, owner=self.user_id, snapshot_id=new_snapshot(1),
                        image_url=f"/images/{pid}.jpg", description=description,
                        collaborative=collaborative, public=public)
        with self.lock:
            state = self.playlists[pid] = PlaylistState(meta, [])
            self.playlist_order.insert(0, pid)
        return state

    def add_tracks(self, playlist_id: str, track_ids: Sequence[str], position: int | None = None,
                   added_by: str | None = None) -> str:
        """Insert catalog tracks at ``position`` (None: at the end); returns the new ``snapshot_id``.

        ``added_by`` defaults to the playlist's owner (a change made on Spotify, not by this app).
        An unknown id is the API's 400 "Payload contains a non-existing ID"."""
        state = self.playlists[playlist_id]
        missing = [tid for tid in track_ids if tid not in self.tracks]
        if missing:
            raise ApiError(400, "Payload contains a non-existing ID")
        now = iso(self.clock())
        who = added_by or state.meta.owner
        new = [Entry("track", self.tracks[tid], now, who) for tid in track_ids]
        with self.lock:
            at = len(state.entries) if position is None else max(0, min(position, len(state.entries)))
            state.entries[at:at] = new
            return self._changed(state)

    def remove_tracks(self, playlist_id: str, track_ids: Iterable[str]) -> str:
        """Remove every occurrence of these tracks (as the API's DELETE without positions does);
        returns the new ``snapshot_id``."""
        state = self.playlists[playlist_id]
        gone = set(track_ids)
        with self.lock:
            state.entries = [e for e in state.entries
                             if not (e.kind == "track" and e.track is not None and e.track.spotify_id in gone)]
            return self._changed(state)

    @staticmethod
    def _changed(state: PlaylistState) -> str:
        """Every change makes a new ``snapshot_id`` (Web API reference: Playlists, ``snapshot_id``)."""
        state.version += 1
        state.meta.snapshot_id = new_snapshot(state.version)
        return state.meta.snapshot_id

    # ------------------------------------------------------------ releases
    def artist_albums(self, artist_id: str, groups: set[str]) -> list[tuple[Album, str]]:
        """An artist's releases in ``groups`` with the group of each: by group (albums, singles,
        compilations, appearances), newest first within each."""
        with self.lock:
            return [(a, g) for a, g in self._artist_albums.get(artist_id, []) if g in groups]

    def publish_release(self, artist_id: str, title: str, track_titles: Sequence[str] = (), *,
                        kind: str = "single", release_date: str | None = None,
                        durations_ms: Sequence[int] | None = None) -> Album:
        """Put out a new release of an artist, as a label does on release day.

        ``kind`` is ``album``, ``ep``, ``single`` or ``compilation``; ``track_titles`` default to the
        release's title alone; ``release_date`` defaults to today (by the world's clock); durations
        default to a stable 2:30-5:00 per title. The release, its tracks and the artist's counts enter
        the catalog at once: search, ``/albums``, ``/tracks`` and the artist's albums (newest first)
        show it. Returns the new album with its tracks."""
        artist = self.artists.get(artist_id)
        if artist is None:
            raise KeyError(f"no artist {artist_id!r}")
        if kind not in RELEASE_KINDS:
            raise ValueError(f"unknown release kind {kind!r}; expected one of {sorted(RELEASE_KINDS)}")
        titles = list(track_titles) or [title]
        durations = list(durations_ms or [150_000 + stable_int(f"{artist_id}/{t}", 150_000) for t in titles])
        if len(durations) != len(titles):
            raise ValueError("give one duration per track title")
        date = release_date or datetime.fromtimestamp(self.clock(), timezone.utc).date().isoformat()
        year = int(date[:4])
        aid = new_id()
        album = Album(title=title, artists=[artist.name], year=year, release_date=date,
                      album_type=RELEASE_KINDS[kind], total_tracks=len(titles), disc_total=1, spotify_id=aid,
                      image_url=IMAGE_PATH.format(id=aid), genres=list(artist.genres), label=PUBLISHED_LABEL,
                      upc=f"{stable_int(aid, 10**12):012d}")
        with self.lock:
            for number, (name, duration) in enumerate(zip(titles, durations), start=1):
                self._isrc_serial += 1
                album.tracks.append(Track(
                    title=name, artists=[artist.name], album=title, duration_ms=duration,
                    isrc=f"{_ISRC_REGISTRANT}{year % 100:02d}{self._isrc_serial:05d}", album_artist=artist.name,
                    track_number=number, disc_number=1, track_total=len(titles), disc_total=1, year=year,
                    genre=artist.genres[0] if artist.genres else "", spotify_id=new_id(), spotify_album_id=aid,
                    spotify_artist_ids=[artist_id]))
            self._add_release(album, artist)
        return album

    def _add_release(self, album: Album, artist: Artist) -> None:
        self.catalog.albums.append(album)
        self.catalog.tracks.extend(album.tracks)
        self.albums[album.spotify_id] = album
        for track in album.tracks:
            self.tracks[track.spotify_id] = track
        if self._search_rows is not None:
            self._search_rows.extend(_search_row(t) for t in album.tracks)
        artist.album_count += 1
        artist.track_count += len(album.tracks)
        for aid, group in _album_groups(album):
            releases = self._artist_albums.setdefault(aid, [])
            releases.append((album, group))
            _sort_discography(releases)

    # ------------------------------------------------------------ search
    @staticmethod
    def parse_query(q: str) -> tuple[list[str], dict[str, str]]:
        """Free terms and ``field:value`` filters of a search query, folded."""
        free: list[str] = []
        fields: dict[str, str] = {}
        for m in _SEARCH_TOKEN.finditer(q):
            name, value = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
            if name and name.lower() in _SEARCH_FIELDS:
                fields[name.lower()] = fold(value)
            else:
                free.append(fold(m.group(0).strip('"')))
        return free, fields

    def _rows(self) -> list[tuple[str, str, str, Track]]:
        with self.lock:
            if self._search_rows is None:
                self._search_rows = [_search_row(t) for t in self.catalog.tracks]
            return self._search_rows

    def search_tracks(self, free: list[str], fields: dict[str, str]) -> list[Track]:
        exact: list[Track] = []
        rest: list[Track] = []
        phrase = " ".join(free)
        for title, artists, album, t in self._rows():
            if "track" in fields and fields["track"] not in title:
                continue
            if "artist" in fields and fields["artist"] not in artists:
                continue
            if "album" in fields and fields["album"] not in album:
                continue
            if "isrc" in fields and fields["isrc"] != (t.isrc or "").casefold():
                continue
            if "year" in fields and not _year_matches(fields["year"], t.year):
                continue
            if free:
                text = f"{title} {artists} {album}"
                if not all(term in text for term in free):
                    continue
            (exact if phrase and (title == phrase or title.startswith(phrase + " - ")) else rest).append(t)
        return exact + rest

    def search_albums(self, free: list[str], fields: dict[str, str]) -> list[Album]:
        found = []
        for album in list(self.catalog.albums):
            name, artist = fold(album.title), fold(" ".join(album.artists))
            if "album" in fields and fields["album"] not in name:
                continue
            if "artist" in fields and fields["artist"] not in artist:
                continue
            if "year" in fields and not _year_matches(fields["year"], album.year):
                continue
            if free and not all(term in f"{name} {artist}" for term in free):
                continue
            found.append(album)
        return found

    def search_artists(self, free: list[str], fields: dict[str, str]) -> list[Artist]:
        found = []
        for artist in self.catalog.artists:
            name = fold(artist.name)
            if "artist" in fields and fields["artist"] not in name:
                continue
            if "genre" in fields and not any(fields["genre"] in g for g in artist.genres):
                continue
            if free and not all(term in name for term in free):
                continue
            found.append(artist)
        found.sort(key=lambda a: fold(a.name) != " ".join(free))
        return found


def _search_row(t: Track) -> tuple[str, str, str, Track]:
    return fold(t.title), fold(" ".join(t.artists)), fold(t.album), t


def _album_groups(album: Album) -> list[tuple[str, str]]:
    """(artist id, group) of every artist credited on an album: its own type for the main artist,
    ``appears_on`` for the others."""
    main_ids: list[str] = []
    if album.tracks and album.artists[0] == album.tracks[0].artists[0]:
        main_ids = album.tracks[0].spotify_artist_ids[:1]
    credited: dict[str, None] = {}
    for t in album.tracks:
        for aid in t.spotify_artist_ids:
            credited[aid] = None
    return [(aid, album.album_type.value if aid in main_ids else "appears_on") for aid in credited]


def _sort_discography(albums: list[tuple[Album, str]]) -> None:
    albums.sort(key=lambda pair: pair[0].release_date, reverse=True)  # newest first...
    albums.sort(key=lambda pair: _GROUP_ORDER[pair[1]])  # ...within each group (stable sort)


def _year_matches(spec: str, year: int | None) -> bool:
    if year is None:
        return False
    low, _, high = spec.partition("-")
    try:
        return int(low) <= year <= int(high or low)
    except ValueError:
        return False
