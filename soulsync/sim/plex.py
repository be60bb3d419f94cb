"""Simulated Plex Media Server: the HTTP routes of one music section, XML exactly as plexapi parses it.

This module parses requests and answers them; the library, its scans and playlists are the world model
of :mod:`soulsync.sim.plex_library`, the elements are written by :mod:`soulsync.sim.plex_xml`.


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

import hashlib
import os
import re
import time
import uuid
from http import HTTPStatus
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote

from soulsync.sim.base import Request, Response, SimServer
from soulsync.sim.catalog import Catalog, build_catalog
from soulsync.sim.images import cover_jpeg
from soulsync.sim.plex_files import AUDIO_EXTENSIONS, guess_from_path, read_audio_file
from soulsync.sim.plex_library import BASE_TIME, PAlbum, PArtist, PlexError, PTrack, ScanReport, fold
from soulsync.sim.plex_playlists import SEEDED_PLAYLISTS, PlaylistInfo, SeededPlaylist
from soulsync.sim.plex_xml import PlexXml

__all__ = ["AUDIO_EXTENSIONS", "SEEDED_PLAYLISTS", "PlaylistInfo", "PlexSim", "ScanReport", "SeededPlaylist",
           "guess_from_path", "read_audio_file"]

SERVER_VERSION = "1.41.3.9314-a0bfb8370"
SECTION_KEY = 1
_TYPES = {"8": "artist", "9": "album", "10": "track"}
_FILTER_KEY = re.compile(r"^(?:(artist|album|track)\.)?([A-Za-z]+)([!<>=&]*)$")
_NON_FILTER_PARAMS = {
    "type", "sort", "limit", "includeGuids", "includeMeta", "includeAdvanced", "includeCollections",
    "includeExternalMedia", "X-Plex-Container-Start", "X-Plex-Container-Size", "checkFiles", "includeRelated",
    "includeDetails", "X-Plex-Token", "excludeAllLeaves", "includeBandwidths", "includeChapters", "includeFields",
    "includeGeolocation", "includeLoudnessRamps", "includeMarkers", "includeConcerts", "includeExtras",
    "includeOnDeck", "includePopularLeaves", "includePreferences", "includeReviews", "includeStations",
    "asyncAugmentMetadata", "asyncCheckFiles", "asyncRefreshAnalysis", "asyncRefreshLocalMediaAgent",
}


class PlexSim(PlexXml, SimServer):
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
        catalog = catalog or build_catalog()
        folder = Path(library_dir).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        seed_digest = hashlib.sha256(f"soulsync-sim-plex-{catalog.seed}".encode()).hexdigest()
        self.token = token or seed_digest[:20]
        self.server_name = server_name
        self._init_library(catalog, folder, str(uuid.UUID(seed_digest[:32])), SECTION_KEY, seed_digest[20:60], clock,
                           refreshing_delay, path_scan_refreshing)
        self._init_playlists(seed_playlists)
        self._routes_setup()

    def describe(self) -> dict[str, Any]:
        """Base URL and credentials, for ``soulsync sim``'s JSON line and the demo's config."""
        return {"url": self.url, "token": self.token, "section": "Music", "library_dir": str(self.library_dir),
                "machine_identifier": self.machine_identifier}

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

    @staticmethod
    def _window(req: Request, default_size: int = 50_000) -> tuple[int, int]:
        def number(name: str, default: int) -> int:
            raw = req.header(name) or req.arg(name)
            try:
                return max(0, int(raw)) if raw not in (None, "") else default
            except ValueError:
                return default
        return number("X-Plex-Container-Start", 0), number("X-Plex-Container-Size", default_size)

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

    def _sections(self, req: Request) -> Response:
        root = self._container(size=1, allowSync=0, title1="Plex Library")
        self._section_directory(root)
        return self._xml(root)

    def _check_section(self, req: Request) -> None:
        if int(req.params["key"]) != self.section_key:
            raise PlexError(404)

    def _section_detail(self, req: Request) -> Response:
        return self._guard(req, lambda: self._sections(req))

    def _guard(self, req: Request, fn: Callable[[], Response]) -> Response:
        try:
            if "key" in req.params:
                self._check_section(req)
            return fn()
        except PlexError as exc:
            return self.error_response(exc.status, req)

    # ------------------------------------------------------------ listing and filters
    def _section_edit(self, req: Request) -> Response:
        """plexapi's edits (``LibrarySection._edit``): ``id``, ``type``, ``genre[i].tag.tag``,
        ``genre[].tag.tag-`` (removals), ``summary.value``; artists are what SoulSync edits."""
        def run() -> Response:
            if req.arg("type") != "8":
                raise PlexError(400)
            try:
                ids = [int(x) for x in (req.arg("id") or "").split(",") if x]
            except ValueError:
                raise PlexError(400) from None
            added = [v[0] for k, v in sorted(req.query.items()) if re.fullmatch(r"genre\[\d+\]\.tag\.tag", k)]
            removed = [unquote(x) for x in (req.arg("genre[].tag.tag-") or "").split(",") if x]
            self.edit_artists(ids, added, removed, req.arg("summary.value"))
            return Response(200, b"", content_type="")
        return self._guard(req, run)

    def _section_all(self, req: Request) -> Response:
        def run() -> Response:
            libtype = _TYPES.get(req.arg("type") or "8")
            if libtype is None:
                raise PlexError(400)
            filters = self._parse_filters(req, libtype)
            sort = req.arg("sort") or ""
            with self._lock:
                items = self.listing(libtype, filters, sort)
                limit = req.int_arg("limit", 0)
                if limit > 0:
                    items = items[:limit]
                start, size = self._window(req)
                page = items[start:start + size]
                root = self._container(size=len(page), totalSize=len(items), offset=start, allowSync=1,
                                       art=f"/:/resources/{libtype}-fanart.jpg",
                                       identifier="com.plexapp.plugins.library",
                                       mediaTagPrefix="/system/bundle/media/flags/", mediaTagVersion=BASE_TIME,
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
                raise PlexError(400)
            obj, name, op = m.group(1) or libtype, m.group(2), m.group(3)
            for value in values:
                if value.startswith("=") and not op.endswith("="):
                    op, value = op + "=", value[1:]
                if name not in ("title", "addedAt", "updatedAt", "year"):
                    raise PlexError(400)
                out.append((obj, name, op, value))
        return out

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
            self.request_scan(scope)
            return Response(200, b"", "")
        return self._guard(req, run)

    def _cancel_refresh(self, req: Request) -> Response:
        """plexapi ``LibrarySection.cancelUpdate()``: ``DELETE .../refresh`` stops the running and queued scans."""
        def run() -> Response:
            self.cancel_scans()
            return Response(200, b"", "")
        return self._guard(req, run)

    def _timeline(self, req: Request) -> Response:
        """plexapi ``LibrarySection.timeline()`` reads the container itself as a ``LibraryTimeline``;
        ``updateQueueSize`` is what plexapi's tests wait on to reach 0 (``tests/test__prepare.py``)."""
        def run() -> Response:
            queue = self.update_queue_size()
            return self._xml(self._container(
                size=0, allowSync=0, art="/:/resources/artist-fanart.jpg", content="secondary",
                identifier="com.plexapp.plugins.library", latestEntryTime=int(self.clock()),
                mediaTagPrefix="/system/bundle/media/flags/", mediaTagVersion=BASE_TIME,
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

    # ------------------------------------------------------------ metadata and search
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
            if isinstance(parent, PArtist):
                children: list[Any] = [self._albums[rk] for rk in parent.albums]
            elif isinstance(parent, PAlbum):
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
            key = item.album_rk if isinstance(item, PTrack) else rk
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

    def _hub_search(self, req: Request) -> Response:
        query = req.arg("query") or ""
        limit = req.int_arg("limit", 10)
        section = req.arg("sectionId")
        if section not in (None, "", str(self.section_key)):
            return self._xml(self._container(size=0))
        root = self._container(size=3)
        with self._lock:
            hits = self.search(query)
            for libtype, title in (("artist", "Artists"), ("album", "Albums"), ("track", "Tracks")):
                found = hits[libtype]
                hub = self._el(root, "Hub", title=title, type=libtype, hubIdentifier=libtype, context="",
                               size=min(limit, len(found)), more=int(len(found) > limit), style="shelf",
                               hubKey=f"/library/metadata/{','.join(str(x.rk) for x in found[:limit])}")
                for obj in found[:limit]:
                    self._render(hub, obj)
        return self._xml(root)

    # ------------------------------------------------------------ playlists
    def _playlists_list(self, req: Request) -> Response:
        """``GET /playlists[?playlistType=][&title=]`` (plexapi ``PlexServer.playlists``): every playlist of the
        account, smart ones and every type unless ``playlistType`` is given; ``title`` is a partial match
        (plexapi's docstring: "Partial string matches are allowed"); case-insensitive here (unverified)."""
        kind = req.arg("playlistType")
        title = fold(req.arg("title") or "")
        with self._lock:
            found = [p for p in self._playlists.values()
                     if (not kind or p.playlist_type == kind) and (not title or title in fold(p.title))]
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
                raise PlexError(400)
            with self._lock:
                p = self.create_playlist(title, req.arg("uri") or "")
                root = self._container(size=1)
                self._playlist_el(root, p)
            return self._xml(root)
        except PlexError as exc:
            return self.error_response(exc.status, req)

    def _playlist_get(self, req: Request) -> Response:
        """``GET /playlists/{rk}``: how plexapi reloads one playlist (``fetchItem``, reference 3.6)."""
        try:
            with self._lock:
                root = self._container(size=1)
                self._playlist_el(root, self.playlist(int(req.params["rk"])))
            return self._xml(root)
        except PlexError as exc:
            return self.error_response(exc.status, req)

    def _playlist_edit(self, req: Request) -> Response:
        """plexapi's field edits on a playlist (``Playlist._edit``: ``PUT /playlists/{rk}?<field>.value=...&
        <field>.locked=1``, from ``editSummary``, ``editTitle``, ``editSortTitle`` in ``mixins/edit.py``)."""
        try:
            with self._lock:
                p = self.playlist(int(req.params["rk"]))
                edits = {name: req.arg(f"{name}.value") for name in ("title", "summary", "titleSort")}
                if not any(value is not None for value in edits.values()):
                    raise PlexError(400)
                self.edit_playlist(p, edits["title"], edits["summary"])
            return Response(200, b"", "")
        except PlexError as exc:
            return self.error_response(exc.status, req)

    def _playlist_delete(self, req: Request) -> Response:
        """plexapi ``Playlist.delete()``: ``DELETE /playlists/{rk}`` (reference 3.3); any playlist, smart too."""
        try:
            with self._lock:
                self.delete_playlist(int(req.params["rk"]))
        except PlexError as exc:
            return self.error_response(exc.status, req)
        return Response(200, b"", "")

    def _playlist_items(self, req: Request) -> Response:
        """plexapi ``Playlist.items()``: ``GET /playlists/{rk}/items``, paged like any listing (reference 3.2, 3.3)."""
        try:
            with self._lock:
                p = self.playlist(int(req.params["rk"]))
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
        except PlexError as exc:
            return self.error_response(exc.status, req)

    def _playlist_add(self, req: Request) -> Response:
        """plexapi ``Playlist.addItems``: ``PUT /playlists/{rk}/items?uri=server://<mid>/...`` (reference 3.3)."""
        try:
            with self._lock:
                p = self.playlist(int(req.params["rk"]), regular=True)
                added = self.add_to_playlist(p, req.arg("uri") or "")
                root = self._container(size=1, leafCountAdded=added,
                                       leafCountRequested=len((req.arg("uri") or "").rsplit("/", 1)[-1].split(",")))
                self._playlist_el(root, p)
            return self._xml(root)
        except PlexError as exc:
            return self.error_response(exc.status, req)

    def _playlist_remove(self, req: Request) -> Response:
        """plexapi ``Playlist.removeItems``: ``DELETE /playlists/{rk}/items/{playlistItemID}``."""
        try:
            with self._lock:
                p = self.playlist(int(req.params["rk"]), regular=True)
                self.remove_from_playlist(p, int(req.params["item"]))
                root = self._container(size=1)
                self._playlist_el(root, p)
            return self._xml(root)
        except PlexError as exc:
            return self.error_response(exc.status, req)

    def _playlist_move(self, req: Request) -> Response:
        """plexapi ``Playlist.moveItem``: ``PUT /playlists/{rk}/items/{playlistItemID}/move[?after=<id>]``."""
        try:
            with self._lock:
                p = self.playlist(int(req.params["rk"]), regular=True)
                after = req.arg("after")
                self.move_in_playlist(p, int(req.params["item"]), int(after) if after else None)
                root = self._container(size=1)
                self._playlist_el(root, p)
            return self._xml(root)
        except PlexError as exc:
            return self.error_response(exc.status, req)

    def _composite(self, req: Request) -> Response:
        with self._lock:
            if int(req.params["rk"]) not in self._playlists:
                return self.error_response(404, req)
        return Response(200, cover_jpeg(f"plex-playlist-{req.params['rk']}", 600), "image/jpeg")
