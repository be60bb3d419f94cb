"""Simulated Plex Media Server: one music section, XML exactly as plexapi parses it.

The library starts from ``catalog.library`` (virtual tracks: their files do
not need to exist) and is joined by real audio files found in the library
folder on disk by a section refresh (``GET /library/sections/{key}/refresh``),
which, as on a real server, answers at once and scans in the background
(reference section 3.7). How long after the answer the section shows
``refreshing="1"`` is configurable (``refreshing_delay``), and a path scan
(``?path=``) may never show it (``path_scan_refreshing``), because neither is
known of a real server; ``GET /activities`` lists the running scan and
``GET /library/sections/{key}/timeline`` its queue, as plexapi's own tests
poll them (``tests/test__prepare.py``). Tags are read with mutagen, with
guesses from the path (``Artist/Album (Year)/01 - Title.ext``) where tags are
missing; files that vanish take their tracks with them.

Playlists follow reference section 3.6: ``GET /playlists`` lists every
playlist of the account (regular and smart, every ``playlistType``), its
``title`` filter is a partial match, and the simulation starts with playlists
the user made (see :data:`SEEDED_PLAYLISTS`) whose titles equal or contain the
title of a Spotify playlist of the catalog, so that matching by title alone
fails here as it would against a real server.

Wire facts follow ``reference/service-apis.md`` section 3: ``X-Plex-Token``
(401 HTML page without it), paging through the ``X-Plex-Container-Start`` /
``X-Plex-Container-Size`` headers with ``totalSize``, ``/library/sections/{key}/all``
with ``type`` 8/9/10, ``title`` and the typed filters plexapi builds from the
section's filter metadata (``track.title``, ``track.addedAt>>``, ``track.updatedAt>>``,
``sort=...``), ``/library/metadata/{rk}[/children]``, thumbnails,
``/hubs/search``, and playlists (create, list, read, edit title and summary, items, add,
remove, move, delete).
"""
from __future__ import annotations

import functools
import hashlib
import os
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import unquote
from xml.etree.ElementTree import Element, SubElement, tostring

import mutagen

from soulsync.core.models import Track
from soulsync.sim.base import Request, Response, SimServer
from soulsync.sim.catalog import Catalog, build_catalog, strip_accents
from soulsync.sim.images import cover_jpeg

AUDIO_EXTENSIONS = {".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac", ".wav", ".aif", ".aiff",
                    ".wma", ".ape", ".wv", ".alac"}
SERVER_VERSION = "1.41.3.9314-a0bfb8370"
SECTION_KEY = 1
_BASE_TIME = 1_700_000_000
_TYPES = {"8": "artist", "9": "album", "10": "track"}
_CODEC = {"flac": ("flac", 1000), "mp3": ("mp3", 320), "m4a": ("aac", 256), "ogg": ("vorbis", 320),
          "opus": ("opus", 160), "wav": ("pcm", 1411), "aiff": ("pcm", 1411), "aif": ("pcm", 1411)}
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_FILTER_KEY = re.compile(r"^(?:(artist|album|track)\.)?([A-Za-z]+)([!<>=&]*)$")
_NON_FILTER_PARAMS = {
    "type", "sort", "limit", "includeGuids", "includeMeta", "includeAdvanced", "includeCollections",
    "includeExternalMedia", "X-Plex-Container-Start", "X-Plex-Container-Size", "checkFiles", "includeRelated",
    "includeDetails", "X-Plex-Token", "excludeAllLeaves", "includeBandwidths", "includeChapters", "includeFields",
    "includeGeolocation", "includeLoudnessRamps", "includeMarkers", "includeConcerts", "includeExtras",
    "includeOnDeck", "includePopularLeaves", "includePreferences", "includeReviews", "includeStations",
    "asyncAugmentMetadata", "asyncCheckFiles", "asyncRefreshAnalysis", "asyncRefreshLocalMediaAgent",
}
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
_GUESS_FILE = re.compile(r"^(?:(?P<disc>\d{1,2})[-.])?(?P<num>\d{1,3})\s*[-._]?\s+(?:(?P<artist>.+?) - )?(?P<title>.+)$")
_GUESS_ALBUM = re.compile(r"^(?:(?P<y1>\d{4})\s*-\s*)?(?P<album>.+?)(?:\s*[(\[](?P<y2>\d{4})[)\]])?(?:\s*\[[^\]]*\])?$")


@dataclass
class _PTrack:
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
class _PAlbum:
    rk: int
    title: str
    artist_rk: int
    year: int | None
    added_at: int
    updated_at: int
    tracks: list[int] = field(default_factory=list)


@dataclass
class _PArtist:
    rk: int
    name: str
    added_at: int
    updated_at: int
    genres: list[str] = field(default_factory=list)
    albums: list[int] = field(default_factory=list)
    summary: str = ""


@dataclass
class _PPlaylist:
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


@dataclass
class _RunningScan:
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


def _clean(value: object) -> str:
    text = str(value)
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    return _BAD_XML.sub("", text)


def _fold(text: str) -> str:
    return strip_accents(text).casefold()


def _guid(kind: str, rk: int) -> str:
    return f"plex://{kind}/{hashlib.sha1(f'{kind}{rk}'.encode()).hexdigest()[:24]}"


