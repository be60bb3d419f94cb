"""Spotify Web API client: spotipy underneath, domain types and project exceptions on top.

spotipy is given its session, a :class:`~soulsync.services.http.ServiceSession`
bound to the API's address (the bearer token goes nowhere else, not even where
an answer's ``next`` link points), so spotipy's own urllib3 retry adapter is
never built: its retries hide 5xx behind a fake 429 and drop ``Retry-After``
(reference 2.3). This client
retries 429 and 5xx itself, sleeping ``Retry-After`` when given (exponential
backoff otherwise) through an injectable ``sleep``, and stops early when the
``cancel`` hook says so. A 401 triggers one token refresh through the auth
manager and one retry.

spotipy logs request headers (with the bearer token) at DEBUG level; the
``spotipy`` logger is therefore kept at INFO or above.
"""
from __future__ import annotations

import html
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, TypeVar

import requests
import spotipy

from soulsync.core.models import Album, AlbumType, Artist, Playlist, Track
from soulsync.services.errors import (
    AuthError, BadResponse, NotFound, PlaylistUnreadable, RateLimited, ServerError, ServiceError, WrongServer,
)
from soulsync.services.http import ServiceSession
from soulsync.services.spotify_auth import SERVICE, Cancelled, SpotifyAuth, transport_error

log = logging.getLogger(__name__)
if logging.getLogger("spotipy").getEffectiveLevel() < logging.INFO:
    logging.getLogger("spotipy").setLevel(logging.INFO)

DEFAULT_API_BASE = "https://api.spotify.com/v1/"
SEARCH_LIMIT = 10
"""Spotify's maximum page size for search (2026 API)."""
ARTIST_ALBUMS_LIMIT = 10
SPOTIFY_OWNED_PREFIX = "37i9dQZF"
"""Ids of Spotify's editorial and algorithmic playlists (Discover Weekly, Daily Mix...) start so."""
HOW_TO_SYNC_ANYWAY = ("To sync it anyway, copy its songs into a playlist of your own in Spotify (select all "
                      "songs, then Add to playlist → New playlist), or export it as a CSV or M3U file and import "
                      "that (Import CSV / M3U… on the Sync page, --playlist-file for soulsync sync).")
OTHER_USERS_PLAYLIST = ("Spotify lets apps like SoulSync read only playlists you own or collaborate on, and this "
                        "one belongs to someone else. " + HOW_TO_SYNC_ANYWAY)
SPOTIFY_OWNED_PLAYLIST = ("Spotify does not let apps read its own playlists (editorial lists and mixes made for "
                          "you, such as Discover Weekly or Daily Mix). " + HOW_TO_SYNC_ANYWAY)
T = TypeVar("T")
Refusal = Callable[[int, str], "ServiceError | None"]
"""Maps a final error answer (status, Spotify's message) to a precise error, or None for the generic one."""


@dataclass
class SpotifyUser:
    """The signed-in account."""

    id: str
    display_name: str
    image_url: str | None = None
    """Development-mode apps get no country, e-mail or plan (February 2026 changelog), so none is kept."""

    def get(self, key: str, default: Any = None) -> Any:
        """Dict-style access (``user.get("display_name")``) for callers written against JSON."""
        return getattr(self, key, default)


@dataclass
class PlaylistContents:
    """The usable tracks of a playlist, and what was skipped on the way."""

    tracks: list[Track]
    total: int
    """Entries as Spotify counts them."""
    local: int = 0
    """Local files (no Spotify id)."""
    unavailable: int = 0
    """Entries whose track is null (removed from Spotify) or malformed."""
    episodes: int = 0

    @property
    def skipped(self) -> int:
        return self.local + self.unavailable + self.episodes


