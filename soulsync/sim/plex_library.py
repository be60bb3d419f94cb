"""The simulated Plex server's library as a world model: one music section, its scans and playlists.

No HTTP here: :mod:`soulsync.sim.plex` parses plexapi's requests and writes the XML
(:mod:`soulsync.sim.plex_xml`). The library starts from ``catalog.library`` (virtual tracks: their
files do not need to exist) and is joined by real audio files found in the library folder by a scan
(:mod:`soulsync.sim.plex_files` reads them); files that vanish take their tracks with them. A
requested scan runs in the background, one after another, as a server queues its tasks (reference
section 3.7). Artists and albums group tracks as a real server does (by album artist and album title,
case and accents folded). Playlists are in :mod:`soulsync.sim.plex_playlists`.
"""
from __future__ import annotations

import functools
import os
import re
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from soulsync.core.models import Track
from soulsync.sim.catalog import Catalog, strip_accents
from soulsync.sim.plex_files import AUDIO_EXTENSIONS, read_audio_file

BASE_TIME = 1_700_000_000
CODEC = {"flac": ("flac", 1000), "mp3": ("mp3", 320), "m4a": ("aac", 256), "ogg": ("vorbis", 320),
         "opus": ("opus", 160), "wav": ("pcm", 1411), "aiff": ("pcm", 1411), "aif": ("pcm", 1411)}
"""Codec and bitrate (kbps) a server reports for a file extension."""
_STRING_OPS: dict[str, Callable[[str, str], bool]] = {
    "": lambda have, want: want in have, "!": lambda have, want: want not in have,
    "=": lambda have, want: have == want, "!=": lambda have, want: have != want,
    "<": lambda have, want: have.startswith(want), ">": lambda have, want: have.endswith(want),
}
"""String operators as they arrive in the key (plexapi sends the operator minus its last ``=``)."""
_NUMBER_OPS: dict[str, Callable[[int, int], bool]] = {
    "": lambda have, want: have == want, "!": lambda have, want: have != want,
    ">>": lambda have, want: have > want, "<<": lambda have, want: have < want,
}


@dataclass
class PTrack:
    """A track of the section, under its rating key."""

    rk: int
    track: Track
    """``path`` is relative to the library folder (with ``/`` separators)."""
    album_rk: int = 0
    artist_rk: int = 0
    added_at: int = 0
    updated_at: int = 0
    ext: str = "flac"
    size: int = 0
    real: bool = False
    """Backed by a file found by a scan (virtual catalog tracks are not)."""
    stat: tuple[float, int] | None = None


@dataclass
class PAlbum:
    """An album the server grouped (album artist and title, folded); ``tracks`` are rating keys."""

    rk: int
    title: str
    artist_rk: int
    year: int | None
    added_at: int
    updated_at: int
    tracks: list[int] = field(default_factory=list)


@dataclass
class PArtist:
    """An artist the server grouped; ``albums`` are rating keys."""

    rk: int
    name: str
    added_at: int
    updated_at: int
    genres: list[str] = field(default_factory=list)
    albums: list[int] = field(default_factory=list)
    summary: str = ""


@dataclass
class RunningScan:
    """The scan the server is running now."""

    scope: Path | None
    """The folder of a ``?path=`` scan; None for the whole section."""
    shows_refreshing: bool
    uuid: str


@dataclass
class ScanReport:
    """What the last section refresh did."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)
    """Relative paths of files that could not be read as audio."""


class PlexError(Exception):
    """A request the library refuses, with the HTTP status a server answers."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def fold(text: str) -> str:
    """Case and accents folded, as the server compares titles."""
    return strip_accents(text).casefold()