class PlexSim(SimServer):
    """A Plex Media Server with one music section on 127.0.0.1.

    Attributes: ``url``, ``token``, ``machine_identifier``, ``section_key``,
    ``library_dir`` (the section's folder; created if missing),
    ``server_name``, ``last_scan`` (a :class:`ScanReport`).

    Scans (reference section 3.7): ``refreshing_delay`` is how long after a
    refresh request the scan starts and the section shows ``refreshing="1"``
    (never before the request is answered); ``path_scan_refreshing`` False
    means a ``?path=`` scan never shows it at all; ``scan_gate`` (an Event,
    set by default) holds every requested scan until it is set, so tests can
    decide when the server gets round to it.
    ``seed_playlists``: start with the user's own playlists (:data:`SEEDED_PLAYLISTS`).
    """

    name = "plex"

    def __init__(self, catalog: Catalog | None = None, library_dir: str | os.PathLike[str] | None = None, *,
                 host: str = "127.0.0.1", port: int = 0, token: str | None = None,
                 server_name: str = "SoulSync Sim", clock: Callable[[], float] = time.time,
                 refreshing_delay: float = 0.0, path_scan_refreshing: bool = True,
                 seed_playlists: bool = True) -> None:
        super().__init__(host, port)
        if library_dir is None:
            raise ValueError("PlexSim needs a library folder (library_dir)")
        self.catalog = catalog or build_catalog()
        self.library_dir = Path(library_dir).resolve()
        self.library_dir.mkdir(parents=True, exist_ok=True)
        seed_digest = hashlib.sha256(f"soulsync-sim-plex-{self.catalog.seed}".encode()).hexdigest()
        self.token = token or seed_digest[:20]
        self.machine_identifier = seed_digest[20:60]
        self.section_uuid = str(uuid.UUID(seed_digest[:32]))
        self.section_key = SECTION_KEY
        self.server_name = server_name
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
        self._running: _RunningScan | None = None
        self._update_queue = 0
        self._tracks: dict[int, _PTrack] = {}
        self._albums: dict[int, _PAlbum] = {}
        self._artists: dict[int, _PArtist] = {}
        self._album_index: dict[tuple[str, str], int] = {}
        self._artist_index: dict[str, int] = {}
        self._by_path: dict[str, int] = {}
        self._playlists: dict[int, _PPlaylist] = {}
        self._next_key = 1000
        self._next_item_id = 1
        self._version = 0
        self._cache: dict[tuple, list[Any]] = {}
        self._load_catalog()
        if seed_playlists:
            self._seed_playlists()
        self._routes_setup()

    # ------------------------------------------------------------ state
    def _load_catalog(self) -> None:
        genres = {a.name: a.genres for a in self.catalog.artists}
        n = len(self.catalog.library)
        for i, t in enumerate(self.catalog.library):
            rk = int(t.plex_rating_key or 0)
            when = _BASE_TIME - (n - i) * 3600
            ext = (t.path or "").rsplit(".", 1)[-1].lower()
            copy = Track(**{f: getattr(t, f) for f in Track.__slots__})  # the sim owns its copies
            copy.artists = list(t.artists)
            self._insert(_PTrack(rk, copy, added_at=when, updated_at=when, ext=ext,
                                 size=self._estimate_size(t.duration_ms, ext)), genres.get(t.artist, []))
        top = max(self._tracks, default=0)
        self._next_key = max(self._next_key, top + 1)

    def _seed_playlists(self) -> None:
        """The user's own playlists (:data:`SEEDED_PLAYLISTS`), made before SoulSync ran, with tracks of their own."""
        spotify_titles = [p.name for p in self.catalog.playlists]
        rng = random.Random(f"plex-playlists-{self.catalog.seed}")
        keys = sorted(self._tracks)
        for n, seeded in enumerate(SEEDED_PLAYLISTS):
            if not any(title in seeded.title for title in spotify_titles):
                continue
            when = _BASE_TIME - 86400 * (30 + n)
            guid = f"com.plexapp.agents.none://{uuid.UUID(int=rng.getrandbits(128))}"
            p = _PPlaylist(self._new_key(), seeded.title, guid, when, when, smart=seeded.smart,
                           playlist_type=seeded.playlist_type, summary=seeded.summary)
            if seeded.playlist_type == "audio":
                p.items = [(self._item_id(), k) for k in rng.sample(keys, min(seeded.items, len(keys)))]
            if seeded.smart:
                p.content = (f"library://{self.section_uuid}/directory/%2Flibrary%2Fsections%2F{self.section_key}"
                             f"%2Fall%3Ftype%3D10%26sort%3DaddedAt%253Adesc%26limit%3D{seeded.items}")
            self._playlists[p.rk] = p

    def _new_key(self) -> int:
        key = self._next_key
        self._next_key += 1
        return key

    @staticmethod
    def _estimate_size(duration_ms: int | None, ext: str) -> int:
        kbps = _CODEC.get(ext, ("", 320))[1]
        return int((duration_ms or 0) / 1000 * kbps * 125)

    def _insert(self, pt: _PTrack, genres: Iterable[str] = ()) -> None:
        """Add a track, creating its artist and album as a real server groups them."""
        t = pt.track
        artist_name = t.album_artist or t.artist or "Unknown Artist"
        album_title = t.album or "[Unknown Album]"
        artist_rk = self._artist_index.get(_fold(artist_name))
        if artist_rk is None:
            artist_rk = self._new_key()
            self._artists[artist_rk] = _PArtist(artist_rk, artist_name, pt.added_at, pt.updated_at, list(genres))
            self._artist_index[_fold(artist_name)] = artist_rk
        album_key = (_fold(artist_name), _fold(album_title))
        album_rk = self._album_index.get(album_key)
        if album_rk is None:
            album_rk = self._new_key()
            self._albums[album_rk] = _PAlbum(album_rk, album_title, artist_rk, t.year, pt.added_at, pt.updated_at)
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

    def describe(self) -> dict[str, Any]:
        """Base URL and credentials, for ``soulsync sim``'s JSON line and the demo's config."""
        return {"url": self.url, "token": self.token, "section": "Music", "library_dir": str(self.library_dir),
                "machine_identifier": self.machine_identifier}

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
                    pt = _PTrack(current.rk, track, added_at=current.added_at, updated_at=now, ext=ext,
                                 size=stat[1], real=True, stat=stat)
                    report.updated += 1
                else:
                    pt = _PTrack(self._new_key(), track, added_at=now, updated_at=now, ext=ext,
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
                self._running = _RunningScan(scope, scope is None or self.path_scan_refreshing, str(uuid.uuid4()))
            try:
                self._scan(scope)
            finally:
                with self._lock:
                    self._running = None
                    self._update_queue = 0

    # ------------------------------------------------------------ routes
    def _routes_setup(self) -> None:
        r = self.route
        r("GET", "/identity", self._identity)
        routes = [
            ("GET", "/", self._root),
            ("GET", "/library", self._library),
            ("GET", "/library/sections", self._sections),
            ("GET", r"/library/sections/(?P<key>\d+)", self._section_detail),
            ("GET", r"/library/sections/(?P<key>\d+)/all", self._section_all),
            ("GET", r"/library/sections/(?P<key>\d+)/collections", self._collections),
            ("GET", r"/library/sections/(?P<key>\d+)/refresh", self._refresh),
            ("DELETE", r"/library/sections/(?P<key>\d+)/refresh", self._cancel_refresh),
            ("GET", r"/library/sections/(?P<key>\d+)/timeline", self._timeline),
            ("GET", "/activities", self._activities),
            ("GET", r"/library/metadata/(?P<rks>[\d,]+)", self._metadata),
            ("GET", r"/library/metadata/(?P<rk>\d+)/children", self._children),
            ("GET", r"/library/metadata/(?P<rk>\d+)/(?:thumb|art)(?:/(?P<ts>\d+))?", self._thumb),
            ("GET", r"/library/parts/(?P<pid>\d+)/(?P<ts>\d+)/file\.(?P<ext>\w+)", self._part),
            ("PUT", r"/library/sections/(?P<key>\d+)/all", self._section_edit),
            ("GET", "/hubs/search", self._hub_search),
            ("GET", "/playlists", self._playlists_list),
            ("POST", "/playlists", self._playlist_create),
            ("GET", r"/playlists/(?P<rk>\d+)", self._playlist_get),
            ("PUT", r"/playlists/(?P<rk>\d+)", self._playlist_edit),
            ("DELETE", r"/playlists/(?P<rk>\d+)", self._playlist_delete),
            ("GET", r"/playlists/(?P<rk>\d+)/items", self._playlist_items),
            ("PUT", r"/playlists/(?P<rk>\d+)/items", self._playlist_add),
            ("DELETE", r"/playlists/(?P<rk>\d+)/items/(?P<item>\d+)", self._playlist_remove),
            ("PUT", r"/playlists/(?P<rk>\d+)/items/(?P<item>\d+)/move", self._playlist_move),
            ("GET", r"/playlists/(?P<rk>\d+)/composite/(?P<ts>\d+)", self._composite),
        ]
        for method, pattern, handler in routes:
            r(method, pattern, self._authed(handler))

    def _authed(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def wrapped(req: Request) -> Response:
            token = req.header("x-plex-token") or req.arg("X-Plex-Token")
            if token != self.token:
                return self.error_response(401, req)
            return handler(req)
        return wrapped

    def error_response(self, status: int, req: Request, message: str = "") -> Response:
        """Plex answers errors with a small HTML page."""
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        body = f"<html><head><title>{phrase}</title></head><body><h1>{status} {phrase}</h1></body></html>"
        return Response(status, body.encode(), "text/html")

    # ------------------------------------------------------------ XML helpers
    @staticmethod
    def _xml(root: Element) -> Response:
        body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="utf-8", xml_declaration=False)
        return Response(200, body, "text/xml;charset=utf-8")

    @staticmethod
    def _el(parent: Element | None, element: str, /, **attrs: object) -> Element:
        clean = {k: _clean(v) for k, v in attrs.items() if v is not None and v != ""}
        return Element(element, clean) if parent is None else SubElement(parent, element, clean)

    def _container(self, **attrs: object) -> Element:
        return self._el(None, "MediaContainer", **attrs)

    def _section_attrs(self) -> dict[str, object]:
        return {"librarySectionID": self.section_key, "librarySectionTitle": "Music",
                "librarySectionUUID": self.section_uuid}

    def _track_el(self, parent: Element, pt: _PTrack, **extra: object) -> Element:
        t = pt.track
        album = self._albums[pt.album_rk]
        artist = self._artists[pt.artist_rk]
        credited = ", ".join(t.artists)
        el = self._el(
            parent, "Track", ratingKey=pt.rk, key=f"/library/metadata/{pt.rk}", parentRatingKey=album.rk,
            grandparentRatingKey=artist.rk, guid=_guid("track", pt.rk), parentGuid=_guid("album", album.rk),
            grandparentGuid=_guid("artist", artist.rk), type="track", title=t.title,
            grandparentKey=f"/library/metadata/{artist.rk}", parentKey=f"/library/metadata/{album.rk}",
            librarySectionTitle="Music", librarySectionID=self.section_key,
            librarySectionKey=f"/library/sections/{self.section_key}", grandparentTitle=artist.name,
            parentTitle=album.title, originalTitle=credited if credited != artist.name else None,
            summary="", index=t.track_number, parentIndex=t.disc_number or 1, parentYear=album.year,
            ratingCount=None, thumb=f"/library/metadata/{album.rk}/thumb/{album.updated_at}",
            parentThumb=f"/library/metadata/{album.rk}/thumb/{album.updated_at}",
            grandparentThumb=f"/library/metadata/{artist.rk}/thumb/{artist.updated_at}",
            duration=t.duration_ms, addedAt=pt.added_at, updatedAt=pt.updated_at, musicAnalysisVersion=1,
            **extra)
        codec, kbps = _CODEC.get(pt.ext, (pt.ext, 320))
        if pt.real and t.duration_ms:
            kbps = max(1, int(pt.size * 8 / t.duration_ms))
        media = self._el(el, "Media", id=pt.rk, duration=t.duration_ms, bitrate=kbps, audioChannels=2,
                         audioCodec=codec, container=pt.ext)
        self._el(media, "Part", id=pt.rk, key=f"/library/parts/{pt.rk}/{pt.updated_at}/file.{pt.ext}",
                 duration=t.duration_ms, file=str(self.library_dir / (t.path or "")), size=pt.size,
                 container=pt.ext)
        return el

    def _album_el(self, parent: Element, album: _PAlbum) -> Element:
        artist = self._artists[album.artist_rk]
        return self._el(
            parent, "Directory", ratingKey=album.rk, key=f"/library/metadata/{album.rk}/children",
            parentRatingKey=artist.rk, guid=_guid("album", album.rk), parentGuid=_guid("artist", artist.rk),
            type="album", title=album.title, parentKey=f"/library/metadata/{artist.rk}",
            librarySectionTitle="Music", librarySectionID=self.section_key,
            librarySectionKey=f"/library/sections/{self.section_key}", parentTitle=artist.name, summary="",
            index=1, year=album.year, thumb=f"/library/metadata/{album.rk}/thumb/{album.updated_at}",
            parentThumb=f"/library/metadata/{artist.rk}/thumb/{artist.updated_at}",
            originallyAvailableAt=f"{album.year}-01-01" if album.year else None, leafCount=len(album.tracks),
            addedAt=album.added_at, updatedAt=album.updated_at, loudnessAnalysisVersion=2)

    def _artist_el(self, parent: Element, artist: _PArtist) -> Element:
        el = self._el(
            parent, "Directory", ratingKey=artist.rk, key=f"/library/metadata/{artist.rk}/children",
            guid=_guid("artist", artist.rk), type="artist", title=artist.name,
            titleSort=artist.name[4:] if artist.name.startswith("The ") else artist.name,
            librarySectionTitle="Music", librarySectionID=self.section_key,
            librarySectionKey=f"/library/sections/{self.section_key}", summary=artist.summary, index=1,
            thumb=f"/library/metadata/{artist.rk}/thumb/{artist.updated_at}",
            addedAt=artist.added_at, updatedAt=artist.updated_at)
        for genre in artist.genres:
            self._el(el, "Genre", tag=genre)
        return el

    def _render(self, parent: Element, obj: object) -> None:
        if isinstance(obj, _PTrack):
            self._track_el(parent, obj)
        elif isinstance(obj, _PAlbum):
            self._album_el(parent, obj)
        elif isinstance(obj, _PArtist):
            self._artist_el(parent, obj)

    @staticmethod
    def _window(req: Request, default_size: int = 50_000) -> tuple[int, int]:
        def number(name: str, default: int) -> int:
            raw = req.header(name) or req.arg(name)
            try:
                return max(0, int(raw)) if raw not in (None, "") else default
            except ValueError:
                return default
        return number("X-Plex-Container-Start", 0), number("X-Plex-Container-Size", default_size)

    # ------------------------------------------------------------ server and sections
    def _identity(self, req: Request) -> Response:
        return self._xml(self._container(size=0, apiVersion="1.1.1", claimed=1,
                                         machineIdentifier=self.machine_identifier, version=SERVER_VERSION))

    def _root(self, req: Request) -> Response:
        root = self._container(
            size=1, allowCameraUpload=0, allowSync=1, friendlyName=self.server_name, hubSearch=1,
            machineIdentifier=self.machine_identifier, multiuser=1, myPlex=1, myPlexSigninState="ok",
            myPlexUsername="demo@example.com", platform="Linux", platformVersion="6.1", transcoderAudio=1,
            updatedAt=int(self.clock()), version=SERVER_VERSION)
        self._el(root, "Directory", count=1, key="library", title="library")
        return self._xml(root)

    def _library(self, req: Request) -> Response:
        root = self._container(size=1, identifier="com.plexapp.plugins.library",
                               mediaTagPrefix="/system/bundle/media/flags/", title1="Plex Library", title2="")
        self._el(root, "Directory", key="sections", title="Library Sections")
        return self._xml(root)

    def _section_directory(self, parent: Element) -> Element:
        el = self._el(parent, "Directory", allowSync=1, art="/:/resources/artist-fanart.jpg", composite=
                      f"/library/sections/{self.section_key}/composite/{_BASE_TIME}", filters=1,
                      refreshing=int(self.refreshing), thumb="/:/resources/artist.png", key=self.section_key,
                      type="artist", title="Music", agent="tv.plex.agents.music", scanner="Plex Music",
                      language="en-US", uuid=self.section_uuid, updatedAt=int(self.clock()),
                      createdAt=_BASE_TIME - 86400 * 900, scannedAt=int(self.clock()), content=1, directory=1,
                      contentChangedAt=self._version, hidden=0)
        self._el(el, "Location", id=self.section_key, path=str(self.library_dir))
        return el

    def _sections(self, req: Request) -> Response:
        root = self._container(size=1, allowSync=0, title1="Plex Library")
        self._section_directory(root)
        return self._xml(root)

    def _check_section(self, req: Request) -> None:
        if int(req.params["key"]) != self.section_key:
            raise _HTTPError(404)

    def _section_detail(self, req: Request) -> Response:
        return self._guard(req, lambda: self._sections(req))

    def _guard(self, req: Request, fn: Callable[[], Response]) -> Response:
        try:
            if "key" in req.params:
                self._check_section(req)
            return fn()
        except _HTTPError as exc:
            return self.error_response(exc.status, req)

    # ------------------------------------------------------------ listing and filters
    def _meta(self, root: Element) -> None:
        meta = self._el(root, "Meta")
        for type_id, libtype, plural in (("8", "artist", "Artists"), ("9", "album", "Albums"),
                                         ("10", "track", "Tracks")):
            t = self._el(meta, "Type", key=f"/library/sections/{self.section_key}/all?type={type_id}",
                         type=libtype, title=plural, active=int(libtype == "artist"))
            for key, title in (("titleSort", "Title"), ("addedAt", "Date Added"), ("updatedAt", "Date Updated")):
                self._el(t, "Sort", defaultDirection="desc" if key != "titleSort" else "asc",
                         descKey=f"{key}:desc", key=key, title=title)
            self._el(t, "Field", key=f"{libtype}.title", title=f"{libtype.title()} Title", type="string")
            self._el(t, "Field", key=f"{libtype}.addedAt", title="Date Added", type="date")
            self._el(t, "Field", key=f"{libtype}.updatedAt", title="Date Updated", type="date")
            if libtype != "artist":
                self._el(t, "Field", key=f"{libtype}.year" if libtype == "album" else "album.year",
                         title="Year", type="integer")
        string = self._el(meta, "FieldType", type="string")
        for key, title in (("=", "contains"), ("!=", "does not contain"), ("==", "is"), ("!==", "is not"),
                           ("<=", "begins with"), (">=", "ends with")):
            self._el(string, "Operator", key=key, title=title)
        integer = self._el(meta, "FieldType", type="integer")
        for key, title in (("=", "is"), ("!=", "is not"), (">>=", "is greater than"), ("<<=", "is less than")):
            self._el(integer, "Operator", key=key, title=title)
        date = self._el(meta, "FieldType", type="date")
        for key, title in ((">>=", "is after"), ("<<=", "is before")):
            self._el(date, "Operator", key=key, title=title)
        tag = self._el(meta, "FieldType", type="tag")
        self._el(tag, "Operator", key="=", title="is")
        self._el(tag, "Operator", key="!=", title="is not")

    def _section_edit(self, req: Request) -> Response:
        """plexapi's edits (``LibrarySection._edit``): ``id``, ``type``, ``genre[i].tag.tag``,
        ``genre[].tag.tag-`` (removals), ``summary.value``; artists are what SoulSync edits."""
        def run() -> Response:
            if req.arg("type") != "8":
                raise _HTTPError(400)
            try:
                ids = [int(x) for x in (req.arg("id") or "").split(",") if x]
            except ValueError:
                raise _HTTPError(400) from None
            added = [v[0] for k, v in sorted(req.query.items()) if re.fullmatch(r"genre\[\d+\]\.tag\.tag", k)]
            removed = [unquote(x) for x in (req.arg("genre[].tag.tag-") or "").split(",") if x]
            with self._lock:
                artists = [a for a in (self._artists.get(i) for i in ids) if a is not None]
                if not ids or len(artists) != len(ids):
                    raise _HTTPError(404)
                for artist in artists:
                    if added:
                        artist.genres = list(dict.fromkeys(added))
                    if removed:
                        artist.genres = [g for g in artist.genres if g not in removed]
                    if req.arg("summary.value") is not None:
                        artist.summary = req.arg("summary.value") or ""
                    artist.updated_at = int(self.clock())
                self._version += 1
            return Response(200, b"", content_type="")
        return self._guard(req, run)

    def _section_all(self, req: Request) -> Response:
        def run() -> Response:
            libtype = _TYPES.get(req.arg("type") or "8")
            if libtype is None:
                raise _HTTPError(400)
            filters = self._parse_filters(req, libtype)
            sort = req.arg("sort") or ""
            with self._lock:
                key = (libtype, tuple(filters), sort, self._version)
                items = self._cache.get(key)
                if items is None:
                    items = self._query(libtype, filters, sort)
                    self._cache = {key: items}
                limit = req.int_arg("limit", 0)
                if limit > 0:
                    items = items[:limit]
                start, size = self._window(req)
                page = items[start:start + size]
                root = self._container(size=len(page), totalSize=len(items), offset=start, allowSync=1,
                                       art=f"/:/resources/{libtype}-fanart.jpg",
                                       identifier="com.plexapp.plugins.library",
                                       mediaTagPrefix="/system/bundle/media/flags/", mediaTagVersion=_BASE_TIME,
                                       thumb="/:/resources/artist.png", title1="Music",
                                       title2=f"All {libtype.title()}s", viewGroup=libtype,
                                       **self._section_attrs())
                if req.bool_arg("includeMeta"):
                    self._meta(root)
                for obj in page:
                    self._render(root, obj)
            return self._xml(root)
        return self._guard(req, run)

    def _parse_filters(self, req: Request, libtype: str) -> list[tuple[str, str, str, str]]:
        """(object type, field, operator, value) for every filter argument."""
        out: list[tuple[str, str, str, str]] = []
        for raw_key, values in req.query.items():
            if raw_key in _NON_FILTER_PARAMS:
                continue
            m = _FILTER_KEY.match(raw_key)
            if not m:
                raise _HTTPError(400)
            obj, name, op = m.group(1) or libtype, m.group(2), m.group(3)
            for value in values:
                if value.startswith("=") and not op.endswith("="):
                    op, value = op + "=", value[1:]
                if name not in ("title", "addedAt", "updatedAt", "year"):
                    raise _HTTPError(400)
                out.append((obj, name, op, value))
        return out

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
            return item if isinstance(item, _PTrack) else None
        if obj == "album":
            if isinstance(item, _PTrack):
                return self._albums.get(item.album_rk)
            return item if isinstance(item, _PAlbum) else None
        if isinstance(item, _PTrack):
            return self._artists.get(item.artist_rk)
        if isinstance(item, _PAlbum):
            return self._artists.get(item.artist_rk)
        return item

    def _matches(self, item: Any, obj: str, name: str, op: str, value: str, now: int) -> bool:
        target = self._related(item, obj)
        if target is None:  # e.g. a track filter on an album listing: any of its tracks
            if isinstance(item, _PAlbum):
                return any(self._matches(self._tracks[rk], obj, name, op, value, now) for rk in item.tracks)
            if isinstance(item, _PArtist):
                return any(self._matches(self._albums[rk], obj, name, op, value, now) for rk in item.albums)
            return False
        if name == "title":
            have = _fold(target.track.title if isinstance(target, _PTrack) else
                         target.title if isinstance(target, _PAlbum) else target.name)
            want = _fold(value)
            test = _STRING_OPS.get(op)
            return test(have, want) if test else False
        if name == "year":
            year = target.track.year if isinstance(target, _PTrack) else getattr(target, "year", None)
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
        if isinstance(item, _PTrack):
            return _fold(item.track.title)
        return _fold(item.title if isinstance(item, _PAlbum) else item.name)

    def _collections(self, req: Request) -> Response:
        def run() -> Response:
            root = self._container(size=0, totalSize=0, offset=0, **self._section_attrs())
            if req.bool_arg("includeMeta"):
                meta = self._el(root, "Meta")
                t = self._el(meta, "Type", key=f"/library/sections/{self.section_key}/collections", type="collection",
                             title="Collections", active=0)
                self._el(t, "Sort", defaultDirection="asc", descKey="titleSort:desc", key="titleSort", title="Title")
                self._el(t, "Field", key="collection.title", title="Title", type="string")
            return self._xml(root)
        return self._guard(req, run)

    # ------------------------------------------------------------ refresh
    def _refresh(self, req: Request) -> Response:
        """plexapi ``LibrarySection.update(path=None)``: ``GET .../refresh[?path=<quote_plus(dir)>]``. A real
        server answers 200 with an empty body at once and scans later (reference 3.7): the scan is queued here
        and started by a thread after the answer, ``refreshing_delay`` later."""
        def run() -> Response:
            path = req.arg("path")
            scope = Path(path) if path else None
            with self._lock:
                self._scan_queue.append(scope)
                if self._scan_done.is_set():
                    self._scan_done.clear()
                    threading.Thread(target=self._background_scans, name="plex-sim-scan", daemon=True).start()
            return Response(200, b"", "")
        return self._guard(req, run)

    def _cancel_refresh(self, req: Request) -> Response:
        """plexapi ``LibrarySection.cancelUpdate()``: ``DELETE .../refresh`` stops the running and queued scans."""
        def run() -> Response:
            if not self._scan_done.is_set():
                self._scan_cancel.set()
            return Response(200, b"", "")
        return self._guard(req, run)

    def _timeline(self, req: Request) -> Response:
        """plexapi ``LibrarySection.timeline()`` reads the container itself as a ``LibraryTimeline``;
        ``updateQueueSize`` is what plexapi's tests wait on to reach 0 (``tests/test__prepare.py``)."""
        def run() -> Response:
            with self._lock:
                queue = self._update_queue if self._running is not None else 0
            return self._xml(self._container(
                size=0, allowSync=0, art="/:/resources/artist-fanart.jpg", content="secondary",
                identifier="com.plexapp.plugins.library", latestEntryTime=int(self.clock()),
                mediaTagPrefix="/system/bundle/media/flags/", mediaTagVersion=_BASE_TIME,
                thumb="/:/resources/artist.png", title1="Music", updateQueueSize=queue, viewGroup="secondary",
                viewMode=65592))
        return self._guard(req, run)

    def _activities(self, req: Request) -> Response:
        """plexapi ``PlexServer.activities``: one ``Activity`` (``cancellable``, ``progress``, ``title``,
        ``subtitle``, ``type``, ``uuid``) per running task; plexapi's tests wait for the list to be empty
        (``tests/test__prepare.py``). The ``type`` of a real scan is unverified (reference 3.7)."""
        with self._lock:
            running = self._running
            root = self._container(size=int(running is not None))
            if running is not None:
                activity = self._el(root, "Activity", uuid=running.uuid, type="library.update.section",
                                    cancellable=0, userID=1, title="Scanning Music",
                                    subtitle=running.scope.name if running.scope is not None else "", progress=0)
                self._el(activity, "Context", librarySectionID=self.section_key)
        return self._xml(root)

    # ------------------------------------------------------------ metadata
    def _lookup(self, rk: int) -> Any:
        return self._tracks.get(rk) or self._albums.get(rk) or self._artists.get(rk)

    def _metadata(self, req: Request) -> Response:
        with self._lock:
            items = [self._lookup(int(k)) for k in req.params["rks"].split(",") if k]
            items = [i for i in items if i is not None]
            if not items:
                return self.error_response(404, req)
            root = self._container(size=len(items), allowSync=1, identifier="com.plexapp.plugins.library",
                                   mediaTagPrefix="/system/bundle/media/flags/", **self._section_attrs())
            for item in items:
                self._render(root, item)
        return self._xml(root)

    def _children(self, req: Request) -> Response:
        with self._lock:
            parent = self._lookup(int(req.params["rk"]))
            if isinstance(parent, _PArtist):
                children: list[Any] = [self._albums[rk] for rk in parent.albums]
            elif isinstance(parent, _PAlbum):
                children = sorted((self._tracks[rk] for rk in parent.tracks),
                                  key=lambda p: (p.track.disc_number or 1, p.track.track_number or 0))
            else:
                return self.error_response(404, req)
            start, size = self._window(req)
            page = children[start:start + size]
            root = self._container(size=len(page), totalSize=len(children), offset=start,
                                   key=parent.rk, title1=getattr(parent, "name", getattr(parent, "title", "")),
                                   **self._section_attrs())
            for child in page:
                self._render(root, child)
        return self._xml(root)

    def _thumb(self, req: Request) -> Response:
        rk = int(req.params["rk"])
        with self._lock:
            item = self._lookup(rk)
            if item is None:
                return self.error_response(404, req)
            key = item.album_rk if isinstance(item, _PTrack) else rk
        return Response(200, cover_jpeg(f"plex-{self.machine_identifier}-{key}", 600), "image/jpeg")

    def _part(self, req: Request) -> Response:
        with self._lock:
            pt = self._tracks.get(int(req.params["pid"]))
            if pt is None or not pt.real:
                return self.error_response(404, req)
            path = self.library_dir / (pt.track.path or "")
        try:
            data = path.read_bytes()
        except OSError:
            return self.error_response(404, req)
        types = {"flac": "audio/flac", "mp3": "audio/mpeg", "ogg": "audio/ogg", "m4a": "audio/mp4"}
        return Response(200, data, types.get(pt.ext, "application/octet-stream"))

    # ------------------------------------------------------------ hub search
    def _hub_search(self, req: Request) -> Response:
        query = _fold(req.arg("query") or "")
        limit = req.int_arg("limit", 10)
        section = req.arg("sectionId")
        if section not in (None, "", str(self.section_key)):
            return self._xml(self._container(size=0))
        root = self._container(size=3)
        with self._lock:
            hits: dict[str, list[Any]] = {"artist": [], "album": [], "track": []}
            if query:
                hits["artist"] = [a for a in self._artists.values() if query in _fold(a.name)]
                hits["album"] = [a for a in self._albums.values() if query in _fold(a.title)]
                hits["track"] = [t for t in self._tracks.values() if query in _fold(t.track.title)]
            for libtype, title in (("artist", "Artists"), ("album", "Albums"), ("track", "Tracks")):
                found = hits[libtype]
                hub = self._el(root, "Hub", title=title, type=libtype, hubIdentifier=libtype, context="",
                               size=min(limit, len(found)), more=int(len(found) > limit), style="shelf",
                               hubKey=f"/library/metadata/{','.join(str(x.rk) for x in found[:limit])}")
                for obj in found[:limit]:
                    self._render(hub, obj)
        return self._xml(root)

    # ------------------------------------------------------------ playlists
    def _playlist_el(self, parent: Element, p: _PPlaylist) -> Element:
        """The ``<Playlist>`` plexapi's ``Playlist._loadData`` reads (reference 3.4): ``guid``, ``smart``,
        ``playlistType``, ``summary``, ``leafCount``; a smart one adds ``content`` (its filter) and ``icon``."""
        tracks = [self._tracks[rk] for _, rk in p.items if rk in self._tracks]
        duration = sum(t.track.duration_ms or 0 for t in tracks)
        el = self._el(parent, "Playlist", ratingKey=p.rk, key=f"/playlists/{p.rk}/items", guid=p.guid,
                      type="playlist", title=p.title, titleSort=p.title, smart=int(p.smart),
                      playlistType=p.playlist_type, composite=f"/playlists/{p.rk}/composite/{p.updated_at}",
                      content=p.content, icon="playlist://image.smart" if p.smart else None,
                      leafCount=len(tracks), duration=duration, durationInSeconds=duration // 1000,
                      addedAt=p.added_at, updatedAt=p.updated_at)
        el.set("summary", _clean(p.summary))  # present even when empty, as real PMS sends it
        return el

    def _playlist_state(self, req: Request, regular: bool = False) -> _PPlaylist:
        """The playlist of the route; ``regular``: 400 for a smart one, whose items come from its filter
        (plexapi refuses to add, remove or move them client-side; what PMS answers is unverified)."""
        p = self._playlists.get(int(req.params["rk"]))
        if p is None:
            raise _HTTPError(404)
        if regular and p.smart:
            raise _HTTPError(400)
        return p

    def _uri_keys(self, uri: str) -> list[int]:
        prefix = f"server://{self.machine_identifier}/com.plexapp.plugins.library/library/metadata/"
        if not uri.startswith(prefix):
            raise _HTTPError(400)
        keys = []
        for part in uri[len(prefix):].split(","):
            if part.strip().isdigit() and int(part) in self._tracks:
                keys.append(int(part))
        return keys

    def _playlists_list(self, req: Request) -> Response:
        """``GET /playlists[?playlistType=][&title=]`` (plexapi ``PlexServer.playlists``): every playlist of the
        account, smart ones and every type unless ``playlistType`` is given; ``title`` is a partial match
        (plexapi's docstring: "Partial string matches are allowed"); case-insensitive here (unverified)."""
        kind = req.arg("playlistType")
        title = _fold(req.arg("title") or "")
        with self._lock:
            found = [p for p in self._playlists.values()
                     if (not kind or p.playlist_type == kind) and (not title or title in _fold(p.title))]
            start, size = self._window(req)
            page = found[start:start + size]
            root = self._container(size=len(page), totalSize=len(found), offset=start)
            for p in page:
                self._playlist_el(root, p)
        return self._xml(root)

    def _playlist_create(self, req: Request) -> Response:
        """plexapi ``Playlist._create``: ``POST /playlists?smart=0&title=&type=audio&uri=server://<mid>/...``
        (reference 3.3). Only regular audio playlists are created here; a real server also makes smart ones."""
        try:
            title = (req.arg("title") or "").strip()
            if not title or req.arg("type") != "audio" or req.arg("smart", "0") != "0":
                raise _HTTPError(400)
            with self._lock:
                keys = self._uri_keys(req.arg("uri") or "")
                if not keys:
                    raise _HTTPError(400)
                now = int(self.clock())
                p = _PPlaylist(self._new_key(), title, f"com.plexapp.agents.none://{uuid.uuid4()}", now, now)
                p.items = [(self._item_id(), k) for k in keys]
                self._playlists[p.rk] = p
                root = self._container(size=1)
                self._playlist_el(root, p)
            return self._xml(root)
        except _HTTPError as exc:
            return self.error_response(exc.status, req)

    def _item_id(self) -> int:
        value = self._next_item_id
        self._next_item_id += 1
        return value

    def _playlist_get(self, req: Request) -> Response:
        """``GET /playlists/{rk}``: how plexapi reloads one playlist (``fetchItem``, reference 3.6)."""
        try:
            with self._lock:
                root = self._container(size=1)
                self._playlist_el(root, self._playlist_state(req))
            return self._xml(root)
        except _HTTPError as exc:
            return self.error_response(exc.status, req)

    def _playlist_edit(self, req: Request) -> Response:
        """plexapi's field edits on a playlist (``Playlist._edit``: ``PUT /playlists/{rk}?<field>.value=...&
        <field>.locked=1``, from ``editSummary``, ``editTitle``, ``editSortTitle`` in ``mixins/edit.py``)."""
        try:
            with self._lock:
                p = self._playlist_state(req)
                edits = {name: req.arg(f"{name}.value") for name in ("title", "summary", "titleSort")}
                if not any(value is not None for value in edits.values()):
                    raise _HTTPError(400)
                if edits["title"] is not None:
                    if not edits["title"].strip():
                        raise _HTTPError(400)
                    p.title = edits["title"]
                if edits["summary"] is not None:
                    p.summary = edits["summary"]
                p.updated_at = int(self.clock())
            return Response(200, b"", "")
        except _HTTPError as exc:
            return self.error_response(exc.status, req)

    def _playlist_delete(self, req: Request) -> Response:
        """plexapi ``Playlist.delete()``: ``DELETE /playlists/{rk}`` (reference 3.3); any playlist, smart too."""
        with self._lock:
            if self._playlists.pop(int(req.params["rk"]), None) is None:
                return self.error_response(404, req)
        return Response(200, b"", "")

    def _playlist_items(self, req: Request) -> Response:
        """plexapi ``Playlist.items()``: ``GET /playlists/{rk}/items``, paged like any listing (reference 3.2, 3.3)."""
        try:
            with self._lock:
                p = self._playlist_state(req)
                items = [(iid, self._tracks[rk]) for iid, rk in p.items if rk in self._tracks]
                start, size = self._window(req)
                page = items[start:start + size]
                duration = sum(t.track.duration_ms or 0 for _, t in items)
                root = self._container(size=len(page), totalSize=len(items), offset=start,
                                       composite=f"/playlists/{p.rk}/composite/{p.updated_at}", duration=duration,
                                       leafCount=len(items), playlistType=p.playlist_type, ratingKey=p.rk,
                                       smart=int(p.smart), title=p.title)
                for iid, pt in page:
                    self._track_el(root, pt, playlistItemID=iid)
            return self._xml(root)
        except _HTTPError as exc:
            return self.error_response(exc.status, req)

    def _playlist_add(self, req: Request) -> Response:
        """plexapi ``Playlist.addItems``: ``PUT /playlists/{rk}/items?uri=server://<mid>/...`` (reference 3.3)."""
        try:
            with self._lock:
                p = self._playlist_state(req, regular=True)
                keys = self._uri_keys(req.arg("uri") or "")
                p.items.extend((self._item_id(), k) for k in keys)
                p.updated_at = int(self.clock())
                root = self._container(size=1, leafCountAdded=len(keys),
                                       leafCountRequested=len((req.arg("uri") or "").rsplit("/", 1)[-1].split(",")))
                self._playlist_el(root, p)
            return self._xml(root)
        except _HTTPError as exc:
            return self.error_response(exc.status, req)

    def _playlist_remove(self, req: Request) -> Response:
        """plexapi ``Playlist.removeItems``: ``DELETE /playlists/{rk}/items/{playlistItemID}``."""
        try:
            with self._lock:
                p = self._playlist_state(req, regular=True)
                item = int(req.params["item"])
                before = len(p.items)
                p.items = [(iid, rk) for iid, rk in p.items if iid != item]
                if len(p.items) == before:
                    raise _HTTPError(404)
                p.updated_at = int(self.clock())
                root = self._container(size=1)
                self._playlist_el(root, p)
            return self._xml(root)
        except _HTTPError as exc:
            return self.error_response(exc.status, req)

    def _playlist_move(self, req: Request) -> Response:
        """plexapi ``Playlist.moveItem``: ``PUT /playlists/{rk}/items/{playlistItemID}/move[?after=<id>]``."""
        try:
            with self._lock:
                p = self._playlist_state(req, regular=True)
                item = int(req.params["item"])
                moving = [entry for entry in p.items if entry[0] == item]
                if not moving:
                    raise _HTTPError(404)
                rest = [entry for entry in p.items if entry[0] != item]
                after = req.arg("after")
                position = 0
                if after:
                    ids = [iid for iid, _ in rest]
                    if int(after) not in ids:
                        raise _HTTPError(400)
                    position = ids.index(int(after)) + 1
                p.items = rest[:position] + moving + rest[position:]
                p.updated_at = int(self.clock())
                root = self._container(size=1)
                self._playlist_el(root, p)
            return self._xml(root)
        except _HTTPError as exc:
            return self.error_response(exc.status, req)

    def _composite(self, req: Request) -> Response:
        with self._lock:
            if int(req.params["rk"]) not in self._playlists:
                return self.error_response(404, req)
        return Response(200, cover_jpeg(f"plex-playlist-{req.params['rk']}", 600), "image/jpeg")


class _HTTPError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


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


# ---------------------------------------------------------------- reading files
def read_audio_file(path: Path, rel: str) -> Track | None:
    """A Track from an audio file's tags, with gaps filled from its path; None if unreadable."""
    try:
        audio = mutagen.File(str(path), easy=True)
    except Exception:  # mutagen raises many kinds on damaged files
        return None
    if audio is None or audio.info is None:
        return None
    tags = audio.tags or {}

    def tag_list(name: str) -> list[str]:
        try:
            values = tags.get(name) or []
        except (KeyError, ValueError):
            return []
        return [str(v).strip() for v in values if str(v).strip()]

    def tag(name: str) -> str:
        values = tag_list(name)
        return values[0] if values else ""

    guess = guess_from_path(rel)
    number, total = _split_number(tag("tracknumber"))
    disc, disc_total = _split_number(tag("discnumber"))
    year_text = tag("date") or tag("year") or tag("originaldate")
    year = int(year_text[:4]) if year_text[:4].isdigit() else guess.year
    artists = tag_list("artist") or guess.artists
    return Track(
        title=tag("title") or guess.title,
        artists=artists or ["Unknown Artist"],
        album=tag("album") or guess.album,
        duration_ms=int(round(float(getattr(audio.info, "length", 0) or 0) * 1000)),
        isrc=tag("isrc") or None,
        album_artist=tag("albumartist") or guess.album_artist or (artists[0] if artists else ""),
        track_number=number or guess.track_number,
        disc_number=disc or guess.disc_number,
        track_total=total,
        disc_total=disc_total,
        year=year,
        genre=tag("genre"),
        path=rel,
    )


def _split_number(text: str) -> tuple[int | None, int | None]:
    first, _, second = text.partition("/")
    a = int(first) if first.strip().isdigit() else None
    b = int(second) if second.strip().isdigit() else None
    return a, b


def guess_from_path(rel: str) -> Track:
    """Best guesses from ``Artist/Album (Year)/[D-]NN - Title.ext`` and flatter layouts."""
    parts = [p for p in rel.replace("\\", "/").split("/") if p]
    stem = os.path.splitext(parts[-1])[0] if parts else ""
    artist = parts[-3] if len(parts) >= 3 else ""
    album_dir = parts[-2] if len(parts) >= 2 else ""
    album, year = album_dir, None
    m = _GUESS_ALBUM.match(album_dir)
    if m and album_dir:
        album = m.group("album").strip()
        y = m.group("y1") or m.group("y2")
        year = int(y) if y else None
    title, number, disc, track_artist = stem, None, None, ""
    m = _GUESS_FILE.match(stem)
    if m:
        title = m.group("title").strip()
        number = int(m.group("num"))
        disc = int(m.group("disc")) if m.group("disc") else None
        track_artist = (m.group("artist") or "").strip()
    elif " - " in stem:
        track_artist, title = (s.strip() for s in stem.split(" - ", 1))
    main = track_artist or artist
    return Track(title=title or stem, artists=[main] if main else [], album=album, album_artist=artist or main,
                 track_number=number, disc_number=disc, year=year, path=rel)
