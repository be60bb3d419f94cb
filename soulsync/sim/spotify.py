"""Simulated Spotify: the HTTP routes of the accounts service (OAuth) and the Web API.

One server answers both hosts of the real service, so point the clients at:

* accounts: ``sim.url`` (``/authorize``, ``/api/token``),
* Web API:  ``sim.api_url`` (``{url}/v1/``), as spotipy's ``prefix``,
* images:   ``{url}/images/<id>.jpg`` (``?size=300`` / ``?size=64`` for smaller ones).

This module parses requests and writes answers; the state and rules live in
:mod:`soulsync.sim.spotify_world` (catalog, playlists, search),
:mod:`soulsync.sim.spotify_accounts` (codes, tokens, redirect URIs) and the JSON shapes in
:mod:`soulsync.sim.spotify_render`. Wire facts follow ``reference/service-apis.md`` section 2:
``{"error": {"status", "message"}}`` bodies, OAuth errors as ``{"error", "error_description"}``,
``scope`` in every token reply.

Quota modes (``quota=``): ``development`` (the default, as every self-hosted app
runs since 2026-03-09) answers as Spotify's Web API changelog of February 2026
and its migration guide describe development mode (reference 2.4 and 2.5, cited
at each behaviour); ``extended`` answers with the names and fields of
before that change, as extended-quota apps still get them.

Redirect URIs are registered per client id (``register_redirect_uri``), as in
the Developer Dashboard; the app's default URI is registered from the start.
``/authorize`` refuses any other URI with an error page and no redirect
(reference 2.2). The ``fields`` and ``market`` query parameters are accepted and
ignored (full objects are returned).

Admin endpoints, outside the real API's paths and for loopback clients only, change the
world at run time as Spotify changes under a user (:meth:`SpotifySim.control`).
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from soulsync.core.models import Album
from soulsync.sim.base import Request, Response, SimServer
from soulsync.sim.catalog import Catalog, build_catalog
from soulsync.sim.images import cover_jpeg
from soulsync.sim.spotify_accounts import (
    DEFAULT_REDIRECT_URI,
    DEFAULT_SCOPES,
    INVALID_CLIENT,
    OAuthError,
    SpotifyAccounts,
    Token,
    need_scope,
)
from soulsync.sim.spotify_admin import admin_control
from soulsync.sim.spotify_render import SpotifyRenderer
from soulsync.sim.spotify_world import QUOTA_MODES, ApiError, SpotifyWorld, check_id, is_base62, stable_int

__all__ = ["DEFAULT_REDIRECT_URI", "QUOTA_MODES", "SpotifySim"]

_INVALID_CLIENT_PAGE = b"<html><body><h1>INVALID_CLIENT: Invalid client</h1></body></html>"
_INVALID_REDIRECT_PAGE = (b"<!doctype html><html><head><title>Error</title></head><body>"
                          b"<h1>INVALID_CLIENT: Invalid redirect URI</h1></body></html>")
_STATUS_MESSAGES = {
    400: "Bad request", 401: "The access token expired", 403: "Forbidden", 404: "Resource not found",
    405: "Method not allowed", 429: "API rate limit exceeded", 500: "Server error",
    502: "Bad gateway", 503: "Service unavailable", 504: "Gateway timeout",
}
_SEARCH_TYPES = ("track", "album", "artist", "playlist", "show", "episode", "audiobook")
_ALBUM_GROUPS = {"album", "single", "compilation", "appears_on"}


def _credentials(seed: int) -> tuple[str, str]:
    digest = hashlib.sha256(f"soulsync-sim-spotify-{seed}".encode()).hexdigest()
    return digest[:32], digest[32:64]


class SpotifySim(SimServer):
    """The Spotify accounts service and Web API on 127.0.0.1.

    Attributes for scripts and tests: ``client_id``, ``client_secret``,
    ``user_id``, ``url`` (accounts base), ``api_url`` (Web API prefix),
    ``token_lifetime`` (seconds, changeable at run time), ``deny_consent``
    (the next authorizations answer ``error=access_denied``), ``quota``
    (``development`` or ``extended``, see the module docstring), ``world``
    (:class:`~soulsync.sim.spotify_world.SpotifyWorld`) and ``accounts``.
    """

    name = "spotify"

    def __init__(self, catalog: Catalog | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 client_id: str | None = None, client_secret: str | None = None,
                 token_lifetime: float = 3600.0, clock: Callable[[], float] = time.time,
                 quota: str = "development", redirect_uris: Iterable[str] = (DEFAULT_REDIRECT_URI,)) -> None:
        super().__init__(host, port)
        self.catalog = catalog or build_catalog()
        self.world = SpotifyWorld(self.catalog, quota, clock)
        default_id, default_secret = _credentials(self.catalog.seed)
        self.accounts = SpotifyAccounts(client_id or default_id, client_secret or default_secret, token_lifetime,
                                        clock, redirect_uris)
        self.render = SpotifyRenderer(self.world, lambda: self.url)
        self._routes_setup()

    # ------------------------------------------------------------ public helpers
    @property
    def quota(self) -> str:
        return self.world.quota

    @property
    def development(self) -> bool:
        """True in development mode (the default), False for an extended-quota app."""
        return self.world.development

    @property
    def client_id(self) -> str:
        return self.accounts.client_id

    @property
    def client_secret(self) -> str:
        return self.accounts.client_secret

    @property
    def user_id(self) -> str:
        return self.world.user_id

    @property
    def deny_consent(self) -> bool:
        return self.accounts.deny_consent

    @deny_consent.setter
    def deny_consent(self, value: bool) -> None:
        self.accounts.deny_consent = value

    @property
    def token_lifetime(self) -> float:
        return self.accounts.token_lifetime

    @token_lifetime.setter
    def token_lifetime(self, value: float) -> None:
        self.accounts.token_lifetime = value

    @property
    def api_url(self) -> str:
        """The Web API prefix for spotipy: ``http://127.0.0.1:PORT/v1/``."""
        return f"{self.url}/v1/"

    def register_redirect_uri(self, uri: str, client_id: str | None = None) -> None:
        """Add a redirect URI to a client's registered ones, as in the Developer Dashboard."""
        self.accounts.register_redirect_uri(uri, client_id)

    def issue_token_info(self, scope: tuple[str, ...] | list[str] = DEFAULT_SCOPES,
                         lifetime: float | None = None) -> dict[str, Any]:
        """A fresh token reply as the token endpoint would give it (with a refresh token)."""
        return self.accounts.issue_token_info(scope, lifetime)

    def issue_token(self, scope: tuple[str, ...] | list[str] = DEFAULT_SCOPES, lifetime: float | None = None) -> str:
        """A ready user access token, so a script can call the Web API at once."""
        return self.issue_token_info(scope, lifetime)["access_token"]

    def expire_tokens(self) -> None:
        """Make every access token issued so far expired (refresh tokens stay valid)."""
        self.accounts.expire_tokens()

    def revoke_refresh_tokens(self) -> None:
        """As if the user removed the app's access: every refresh token becomes invalid."""
        self.accounts.revoke_refresh_tokens()

    def describe(self) -> dict[str, Any]:
        """Base URLs and credentials, for ``soulsync sim``'s JSON line and the demo's config."""
        return {"url": self.url, "api_url": self.api_url, "client_id": self.client_id,
                "client_secret": self.client_secret, "access_token": self.issue_token(), "user": self.user_id}

    def playlist_total(self, playlist_id: str) -> int:
        """Entries of a playlist as the API counts them (local, null and episode entries included)."""
        return self.world.playlist_total(playlist_id)

    def playlist_track_ids(self, playlist_id: str) -> list[str]:
        """Spotify ids of the real tracks of a playlist, in order."""
        return self.world.playlist_track_ids(playlist_id)

    def publish_release(self, artist_id: str, title: str, track_titles: tuple[str, ...] | list[str] = (), *,
                        kind: str = "single", release_date: str | None = None) -> Album:
        """A new release of an artist (see :meth:`SpotifyWorld.publish_release`)."""
        return self.world.publish_release(artist_id, title, track_titles, kind=kind, release_date=release_date)

    def add_playlist_tracks(self, playlist_id: str, track_ids: list[str], position: int | None = None) -> str:
        """Add tracks to a playlist as its owner would on Spotify; returns the new ``snapshot_id``."""
        return self.world.add_tracks(playlist_id, track_ids, position)

    def remove_playlist_tracks(self, playlist_id: str, track_ids: list[str]) -> str:
        """Remove tracks from a playlist; returns the new ``snapshot_id``."""
        return self.world.remove_tracks(playlist_id, track_ids)

    # ------------------------------------------------------------ routes
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
            ("GET", r"/v1/artists/(?P<id>[^/]+)/albums", self._artist_albums),
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

    def _removed_in_development(self, handler: Callable[[Request, Token], Any] | None
                                ) -> Callable[[Request, Token], Any]:
        """A handler that answers 403 "Forbidden" in development mode, ``handler`` for an extended-quota app
        (404 where the simulation has no extended implementation)."""
        def answer(req: Request, token: Token) -> Any:
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
        ``{"uri": ...}`` (register a redirect URI for the app, as in the Developer Dashboard), and the
        admin endpoints of :func:`soulsync.sim.spotify_admin.admin_control` (new releases, playlist changes)."""
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
        return admin_control(self.world, self.render, req) or super().control(req)

    # ------------------------------------------------------------ accounts
    def _authorize(self, req: Request) -> Response:
        redirect_uri = req.arg("redirect_uri", "") or ""
        consent = self.accounts.authorize(req.arg("client_id", "") or "", redirect_uri, req.arg("response_type"),
                                          req.arg("scope"), req.arg("code_challenge"),
                                          req.arg("code_challenge_method", "S256"))
        if consent.page:
            page = _INVALID_CLIENT_PAGE if consent.page == INVALID_CLIENT else _INVALID_REDIRECT_PAGE
            return Response(400, page, "text/html; charset=utf-8")
        params = dict(consent.params)
        state = req.arg("state")
        if state is not None:
            params["state"] = state
        sep = "&" if urlsplit(redirect_uri).query else "?"
        return Response(302, b"", "", {"Location": f"{redirect_uri}{sep}{urlencode(params)}"})

    def _token(self, req: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        try:
            return Response.json(self.accounts.grant(form, req.header("authorization") or ""))
        except OAuthError as exc:
            return Response.json({"error": exc.error, "error_description": exc.description}, exc.status)

    # ------------------------------------------------------------ API plumbing
    def _api(self, handler: Callable[[Request, Token], Any]) -> Callable[[Request], Response]:
        def wrapped(req: Request) -> Response:
            try:
                token = self.accounts.bearer(req.header("authorization") or "")
                result = handler(req, token)
            except ApiError as exc:
                return self.error_response(exc.status, req, exc.message)
            return result if isinstance(result, Response) else Response.json(result)
        return wrapped

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

    # ------------------------------------------------------------ API handlers
    def _me(self, req: Request, token: Token) -> dict[str, Any]:
        # account_id: May 2026 changelog (its format is not documented; reference 2.4)
        user = {**self.render.owner(self.user_id), "images": [], "account_id": f"acc{stable_int(self.user_id, 10**12)}"}
        if self.development:
            return user  # country, email, product, explicit_content, followers removed (February 2026 changelog)
        return {**user, "country": "SE", "email": "demo@example.com", "product": "premium",
                "explicit_content": {"filter_enabled": False, "filter_locked": False},
                "followers": {"href": None, "total": 3}}

    def _my_playlists(self, req: Request, token: Token) -> dict[str, Any]:
        limit = self._limit(req, 20, 1, 50)
        offset = self._offset(req, 100_000)
        visible = self.world.visible_playlists(token.scope)
        with self.world.lock:
            items = [self.render.playlist_simple(s) for s in visible[offset:offset + limit]]
        return self.render.page("me/playlists", items, len(visible), offset, limit)

    def _playlist(self, req: Request, token: Token) -> dict[str, Any]:
        state = self.world.state(req.params["id"])
        with self.world.lock:
            body = self.render.playlist_simple(state)
            body["followers"] = {"href": None, "total": state.followers}
            key = self.render.contents_key
            if self.world.readable(state):
                entries = [self.render.entry(e, state.meta.id) for e in state.entries[:100]]
                body[key] = self.render.page(f"playlists/{state.meta.id}/{key}", entries, len(state.entries), 0, 100)
            else:
                del body[key]  # metadata only for other users' playlists (migration guide, February 2026)
        return body

    def _playlist_items(self, req: Request, token: Token) -> dict[str, Any]:
        state = self.world.state(req.params["id"])
        if not self.world.readable(state):
            raise ApiError(403, "Forbidden")  # Spotify's endpoint reference note (reference 2.5)
        legacy = req.path.rstrip("/").endswith("/tracks")  # extended quota only: the old endpoint pages by 100
        limit = self._limit(req, 100 if legacy else 20, 1, 100 if legacy else 50)
        offset = self._offset(req)
        extra = {k: req.arg(k) or "" for k in ("additional_types", "market") if req.arg(k)}
        with self.world.lock:
            items = [self.render.entry(e, state.meta.id) for e in state.entries[offset:offset + limit]]
            return self.render.page(f"playlists/{state.meta.id}/{'tracks' if legacy else 'items'}", items,
                                    len(state.entries), offset, limit, extra)

    def _create_playlist(self, req: Request, token: Token) -> Response:
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
        need_scope(token, "playlist-modify-public" if public else "playlist-modify-private")
        state = self.world.create_playlist(name, public, collaborative, str(body.get("description") or ""))
        pid = state.meta.id
        with self.world.lock:
            out = self.render.playlist_simple(state)
            out["followers"] = {"href": None, "total": 0}
            key = self.render.contents_key
            out[key] = self.render.page(f"playlists/{pid}/{key}", [], 0, 0, 100)
        return Response.json(out, 201)

    def _add_items(self, req: Request, token: Token) -> Response:
        state = self.world.state(req.params["id"])
        if not self.world.own_or_collaborative(state):
            raise ApiError(403, "You cannot add tracks to a playlist you don't own.")
        need_scope(token, "playlist-modify-public", "playlist-modify-private")
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
        ids = []
        for uri in uris:
            kind, _, tid = str(uri).rpartition(":")
            if kind != "spotify:track" or not is_base62(tid):
                raise ApiError(400, f"Invalid track uri: {uri}")
            ids.append(tid)
        at = None if position in (None, "") else int(position)
        snapshot = self.world.add_tracks(state.meta.id, ids, at, added_by=self.user_id)
        return Response.json({"snapshot_id": snapshot}, 201)

    def _saved_tracks(self, req: Request, token: Token) -> dict[str, Any]:
        need_scope(token, "user-library-read")
        limit = self._limit(req, 20, 1, 50)
        offset = self._offset(req)
        liked = self.world.liked
        items = [{"added_at": added, "track": self.render.track_full(t)} for t, added in liked[offset:offset + limit]]
        extra = {"market": req.arg("market") or ""} if req.arg("market") else None
        return self.render.page("me/tracks", items, len(liked), offset, limit, extra)

    def _search(self, req: Request, token: Token) -> dict[str, Any]:
        q = (req.arg("q") or "").strip()
        if not q:
            raise ApiError(400, "No search query")
        types = [t for t in (req.arg("type") or "").split(",") if t]
        if not types:
            raise ApiError(400, "Missing parameter type")
        if any(t not in _SEARCH_TYPES for t in types):
            raise ApiError(400, "Bad search type field")
        limit = self._search_page_limit(req)
        offset = self._offset(req, 1000)
        free, fields = self.world.parse_query(q)
        out: dict[str, Any] = {}
        extra = {"q": q, "type": ",".join(types)}
        for kind in types:
            if kind == "track":
                found: list[Any] = self.world.search_tracks(free, fields)
                items = [self.render.track_full(t) for t in found[offset:offset + limit]]
            elif kind == "album":
                found = self.world.search_albums(free, fields)
                items = [self.render.album_simple(a) for a in found[offset:offset + limit]]
            elif kind == "artist":
                found = self.world.search_artists(free, fields)
                items = [self.render.artist_full(a) for a in found[offset:offset + limit]]
            else:
                found, items = [], []
            out[f"{kind}s"] = self.render.page("search", items, len(found), offset, limit, extra)
        return out

    def _album(self, req: Request, token: Token) -> dict[str, Any]:
        album = self.world.albums.get(check_id(req.params["id"]))
        if album is None:
            raise ApiError(404, "Resource not found")
        return self.render.album_full(album)

    def _album_tracks(self, req: Request, token: Token) -> dict[str, Any]:
        album = self.world.albums.get(check_id(req.params["id"]))
        if album is None:
            raise ApiError(404, "Resource not found")
        limit = self._limit(req, 20, 1, 50)
        offset = self._offset(req)
        items = [self.render.track_simple(t) for t in album.tracks[offset:offset + limit]]
        return self.render.page(f"albums/{album.spotify_id}/tracks", items, len(album.tracks), offset, limit)

    def _artist(self, req: Request, token: Token) -> dict[str, Any]:
        artist = self.world.artists.get(check_id(req.params["id"]))
        if artist is None:
            raise ApiError(404, "Resource not found")
        return self.render.artist_full(artist)

    def _artist_albums(self, req: Request, token: Token) -> dict[str, Any]:
        aid = check_id(req.params["id"])
        if aid not in self.world.artists:
            raise ApiError(404, "Resource not found")
        limit = self._search_page_limit(req)
        offset = self._offset(req)
        groups_arg = req.arg("include_groups")
        groups = {g.strip() for g in (groups_arg or "album,single,compilation,appears_on").split(",") if g.strip()}
        if groups - _ALBUM_GROUPS:
            raise ApiError(400, "Invalid include_groups value")
        matching = self.world.artist_albums(aid, groups)
        items = [self.render.album_simple(a) if self.development else {**self.render.album_simple(a), "album_group": g}
                 for a, g in matching[offset:offset + limit]]  # album_group removed (February 2026 changelog)
        extra = {"include_groups": groups_arg} if groups_arg else None
        return self.render.page(f"artists/{aid}/albums", items, len(matching), offset, limit, extra)

    def _several_tracks(self, req: Request, token: Token) -> dict[str, Any]:
        ids = [i for i in (req.arg("ids") or "").split(",") if i]
        if not ids:
            raise ApiError(400, "invalid id")
        if len(ids) > 50:
            raise ApiError(400, "Too many ids requested")
        out = []
        for tid in ids:
            track = self.world.tracks.get(check_id(tid))
            out.append(self.render.track_full(track) if track else None)
        return {"tracks": out}

    def _one_track(self, req: Request, token: Token) -> dict[str, Any]:
        track = self.world.tracks.get(check_id(req.params["id"]))
        if track is None:
            raise ApiError(404, "Resource not found")
        return self.render.track_full(track)

    def _image(self, req: Request) -> Response:
        size = req.int_arg("size", 640)
        return Response(200, cover_jpeg(req.params["id"], size), "image/jpeg",
                        {"Cache-Control": "public, max-age=31536000"})
