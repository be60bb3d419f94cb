"""Plex Media Server client: plexapi underneath, domain types and project exceptions on top.

plexapi does the transport (token headers, status handling, XML parsing).
Large listings read the XML containers it returns directly instead of
building a plexapi object per track: one object per track costs a lot at
200,000 tracks, and any attribute a listing leaves out would make plexapi
reload that track with one more request. Paging uses the
``X-Plex-Container-Start`` / ``X-Plex-Container-Size`` headers and
``totalSize`` exactly as plexapi's own ``fetchItems`` does.

The server is contacted lazily: building a client makes no request.
"""
from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlencode
from xml.etree.ElementTree import Element, ParseError

import plexapi.exceptions
import requests
from plexapi.server import PlexServer

from soulsync.core.models import Track
from soulsync.services.errors import (
    AuthError, BadResponse, NotFound, RateLimited, ServerError, ServiceError, WrongServer,
)
from soulsync.services.http import ServiceSession
from soulsync.services.spotify_auth import Cancelled, transport_error

log = logging.getLogger(__name__)

SERVICE = "Plex"
PLAYLIST_CHUNK = 200
"""Rating keys per playlist request (keeps the request line well under server limits)."""


@dataclass
class PlexSection:
    key: int
    title: str
    type: str = "artist"
    locations: list[str] = field(default_factory=list)
    refreshing: bool = False
    uuid: str = ""


@dataclass
class PlexArtist:
    rating_key: int
    title: str
    genres: list[str] = field(default_factory=list)
    summary: str = ""


@dataclass
class PlexServerInfo:
    name: str
    version: str
    machine_identifier: str
    music_sections: list[PlexSection] = field(default_factory=list)


@dataclass(frozen=True)
class PlexPlaylist:
    """A playlist as ``/playlists`` describes it (plexapi ``Playlist._loadData``)."""

    rating_key: str
    title: str
    guid: str = ""
    summary: str = ""
    smart: bool = False
    playlist_type: str = ""
    leaf_count: int = 0