class PlexLibrary:
    """The state and rules of :class:`~soulsync.sim.plex.PlexSim`'s music section: tracks grouped into
    albums and artists, scans, listings and search (a mixin: the server calls :meth:`_init_library`)."""

    def _init_library(self, catalog: Catalog, library_dir: Path, section_uuid: str, section_key: int,
                      machine_identifier: str, clock: Callable[[], float], refreshing_delay: float,
                      path_scan_refreshing: bool) -> None:
        self.catalog = catalog
        self.library_dir = library_dir
        self.section_uuid = section_uuid
        self.section_key = section_key
        self.machine_identifier = machine_identifier
        self.clock = clock
        self.refreshing_delay = refreshing_delay
        self.path_scan_refreshing = path_scan_refreshing
        self.scan_gate = threading.Event()
        self.scan_gate.set()
        self.last_scan = ScanReport()
        self._lock = threading.RLock()
        self._scan_done = threading.Event()
        """Set while no scan is requested or running (a sim-side fact; clients only see the wire)."""
        self._scan_done.set()
        self._scan_cancel = threading.Event()
        self._scan_queue: list[Path | None] = []
        self._running: RunningScan | None = None
        self._update_queue = 0
        self._tracks: dict[int, PTrack] = {}
        self._albums: dict[int, PAlbum] = {}
        self._artists: dict[int, PArtist] = {}
        self._album_index: dict[tuple[str, str], int] = {}
        self._artist_index: dict[str, int] = {}
        self._by_path: dict[str, int] = {}
        self._next_key = 1000
        self._version = 0
        self._cache: dict[tuple, list[Any]] = {}
        self._load_catalog()

    # ------------------------------------------------------------ state
    def _load_catalog(self) -> None:
        genres = {a.name: a.genres for a in self.catalog.artists}
        n = len(self.catalog.library)
        for i, t in enumerate(self.catalog.library):
            rk = int(t.plex_rating_key or 0)
            when = BASE_TIME - (n - i) * 3600
            ext = (t.path or "").rsplit(".", 1)[-1].lower()
            copy = Track(**{f: getattr(t, f) for f in Track.__slots__})  # the sim owns its copies
            copy.artists = list(t.artists)
            self._insert(PTrack(rk, copy, added_at=when, updated_at=when, ext=ext,
                                 size=self._estimate_size(t.duration_ms, ext)), genres.get(t.artist, []))
        top = max(self._tracks, default=0)
        self._next_key = max(self._next_key, top + 1)

    def _new_key(self) -> int:
        key = self._next_key
        self._next_key += 1
        return key

    @staticmethod
    def _estimate_size(duration_ms: int | None, ext: str) -> int:
        kbps = CODEC.get(ext, ("", 320))[1]
        return int((duration_ms or 0) / 1000 * kbps * 125)

    def _insert(self, pt: PTrack, genres: Iterable[str] = ()) -> None:
        """Add a track, creating its artist and album as a real server groups them."""
        t = pt.track
        artist_name = t.album_artist or t.artist or "Unknown Artist"
        album_title = t.album or "[Unknown Album]"
        artist_rk = self._artist_index.get(fold(artist_name))
        if artist_rk is None:
            artist_rk = self._new_key()
            self._artists[artist_rk] = PArtist(artist_rk, artist_name, pt.added_at, pt.updated_at, list(genres))
            self._artist_index[fold(artist_name)] = artist_rk
        album_key = (fold(artist_name), fold(album_title))
        album_rk = self._album_index.get(album_key)
        if album_rk is None:
            album_rk = self._new_key()
            self._albums[album_rk] = PAlbum(album_rk, album_title, artist_rk, t.year, pt.added_at, pt.updated_at)
            self._album_index[album_key] = album_rk
            self._artists[artist_rk].albums.append(album_rk)
        album = self._albums[album_rk]
        album.tracks.append(pt.rk)
        album.updated_at = max(album.updated_at, pt.updated_at)
        pt.album_rk, pt.artist_rk = album_rk, artist_rk
        t.plex_rating_key = str(pt.rk)
        self._tracks[pt.rk] = pt
        if t.path:
            self._by_path[t.path] = pt.rk
        self._version += 1

    def _remove(self, rk: int) -> None:
        pt = self._tracks.pop(rk)
        if pt.track.path and self._by_path.get(pt.track.path) == rk:
            del self._by_path[pt.track.path]
        album = self._albums.get(pt.album_rk)
        if album is not None:
            album.tracks.remove(rk)
            if not album.tracks:
                del self._albums[album.rk]
                self._album_index = {k: v for k, v in self._album_index.items() if v != album.rk}
                artist = self._artists[album.artist_rk]
                artist.albums.remove(album.rk)
                if not artist.albums:
                    del self._artists[artist.rk]
                    self._artist_index = {k: v for k, v in self._artist_index.items() if v != artist.rk}
        self._version += 1

    # ------------------------------------------------------------ public helpers
    def tracks(self) -> list[Track]:
        """A snapshot of the library's tracks (copies: rating keys, relative paths, timestamps)."""
        with self._lock:
            out = []
            for p in self._tracks.values():
                copy = Track(**{f: getattr(p.track, f) for f in Track.__slots__})
                copy.added_at, copy.updated_at = p.added_at, p.updated_at
                out.append(copy)
            return out

    def track_count(self) -> int:
        with self._lock:
            return len(self._tracks)

    def scan(self, path: str | os.PathLike[str] | None = None) -> ScanReport:
        """Rescan the library folder (or a folder inside it) now, in this thread (no refresh request needed)."""
        return self._scan(Path(path) if path else None)

    def wait_for_scan(self, timeout: float = 10.0) -> bool:
        """Block until no requested scan is waiting or running; False on timeout."""
        return self._scan_done.wait(timeout)

    @property
    def refreshing(self) -> bool:
        """What the section's ``refreshing`` attribute says now."""
        running = self._running
        return running is not None and running.shows_refreshing

    # ------------------------------------------------------------ scanning
    def _scan(self, scope: Path | None) -> ScanReport:
        report = ScanReport()
        root = self.library_dir
        if scope is not None:
            scope = (scope if scope.is_absolute() else root / scope).resolve()
            if scope != root and root not in scope.parents:
                return report  # outside the section: a real server ignores it
        start = scope or root
        found: dict[str, tuple[Path, tuple[float, int]]] = {}
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames.sort()
            if self._scan_cancel.is_set():
                break
            for name in sorted(filenames):
                if os.path.splitext(name)[1].lower() not in AUDIO_EXTENSIONS or name.startswith("."):
                    continue
                full = Path(dirpath) / name
                try:
                    st = full.stat()
                except OSError:
                    continue
                found[full.relative_to(root).as_posix()] = (full, (st.st_mtime, st.st_size))
        scope_prefix = "" if start == root else start.relative_to(root).as_posix() + "/"
        with self._lock:
            known = {p: rk for p, rk in self._by_path.items() if p.startswith(scope_prefix)}
        now = int(self.clock())
        self._update_queue = len(found)
        for rel, (full, stat) in found.items():
            self._update_queue -= 1
            if self._scan_cancel.is_set():
                break
            with self._lock:
                rk = known.get(rel)
                current = self._tracks.get(rk) if rk is not None else None
                if current is not None and current.real and current.stat == stat:
                    report.unchanged += 1
                    continue
            track = read_audio_file(full, rel)
            if track is None:
                report.skipped.append(rel)
                continue
            ext = full.suffix.lower().lstrip(".")
            with self._lock:
                if current is not None:
                    self._remove(current.rk)
                    pt = PTrack(current.rk, track, added_at=current.added_at, updated_at=now, ext=ext,
                                 size=stat[1], real=True, stat=stat)
                    report.updated += 1
                else:
                    pt = PTrack(self._new_key(), track, added_at=now, updated_at=now, ext=ext,
                                 size=stat[1], real=True, stat=stat)
                    report.added += 1
                self._insert(pt)
        if not self._scan_cancel.is_set():
            with self._lock:
                for rel, rk in known.items():
                    gone = self._tracks.get(rk)
                    if gone is not None and gone.real and rel not in found:
                        self._remove(rk)
                        report.removed += 1
        self.last_scan = report
        return report

    def _background_scans(self) -> None:
        """Run the requested scans one after another, as a server queues its tasks (reference 3.7)."""
        while True:
            self.scan_gate.wait()
            if self.refreshing_delay:
                self._scan_cancel.wait(self.refreshing_delay)  # a cancelUpdate() ends the wait
            with self._lock:
                if not self._scan_queue or self._scan_cancel.is_set():
                    self._scan_queue.clear()
                    self._scan_cancel.clear()
                    self._scan_done.set()
                    return
                scope = self._scan_queue.pop(0)
                self._running = RunningScan(scope, scope is None or self.path_scan_refreshing, str(uuid.uuid4()))
            try:
                self._scan(scope)
            finally:
                with self._lock:
                    self._running = None
                    self._update_queue = 0

    def request_scan(self, scope: Path | None) -> None:
        """Queue a scan of the section (or of a folder in it); it starts after the answer, ``refreshing_delay``
        later, in a thread of its own (reference 3.7)."""
        with self._lock:
            self._scan_queue.append(scope)
            if self._scan_done.is_set():
                self._scan_done.clear()
                threading.Thread(target=self._background_scans, name="plex-sim-scan", daemon=True).start()

    def cancel_scans(self) -> None:
        """Stop the running and queued scans (``cancelUpdate``)."""
        if not self._scan_done.is_set():
            self._scan_cancel.set()

    def update_queue_size(self) -> int:
        """Files the running scan has still to look at (0 when none runs)."""
        with self._lock:
            return self._update_queue if self._running is not None else 0

    # ------------------------------------------------------------ listing and filters
    def listing(self, libtype: str, filters: list[tuple[str, str, str, str]], sort: str) -> list[Any]:
        """Artists, albums or tracks matching every ``(object, field, operator, value)`` filter, sorted
        (the last listing is cached until the library changes). Call with the lock held."""
        key = (libtype, tuple(filters), sort, self._version)
        items = self._cache.get(key)
        if items is None:
            items = self._query(libtype, filters, sort)
            self._cache = {key: items}
        return items

    def _query(self, libtype: str, filters: list[tuple[str, str, str, str]], sort: str) -> list[Any]:
        pool: list[Any]
        if libtype == "track":
            pool = list(self._tracks.values())
        elif libtype == "album":
            pool = list(self._albums.values())
        else:
            pool = list(self._artists.values())
        now = int(self.clock())
        for obj, name, op, value in filters:
            pool = [x for x in pool if self._matches(x, obj, name, op, value, now)]
        if sort:
            for part in reversed(sort.split(",")):
                field_name, _, direction = part.partition(":")
                field_name = field_name.split(".")[-1]
                pool.sort(key=functools.partial(self._sort_value, field_name=field_name), reverse=direction == "desc")
        return pool

    def _related(self, item: Any, obj: str) -> Any:
        if obj == "track":
            return item if isinstance(item, PTrack) else None
        if obj == "album":
            if isinstance(item, PTrack):
                return self._albums.get(item.album_rk)
            return item if isinstance(item, PAlbum) else None
        if isinstance(item, PTrack):
            return self._artists.get(item.artist_rk)
        if isinstance(item, PAlbum):
            return self._artists.get(item.artist_rk)
        return item

    def _matches(self, item: Any, obj: str, name: str, op: str, value: str, now: int) -> bool:
        target = self._related(item, obj)
        if target is None:  # e.g. a track filter on an album listing: any of its tracks
            if isinstance(item, PAlbum):
                return any(self._matches(self._tracks[rk], obj, name, op, value, now) for rk in item.tracks)
            if isinstance(item, PArtist):
                return any(self._matches(self._albums[rk], obj, name, op, value, now) for rk in item.albums)
            return False
        if name == "title":
            have = fold(target.track.title if isinstance(target, PTrack) else
                         target.title if isinstance(target, PAlbum) else target.name)
            want = fold(value)
            test = _STRING_OPS.get(op)
            return test(have, want) if test else False
        if name == "year":
            year = target.track.year if isinstance(target, PTrack) else getattr(target, "year", None)
            try:
                wanted = int(value)
            except ValueError:
                return False
            compare = _NUMBER_OPS.get(op)
            return year is not None and compare is not None and compare(year, wanted)
        stamp = target.added_at if name == "addedAt" else target.updated_at
        moment = _date_value(value, now)
        compare = _NUMBER_OPS.get(op)
        return moment is not None and compare is not None and compare(stamp, moment)

    def _sort_value(self, item: Any, field_name: str) -> Any:
        if field_name in ("addedAt", "updatedAt"):
            return item.added_at if field_name == "addedAt" else item.updated_at
        if isinstance(item, PTrack):
            return fold(item.track.title)
        return fold(item.title if isinstance(item, PAlbum) else item.name)

    def _lookup(self, rk: int) -> Any:
        return self._tracks.get(rk) or self._albums.get(rk) or self._artists.get(rk)

    def search(self, query: str) -> dict[str, list[Any]]:
        """Artists, albums and tracks whose name holds ``query`` (folded), as hub search finds them."""
        query = fold(query)
        hits: dict[str, list[Any]] = {"artist": [], "album": [], "track": []}
        if query:
            hits["artist"] = [a for a in self._artists.values() if query in fold(a.name)]
            hits["album"] = [a for a in self._albums.values() if query in fold(a.title)]
            hits["track"] = [t for t in self._tracks.values() if query in fold(t.track.title)]
        return hits

    def edit_artists(self, ids: list[int], genres: list[str], removed: list[str], summary: str | None) -> None:
        """plexapi's artist edits: genres replaced by ``genres`` (when given), ``removed`` ones dropped, the
        summary set; 404 unless every id is an artist."""
        with self._lock:
            artists = [a for a in (self._artists.get(i) for i in ids) if a is not None]
            if not ids or len(artists) != len(ids):
                raise PlexError(404)
            for artist in artists:
                if genres:
                    artist.genres = list(dict.fromkeys(genres))
                if removed:
                    artist.genres = [g for g in artist.genres if g not in removed]
                if summary is not None:
                    artist.summary = summary
                artist.updated_at = int(self.clock())
            self._version += 1



def _date_value(value: str, now: int) -> int | None:
    """A filter date: unix seconds, or relative like ``-30d`` / ``-2h``."""
    value = value.strip()
    m = re.fullmatch(r"-?(\d+)(mon|[smhdwy])", value)
    if m:
        seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "mon": 2_592_000, "y": 31_536_000}
        return now - int(m.group(1)) * seconds[m.group(2)]
    try:
        return int(float(value))
    except ValueError:
        return None
