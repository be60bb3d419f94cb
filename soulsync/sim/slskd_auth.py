"""Web authentication of the slskd simulation: the API key, JWTs and the ``/session`` endpoints.

As slskd does (``src/slskd/Core/Security``, ``SessionController``): an ``X-API-Key`` header with a
configured key, or a bearer JWT signed HS256 with a key made at start-up (so a restart invalidates
every token), valid for ``web.authentication.jwt.ttl``; ``POST /session`` trades the web username
and password for one.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from soulsync.sim.base import Request, Response
from soulsync.sim.slskd_model import SimClock


class AuthMixin:
    """The authentication of :class:`~soulsync.sim.slskd.SlskdSim` (which provides the credentials,
    clock, lock and error bodies this mixin uses)."""

    # provided by SlskdSim
    _lock: Any
    _jwt_secret: bytes
    clock: SimClock
    auth_enabled: bool
    api_key: str
    username: str
    password: str
    jwt_ttl: int

    def _authorized(self, req: Request) -> bool:
        if not self.auth_enabled:
            return True
        key = req.header("x-api-key")
        if key is not None and hmac.compare_digest(key.encode(), self.api_key.encode()):
            return True
        bearer = req.header("authorization") or ""
        if bearer.lower().startswith("bearer "):
            return self._valid_jwt(bearer[7:].strip())
        return False

    def _b64(self, data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

    def _issue_jwt(self) -> dict:
        issued = int(self.clock.utc().timestamp())
        expires = issued + self.jwt_ttl
        header = self._b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = {"name": self.username, "role": "Administrator", "nbf": issued, "exp": expires, "iat": issued,
                  "iss": "slskd"}
        payload = self._b64(json.dumps(claims).encode())
        with self._lock:
            secret = self._jwt_secret
        signature = self._b64(hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        return {"expires": expires, "issued": issued, "name": self.username, "notBefore": issued,
                "token": f"{header}.{payload}.{signature}", "tokenType": "Bearer"}

    def _valid_jwt(self, token: str) -> bool:
        parts = token.split(".")
        if len(parts) != 3:
            return False
        with self._lock:
            secret = self._jwt_secret
        expected = self._b64(hmac.new(secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, parts[2]):
            return False
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        except ValueError:
            return False
        return claims.get("exp", 0) > self.clock.utc().timestamp()

    def _session_enabled(self, req: Request) -> Response:
        return Response.json(self.auth_enabled)

    def _session_login(self, req: Request) -> Response:
        try:
            body = req.json()
        except ValueError:
            return self.error_response(  # type: ignore[attr-defined]
                400, req, "Username and/or Password missing or invalid")
        if not isinstance(body, dict):
            return self.error_response(  # type: ignore[attr-defined]
                400, req, "Username and/or Password missing or invalid")
        fields = {k.lower(): v for k, v in body.items()}
        name, password = fields.get("username"), fields.get("password")
        if not isinstance(name, str) or not isinstance(password, str) or not name or not password:
            return self.error_response(  # type: ignore[attr-defined]
                400, req, "Username and/or Password missing or invalid")
        if not (hmac.compare_digest(name.encode(), self.username.encode())
                and hmac.compare_digest(password.encode(), self.password.encode())):
            return self.error_response(  # type: ignore[attr-defined]
                401, req)
        return Response.json(self._issue_jwt())

    def _session_check(self, req: Request) -> Response:
        return Response(200, b"", content_type="")