class PlexClient:
    """Typed access to one Plex server for SoulSync.

    The token goes to the origin of ``base_url`` only (a :class:`~soulsync.services.http.ServiceSession`
    unless ``session`` is given): plexapi sends it as a header and would keep it across a redirect.
    """

    def __init__(self, base_url: str, token: str, timeout: float = 15.0, verify_tls: bool = True,
                 session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._token = token
        self._session = session or ServiceSession(self.base_url, SERVICE)
        self._session.verify = verify_tls
        self._session.hooks["response"].append(self._remember_response)
        self._last = threading.local()
        self._plex: PlexServer | None = None
        self._lock = threading.Lock()
        self._date_fields: dict[int, str] = {}

    def __repr__(self) -> str:
        return f"PlexClient({self.base_url!r})"

    # ------------------------------------------------------------ plumbing
    def _remember_response(self, resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last.response = resp

    def _server(self) -> PlexServer:
        with self._lock:
            if self._plex is None:
                if not self._token:
                    raise AuthError(SERVICE, "no Plex token: enter it in Settings")
                try:
                    plex = PlexServer(self.base_url, self._token, session=self._session, timeout=self.timeout)
                except plexapi.exceptions.NotFound:
                    raise WrongServer(SERVICE, f"{self.base_url} answered, but has no Plex API there") from None
                except Exception as exc:
                    raise self._translate(exc, "connecting") from None
                if not plex.machineIdentifier:
                    raise WrongServer(SERVICE, f"{self.base_url} answered, but not like a Plex server")
                self._plex = plex
            return self._plex

    def _translate(self, exc: BaseException, what: str) -> ServiceError:
        if isinstance(exc, ServiceError):
            return exc
        if isinstance(exc, plexapi.exceptions.Unauthorized):
            return AuthError(SERVICE, "the server refused the token (401); check the Plex token in Settings",
                             str(exc)[:300])
        if isinstance(exc, plexapi.exceptions.NotFound):
            return NotFound(SERVICE, f"not found while {what}", str(exc)[:300])
        if isinstance(exc, plexapi.exceptions.BadRequest):
            m = re.match(r"\((\d{3})\)", str(exc))
            status = int(m.group(1)) if m else 400
            if status == 429:
                return RateLimited(SERVICE, f"the server asks to slow down while {what}", self._retry_after(),
                                   str(exc)[:300])
            if status >= 500:
                return ServerError(SERVICE, f"the server failed ({status}) while {what}", status, str(exc)[:300])
            return ServerError(SERVICE, f"the server refused the request ({status}) while {what}", status,
                               str(exc)[:300])
        if isinstance(exc, ParseError):
            if self._looks_foreign():
                return WrongServer(SERVICE, f"{self.base_url} answered, but not like a Plex server "
                                            "(no Plex XML); check the address")
            return BadResponse(SERVICE, f"the answer was not valid XML while {what}", str(exc))
        if isinstance(exc, requests.exceptions.RequestException):
            return transport_error(exc, SERVICE, what)
        if isinstance(exc, (ValueError, TypeError, AttributeError)):
            return BadResponse(SERVICE, f"unexpected answer while {what}", f"{type(exc).__name__}: {exc}")
        return ServiceError(SERVICE, f"unexpected failure while {what}", f"{type(exc).__name__}: {exc}")

    def _retry_after(self) -> float | None:
        resp = getattr(self._last, "response", None)
        value = resp.headers.get("Retry-After") if resp is not None else None
        try:
            return max(0.0, float(value)) if value is not None else None
        except ValueError:
            return None

    def _looks_foreign(self) -> bool:
        """True when the last answer is clearly another kind of server (a web page or JSON)."""
        resp = getattr(self._last, "response", None)
        if resp is None:
            return False
        try:
            text = resp.content[:2000].decode("utf-8", "replace").lstrip().lower()
        except requests.exceptions.RequestException:
            return False
        if "html" in resp.headers.get("Content-Type", "").lower() or text.startswith(("<!doctype html", "<html")):
            return True
        try:
            json.loads(resp.content)
        except ValueError:
            return False
        return True

    def _query(self, path: str, what: str, method: str = "get", headers: dict[str, str] | None = None) -> Element | None:
        """One request through plexapi (token headers, status handling, XML parsing)."""
        server = self._server()
        try:
            return server.query(path, method=getattr(self._session, method), headers=headers)
        except Exception as exc:
            raise self._translate(exc, what) from None

    # ------------------------------------------------------------ server and sections
    def server_info(self) -> PlexServerInfo:
        """Name, version and music libraries: what the Settings page shows."""
        plex = self._server()
        return PlexServerInfo(name=plex.friendlyName or "", version=plex.version or "",
                              machine_identifier=plex.machineIdentifier or "", music_sections=self.music_sections())

    def sections(self) -> list[PlexSection]:
        """Every library section."""
        data = self._query("/library/sections", "listing the libraries")
        out = []
        for el in list(data) if data is not None else []:
            if el.tag != "Directory":
                continue
            try:
                key = int(el.get("key") or "")
            except ValueError:
                continue
            out.append(PlexSection(key=key, title=el.get("title") or "", type=el.get("type") or "",
                                   locations=[loc.get("path") or "" for loc in el.findall("Location")],
                                   refreshing=el.get("refreshing") == "1", uuid=el.get("uuid") or ""))
        return out

    def music_sections(self) -> list[PlexSection]:
        """The music libraries (sections of type ``artist``)."""
        return [s for s in self.sections() if s.type == "artist"]

    def _section(self, section: "str | int | PlexSection") -> PlexSection:
        if isinstance(section, PlexSection):
            return section
        for s in self.music_sections():
            if (isinstance(section, int) and s.key == section) or (
                    isinstance(section, str) and (s.title.strip().lower() == section.strip().lower()
                                                  or str(s.key) == section)):
                return s
        raise NotFound(SERVICE, f"no music library called {section!r} on this server")

    # ------------------------------------------------------------ artists
    def find_artist(self, section: "str | int | PlexSection", name: str) -> PlexArtist | None:
        """The library's artist called ``name`` (case-insensitive, exact), or None."""
        s = self._section(section)
        data = self._query(f"/library/sections/{s.key}/all?{urlencode({'type': 8, 'title': name})}",
                           "looking up an artist")
        wanted = name.strip().lower()
        for el in (data if data is not None else []):
            if el.get("type") == "artist" and (el.get("title") or "").strip().lower() == wanted:
                return PlexArtist(int(el.get("ratingKey") or 0), el.get("title") or "",
                                  [g.get("tag") or "" for g in el.findall("Genre")], el.get("summary") or "")
        return None

    def edit_artist(self, section: "str | int | PlexSection", rating_key: int, genres: list[str] | None = None,
                    summary: str | None = None) -> None:
        """Set an artist's genres (replacing them, locked) and/or summary, as Plex's own editor does."""
        s = self._section(section)
        params: dict[str, str | int] = {"type": 8, "id": rating_key}
        if genres is not None:
            params["genre.locked"] = 1
            for i, genre in enumerate(genres):
                params[f"genre[{i}].tag.tag"] = genre
        if summary is not None:
            params["summary.value"] = summary
            params["summary.locked"] = 1
        self._query(f"/library/sections/{s.key}/all?{urlencode(params)}", "editing an artist", method="put")

    # ------------------------------------------------------------ tracks
    def fetch_all_tracks(self, section: "str | int | PlexSection", page_size: int = 500,
                         progress_cb: Callable[[int, int], None] | None = None,
                         cancel: Callable[[], bool] | None = None) -> list[Track]:
        """Every track of a music library, paged; bad entries are skipped and counted in the log."""
        s = self._section(section)
        return self._paged_tracks(f"/library/sections/{s.key}/all?type=10&includeGuids=1", page_size,
                                  progress_cb, cancel, "listing the library's tracks")

    def tracks_changed_since(self, section: "str | int | PlexSection", ts: float, page_size: int = 500,
                             cancel: Callable[[], bool] | None = None) -> list[Track]:
        """Tracks added or changed after ``ts`` (unix seconds). Deletions show only in a full fetch."""
        s = self._section(section)
        field_name = self._date_field(s)
        query = urlencode({"type": 10, "includeGuids": 1, f"{field_name}>>": int(ts)})
        return self._paged_tracks(f"/library/sections/{s.key}/all?{query}", page_size, None, cancel,
                                  "listing changed tracks")

    def _date_field(self, section: PlexSection) -> str:
        """``track.updatedAt`` when the server offers it as a filter, else ``track.addedAt`` (asked once)."""
        known = self._date_fields.get(section.key)
        if known is not None:
            return known
        field_name = self._read_date_field(section)
        self._date_fields[section.key] = field_name
        return field_name

    def _read_date_field(self, section: PlexSection) -> str:
        plex = self._server()
        try:
            lib = plex.library.sectionByID(section.key)
            keys = {f.key for f in lib.listFields(libtype="track")}
        except Exception as exc:
            raise self._translate(exc, "reading the library's filters") from None
        if "track.updatedAt" in keys:
            return "track.updatedAt"
        if "track.addedAt" in keys:
            return "track.addedAt"
        raise ServerError(SERVICE, "this server cannot filter tracks by date; use a full refresh")

    def _paged_tracks(self, path: str, page_size: int, progress_cb: Callable[[int, int], None] | None,
                      cancel: Callable[[], bool] | None, what: str) -> list[Track]:
        page_size = max(1, page_size)
        tracks: list[Track] = []
        skipped = 0
        start = 0
        while True:
            if cancel is not None and cancel():
                raise Cancelled(SERVICE)
            data = self._query(path, what, headers={"X-Plex-Container-Start": str(start),
                                                    "X-Plex-Container-Size": str(page_size)})
            if data is None or data.tag != "MediaContainer":
                raise BadResponse(SERVICE, f"the answer has no MediaContainer while {what}")
            elements = [el for el in data if el.tag == "Track"]
            for el in elements:
                track = track_from_xml(el)
                if track is None:
                    skipped += 1
                else:
                    tracks.append(track)
            try:
                total = int(data.get("totalSize") or data.get("size") or 0)
            except ValueError:
                total = 0
            start += page_size
            if progress_cb is not None:
                progress_cb(min(start, total), total)
            if not elements or start >= total:
                break
        if skipped:
            log.warning("Plex: skipped %d library entries without a usable title or rating key", skipped)
        return tracks

    # ------------------------------------------------------------ scanning
    def scan_section(self, section: "str | int | PlexSection", path: str | None = None) -> None:
        """Ask the server to scan a library, or one folder of it (plexapi ``LibrarySection.update(path)``).

        The server answers at once and scans later; whether and when the section shows ``refreshing`` is
        unknown (reference section 3.7), so callers wait for the result they need, not for that flag."""
        s = self._section(section)
        query = f"?{urlencode({'path': path})}" if path else ""
        self._query(f"/library/sections/{s.key}/refresh{query}", "starting a library scan")

    def section_busy(self, section: str | int | PlexSection) -> bool:
        """A hint that the server is still working on a library: the section shows ``refreshing``, its
        timeline's ``updateQueueSize`` is above 0, or ``/activities`` lists a task (what plexapi's own tests
        wait on). False proves nothing: a scan may not have started yet, or not show at all."""
        s = self._section(section)
        current = next((x for x in self.sections() if x.key == s.key), None)
        if current is None:
            raise NotFound(SERVICE, f"the library {s.title!r} is gone from the server")
        if current.refreshing:
            return True
        try:
            timeline = self._query(f"/library/sections/{s.key}/timeline", "reading the library's queue")
            activities = self._query("/activities", "reading the server's activities")
        except (NotFound, ServerError):  # older servers, or a token that may not see them: no hint
            return False
        queued = _int(timeline.get("updateQueueSize")) if timeline is not None else None
        return bool(queued) or any(el.tag == "Activity" for el in (activities if activities is not None else []))

    # ------------------------------------------------------------ playlists
    def machine_identifier(self) -> str:
        """The server's ``machineIdentifier`` (which server a stored playlist rating key belongs to)."""
        return self._server().machineIdentifier or ""

    def playlists(self, title: str | None = None, playlist_type: str | None = None) -> list[PlexPlaylist]:
        """Every playlist of the account (plexapi ``PlexServer.playlists``), paged.

        ``title`` is the server's *partial* match (reference section 3.6): callers compare titles themselves.
        Smart playlists and every ``playlistType`` are included unless ``playlist_type`` is given."""
        args = {k: v for k, v in (("playlistType", playlist_type), ("title", title)) if v is not None}
        path = "/playlists" + (f"?{urlencode(args)}" if args else "")
        out: list[PlexPlaylist] = []
        start = 0
        while True:
            data = self._query(path, "listing playlists", headers={"X-Plex-Container-Start": str(start),
                                                                   "X-Plex-Container-Size": "200"})
            elements = [el for el in (data if data is not None else []) if el.tag == "Playlist"]
            out.extend(p for p in map(playlist_from_xml, elements) if p is not None)
            start += 200
            if not elements or start >= (_int(data.get("totalSize") if data is not None else None) or 0):
                return out

    def playlist(self, rating_key: str) -> PlexPlaylist | None:
        """One playlist by rating key (``GET /playlists/{ratingKey}``, as plexapi reloads one); None if gone."""
        try:
            data = self._query(f"/playlists/{int(rating_key)}", "reading a playlist")
        except NotFound:
            return None
        element = next((el for el in (data if data is not None else []) if el.tag == "Playlist"), None)
        found = playlist_from_xml(element) if element is not None else None
        if found is None:
            raise BadResponse(SERVICE, "the playlist came back without a rating key or title")
        return found

    def playlist_items(self, rating_key: str) -> list[str]:
        """The rating keys of a playlist's items, in order."""
        keys: list[str] = []
        start = 0
        while True:
            data = self._query(f"/playlists/{int(rating_key)}/items", "reading a playlist",
                               headers={"X-Plex-Container-Start": str(start), "X-Plex-Container-Size": "500"})
            elements = [el for el in (data if data is not None else []) if el.get("ratingKey")]
            keys.extend(el.get("ratingKey") or "" for el in elements)
            start += 500
            if not elements or start >= (_int(data.get("totalSize") if data is not None else None) or 0):
                return keys

    def _uri(self, keys: list[str]) -> str:
        return (f"server://{self.machine_identifier()}/com.plexapp.plugins.library/library/metadata/"
                f"{','.join(keys)}")

    def create_playlist(self, title: str, rating_keys: list[str]) -> PlexPlaylist:
        """A new regular audio playlist holding ``rating_keys`` in order (plexapi ``createPlaylist``'s request)."""
        if not rating_keys:
            raise ValueError("a Plex playlist cannot be created empty")
        args = urlencode({"smart": 0, "title": title, "type": "audio",
                          "uri": self._uri(rating_keys[:PLAYLIST_CHUNK])})
        data = self._query(f"/playlists?{args}", "creating a playlist", method="post")
        element = next((el for el in (data if data is not None else []) if el.tag == "Playlist"), None)
        created = playlist_from_xml(element) if element is not None else None
        if created is None:
            raise BadResponse(SERVICE, "the new playlist came back without a rating key")
        self.append_to_playlist(created.rating_key, rating_keys[PLAYLIST_CHUNK:])
        return created

    def edit_playlist_summary(self, rating_key: str, summary: str) -> None:
        """Set a playlist's summary, locked: the request of plexapi ``Playlist.editSummary``
        (``PUT /playlists/{ratingKey}?summary.locked=1&summary.value=...``, ``mixins/edit.py``)."""
        args = urlencode({"summary.locked": 1, "summary.value": summary})
        self._query(f"/playlists/{int(rating_key)}?{args}", "writing a playlist's summary", method="put")

    def append_to_playlist(self, rating_key: str, keys: list[str]) -> None:
        """Add ``keys`` at the end of a regular playlist."""
        for start in range(0, len(keys), PLAYLIST_CHUNK):
            uri = self._uri(keys[start:start + PLAYLIST_CHUNK])
            self._query(f"/playlists/{int(rating_key)}/items?{urlencode({'uri': uri})}", "adding to a playlist",
                        method="put")

    def delete_playlist(self, rating_key: str) -> None:
        """Delete a playlist (callers make sure it is one SoulSync made)."""
        self._query(f"/playlists/{int(rating_key)}", "deleting a playlist", method="delete")

    # ------------------------------------------------------------ images
    def thumb(self, path: str, max_bytes: int = 5_000_000) -> bytes:
        """An image the server offers at ``path`` (a ``thumb`` attribute such as ``/library/metadata/12/thumb/1``)."""
        if not path.startswith("/"):
            raise ValueError("thumb path must start with '/'")
        try:
            resp = self._session.get(self.base_url + path, headers={"X-Plex-Token": self._token},
                                     timeout=self.timeout)
        except requests.exceptions.RequestException as exc:
            raise transport_error(exc, SERVICE, "fetching an image") from None
        if resp.status_code == 401:
            raise AuthError(SERVICE, "the server refused the token (401); check the Plex token in Settings")
        if resp.status_code == 404:
            raise NotFound(SERVICE, "no such image")
        if resp.status_code >= 400:
            raise ServerError(SERVICE, f"the server failed ({resp.status_code}) sending an image", resp.status_code)
        if not resp.headers.get("Content-Type", "").startswith("image/") or len(resp.content) > max_bytes:
            raise BadResponse(SERVICE, "the answer was not an image")
        return resp.content


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def track_from_xml(el: Element) -> Track | None:
    """A library Track from a ``<Track>`` element of a Plex listing; None if unusable."""
    rating_key = el.get("ratingKey")
    title = el.get("title")
    if not rating_key or not title or _int(rating_key) is None:
        return None
    album_artist = el.get("grandparentTitle") or ""
    credited = el.get("originalTitle") or album_artist
    part = el.find("Media/Part")
    added, updated = _int(el.get("addedAt")), _int(el.get("updatedAt"))
    return Track(
        title=title,
        artists=[credited] if credited else [],
        album=el.get("parentTitle") or "",
        duration_ms=_int(el.get("duration")),
        album_artist=album_artist,
        track_number=_int(el.get("index")),
        disc_number=_int(el.get("parentIndex")),
        year=_int(el.get("year")) or _int(el.get("parentYear")),
        genre="",
        plex_rating_key=rating_key,
        path=part.get("file") if part is not None else None,
        added_at=added,
        updated_at=updated if updated is not None else added,
    )


def playlist_from_xml(el: Element) -> PlexPlaylist | None:
    """A playlist from a ``<Playlist>`` element; None without a numeric rating key or a title."""
    rating_key = el.get("ratingKey")
    title = el.get("title")
    if not rating_key or _int(rating_key) is None or title is None:
        return None
    return PlexPlaylist(rating_key=rating_key, title=title, guid=el.get("guid") or "", summary=el.get("summary") or "",
                        smart=el.get("smart") == "1", playlist_type=el.get("playlistType") or "",
                        leaf_count=_int(el.get("leafCount")) or 0)
