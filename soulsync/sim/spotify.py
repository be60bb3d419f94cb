"""Simulated Spotify: accounts service (OAuth) and Web API, served from the seeded catalog.

One server answers both hosts of the real service, so point the clients at:

* accounts: ``sim.url`` (``/authorize``, ``/api/token``),
* Web API:  ``sim.api_url`` (``{url}/v1/``), as spotipy's ``prefix``,
* images:   ``{url}/images/<id>.jpg`` (``?size=300`` / ``?size=64`` for smaller ones).

Wire facts follow ``reference/service-apis.md`` section 2: paging objects with
absolute ``next`` URLs back at this server, ``{"error": {"status", "message"}}``
bodies, OAuth errors as ``{"error", "error_description"}``, ``scope`` in every
token reply.

Quota modes (``quota=``): ``development`` (the default, as every self-hosted app
runs since 2026-03-09) answers as Spotify's Web API changelog of February 2026
and its migration guide describe development mode (reference 2.4 and 2.5, cited
at each behaviour below); ``extended`` answers with the names and fields of
before that change, as extended-quota apps still get them.

Redirect URIs are registered per client id (``register_redirect_uri``), as in
the Developer Dashboard; the app's default URI is registered from the start.
``/authorize`` refuses any other URI with an error page and no redirect
(reference 2.2).

Catalog ``image_url`` values are relative (``/images/<id>.jpg``); they are
prefixed with this server's URL when rendered. The ``fields`` and ``market``
query parameters are accepted and ignored (full objects are returned).

One playlist (the second of the catalog, when it has 12+ tracks) also holds a
local file, an unavailable (``null``) track and a podcast episode, as real
playlists do; they count in its ``total``.
"""
from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from soulsync.config import SpotifySettings
from soulsync.core.models import Album, Artist, Playlist, Track
from soulsync.sim.base import Request, Response, SimServer
from soulsync.sim.catalog import (
    SPOTIFY_OWNED_PREFIX,
    Catalog,
    build_catalog,
    strip_accents,
)
from soulsync.sim.images import cover_jpeg

KNOWN_SCOPES = (
    "playlist-modify-private", "playlist-modify-public", "playlist-read-collaborative", "playlist-read-private",
    "ugc-image-upload", "user-follow-read", "user-library-modify", "user-library-read", "user-read-email",
    "user-read-private", "user-top-read", "user-read-recently-played",
)
DEFAULT_SCOPES = ("playlist-read-private", "playlist-read-collaborative", "user-library-read",
                  "playlist-modify-private", "playlist-modify-public", "user-read-private")
"""What ``issue_token()`` grants by default (everything SoulSync uses)."""

CODE_LIFETIME = 600.0
QUOTA_MODES = ("development", "extended")
DEFAULT_REDIRECT_URI = SpotifySettings().redirect_uri
"""Registered for the simulated app from the start: the URI SoulSync uses unless told otherwise."""
_LOOPBACK_LITERALS = ("127.0.0.1", "::1")
_INVALID_REDIRECT_PAGE = (b"<!doctype html><html><head><title>Error</title></head><body>"
                          b"<h1>INVALID_CLIENT: Invalid redirect URI</h1></body></html>")
_BASE62 = re.compile(r"^[0-9A-Za-z]+$")
_SEARCH_TOKEN = re.compile(r'(\w+):"([^"]*)"|(\w+):(\S+)|"([^"]*)"|(\S+)')
_SEARCH_FIELDS = {"track", "artist", "album", "year", "isrc", "genre"}
_EPOCH = datetime(2019, 1, 1, tzinfo=timezone.utc).timestamp()
_MARKETS = ("US", "GB", "DE", "SE", "JP")
_STATUS_MESSAGES = {
    400: "Bad request", 401: "The access token expired", 403: "Forbidden", 404: "Resource not found",
    405: "Method not allowed", 429: "API rate limit exceeded", 500: "Server error",
    502: "Bad gateway", 503: "Service unavailable", 504: "Gateway timeout",
}


class ApiError(Exception):
    """Raised by a handler to answer with Spotify's error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class OAuthError(Exception):
    """Raised by the token endpoint: ``{"error": ..., "error_description": ...}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str | None
    expires_at: float


@dataclass
class _Token:
    client_id: str
    scope: frozenset[str]
    expires_at: float


@dataclass
class _Refresh:
    client_id: str
    scope: str
    public_client: bool
    """PKCE (no secret): refresh tokens rotate, as Spotify does for public clients."""


@dataclass
class _Entry:
    kind: str
    """``track``, ``local``, ``null`` or ``episode``."""
    track: Track | None
    added_at: str
    added_by: str


@dataclass
class _PlaylistState:
    meta: Playlist
    entries: list[_Entry]
    version: int = 1
    followers: int = 0


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stable_int(text: str, modulo: int) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % modulo


def _fold(text: str) -> str:
    return strip_accents(text).casefold()


def _credentials(seed: int) -> tuple[str, str]:
    digest = hashlib.sha256(f"soulsync-sim-spotify-{seed}".encode()).hexdigest()
    return digest[:32], digest[32:64]


