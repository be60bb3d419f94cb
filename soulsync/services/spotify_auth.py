"""Spotify sign-in: authorization code with PKCE, a one-shot loopback listener, token refresh.

:class:`SpotifyAuth` does the whole flow and then serves as spotipy's auth
manager (spotipy only calls ``get_access_token(as_dict=False)``), refreshing
the access token shortly before it expires. New tokens are handed to an
``on_tokens`` callback for storage (the app keeps them in the keyring); they
are never logged and never appear in ``repr``.

With a client secret the token requests also authenticate the app with HTTP
Basic (a confidential client); without one it is a public PKCE client.
"""
from __future__ import annotations

from soulsync.core.cancellation import Cancelled as CoreCancelled

import base64
import hashlib
import hmac
import html
import logging
import secrets
import socket
import threading
import time
import webbrowser
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from soulsync.services.errors import (
    AuthError, BadResponse, NotFound, RateLimited, ServerError, ServiceError, ServiceTimeout, TLSFailure,
    Unreachable, WrongServer,
)
from soulsync.services.checks import seconds
from soulsync.services.http import ServiceSession

log = logging.getLogger(__name__)

SERVICE = "Spotify"
DEFAULT_ACCOUNTS_BASE = "https://accounts.spotify.com"
DEFAULT_SCOPES = ("playlist-read-private", "playlist-read-collaborative", "user-library-read",
                  "playlist-modify-private", "playlist-modify-public")
EXPIRY_MARGIN = 60.0
"""Refresh this many seconds before the access token expires (as spotipy does)."""
CONNECT_TIMEOUT_S = 120.0
"""How long Connect waits for the browser to come back. When the redirect URI is not registered, Spotify shows
an error page and never redirects (reference 2.2), so a long wait only delays the advice that fixes it."""
LOOPBACK_HOSTS = ("127.0.0.1", "::1")
"""The loopback IP literals Spotify accepts over plain http (not ``localhost``)."""
EXAMPLE_REDIRECT_URI = "http://127.0.0.1:8888/callback"


class Cancelled(ServiceError, CoreCancelled):
    """The caller's cancel hook asked to stop (sign-in, a listing, a retry wait): the app's one cancellation
    exception (:mod:`soulsync.core.cancellation`), as a service error too."""

    kind = "cancelled"

    def __init__(self, service: str = SERVICE, message: str = "Cancelled") -> None:
        super().__init__(service, message)


@dataclass
class SpotifyTokens:
    """What the token endpoint granted. Token values are kept out of ``repr``."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: float
    scope: str = ""
    token_type: str = "Bearer"

    def as_dict(self) -> dict[str, Any]:
        """The form handed to ``on_tokens`` (spotipy's cached-token layout)."""
        return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                "expires_at": int(self.expires_at), "scope": self.scope, "token_type": self.token_type}


class SignInTimeout(ServiceError):
    """Nobody came back from the browser in time: usually a redirect URI Spotify does not accept."""

    kind = "sign_in_timeout"


def redirect_uri_problem(uri: str) -> str:
    """Why ``uri`` cannot serve as SoulSync's redirect URI, in words, or ``""`` when it can.

    Spotify's rules (Redirect URI concept guide; blogs 2025-02-12 and 2025-10-14; reference 2.2): https, except
    plain http for the loopback IP literals 127.0.0.1 and [::1]; never ``localhost``. SoulSync receives the
    sign-in with a listener on this computer, so it needs a loopback literal with a port.
    """
    text = uri.strip()
    if not text:
        return f"Enter a redirect URI, such as {EXAMPLE_REDIRECT_URI}."
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return f"This is not a valid address; use one like {EXAMPLE_REDIRECT_URI}."
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return f"The redirect URI must be a web address like {EXAMPLE_REDIRECT_URI}."
    if host == "localhost" or host.endswith(".localhost"):
        return ("Spotify refuses “localhost” in redirect URIs (for every app since 27 November 2025): use the "
                f"loopback address instead, such as {EXAMPLE_REDIRECT_URI}.")
    if host not in LOOPBACK_HOSTS:
        plain = "Spotify allows plain http only for 127.0.0.1 and [::1]. " if parts.scheme == "http" else ""
        return (f"{plain}SoulSync receives the sign-in on this computer, so the redirect URI must point at it: "
                f"use http://127.0.0.1 with a port, such as {EXAMPLE_REDIRECT_URI}.")
    if parts.scheme != "http":
        return (f"Use http:// for {parts.netloc}: SoulSync's sign-in listener speaks plain http, which Spotify "
                "allows for loopback addresses.")
    if port is None:
        return (f"Add a port, such as {EXAMPLE_REDIRECT_URI}: SoulSync listens on that port for the answer of "
                "the sign-in.")
    if parts.fragment:
        return "A redirect URI cannot contain “#”."
    return ""


