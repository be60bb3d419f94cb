"""The simulated Spotify accounts service's state and rules, without HTTP.

The app's credentials and registered redirect URIs, authorization codes, access and refresh
tokens, and the rules the real service applies to them (reference ``service-apis.md`` 2.2,
cited at each rule). :mod:`soulsync.sim.spotify` parses the requests of ``/authorize`` and
``/api/token`` and writes the answers this module decides.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from soulsync.config import SpotifySettings
from soulsync.sim.spotify_world import ApiError

KNOWN_SCOPES = (
    "playlist-modify-private", "playlist-modify-public", "playlist-read-collaborative", "playlist-read-private",
    "ugc-image-upload", "user-follow-read", "user-library-modify", "user-library-read", "user-read-email",
    "user-read-private", "user-top-read", "user-read-recently-played",
)
DEFAULT_SCOPES = ("playlist-read-private", "playlist-read-collaborative", "user-library-read",
                  "playlist-modify-private", "playlist-modify-public", "user-read-private")
"""What ``issue_token()`` grants by default (everything SoulSync uses)."""

CODE_LIFETIME = 600.0
DEFAULT_REDIRECT_URI = SpotifySettings().redirect_uri
"""Registered for the simulated app from the start: the URI SoulSync uses unless told otherwise."""
_LOOPBACK_LITERALS = ("127.0.0.1", "::1")
INVALID_CLIENT = "invalid_client"
INVALID_REDIRECT_URI = "invalid_redirect_uri"
"""The two error pages ``/authorize`` shows instead of redirecting."""


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
class Token:
    """An access token: whose, which scopes, until when."""

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
class Consent:
    """What ``/authorize`` decided: an error page shown in the browser (no redirect) when ``page`` is
    set, else a redirect back to the app's URI with ``params`` in its query."""

    page: str = ""
    """:data:`INVALID_CLIENT` or :data:`INVALID_REDIRECT_URI`."""
    params: dict[str, str] = field(default_factory=dict)