class SpotifySim(SimServer):
    """The Spotify accounts service and Web API on 127.0.0.1.

    Attributes for scripts and tests: ``client_id``, ``client_secret``,
    ``user_id``, ``url`` (accounts base), ``api_url`` (Web API prefix),
    ``token_lifetime`` (seconds, changeable at run time), ``deny_consent``
    (the next authorizations answer ``error=access_denied``), ``quota``
    (``development`` or ``extended``, see the module docstring).
    """

    name = "spotify"

    def __init__(self, catalog: Catalog | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 client_id: str | None = None, client_secret: str | None = None,
                 token_lifetime: float = 3600.0, clock: Callable[[], float] = time.time,
                 quota: str = "development", redirect_uris: Iterable[str] = (DEFAULT_REDIRECT_URI,)) -> None:
        super().__init__(host, port)
        if quota not in QUOTA_MODES:
            raise ValueError(f"unknown quota mode {quota!r}; expected one of {QUOTA_MODES}")
        self.quota = quota
        self.catalog = catalog or build_catalog()
        default_id, default_secret = _credentials(self.catalog.seed)
        self.client_id = client_id or default_id
        self.client_secret = client_secret or default_secret
        self.user_id = self.catalog.user_id
        self.token_lifetime = token_lifetime
        self.clock = clock
        self.deny_consent = False
        self._lock = threading.Lock()
        self._redirect_uris: dict[str, set[str]] = {self.client_id: set(redirect_uris)}
        self._codes: dict[str, _Code] = {}
        self._tokens: dict[str, _Token] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._tracks = {t.spotify_id: t for t in self.catalog.tracks}
        self._albums = {a.spotify_id: a for a in self.catalog.albums}
        self._artists = {a.spotify_id: a for a in self.catalog.artists}
        self._artist_albums = self._index_artist_albums()
        self._playlists: dict[str, _PlaylistState] = {}
        self._playlist_order: list[str] = []
        for index, playlist in enumerate(self.catalog.playlists):
            self._add_playlist_state(playlist, odd_entries=index == 1)
        self._liked = [(t, _iso(self._liked_time(i))) for i, t in enumerate(self.catalog.liked)]
        self._search_rows: list[tuple[str, str, str, Track]] | None = None
        self._routes_setup()

    # ------------------------------------------------------------ public helpers
    @property
    def development(self) -> bool:
        """True in development mode (the default), False for an extended-quota app."""
        return self.quota == "development"

    def register_redirect_uri(self, uri: str, client_id: str | None = None) -> None:
        """Add a redirect URI to a client's registered ones, as in the Developer Dashboard."""
        with self._lock:
            self._redirect_uris.setdefault(client_id or self.client_id, set()).add(uri)

    @property
    def api_url(self) -> str:
        """The Web API prefix for spotipy: ``http://127.0.0.1:PORT/v1/``."""
        return f"{self.url}/v1/"

    def issue_token_info(self, scope: tuple[str, ...] | list[str] = DEFAULT_SCOPES,
                         lifetime: float | None = None) -> dict[str, Any]:
        """A fresh token reply as the token endpoint would give it (with a refresh token)."""
        scope_text = " ".join(sorted(set(scope)))
        access, refresh = self._new_tokens(self.client_id, scope_text, lifetime)
        with self._lock:
            self._refresh[refresh] = _Refresh(self.client_id, scope_text, public_client=False)
        return {"access_token": access, "token_type": "Bearer", "expires_in": int(lifetime or self.token_lifetime),
                "refresh_token": refresh, "scope": scope_text}

    def issue_token(self, scope: tuple[str, ...] | list[str] = DEFAULT_SCOPES, lifetime: float | None = None) -> str:
        """A ready user access token, so a script can call the Web API at once."""
        return self.issue_token_info(scope, lifetime)["access_token"]

    def expire_tokens(self) -> None:
        """Make every access token issued so far expired (refresh tokens stay valid)."""
        now = self.clock()
        with self._lock:
            for token in self._tokens.values():
                token.expires_at = min(token.expires_at, now - 1)

    def revoke_refresh_tokens(self) -> None:
        """As if the user removed the app's access: every refresh token becomes invalid."""
        with self._lock:
            self._refresh.clear()

    def describe(self) -> dict[str, Any]:
        """Base URLs and credentials, for ``soulsync sim``'s JSON line and the demo's config."""
        return {"url": self.url, "api_url": self.api_url, "client_id": self.client_id,
                "client_secret": self.client_secret, "access_token": self.issue_token(), "user": self.user_id}

    def playlist_total(self, playlist_id: str) -> int:
        """Entries of a playlist as the API counts them (local, null and episode entries included)."""
        return len(self._playlists[playlist_id].entries)

    def playlist_track_ids(self, playlist_id: str) -> list[str]:
        """Spotify ids of the real tracks of a playlist, in order."""
        return [e.track.spotify_id or "" for e in self._playlists[playlist_id].entries
                if e.kind == "track" and e.track is not None]

    # ------------------------------------------------------------ set-up
    def _liked_time(self, index: int) -> float:
        return _EPOCH + 5 * 365 * 86400 - index * 86400 * 0.7

    def _add_playlist_state(self, playlist: Playlist, odd_entries: bool) -> None:
        meta = Playlist(id=playlist.id, name=playlist.name, owner=playlist.owner, snapshot_id=playlist.snapshot_id,
                        image_url=playlist.image_url, description=playlist.description,
                        collaborative=playlist.collaborative, public=playlist.public)
        collaborators = [playlist.owner, self.user_id] if playlist.collaborative else [playlist.owner]
        entries = [_Entry("track", t, _iso(_EPOCH + i * 86400 * 1.3 + _stable_int(playlist.id, 86400)),
                          collaborators[i % len(collaborators)]) for i, t in enumerate(playlist.tracks)]
        if odd_entries and len(entries) >= 12:
            when = entries[2].added_at
            entries.insert(3, _Entry("local", None, when, playlist.owner))
            entries.insert(7, _Entry("null", None, when, playlist.owner))
            entries.insert(10, _Entry("episode", None, when, playlist.owner))
        self._playlists[playlist.id] = _PlaylistState(meta, entries, followers=_stable_int(playlist.id, 5000))
        self._playlist_order.append(playlist.id)

    def _index_artist_albums(self) -> dict[str, list[tuple[Album, str]]]:
        index: dict[str, list[tuple[Album, str]]] = {}
        for album in self.catalog.albums:
            main_ids: list[str] = []
            if album.tracks and album.artists[0] == album.tracks[0].artists[0]:
                main_ids = album.tracks[0].spotify_artist_ids[:1]
            credited: dict[str, None] = {}
            for t in album.tracks:
                for aid in t.spotify_artist_ids:
                    credited[aid] = None
            for aid in credited:
                group = album.album_type.value if aid in main_ids else "appears_on"
                index.setdefault(aid, []).append((album, group))
        order = {"album": 0, "single": 1, "compilation": 2, "appears_on": 3}
        for albums in index.values():
            albums.sort(key=lambda pair: pair[0].release_date, reverse=True)  # newest first...
            albums.sort(key=lambda pair: order[pair[1]])  # ...within each group (stable sort)
        return index

    def _routes_setup(self) -> None:
        r = self.route
        r("GET", "/authorize", self._authorize)
        r("POST", "/api/token", self._token)
        r("GET", r"/images/(?P<id>[0-9A-Za-z]+)\.jpg", self._image)
        removed = self._removed_in_development
        api = [
            ("GET", "/v1/me", self._me),
            ("GET", "/v1/me/playlists", self._my_playlists),
            ("POST", "/v1/me/playlists", self._create_playlist),
            ("GET", r"/v1/playlists/(?P<id>[^/]+)", self._playlist),
            ("GET", r"/v1/playlists/(?P<id>[^/]+)/items", self._playlist_items),
            ("POST", r"/v1/playlists/(?P<id>[^/]+)/items", self._add_items),
            ("GET", "/v1/me/tracks", self._saved_tracks),
            ("GET", "/v1/search", self._search),
            ("GET", r"/v1/albums/(?P<id>[^/]+)", self._album),
            ("GET", r"/v1/albums/(?P<id>[^/]+)/tracks", self._album_tracks),
            ("GET", r"/v1/artists/(?P<id>[^/]+)", self._artist),
            ("GET", r"/v1/artists/(?P<id>[^/]+)/albums", self._artist_albums_handler),
            ("GET", r"/v1/tracks/(?P<id>[^/]+)", self._one_track),
            # Removed for development mode (February 2026 changelog and migration guide, reference 2.5);
            # observed as 403 "Forbidden" for /playlists/{id}/tracks (bjarneo/cliamp issue #54,
            # Marinara-Engine PR #681) and /browse/new-releases (cliamp PR #315), assumed 403 for the rest.
            ("POST", r"/v1/users/(?P<user>[^/]+)/playlists", removed(self._create_playlist)),
            ("GET", r"/v1/playlists/(?P<id>[^/]+)/tracks", removed(self._playlist_items)),
            ("POST", r"/v1/playlists/(?P<id>[^/]+)/tracks", removed(self._add_items)),
            ("PUT", r"/v1/playlists/(?P<id>[^/]+)/tracks", removed(None)),
            ("DELETE", r"/v1/playlists/(?P<id>[^/]+)/tracks", removed(None)),
            ("GET", "/v1/tracks", removed(self._several_tracks)),
            ("GET", "/v1/albums", removed(None)),
            ("GET", "/v1/artists", removed(None)),
            ("GET", r"/v1/users/(?P<user>[^/]+)", removed(None)),
            ("GET", r"/v1/users/(?P<user>[^/]+)/playlists", removed(None)),
            ("GET", r"/v1/artists/(?P<id>[^/]+)/top-tracks", removed(None)),
            ("GET", "/v1/browse/new-releases", removed(None)),
            ("GET", r"/v1/browse/categories(?:/[^/]+)?", removed(None)),
            ("GET", "/v1/markets", removed(None)),
            ("PUT", "/v1/me/tracks", removed(None)),
            ("DELETE", "/v1/me/tracks", removed(None)),
            ("GET", "/v1/me/tracks/contains", removed(None)),
        ]
        for method, pattern, handler in api:
            r(method, pattern, self._api(handler))

    def _removed_in_development(self, handler: Callable[[Request, _Token], Any] | None
                                ) -> Callable[[Request, _Token], Any]:
        """A handler that answers 403 "Forbidden" in development mode, ``handler`` for an extended-quota app
        (404 where the simulation has no extended implementation)."""
        def answer(req: Request, token: _Token) -> Any:
            if self.development:
                raise ApiError(403, "Forbidden")
            if handler is None:
                raise ApiError(404, "Service not found")
            return handler(req, token)
        return answer

    # ------------------------------------------------------------ errors
    def error_response(self, status: int, req: Request, message: str = "") -> Response:
        """Spotify's error bodies: OAuth style on the accounts paths, ``{"error": {...}}`` on the API."""
        if req.path.startswith("/api/token"):
            error = "server_error" if status >= 500 else "invalid_request"
            return Response.json({"error": error, "error_description": message or _STATUS_MESSAGES.get(status, "")},
                                 status)
        if status == 404 and not message and not req.path.startswith("/v1/"):
            message = "Service not found"
        resp = Response.json({"error": {"status": status, "message": message or _STATUS_MESSAGES.get(status, "Error")}},
                             status)
        if status == 401:
            resp.headers["WWW-Authenticate"] = ('Bearer realm="spotify", error="invalid_token", '
                                                f'error_description="{message or _STATUS_MESSAGES[401]}"')
        return resp

    def control(self, req: Request) -> Response:
        """``POST /__sim/token`` (a ready token reply), ``POST /__sim/expire`` (expire all access tokens),
        ``POST /__sim/consent`` with ``{"deny": true|false}``, ``POST /__sim/redirect_uri`` with
        ``{"uri": ...}`` (register a redirect URI for the app, as in the Developer Dashboard)."""
        if req.method == "POST" and req.path == "/__sim/token":
            return Response.json(self.issue_token_info())
        if req.method == "POST" and req.path == "/__sim/expire":
            self.expire_tokens()
            return Response.empty()
        if req.method == "POST" and req.path == "/__sim/consent":
            self.deny_consent = bool((req.json() or {}).get("deny"))
            return Response.empty()
        if req.method == "POST" and req.path == "/__sim/redirect_uri":
            uri = (req.json() or {}).get("uri")
            if not isinstance(uri, str) or not uri:
                return Response.json({"error": "give {\"uri\": \"...\"}"}, 400)
            self.register_redirect_uri(uri)
            return Response.empty()
        return super().control(req)

    # ------------------------------------------------------------ accounts
    def _authorize(self, req: Request) -> Response:
        client_id = req.arg("client_id", "")
        redirect_uri = req.arg("redirect_uri", "") or ""
        if client_id != self.client_id:
            return Response(400, b"<html><body><h1>INVALID_CLIENT: Invalid client</h1></body></html>",
                            "text/html; charset=utf-8")
        if not self._redirect_allowed(client_id, redirect_uri):
            # An error page in the browser and no redirect (reference 2.2; the real status is unverified).
            return Response(400, _INVALID_REDIRECT_PAGE, "text/html; charset=utf-8")
        parts = urlsplit(redirect_uri)
        state = req.arg("state")

        def back(**params: str) -> Response:
            if state is not None:
                params["state"] = state
            sep = "&" if parts.query else "?"
            return Response(302, b"", "", {"Location": f"{redirect_uri}{sep}{urlencode(params)}"})

        if req.arg("response_type") != "code":
            return back(error="unsupported_response_type")
        scope = " ".join(sorted(set((req.arg("scope") or "").replace(",", " ").split())))
        if any(s not in KNOWN_SCOPES for s in scope.split()):
            return back(error="invalid_scope")
        challenge = req.arg("code_challenge")
        if challenge is not None and req.arg("code_challenge_method", "S256") != "S256":
            return back(error="invalid_request")
        if self.deny_consent:
            return back(error="access_denied")
        code = "AQ" + secrets.token_urlsafe(96)
        with self._lock:
            self._codes[code] = _Code(client_id, redirect_uri, scope, challenge, self.clock() + CODE_LIFETIME)
        return back(code=code)

    def _redirect_allowed(self, client_id: str, uri: str) -> bool:
        """Spotify's redirect URI rules (Redirect URI concept guide; blogs 2025-02-12 and 2025-10-14, reference 2.2).

        The URI must match a registered one exactly, except that a loopback IP literal registered without a
        port matches any port. HTTPS is required except for loopback IP literals; ``localhost`` is refused.
        """
        try:
            parts = urlsplit(uri)
            port = parts.port
        except ValueError:
            return False
        host = parts.hostname or ""
        if not parts.netloc or host == "localhost" or host.endswith(".localhost"):
            return False
        loopback = host in _LOOPBACK_LITERALS
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            return False
        with self._lock:
            registered = set(self._redirect_uris.get(client_id, ()))
        if uri in registered:
            return True
        if loopback and port is not None:
            literal = f"[{host}]" if ":" in host else host
            return parts._replace(netloc=literal).geturl() in registered
        return False

    def _token(self, req: Request) -> Response:
        try:
            return Response.json(self._token_grant(req))
        except OAuthError as exc:
            return Response.json({"error": exc.error, "error_description": exc.description}, exc.status)

    def _client_auth(self, req: Request, form: dict[str, str]) -> tuple[str, bool]:
        """(client_id, confidential) from Basic auth or the body's client_id."""
        header = req.header("authorization") or ""
        if header.lower().startswith("basic "):
            try:
                cid, _, secret = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                raise OAuthError("invalid_client", "Invalid client") from None
            if cid != self.client_id:
                raise OAuthError("invalid_client", "Invalid client")
            if secret != self.client_secret:
                raise OAuthError("invalid_client", "Invalid client secret")
            return cid, True
        cid = form.get("client_id", "")
        if not cid:
            raise OAuthError("invalid_client", "Invalid client")
        if cid != self.client_id:
            raise OAuthError("invalid_client", "Invalid client")
        return cid, False

    def _token_grant(self, req: Request) -> dict[str, Any]:
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        grant = form.get("grant_type", "")
        if not grant:
            raise OAuthError("invalid_request", "grant_type must be provided")
        client_id, confidential = self._client_auth(req, form)
        now = self.clock()
        if grant == "authorization_code":
            with self._lock:
                code = self._codes.pop(form.get("code", ""), None)
            if code is None or code.client_id != client_id:
                raise OAuthError("invalid_grant", "Invalid authorization code")
            if code.expires_at < now:
                raise OAuthError("invalid_grant", "Authorization code expired")
            if form.get("redirect_uri", "") != code.redirect_uri or \
                    not self._redirect_allowed(client_id, code.redirect_uri):
                # the token request must repeat the registered URI (reference 2.2; error text unverified)
                raise OAuthError("invalid_grant", "Invalid redirect URI")
            if code.challenge is not None:
                verifier = form.get("code_verifier")
                if not verifier:
                    raise OAuthError("invalid_request", "code_verifier required")
                digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
                if digest != code.challenge:
                    raise OAuthError("invalid_grant", "code_verifier was incorrect")
            elif not confidential:
                raise OAuthError("invalid_client", "Invalid client")
            access, refresh = self._new_tokens(client_id, code.scope, None)
            with self._lock:
                self._refresh[refresh] = _Refresh(client_id, code.scope, public_client=not confidential)
            return {"access_token": access, "token_type": "Bearer", "expires_in": int(self.token_lifetime),
                    "refresh_token": refresh, "scope": code.scope}
        if grant == "refresh_token":
            old = form.get("refresh_token", "")
            with self._lock:
                record = self._refresh.get(old)
                if record is None or record.client_id != client_id:
                    raise OAuthError("invalid_grant", "Invalid refresh token")
                if record.public_client:
                    del self._refresh[old]
            access, refresh = self._new_tokens(client_id, record.scope, None)
            reply = {"access_token": access, "token_type": "Bearer", "expires_in": int(self.token_lifetime),
                     "scope": record.scope}
            if record.public_client:
                with self._lock:
                    self._refresh[refresh] = record
                reply["refresh_token"] = refresh
            return reply
        raise OAuthError("unsupported_grant_type", f"grant_type {grant} is not supported")

    def _new_tokens(self, client_id: str, scope: str, lifetime: float | None) -> tuple[str, str]:
        access = "BQ" + secrets.token_urlsafe(120)
        refresh = "AQ" + secrets.token_urlsafe(100)
        with self._lock:
            self._tokens[access] = _Token(client_id, frozenset(scope.split()),
                                          self.clock() + (lifetime or self.token_lifetime))
        return access, refresh

    # ------------------------------------------------------------ API plumbing
    def _api(self, handler: Callable[[Request, _Token], Any]) -> Callable[[Request], Response]:
        def wrapped(req: Request) -> Response:
            try:
                token = self._check_bearer(req)
                result = handler(req, token)
            except ApiError as exc:
                return self.error_response(exc.status, req, exc.message)
            return result if isinstance(result, Response) else Response.json(result)
        return wrapped

    def _check_bearer(self, req: Request) -> _Token:
        header = req.header("authorization") or ""
        if not header:
            raise ApiError(401, "No token provided")
        if not header.startswith("Bearer "):
            raise ApiError(400, "Only valid bearer authentication supported")
        with self._lock:
            token = self._tokens.get(header[7:].strip())
        if token is None:
            raise ApiError(401, "Invalid access token")
        if token.expires_at <= self.clock():
            raise ApiError(401, "The access token expired")
        return token

    @staticmethod
    def _need_scope(token: _Token, *any_of: str) -> None:
        if not any(s in token.scope for s in any_of):
            raise ApiError(403, "Insufficient client scope")

    @staticmethod
    def _id(value: str) -> str:
        if not _BASE62.match(value):
            raise ApiError(400, "Invalid base62 id")
        return value

    @staticmethod
    def _limit(req: Request, default: int, low: int, high: int) -> int:
        raw = req.arg("limit")
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(400, "Invalid limit") from None
        if not low <= value <= high:
            raise ApiError(400, "Invalid limit")
        return value

    def _search_page_limit(self, req: Request) -> int:
        """``limit`` of search and artist albums: 1-10, default 5, in development mode (February 2026 changelog;
        400 "Invalid limit" above 10 observed by cliamp PR #315, ncspot #1866, spotipy #1231/#1236, zotify #211);
        1-50, default 20, before."""
        return self._limit(req, 5, 1, 10) if self.development else self._limit(req, 20, 1, 50)

    @staticmethod
    def _offset(req: Request, high: int | None = None) -> int:
        try:
            value = int(req.arg("offset") or 0)
        except ValueError:
            raise ApiError(400, "Invalid offset") from None
        if value < 0 or (high is not None and value > high):
            raise ApiError(400, "Invalid offset")
        return value

    def _page(self, path: str, items: list[Any], total: int, offset: int, limit: int,
              extra: dict[str, str] | None = None) -> dict[str, Any]:
        """A Paging object whose ``next``/``previous`` are absolute URLs back at this server."""
        def link(off: int) -> str:
            query = {"offset": str(off), "limit": str(limit), **(extra or {})}
            return f"{self.url}/v1/{path}?{urlencode(query)}"
        return {
            "href": link(offset), "items": items, "limit": limit,
            "next": link(offset + limit) if limit and offset + limit < total else None,
            "offset": offset, "previous": link(max(0, offset - limit)) if offset > 0 and limit else None,
            "total": total,
        }

    # ------------------------------------------------------------ renderers
    def _images(self, image_url: str | None, sizes: tuple[int, ...] = (640, 300, 64)) -> list[dict[str, Any]]:
        if not image_url:
            return []
        base = f"{self.url}{image_url}"
        return [{"url": base if size == 640 else f"{base}?size={size}", "height": size, "width": size}
                for size in sizes]

    def _artist_ref(self, artist_id: str, name: str) -> dict[str, Any]:
        return {"external_urls": {"spotify": f"https://open.spotify.com/artist/{artist_id}"},
                "href": f"{self.url}/v1/artists/{artist_id}", "id": artist_id, "name": name,
                "type": "artist", "uri": f"spotify:artist:{artist_id}"}

    def _artist_full(self, artist: Artist) -> dict[str, Any]:
        aid = artist.spotify_id or ""
        out: dict[str, Any] = {**self._artist_ref(aid, artist.name), "genres": list(artist.genres),
               "images": self._images(artist.image_url)}
        if not self.development:  # followers, popularity removed for development mode (February 2026 changelog)
            out.update(followers={"href": None, "total": _stable_int(aid, 2_000_000)},
                       popularity=_stable_int(aid, 90) + 5)
        return out

    def _album_artists(self, album: Album) -> list[dict[str, Any]]:
        first = album.tracks[0] if album.tracks else None
        if first is not None and album.artists[0] == first.artists[0]:
            return [self._artist_ref(first.spotify_artist_ids[0], first.artists[0])]
        return [{"external_urls": {"spotify": "https://open.spotify.com/artist/0LyfQWJT6nXafLPZqxe9Of"},
                 "href": f"{self.url}/v1/artists/0LyfQWJT6nXafLPZqxe9Of", "id": "0LyfQWJT6nXafLPZqxe9Of",
                 "name": album.artists[0], "type": "artist", "uri": "spotify:artist:0LyfQWJT6nXafLPZqxe9Of"}]

    def _album_simple(self, album: Album) -> dict[str, Any]:
        aid = album.spotify_id or ""
        precision = {4: "year", 7: "month"}.get(len(album.release_date), "day")
        out: dict[str, Any] = {"album_type": album.album_type.value, "total_tracks": album.total_tracks,
               "external_urls": {"spotify": f"https://open.spotify.com/album/{aid}"},
               "href": f"{self.url}/v1/albums/{aid}", "id": aid, "images": self._images(album.image_url),
               "name": album.title,
               "release_date": album.release_date, "release_date_precision": precision,
               "type": "album", "uri": f"spotify:album:{aid}", "artists": self._album_artists(album)}
        if not self.development:  # available_markets removed for development mode (February 2026 changelog)
            out["available_markets"] = list(_MARKETS)
        return out

    def _album_full(self, album: Album) -> dict[str, Any]:
        aid = album.spotify_id or ""
        tracks = [self._track_simple(t) for t in album.tracks[:50]]
        out: dict[str, Any] = {**self._album_simple(album),
               "tracks": self._page(f"albums/{aid}/tracks", tracks, len(album.tracks), 0, 50),
               "copyrights": [{"text": f"© {album.year} {album.label}", "type": "C"},
                              {"text": f"℗ {album.year} {album.label}", "type": "P"}],
               "external_ids": {"upc": album.upc}, "genres": []}  # upc kept (March 2026 changelog revert)
        if not self.development:  # label, popularity removed for development mode (February 2026 changelog)
            out.update(label=album.label, popularity=_stable_int(aid, 80) + 10)
        return out

    def _track_simple(self, t: Track) -> dict[str, Any]:
        tid = t.spotify_id or ""
        artists = [self._artist_ref(aid, name) for aid, name in zip(t.spotify_artist_ids, t.artists)]
        out: dict[str, Any] = {"artists": artists,
               "disc_number": t.disc_number or 1,
               "duration_ms": t.duration_ms, "explicit": _stable_int(tid, 9) == 0,
               "external_urls": {"spotify": f"https://open.spotify.com/track/{tid}"},
               "href": f"{self.url}/v1/tracks/{tid}", "id": tid, "is_local": False, "is_playable": True,
               "name": t.title, "preview_url": None, "track_number": t.track_number or 1,
               "type": "track", "uri": f"spotify:track:{tid}"}
        if not self.development:  # available_markets removed for development mode (February 2026 changelog)
            out["available_markets"] = list(_MARKETS)
        return out

    def _track_full(self, t: Track) -> dict[str, Any]:
        album = self._albums.get(t.spotify_album_id)
        # external_ids (ISRC) stays: removed in February, reverted in the March 2026 changelog
        out: dict[str, Any] = {**self._track_simple(t), "album": self._album_simple(album) if album else None,
               "external_ids": {"isrc": t.isrc} if t.isrc else {}}
        if not self.development:  # popularity removed for development mode (February 2026 changelog)
            out["popularity"] = _stable_int(t.spotify_id or "", 95)
        return out

    def _user_ref(self, user_id: str) -> dict[str, Any]:
        return {"external_urls": {"spotify": f"https://open.spotify.com/user/{user_id}"},
                "href": f"{self.url}/v1/users/{user_id}", "id": user_id, "type": "user",
                "uri": f"spotify:user:{user_id}"}

    def _owner(self, user_id: str) -> dict[str, Any]:
        return {**self._user_ref(user_id), "display_name": self.catalog.owners.get(user_id, user_id)}

    def _playlist_images(self, state: _PlaylistState) -> list[dict[str, Any]] | None:
        if not state.entries:
            return None  # Spotify answers null, not [], for a playlist without a cover
        if _stable_int(state.meta.id, 2):
            return [{"url": f"{self.url}{state.meta.image_url}", "height": None, "width": None}]
        return self._images(state.meta.image_url, (640, 300, 60))

    def _playlist_simple(self, state: _PlaylistState) -> dict[str, Any]:
        p = state.meta
        key = self._contents_key
        ref = {"href": f"{self.url}/v1/playlists/{p.id}/{key}", "total": len(state.entries)}
        return {"collaborative": p.collaborative, "description": html.escape(p.description, quote=False),
                "external_urls": {"spotify": f"https://open.spotify.com/playlist/{p.id}"},
                "href": f"{self.url}/v1/playlists/{p.id}", "id": p.id, "images": self._playlist_images(state),
                "name": p.name, "owner": self._owner(p.owner), "primary_color": None, "public": p.public,
                "snapshot_id": p.snapshot_id, key: ref, "type": "playlist", "uri": f"spotify:playlist:{p.id}"}

    def _entry(self, entry: _Entry, playlist_id: str) -> dict[str, Any]:
        item: dict[str, Any] | None
        if entry.kind == "track" and entry.track is not None:
            item = self._track_full(entry.track)
        elif entry.kind == "local":
            item = {"album": {"album_type": None, "artists": [], "external_urls": {},
                              "href": None, "id": None, "images": [], "name": "Home Tapes", "release_date": None,
                              "release_date_precision": None, "type": "album", "uri": None},
                    "artists": [{"external_urls": {}, "href": None, "id": None, "name": "Kitchen Band",
                                 "type": "artist", "uri": None}],
                    "disc_number": 0, "duration_ms": 215000, "explicit": False,
                    "external_ids": {}, "external_urls": {}, "href": None, "id": None, "is_local": True,
                    "name": "Voice Memo 3", "preview_url": None, "track_number": 0,
                    "type": "track", "uri": "spotify:local:Kitchen+Band:Home+Tapes:Voice+Memo+3:215"}
            if not self.development:
                item.update(available_markets=[], popularity=0)
                item["album"]["available_markets"] = []
        elif entry.kind == "episode":
            eid = f"5Ep{playlist_id[3:]}"[:22]
            item = {"audio_preview_url": None, "description": "An invented talk show.", "duration_ms": 1_934_000,
                    "explicit": False, "external_urls": {"spotify": f"https://open.spotify.com/episode/{eid}"},
                    "href": f"{self.url}/v1/episodes/{eid}", "id": eid, "images": [], "is_playable": True,
                    "name": "Episode 12: Tape Hiss", "release_date": "2023-04-01",
                    "release_date_precision": "day", "type": "episode", "uri": f"spotify:episode:{eid}",
                    "show": {"id": "4Sh0w000000000000000000"[:22], "name": "Loud Quiet Loud", "type": "show"}}
        else:
            item = None
        # The entry's object is "item" in development mode, "track" before (renamed, February 2026 changelog);
        # never both, so a client reading only one name fails here as it would live.
        return {"added_at": entry.added_at, "added_by": self._user_ref(entry.added_by),
                "is_local": entry.kind == "local", "primary_color": None,
                "item" if self.development else "track": item, "video_thumbnail": {"url": None}}

    @property
    def _contents_key(self) -> str:
        """A playlist's contents are ``items`` in development mode, ``tracks`` before (renamed, February 2026
        changelog; ``tracks`` observed missing from me/playlists entries by Marinara-Engine PR #681)."""
        return "items" if self.development else "tracks"

    def _visible(self, state: _PlaylistState, token: _Token) -> bool:
        p = state.meta
        if p.owner != self.user_id and not p.collaborative:
            return True  # followed playlists are listed (their items are another matter)
        if p.collaborative:
            return "playlist-read-collaborative" in token.scope
        return bool(p.public) or "playlist-read-private" in token.scope

    def _own_or_collaborative(self, state: _PlaylistState) -> bool:
        return state.meta.owner == self.user_id or state.meta.collaborative

    def _readable(self, state: _PlaylistState) -> bool:
        """Whether the items may be read: in development mode only of playlists the user owns or collaborates
        on (migration guide, February 2026; reference 2.5)."""
        return not self.development or self._own_or_collaborative(state)

    def _state(self, playlist_id: str) -> _PlaylistState:
        state = self._playlists.get(self._id(playlist_id))
        if state is None:
            raise ApiError(404, "Resource not found")
        if self.development and state.meta.id.startswith(SPOTIFY_OWNED_PREFIX):
            # Spotify-owned editorial/algorithmic playlists: unavailable since 2024-11-27 (blog "Introducing some
            # changes to our Web API"), observed as 404 (fondberg/spotcast PR #611, fiso64/sockseek issue #149).
            raise ApiError(404, "Resource not found")
        return state

    # ------------------------------------------------------------ API handlers
    def _me(self, req: Request, token: _Token) -> dict[str, Any]:
        # account_id: May 2026 changelog (its format is not documented; reference 2.4)
        user = {**self._owner(self.user_id), "images": [], "account_id": f"acc{_stable_int(self.user_id, 10**12)}"}
        if self.development:
            return user  # country, email, product, explicit_content, followers removed (February 2026 changelog)
        return {**user, "country": "SE", "email": "demo@example.com", "product": "premium",
                "explicit_content": {"filter_enabled": False, "filter_locked": False},
                "followers": {"href": None, "total": 3}}

    def _my_playlists(self, req: Request, token: _Token) -> dict[str, Any]:
        limit = self._limit(req, 20, 1, 50)
        offset = self._offset(req, 100_000)
        with self._lock:
            visible = [self._playlists[pid] for pid in self._playlist_order
                       if self._visible(self._playlists[pid], token)]
        items = [self._playlist_simple(s) for s in visible[offset:offset + limit]]
        return self._page("me/playlists", items, len(visible), offset, limit)

    def _playlist(self, req: Request, token: _Token) -> dict[str, Any]:
        state = self._state(req.params["id"])
        with self._lock:
            body = self._playlist_simple(state)
            body["followers"] = {"href": None, "total": state.followers}
            key = self._contents_key
            if self._readable(state):
                entries = [self._entry(e, state.meta.id) for e in state.entries[:100]]
                body[key] = self._page(f"playlists/{state.meta.id}/{key}", entries, len(state.entries), 0, 100)
            else:
                del body[key]  # metadata only for other users' playlists (migration guide, February 2026)
        return body

    def _playlist_items(self, req: Request, token: _Token) -> dict[str, Any]:
        state = self._state(req.params["id"])
        if not self._readable(state):
            raise ApiError(403, "Forbidden")  # Spotify's endpoint reference note (reference 2.5)
        legacy = req.path.rstrip("/").endswith("/tracks")  # extended quota only: the old endpoint pages by 100
        limit = self._limit(req, 100 if legacy else 20, 1, 100 if legacy else 50)
        offset = self._offset(req)
        extra = {k: req.arg(k) or "" for k in ("additional_types", "market") if req.arg(k)}
        with self._lock:
            items = [self._entry(e, state.meta.id) for e in state.entries[offset:offset + limit]]
            return self._page(f"playlists/{state.meta.id}/{'tracks' if legacy else 'items'}", items,
                              len(state.entries), offset, limit, extra)

    def _create_playlist(self, req: Request, token: _Token) -> Response:
        if "user" in req.params and req.params["user"] != self.user_id:
            raise ApiError(403, "You cannot create a playlist for another user")
        try:
            body = req.json() or {}
        except ValueError:
            raise ApiError(400, "Error parsing JSON.") from None
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "Missing required field: name")
        public = bool(body.get("public", True))
        collaborative = bool(body.get("collaborative", False))
        if collaborative and public:
            raise ApiError(400, "You cannot create a public collaborative playlist")
        self._need_scope(token, "playlist-modify-public" if public else "playlist-modify-private")
        pid = self._new_id()
        meta = Playlist(id=pid, name=name, owner=self.user_id, snapshot_id=self._snapshot(1),
                        image_url=f"/images/{pid}.jpg", description=str(body.get("description") or ""),
                        collaborative=collaborative, public=public)
        with self._lock:
            self._playlists[pid] = _PlaylistState(meta, [])
            self._playlist_order.insert(0, pid)
            out = self._playlist_simple(self._playlists[pid])
            out["followers"] = {"href": None, "total": 0}
            out[self._contents_key] = self._page(f"playlists/{pid}/{self._contents_key}", [], 0, 0, 100)
        return Response.json(out, 201)

    def _add_items(self, req: Request, token: _Token) -> Response:
        state = self._state(req.params["id"])
        if not self._own_or_collaborative(state):
            raise ApiError(403, "You cannot add tracks to a playlist you don't own.")
        self._need_scope(token, "playlist-modify-public", "playlist-modify-private")
        try:
            body = req.json()
        except ValueError:
            raise ApiError(400, "Error parsing JSON.") from None
        position: Any = req.arg("position")
        if isinstance(body, dict):
            uris = body.get("uris") or []
            position = body.get("position", position)
        elif isinstance(body, list):
            uris = body
        else:
            uris = [u for u in (req.arg("uris") or "").split(",") if u]
        if not uris:
            raise ApiError(400, "No uris provided")
        if len(uris) > 100:
            raise ApiError(400, "You can add a maximum of 100 tracks per request.")
        new: list[_Entry] = []
        now = _iso(self.clock())
        for uri in uris:
            kind, _, tid = str(uri).rpartition(":")
            if kind != "spotify:track" or not _BASE62.match(tid):
                raise ApiError(400, f"Invalid track uri: {uri}")
            track = self._tracks.get(tid)
            if track is None:
                raise ApiError(400, "Payload contains a non-existing ID")
            new.append(_Entry("track", track, now, self.user_id))
        with self._lock:
            at = len(state.entries) if position in (None, "") else max(0, min(int(position), len(state.entries)))
            state.entries[at:at] = new
            state.version += 1
            state.meta.snapshot_id = self._snapshot(state.version)
            return Response.json({"snapshot_id": state.meta.snapshot_id}, 201)

    def _saved_tracks(self, req: Request, token: _Token) -> dict[str, Any]:
        self._need_scope(token, "user-library-read")
        limit = self._limit(req, 20, 1, 50)
        offset = self._offset(req)
        items = [{"added_at": added, "track": self._track_full(t)} for t, added in self._liked[offset:offset + limit]]
        extra = {"market": req.arg("market") or ""} if req.arg("market") else None
        return self._page("me/tracks", items, len(self._liked), offset, limit, extra)

    def _search(self, req: Request, token: _Token) -> dict[str, Any]:
        q = (req.arg("q") or "").strip()
        if not q:
            raise ApiError(400, "No search query")
        types = [t for t in (req.arg("type") or "").split(",") if t]
        if not types:
            raise ApiError(400, "Missing parameter type")
        if any(t not in ("track", "album", "artist", "playlist", "show", "episode", "audiobook") for t in types):
            raise ApiError(400, "Bad search type field")
        limit = self._search_page_limit(req)
        offset = self._offset(req, 1000)
        free, fields = self._parse_query(q)
        out: dict[str, Any] = {}
        extra = {"q": q, "type": ",".join(types)}
        for kind in types:
            if kind == "track":
                found: list[Any] = self._search_tracks(free, fields)
                items = [self._track_full(t) for t in found[offset:offset + limit]]
            elif kind == "album":
                found = self._search_albums(free, fields)
                items = [self._album_simple(a) for a in found[offset:offset + limit]]
            elif kind == "artist":
                found = self._search_artists(free, fields)
                items = [self._artist_full(a) for a in found[offset:offset + limit]]
            else:
                found, items = [], []
            out[f"{kind}s"] = self._page("search", items, len(found), offset, limit, extra)
        return out

    @staticmethod
    def _parse_query(q: str) -> tuple[list[str], dict[str, str]]:
        free: list[str] = []
        fields: dict[str, str] = {}
        for m in _SEARCH_TOKEN.finditer(q):
            name, value = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
            if name and name.lower() in _SEARCH_FIELDS:
                fields[name.lower()] = _fold(value)
            else:
                free.append(_fold(m.group(0).strip('"')))
        return free, fields

    def _rows(self) -> list[tuple[str, str, str, Track]]:
        if self._search_rows is None:
            self._search_rows = [(_fold(t.title), _fold(" ".join(t.artists)), _fold(t.album), t)
                                 for t in self.catalog.tracks]
        return self._search_rows

    def _search_tracks(self, free: list[str], fields: dict[str, str]) -> list[Track]:
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

    def _search_albums(self, free: list[str], fields: dict[str, str]) -> list[Album]:
        found = []
        for album in self.catalog.albums:
            name, artist = _fold(album.title), _fold(" ".join(album.artists))
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

    def _search_artists(self, free: list[str], fields: dict[str, str]) -> list[Artist]:
        found = []
        for artist in self.catalog.artists:
            name = _fold(artist.name)
            if "artist" in fields and fields["artist"] not in name:
                continue
            if "genre" in fields and not any(fields["genre"] in g for g in artist.genres):
                continue
            if free and not all(term in name for term in free):
                continue
            found.append(artist)
        found.sort(key=lambda a: _fold(a.name) != " ".join(free))
        return found

    def _album(self, req: Request, token: _Token) -> dict[str, Any]:
        album = self._albums.get(self._id(req.params["id"]))
        if album is None:
            raise ApiError(404, "Resource not found")
        return self._album_full(album)

    def _album_tracks(self, req: Request, token: _Token) -> dict[str, Any]:
        album = self._albums.get(self._id(req.params["id"]))
        if album is None:
            raise ApiError(404, "Resource not found")
        limit = self._limit(req, 20, 1, 50)
        offset = self._offset(req)
        items = [self._track_simple(t) for t in album.tracks[offset:offset + limit]]
        return self._page(f"albums/{album.spotify_id}/tracks", items, len(album.tracks), offset, limit)

    def _artist(self, req: Request, token: _Token) -> dict[str, Any]:
        artist = self._artists.get(self._id(req.params["id"]))
        if artist is None:
            raise ApiError(404, "Resource not found")
        return self._artist_full(artist)

    def _artist_albums_handler(self, req: Request, token: _Token) -> dict[str, Any]:
        aid = self._id(req.params["id"])
        if aid not in self._artists:
            raise ApiError(404, "Resource not found")
        limit = self._search_page_limit(req)
        offset = self._offset(req)
        groups_arg = req.arg("include_groups")
        groups = {g.strip() for g in (groups_arg or "album,single,compilation,appears_on").split(",") if g.strip()}
        if groups - {"album", "single", "compilation", "appears_on"}:
            raise ApiError(400, "Invalid include_groups value")
        matching = [(a, g) for a, g in self._artist_albums.get(aid, []) if g in groups]
        items = [self._album_simple(a) if self.development else {**self._album_simple(a), "album_group": g}
                 for a, g in matching[offset:offset + limit]]  # album_group removed (February 2026 changelog)
        extra = {"include_groups": groups_arg} if groups_arg else None
        return self._page(f"artists/{aid}/albums", items, len(matching), offset, limit, extra)

    def _several_tracks(self, req: Request, token: _Token) -> dict[str, Any]:
        ids = [i for i in (req.arg("ids") or "").split(",") if i]
        if not ids:
            raise ApiError(400, "invalid id")
        if len(ids) > 50:
            raise ApiError(400, "Too many ids requested")
        out = []
        for tid in ids:
            track = self._tracks.get(self._id(tid))
            out.append(self._track_full(track) if track else None)
        return {"tracks": out}

    def _one_track(self, req: Request, token: _Token) -> dict[str, Any]:
        track = self._tracks.get(self._id(req.params["id"]))
        if track is None:
            raise ApiError(404, "Resource not found")
        return self._track_full(track)

    def _image(self, req: Request) -> Response:
        size = req.int_arg("size", 640)
        return Response(200, cover_jpeg(req.params["id"], size), "image/jpeg",
                        {"Cache-Control": "public, max-age=31536000"})

    # ------------------------------------------------------------ ids
    def _new_id(self) -> str:
        alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        return "".join(secrets.choice(alphabet) for _ in range(22))

    @staticmethod
    def _snapshot(version: int) -> str:
        return base64.b64encode(f"{version},{secrets.token_hex(16)}".encode()).decode()


def _year_matches(spec: str, year: int | None) -> bool:
    if year is None:
        return False
    low, _, high = spec.partition("-")
    try:
        return int(low) <= year <= int(high or low)
    except ValueError:
        return False