def transport_error(exc: BaseException, service: str, what: str) -> ServiceError:
    """Translate a requests/urllib3 exception into the project's exception, worded for a person."""
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, requests.exceptions.SSLError):
        return TLSFailure(service, f"secure connection failed while {what}", detail)
    if isinstance(exc, requests.exceptions.Timeout):
        return ServiceTimeout(service, f"no answer in time while {what}", detail)
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return BadResponse(service, f"the answer was cut off while {what}", detail)
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc).lower()
        reason = "the connection was reset" if "reset" in text or "aborted" in text else "connection refused or host not found"
        return Unreachable(service, f"{reason} while {what}", detail)
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema |
                  requests.exceptions.InvalidSchema):
        return Unreachable(service, f"the address is not a valid URL ({exc})", detail)
    return ServiceError(service, f"request failed while {what}", detail)


def make_pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) per RFC 7636."""
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")
    return verifier, challenge


class SpotifyAuth:
    """Authorization-code + PKCE sign-in and the token lifecycle; also spotipy's auth manager.

    ``on_tokens(dict)`` receives every new token set (after sign-in and each refresh).
    ``clock`` and ``session`` are injectable for tests.
    """

    def __init__(self, client_id: str, redirect_uri: str, *, client_secret: str | None = None,
                 accounts_base: str = DEFAULT_ACCOUNTS_BASE, refresh_token: str | None = None,
                 access_token: str | None = None, expires_at: float = 0.0,
                 on_tokens: Callable[[dict[str, Any]], None] | None = None,
                 scope: tuple[str, ...] | list[str] = DEFAULT_SCOPES, timeout: float = 10.0,
                 session: requests.Session | None = None, clock: Callable[[], float] = time.time) -> None:
        if not client_id:
            raise AuthError(SERVICE, "no client ID: enter the client ID of your Spotify app in Settings")
        self.client_id = client_id
        self.client_secret = client_secret or None
        self.redirect_uri = redirect_uri
        self.accounts_base = accounts_base.rstrip("/")
        self.scope = " ".join(sorted(set(scope)))
        self.timeout = timeout
        self.on_tokens = on_tokens
        self.clock = clock
        self._session = session or ServiceSession(self.accounts_base, SERVICE)
        self._lock = threading.Lock()
        self._tokens: SpotifyTokens | None = None
        if refresh_token or access_token:
            self._tokens = SpotifyTokens(access_token or "", refresh_token, expires_at if access_token else 0.0,
                                         self.scope)

    def __repr__(self) -> str:
        return f"SpotifyAuth(client_id={self.client_id!r}, connected={self.connected})"

    # ------------------------------------------------------------ state
    @property
    def connected(self) -> bool:
        """True once tokens are known (from sign-in or a stored refresh token)."""
        return self._tokens is not None

    @property
    def tokens(self) -> SpotifyTokens | None:
        return self._tokens

    @property
    def authorize_endpoint(self) -> str:
        return f"{self.accounts_base}/authorize"

    @property
    def token_endpoint(self) -> str:
        return f"{self.accounts_base}/api/token"

    # ------------------------------------------------------------ sign-in
    def authorize_url(self, state: str, code_challenge: str, show_dialog: bool = False) -> str:
        """The URL to open in the browser."""
        params = {"client_id": self.client_id, "response_type": "code", "redirect_uri": self.redirect_uri,
                  "scope": self.scope, "state": state, "code_challenge_method": "S256",
                  "code_challenge": code_challenge}
        if show_dialog:
            params["show_dialog"] = "true"
        return f"{self.authorize_endpoint}?{urlencode(params)}"

    def authorize(self, open_browser: Callable[[str], object] = webbrowser.open,
                  cancelled: Callable[[], bool] | None = None, timeout: float = CONNECT_TIMEOUT_S,
                  on_waiting: Callable[[str], None] | None = None) -> SpotifyTokens:
        """Run the whole sign-in: listen on the redirect URI, open the browser, exchange the code.

        ``on_waiting(url)`` is told the sign-in address once the listener is ready (to show it, so it can be
        opened by hand when no browser opens). Raises :class:`AuthError` (denied, state mismatch, code
        refused), :class:`SignInTimeout` (nobody came back in ``timeout`` s), :class:`Cancelled`, a
        :class:`ServiceError` for a redirect URI SoulSync cannot use, or a transport error.
        """
        if urlsplit(self.accounts_base).scheme not in ("http", "https"):  # the browser opens only web pages
            raise ServiceError(SERVICE, f"the accounts address {self.accounts_base!r} is not an http(s) address")
        problem = redirect_uri_problem(self.redirect_uri)
        if problem:
            raise ServiceError(SERVICE, f"the redirect URI {self.redirect_uri!r} cannot be used: {problem}")
        verifier, challenge = make_pkce_pair()
        state = secrets.token_urlsafe(24)
        listener = RedirectListener(self.redirect_uri, state)
        listener.start()
        try:
            url = self.authorize_url(state, challenge)
            if on_waiting is not None:
                on_waiting(url)
            log.info("Opening the browser for Spotify sign-in")
            open_browser(url)
            code = listener.wait(timeout, cancelled)
        except SignInTimeout:
            raise SignInTimeout(SERVICE, (
                f"the browser did not come back within {seconds(timeout)}. If Spotify showed “INVALID_CLIENT: "
                f"Invalid redirect URI”, compare the redirect URI with the one registered for your app in the "
                f"Spotify Developer Dashboard: it must be exactly {self.redirect_uri} (same address, port and "
                "path). Then press Connect again.")) from None
        finally:
            listener.close()
        return self.exchange_code(code, verifier)

    def exchange_code(self, code: str, code_verifier: str) -> SpotifyTokens:
        """Trade the authorization code for tokens (and hand them to ``on_tokens``)."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
                "code_verifier": code_verifier}
        tokens = self._token_request(form, "signing in", previous_refresh=None)
        self._store(tokens)
        log.info("Spotify sign-in complete (scope: %s)", tokens.scope)
        return tokens

    # ------------------------------------------------------------ refresh
    def refresh(self) -> SpotifyTokens:
        """Get a new access token with the refresh token."""
        with self._lock:
            return self._refresh_locked()

    def _refresh_locked(self) -> SpotifyTokens:
        current = self._tokens
        if current is None or not current.refresh_token:
            raise AuthError(SERVICE, "not connected: press Connect to sign in to Spotify")
        form = {"grant_type": "refresh_token", "refresh_token": current.refresh_token}
        tokens = self._token_request(form, "refreshing the sign-in", previous_refresh=current.refresh_token)
        self._store_locked(tokens)
        log.info("Spotify access token refreshed")
        return tokens

    def get_access_token(self, as_dict: bool = False) -> str | dict[str, Any]:
        """spotipy's auth-manager protocol: a valid access token, refreshed when about to expire."""
        with self._lock:
            tokens = self._tokens
            if tokens is None:
                raise AuthError(SERVICE, "not connected: press Connect to sign in to Spotify")
            if not tokens.access_token or tokens.expires_at - self.clock() < EXPIRY_MARGIN:
                tokens = self._refresh_locked()
        return tokens.as_dict() if as_dict else tokens.access_token

    def force_refresh(self) -> None:
        """Refresh now (after the API said the token expired although our clock disagreed)."""
        self.refresh()

    # ------------------------------------------------------------ plumbing
    def _store(self, tokens: SpotifyTokens) -> None:
        with self._lock:
            self._store_locked(tokens)

    def _store_locked(self, tokens: SpotifyTokens) -> None:
        self._tokens = tokens
        if self.on_tokens is not None:
            try:
                self.on_tokens(tokens.as_dict())
            except Exception as exc:  # storage trouble must not break the session; say so
                log.warning("Could not store the new Spotify tokens: %s", type(exc).__name__)

    def _token_request(self, form: dict[str, str], what: str, previous_refresh: str | None) -> SpotifyTokens:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if self.client_secret:
            raw = f"{self.client_id}:{self.client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        else:
            form = {**form, "client_id": self.client_id}
        try:
            resp = self._session.post(self.token_endpoint, data=form, headers=headers, timeout=self.timeout)
        except requests.exceptions.RequestException as exc:
            raise transport_error(exc, SERVICE, what) from None
        payload = _json_or_none(resp)
        if resp.status_code >= 400:
            raise _token_error(resp, payload, what, refreshing=previous_refresh is not None)
        if not isinstance(payload, dict):
            if "html" in resp.headers.get("Content-Type", "").lower():
                raise WrongServer(SERVICE, f"{self.accounts_base} is not a Spotify accounts service "
                                           "(it answered with a web page)")
            raise BadResponse(SERVICE, f"the token endpoint sent something that is not JSON while {what}")
        access = payload.get("access_token")
        if not isinstance(access, str) or not access:
            raise BadResponse(SERVICE, f"the token answer has no access token while {what}")
        try:
            expires_in = float(payload.get("expires_in", 3600))
        except (TypeError, ValueError):
            expires_in = 3600.0
        refresh = payload.get("refresh_token") or previous_refresh
        granted = payload.get("scope")
        scope = granted if isinstance(granted, str) else self.scope
        return SpotifyTokens(access, refresh if isinstance(refresh, str) else None,
                             self.clock() + expires_in, scope, str(payload.get("token_type") or "Bearer"))