class SpotifyClient:
    """Typed access to the Spotify Web API for SoulSync.

    Give either ``auth`` (a :class:`SpotifyAuth`, which refreshes tokens) or a
    bare ``access_token`` (scripts, tests). ``api_base`` is spotipy's ``prefix``.
    """

    def __init__(self, auth: SpotifyAuth | None = None, *, api_base: str = DEFAULT_API_BASE,
                 access_token: str | None = None, timeout: float = 10.0, max_retries: int = 4,
                 max_wait: float = 60.0, backoff: float = 0.5, sleep: Callable[[float], None] = time.sleep,
                 cancel: Callable[[], bool] | None = None, page_size: int = 50) -> None:
        if auth is None and not access_token:
            raise AuthError(SERVICE, "not connected: press Connect to sign in to Spotify")
        self.auth = auth
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.backoff = backoff
        self.page_size = max(1, min(50, page_size))
        self._sleep = sleep
        self._cancel = cancel
        prefix = api_base if api_base.endswith("/") else api_base + "/"
        self._sp = spotipy.Spotify(auth=access_token, auth_manager=auth, requests_timeout=timeout,
                                   requests_session=ServiceSession(prefix, SERVICE))
        self._sp.prefix = prefix

    # ------------------------------------------------------------ the call loop
    def _call(self, what: str, fn: Callable[..., T], *args: Any, cancel: Callable[[], bool] | None = None,
              refused: Refusal | None = None, **kwargs: Any) -> T:
        """Run one spotipy call with retries; ``what`` words the error messages, ``refused(status, message)``
        may give a more precise error than the generic one for a final error answer."""
        cancel = cancel or self._cancel
        refreshed = False
        attempt = 0
        while True:
            if cancel is not None and cancel():
                raise Cancelled(SERVICE)
            try:
                result = fn(*args, **kwargs)
            except spotipy.SpotifyException as exc:
                status = exc.http_status
                if status == 401 and self.auth is not None and not refreshed:
                    refreshed = True
                    self.auth.force_refresh()
                    continue
                delay = self._retry_delay(exc, attempt)
                if delay is None:
                    precise = refused(status, _message(exc)) if refused is not None else None
                    raise (precise or self._api_error(exc, what)) from None
                attempt += 1
                log.info("Spotify answered %s while %s; retry %d in %.1f s", status, what, attempt, delay)
                self._wait(delay, cancel)
                continue
            except requests.exceptions.RequestException as exc:
                raise transport_error(exc, SERVICE, what) from None
            if result is None:
                raise BadResponse(SERVICE, f"the answer was not JSON while {what}")
            return result

    def _retry_delay(self, exc: spotipy.SpotifyException, attempt: int) -> float | None:
        """Seconds to wait before retrying, or None when the error is final."""
        status = exc.http_status
        if status != 429 and not 500 <= status < 600:
            return None
        if attempt >= self.max_retries:
            return None
        retry_after = _retry_after(exc)
        if retry_after is not None:
            return retry_after if retry_after <= self.max_wait else None
        return min(self.max_wait, self.backoff * 2 ** attempt)

    def _wait(self, seconds: float, cancel: Callable[[], bool] | None) -> None:
        """Sleep ``seconds`` in short slices so a cancel is noticed quickly."""
        remaining = seconds
        while remaining > 0:
            if cancel is not None and cancel():
                raise Cancelled(SERVICE)
            chunk = min(remaining, 0.25)
            self._sleep(chunk)
            remaining -= chunk
        if cancel is not None and cancel():
            raise Cancelled(SERVICE)

    @staticmethod
    def _api_error(exc: spotipy.SpotifyException, what: str) -> ServiceError:
        status = exc.http_status
        message = _message(exc)
        detail = f"HTTP {status}: {message}"
        content_type = str((exc.headers or {}).get("Content-Type", "")).lower()
        if status in (404, 405) and content_type and "json" not in content_type:
            return WrongServer(SERVICE, "that address is not Spotify's Web API (it answered with "
                                        f"{content_type.split(';')[0] or 'something else'})", detail)
        if status == 401:
            return AuthError(SERVICE, f"Spotify rejected the sign-in ({message}); press Connect again", detail)
        if status == 403:
            if "premium" in message.lower():
                return AuthError(SERVICE, "Spotify serves apps in development mode only while the owner of the app "
                                          "(whoever created it in the Spotify Developer Dashboard) has Premium; "
                                          "it can take a few hours after a change", detail)
            if "not registered" in message.lower():
                return AuthError(SERVICE, "this Spotify account is not on the app's user list: add it under "
                                          "Users Management of your app in the Spotify Developer Dashboard", detail)
            if "scope" in message.lower():
                return AuthError(SERVICE, f"SoulSync lacks a permission for {what}; press Connect again to grant it",
                                 detail)
            return AuthError(SERVICE, f"Spotify does not allow {what} ({message})", detail)
        if status == 404:
            return NotFound(SERVICE, f"not found while {what}", detail)
        if status == 429:
            return RateLimited(SERVICE, f"rate limited while {what}", _retry_after(exc), detail)
        if status >= 500:
            return ServerError(SERVICE, f"Spotify failed ({status}) while {what}", status, detail)
        return ServerError(SERVICE, f"Spotify refused the request while {what}: {message}", status, detail)

    def _pages(self, what: str, first: Callable[[], dict[str, Any]], key: str | None = None,
               cancel: Callable[[], bool] | None = None, progress: Callable[[int, int], None] | None = None,
               refused: Refusal | None = None) -> Iterator[list[Any]]:
        """Follow a paging object's absolute ``next`` URLs; yields the items of each page."""
        page: dict[str, Any] | None = self._call(what, first, cancel=cancel, refused=refused)
        done = 0
        while page is not None:
            if key is not None:
                page = page.get(key) if isinstance(page, dict) else None
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise BadResponse(SERVICE, f"the answer has no list of items while {what}")
            items = page["items"]
            done += len(items)
            if progress is not None:
                progress(done, int(page.get("total") or done))
            yield items
            following = page.get("next")
            page = self._call(what, self._sp.next, page, cancel=cancel, refused=refused) if following else None

    # ------------------------------------------------------------ account
    def current_user(self) -> SpotifyUser:
        """The signed-in user."""
        data = self._call("reading your account", self._sp.current_user)
        return SpotifyUser(id=str(data.get("id") or ""), display_name=str(data.get("display_name") or data.get("id") or ""),
                           image_url=_first_image(data.get("images")))

    # ------------------------------------------------------------ playlists
    def playlists(self, cancel: Callable[[], bool] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> list[Playlist]:
        """Every playlist in the user's library (owned, followed, collaborative), all pages."""
        out: list[Playlist] = []
        for items in self._pages("listing your playlists",
                                 lambda: self._sp.current_user_playlists(limit=self.page_size), cancel=cancel,
                                 progress=progress):
            for item in items:
                playlist = _playlist(item)
                if playlist is not None:
                    out.append(playlist)
        return out

    def liked_summary(self) -> Playlist:
        """Liked Songs as a playlist entry (count only; tracks via :meth:`liked_tracks`)."""
        page = self._call("reading Liked Songs", self._sp.current_user_saved_tracks, limit=1)
        return Playlist(id="liked", name="Liked Songs", owner="", track_count=int(page.get("total") or 0),
                        source="liked")

    def playlist_tracks(self, playlist_id: str, cancel: Callable[[], bool] | None = None,
                        progress: Callable[[int, int], None] | None = None) -> PlaylistContents:
        """All tracks of a playlist, in order; local files, removed tracks and episodes are skipped and counted.

        Raises :class:`PlaylistUnreadable` when Spotify will not hand over the contents (development mode:
        403 for another user's playlist, 404 for Spotify's own; reference 2.5).
        """
        contents = PlaylistContents([], 0)
        what = "reading a playlist's tracks"
        first = lambda: self._sp.playlist_items(playlist_id, limit=self.page_size,  # noqa: E731
                                                additional_types=("track", "episode"))
        total = 0

        def refused(status: int, message: str) -> ServiceError | None:
            detail = f"HTTP {status}: {message}"
            if status == 403 and message.strip().lower() == "forbidden":
                return PlaylistUnreadable(SERVICE, OTHER_USERS_PLAYLIST, detail)
            if status == 404 and playlist_id.startswith(SPOTIFY_OWNED_PREFIX):
                return PlaylistUnreadable(SERVICE, SPOTIFY_OWNED_PLAYLIST, detail)
            return None

        for items in self._pages(what, first, cancel=cancel, progress=progress, refused=refused):
            for entry in items:
                total += 1
                self._count_entry(entry, contents)
        contents.total = total
        if contents.skipped:
            log.info("Playlist %s: %d tracks, skipped %d local, %d unavailable, %d episodes", playlist_id,
                     len(contents.tracks), contents.local, contents.unavailable, contents.episodes)
        return contents

    @staticmethod
    def _count_entry(entry: Any, contents: PlaylistContents) -> None:
        """Add one playlist entry to ``contents``: a track, or a count of what was skipped. The entry's object
        is ``item`` (development mode, February 2026 changelog) or ``track`` (extended quota)."""
        if not isinstance(entry, dict):
            contents.unavailable += 1
            return
        item = entry["item"] if "item" in entry else entry.get("track")
        if entry.get("is_local") or (isinstance(item, dict) and item.get("is_local")):
            contents.local += 1
        elif not isinstance(item, dict):
            contents.unavailable += 1
        elif item.get("type") == "episode" or item.get("episode") is True:
            contents.episodes += 1
        else:
            track = _track(item)
            if track is None:
                contents.unavailable += 1
            else:
                contents.tracks.append(track)

    def liked_tracks(self, cancel: Callable[[], bool] | None = None,
                     progress: Callable[[int, int], None] | None = None) -> list[Track]:
        """Liked Songs, newest first, all pages (unavailable entries skipped)."""
        out: list[Track] = []
        for items in self._pages("reading Liked Songs",
                                 lambda: self._sp.current_user_saved_tracks(limit=self.page_size), cancel=cancel,
                                 progress=progress):
            for entry in items:
                track = _track(entry.get("track")) if isinstance(entry, dict) else None
                if track is not None:
                    out.append(track)
        return out

    def create_playlist(self, name: str, public: bool = False, description: str = "") -> Playlist:
        """A new playlist owned by the user."""
        data = self._call("creating a playlist", self._sp.current_user_playlist_create, name, public=public,
                          description=description)
        playlist = _playlist(data)
        if playlist is None:
            raise BadResponse(SERVICE, "the new playlist came back without an id")
        return playlist

    def add_tracks(self, playlist_id: str, track_ids: list[str]) -> str:
        """Append tracks (100 per request); returns the new snapshot id."""
        snapshot = ""
        for start in range(0, len(track_ids), 100):
            uris = [f"spotify:track:{tid}" for tid in track_ids[start:start + 100]]
            reply = self._call("adding tracks to a playlist", self._sp.playlist_add_items, playlist_id, uris)
            snapshot = str(reply.get("snapshot_id") or snapshot)
        return snapshot

    # ------------------------------------------------------------ catalogue
    @staticmethod
    def _search_limit(limit: int) -> int:
        if not 1 <= limit <= SEARCH_LIMIT:
            raise ValueError(f"search limit must be 1..{SEARCH_LIMIT}")
        return limit

    def search_tracks(self, query: str, limit: int = SEARCH_LIMIT, offset: int = 0) -> list[Track]:
        data = self._call("searching tracks", self._sp.search, query, limit=self._search_limit(limit),
                          offset=offset, type="track")
        return [t for t in (_track(i) for i in _items(data, "tracks")) if t is not None]

    def search_albums(self, query: str, limit: int = SEARCH_LIMIT, offset: int = 0) -> list[Album]:
        data = self._call("searching albums", self._sp.search, query, limit=self._search_limit(limit),
                          offset=offset, type="album")
        return [a for a in (_album(i) for i in _items(data, "albums")) if a is not None]

    def search_artists(self, query: str, limit: int = SEARCH_LIMIT, offset: int = 0) -> list[Artist]:
        data = self._call("searching artists", self._sp.search, query, limit=self._search_limit(limit),
                          offset=offset, type="artist")
        return [a for a in (_artist(i) for i in _items(data, "artists")) if a is not None]

    def album(self, album_id: str) -> Album:
        """An album with all its tracks (more pages fetched when it has over 50)."""
        data = self._call("reading an album", self._sp.album, album_id)
        album = _album(data)
        if album is None:
            raise BadResponse(SERVICE, "the album answer is missing its id or name")
        tracks_page = data.get("tracks") if isinstance(data.get("tracks"), dict) else {"items": [], "next": None}
        raw = list(tracks_page.get("items") or [])
        following = tracks_page
        while following.get("next"):
            following = self._call("reading an album's tracks", self._sp.next, following)
            raw.extend(following.get("items") or [])
        for item in raw:
            if isinstance(item, dict):
                item = {**item, "album": data}
            track = _track(item)
            if track is not None:
                album.tracks.append(track)
        return album

    def artist(self, artist_id: str) -> Artist:
        artist = _artist(self._call("reading an artist", self._sp.artist, artist_id))
        if artist is None:
            raise BadResponse(SERVICE, "the artist answer is missing its id or name")
        return artist

    def artist_albums(self, artist_id: str, include_groups: tuple[str, ...] = ("album", "single", "compilation"),
                      cancel: Callable[[], bool] | None = None) -> list[Album]:
        """An artist's releases, all pages of 10 (Spotify's maximum for this endpoint)."""
        first = lambda: self._sp.artist_albums(artist_id, include_groups=",".join(include_groups),  # noqa: E731
                                               limit=ARTIST_ALBUMS_LIMIT)
        out: list[Album] = []
        for items in self._pages("listing an artist's albums", first, cancel=cancel):
            for item in items:
                album = _album(item)
                if album is not None:
                    out.append(album)
        return out


# ---------------------------------------------------------------- conversions
def _message(exc: spotipy.SpotifyException) -> str:
    """Spotify's error message (spotipy prefixes it with the URL and a newline)."""
    return str(exc.msg).split("\n", 1)[-1].strip() or f"HTTP {exc.http_status}"


def _retry_after(exc: spotipy.SpotifyException) -> float | None:
    headers = exc.headers or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def _items(data: Any, key: str) -> list[Any]:
    block = data.get(key) if isinstance(data, dict) else None
    items = block.get("items") if isinstance(block, dict) else None
    return items if isinstance(items, list) else []


def _year(release_date: Any) -> int | None:
    text = str(release_date or "")
    return int(text[:4]) if len(text) >= 4 and text[:4].isdigit() else None


def _first_image(images: Any) -> str | None:
    if isinstance(images, list) and images and isinstance(images[0], dict):
        url = images[0].get("url")
        return url if isinstance(url, str) else None
    return None


def _track(item: Any) -> Track | None:
    """A TrackObject (or SimplifiedTrackObject with ``album`` added) as a Track; None if unusable."""
    if not isinstance(item, dict) or not item.get("id") or not item.get("name"):
        return None
    artists = [a for a in item.get("artists") or [] if isinstance(a, dict) and a.get("name")]
    album = item["album"] if isinstance(item.get("album"), dict) else {}
    album_artists = [a.get("name") for a in album.get("artists") or [] if isinstance(a, dict) and a.get("name")]
    isrc = (item.get("external_ids") or {}).get("isrc") if isinstance(item.get("external_ids"), dict) else None
    try:
        duration = int(item["duration_ms"]) if item.get("duration_ms") is not None else None
        number = int(item["track_number"]) if item.get("track_number") else None
        disc = int(item["disc_number"]) if item.get("disc_number") else None
        total = int(album["total_tracks"]) if album.get("total_tracks") else None
    except (TypeError, ValueError):
        return None
    return Track(
        title=str(item["name"]),
        artists=[str(a["name"]) for a in artists],
        album=str(album.get("name") or ""),
        duration_ms=duration,
        isrc=str(isrc) if isrc else None,
        album_artist=str(album_artists[0]) if album_artists else "",
        track_number=number,
        disc_number=disc,
        track_total=total,
        year=_year(album.get("release_date")),
        spotify_id=str(item["id"]),
        spotify_album_id=str(album["id"]) if album.get("id") else None,
        spotify_artist_ids=[str(a.get("id") or "") for a in artists],
        cover_url=_first_image(album.get("images")),
    )


def _album(item: Any) -> Album | None:
    if not isinstance(item, dict) or not item.get("id") or not item.get("name"):
        return None
    group = item.get("album_group") or item.get("album_type") or "album"
    try:
        kind = AlbumType(str(group).lower())
    except ValueError:
        kind = AlbumType.ALBUM
    upc = (item.get("external_ids") or {}).get("upc") if isinstance(item.get("external_ids"), dict) else None
    return Album(
        title=str(item["name"]),
        artists=[str(a["name"]) for a in item.get("artists") or [] if isinstance(a, dict) and a.get("name")],
        year=_year(item.get("release_date")),
        release_date=str(item.get("release_date") or ""),
        album_type=kind,
        total_tracks=int(item.get("total_tracks") or 0),
        spotify_id=str(item["id"]),
        image_url=_first_image(item.get("images")),
        genres=[str(g) for g in item.get("genres") or []],
        label=str(item.get("label") or ""),
        upc=str(upc) if upc else None,
    )


def _artist(item: Any) -> Artist | None:
    if not isinstance(item, dict) or not item.get("id") or not item.get("name"):
        return None
    return Artist(name=str(item["name"]), spotify_id=str(item["id"]),
                  genres=[str(g) for g in item.get("genres") or []], image_url=_first_image(item.get("images")))


def _playlist(item: Any) -> Playlist | None:
    if not isinstance(item, dict) or not item.get("id"):
        return None
    owner = item["owner"] if isinstance(item.get("owner"), dict) else {}
    # "items" in development mode, "tracks" for extended quota (renamed, February 2026 changelog); a missing
    # count is unknown, not 0 (reference 2.4)
    ref = item.get("items") if isinstance(item.get("items"), dict) else item.get("tracks")
    total = ref.get("total") if isinstance(ref, dict) else None
    try:
        count = int(total) if total is not None else None
    except (TypeError, ValueError):
        count = None
    return Playlist(
        id=str(item["id"]),
        name=str(item.get("name") or ""),
        owner=str(owner.get("display_name") or owner.get("id") or ""),
        track_count=count if count is None or count >= 0 else None,
        snapshot_id=str(item.get("snapshot_id") or ""),
        image_url=_first_image(item.get("images")),
        description=html.unescape(str(item.get("description") or "")),
        collaborative=bool(item.get("collaborative")),
        public=item.get("public") if isinstance(item.get("public"), bool) else None,
        source="spotify",
    )