class SpotifyAccounts:
    """The accounts service of one simulated app: its credentials, redirect URIs, codes and tokens."""

    def __init__(self, client_id: str, client_secret: str, token_lifetime: float, clock: Callable[[], float],
                 redirect_uris: Iterable[str]) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime = token_lifetime
        self.clock = clock
        self.deny_consent = False
        self._lock = threading.Lock()
        self._redirect_uris: dict[str, set[str]] = {client_id: set(redirect_uris)}
        self._codes: dict[str, _Code] = {}
        self._tokens: dict[str, Token] = {}
        self._refresh: dict[str, _Refresh] = {}

    # ------------------------------------------------------------ the app's settings
    def register_redirect_uri(self, uri: str, client_id: str | None = None) -> None:
        """Add a redirect URI to a client's registered ones, as in the Developer Dashboard."""
        with self._lock:
            self._redirect_uris.setdefault(client_id or self.client_id, set()).add(uri)

    def redirect_allowed(self, client_id: str, uri: str) -> bool:
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

    # ------------------------------------------------------------ tokens for scripts and tests
    def issue_token_info(self, scope: tuple[str, ...] | list[str] = DEFAULT_SCOPES,
                         lifetime: float | None = None) -> dict[str, Any]:
        """A fresh token reply as the token endpoint would give it (with a refresh token)."""
        scope_text = " ".join(sorted(set(scope)))
        access, refresh = self._new_tokens(self.client_id, scope_text, lifetime)
        with self._lock:
            self._refresh[refresh] = _Refresh(self.client_id, scope_text, public_client=False)
        return {"access_token": access, "token_type": "Bearer", "expires_in": int(lifetime or self.token_lifetime),
                "refresh_token": refresh, "scope": scope_text}

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

    # ------------------------------------------------------------ /authorize
    def authorize(self, client_id: str, redirect_uri: str, response_type: str | None, scope: str | None,
                  challenge: str | None, challenge_method: str | None) -> Consent:
        """The user's consent to an authorization request, as the real service decides it."""
        if client_id != self.client_id:
            return Consent(page=INVALID_CLIENT)
        if not self.redirect_allowed(client_id, redirect_uri):
            # An error page in the browser and no redirect (reference 2.2; the real status is unverified).
            return Consent(page=INVALID_REDIRECT_URI)
        if response_type != "code":
            return Consent(params={"error": "unsupported_response_type"})
        scope_text = " ".join(sorted(set((scope or "").replace(",", " ").split())))
        if any(s not in KNOWN_SCOPES for s in scope_text.split()):
            return Consent(params={"error": "invalid_scope"})
        if challenge is not None and challenge_method != "S256":
            return Consent(params={"error": "invalid_request"})
        if self.deny_consent:
            return Consent(params={"error": "access_denied"})
        code = "AQ" + secrets.token_urlsafe(96)
        with self._lock:
            self._codes[code] = _Code(client_id, redirect_uri, scope_text, challenge, self.clock() + CODE_LIFETIME)
        return Consent(params={"code": code})

    # ------------------------------------------------------------ /api/token
    def client_auth(self, authorization: str, form: dict[str, str]) -> tuple[str, bool]:
        """(client_id, confidential) from Basic auth or the body's client_id."""
        if authorization.lower().startswith("basic "):
            try:
                cid, _, secret = base64.b64decode(authorization[6:].strip()).decode("utf-8").partition(":")
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

    def grant(self, form: dict[str, str], authorization: str) -> dict[str, Any]:
        """The token endpoint's reply to a grant (authorization code or refresh token); raises
        :class:`OAuthError` with the real service's error names."""
        grant = form.get("grant_type", "")
        if not grant:
            raise OAuthError("invalid_request", "grant_type must be provided")
        client_id, confidential = self.client_auth(authorization, form)
        if grant == "authorization_code":
            return self._code_grant(form, client_id, confidential)
        if grant == "refresh_token":
            return self._refresh_grant(form, client_id)
        raise OAuthError("unsupported_grant_type", f"grant_type {grant} is not supported")

    def _code_grant(self, form: dict[str, str], client_id: str, confidential: bool) -> dict[str, Any]:
        with self._lock:
            code = self._codes.pop(form.get("code", ""), None)
        if code is None or code.client_id != client_id:
            raise OAuthError("invalid_grant", "Invalid authorization code")
        if code.expires_at < self.clock():
            raise OAuthError("invalid_grant", "Authorization code expired")
        if form.get("redirect_uri", "") != code.redirect_uri or not self.redirect_allowed(client_id, code.redirect_uri):
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

    def _refresh_grant(self, form: dict[str, str], client_id: str) -> dict[str, Any]:
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

    def _new_tokens(self, client_id: str, scope: str, lifetime: float | None) -> tuple[str, str]:
        access = "BQ" + secrets.token_urlsafe(120)
        refresh = "AQ" + secrets.token_urlsafe(100)
        with self._lock:
            self._tokens[access] = Token(client_id, frozenset(scope.split()),
                                         self.clock() + (lifetime or self.token_lifetime))
        return access, refresh

    # ------------------------------------------------------------ the Web API's side
    def bearer(self, authorization: str) -> Token:
        """The token of an ``Authorization`` header, or the Web API's 400/401."""
        if not authorization:
            raise ApiError(401, "No token provided")
        if not authorization.startswith("Bearer "):
            raise ApiError(400, "Only valid bearer authentication supported")
        with self._lock:
            token = self._tokens.get(authorization[7:].strip())
        if token is None:
            raise ApiError(401, "Invalid access token")
        if token.expires_at <= self.clock():
            raise ApiError(401, "The access token expired")
        return token


def need_scope(token: Token, *any_of: str) -> None:
    """403 unless the token holds one of the scopes."""
    if not any(s in token.scope for s in any_of):
        raise ApiError(403, "Insufficient client scope")