def _json_or_none(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def _token_error(resp: requests.Response, payload: Any, what: str, refreshing: bool) -> ServiceError:
    status = resp.status_code
    error = description = ""
    if isinstance(payload, dict):
        error = str(payload.get("error") or "")
        description = str(payload.get("error_description") or "")
    if status == 429:
        return RateLimited(SERVICE, f"too many sign-in requests while {what}", _retry_after(resp))
    if status >= 500:
        return ServerError(SERVICE, f"the accounts service failed ({status}) while {what}", status)
    if status == 404:
        return NotFound(SERVICE, f"no token endpoint at this address ({status})")
    if error == "invalid_client":
        return AuthError(SERVICE, f"Spotify does not accept this client ID or secret ({description or error}). "
                                  "Check them against your app in the Spotify developer dashboard.")
    if error == "invalid_grant" and refreshing:
        return AuthError(SERVICE, f"the saved sign-in is no longer valid ({description or error}); "
                                  "press Connect to sign in again")
    if error == "invalid_grant":
        return AuthError(SERVICE, f"Spotify did not accept the authorization ({description or error}); try again")
    text = description or error or f"HTTP {status}"
    return AuthError(SERVICE, f"the token request was refused while {what}: {text}")


def _retry_after(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


# ---------------------------------------------------------------- redirect listener
_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>SoulSync</title>
<style>body{{font-family:sans-serif;background:#16181d;color:#e8e8e8;text-align:center;padding-top:15vh}}
h1{{font-weight:500}}</style></head><body><h1>{title}</h1><p>{text}</p></body></html>"""


@dataclass
class _Outcome:
    code: str | None = None
    error: ServiceError | None = None


class _IPv6Server(HTTPServer):
    address_family = socket.AF_INET6


class RedirectListener:
    """A one-shot HTTP listener on the redirect URI's loopback address and port that catches the authorization
    redirect.

    It binds that loopback address only (127.0.0.1 or ::1; Spotify refuses ``localhost``), answers the browser
    with a small page, and checks ``state``: an answer with another state is refused and its code
    never used. The first request to the redirect path ends it (other paths, e.g. a favicon, get
    404): the listening socket is closed at once, so nothing can connect afterwards. A timeout or a
    cancel in :meth:`wait` closes it too.
    """

    CONNECTION_TIMEOUT_S = 2.0
    """How long one connection may take to send its request (a browser's idle pre-connection must
    not hold up the real redirect for long)."""

    def __init__(self, redirect_uri: str, expected_state: str) -> None:
        parts = urlsplit(redirect_uri)
        if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS or not parts.port:
            raise ServiceError(SERVICE, f"the redirect URI must look like {EXAMPLE_REDIRECT_URI} "
                                        "(loopback address with a port) and be registered in your Spotify app")
        self.host = parts.hostname
        self.port = parts.port
        self.path = parts.path or "/"
        self.expected_state = expected_state
        self._outcome = _Outcome()
        self._done = threading.Event()
        self._closed = threading.Event()
        self._server: HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int] | None:
        """The (host, port) the listener is bound to; None once it is closed."""
        server = self._server
        return None if server is None or self._closed.is_set() else server.socket.getsockname()[:2]

    def start(self) -> None:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            timeout = self.CONNECTION_TIMEOUT_S

            def log_message(self, fmt: str, *args: Any) -> None:  # the query holds the code: never log it
                return

            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                parts = urlsplit(self.path)
                if parts.path.rstrip("/") != listener.path.rstrip("/") or listener._done.is_set():
                    self._answer(404, "Not found", "This address only receives the Spotify sign-in.")
                    return
                title, text, status = listener._accept(parse_qs(parts.query))
                self._answer(status, title, text)

            def _answer(self, status: int, title: str, text: str) -> None:
                body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

        try:
            server_class = _IPv6Server if ":" in self.host else HTTPServer
            self._server = server_class((self.host, self.port), Handler)
        except OSError as exc:
            raise ServiceError(SERVICE, f"port {self.port} of the redirect URI is busy (another program?): "
                                        "choose another port here and in your Spotify app", str(exc)) from None
        self._server.timeout = 0.2
        self._thread = threading.Thread(target=self._serve, args=(self._server,), name="spotify-redirect",
                                        daemon=True)
        self._thread.start()

    def _serve(self, server: HTTPServer) -> None:
        """Handle requests until the redirect came (or :meth:`close`), then stop listening."""
        try:
            while not self._done.is_set():
                server.handle_request()
        finally:
            server.server_close()
            self._closed.set()

    def _accept(self, query: dict[str, list[str]]) -> tuple[str, str, int]:
        def first(name: str) -> str | None:
            values = query.get(name)
            return values[0] if values else None

        state = first("state") or ""
        if not hmac.compare_digest(state.encode(), self.expected_state.encode()):
            self._finish(_Outcome(error=AuthError(
                SERVICE, "the sign-in answer did not match this attempt (state mismatch); it was ignored. "
                         "Try Connect again.")))
            return "Sign-in rejected", "This answer did not belong to the sign-in SoulSync started.", 400
        error = first("error")
        if error:
            reason = "you declined access" if error == "access_denied" else f"Spotify said: {error}"
            self._finish(_Outcome(error=AuthError(SERVICE, f"sign-in did not complete: {reason}")))
            return "Not connected", f"SoulSync was not connected ({reason}). You can close this tab.", 200
        code = first("code")
        if not code:
            self._finish(_Outcome(error=BadResponse(SERVICE, "the sign-in answer carried no authorization code")))
            return "Not connected", "The answer carried no authorization code.", 400
        self._finish(_Outcome(code=code))
        return "SoulSync is connected", "You can close this tab and go back to SoulSync.", 200

    def _finish(self, outcome: _Outcome) -> None:
        self._outcome = outcome
        self._done.set()

    def wait(self, timeout: float, cancelled: Callable[[], bool] | None = None) -> str:
        """The authorization code, once the browser comes back; the listener is closed when this returns
        or raises (after the redirect, a timeout or a cancel)."""
        deadline = time.monotonic() + timeout
        try:
            while not self._done.wait(0.1):
                if cancelled is not None and cancelled():
                    raise Cancelled(SERVICE, "sign-in cancelled")
                if time.monotonic() >= deadline:
                    raise SignInTimeout(SERVICE, f"the browser did not come back within {seconds(timeout)}")
        finally:
            self.close()
        if self._outcome.error is not None:
            raise self._outcome.error
        assert self._outcome.code is not None
        return self._outcome.code

    def close(self) -> None:
        """Stop listening (idempotent); the port is free again when this returns."""
        self._done.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=self.CONNECTION_TIMEOUT_S + 1)
        server, self._server = self._server, None
        if server is not None and not self._closed.is_set():  # the thread is stuck: close from here
            server.server_close()
            self._closed.set()
