"""The project's own service exceptions, each with a message fit for a person.

Service clients translate library and transport errors into these so that
pages never need to know about requests, spotipy or plexapi exceptions.
"""
from __future__ import annotations


class ServiceError(Exception):
    """Base of every error a service client raises.

    ``service`` names the service ("Spotify", "Plex", "slskd"); ``detail``
    carries technical detail for the log (never a secret).
    """

    kind = "error"

    def __init__(self, service: str, message: str, detail: str = "") -> None:
        super().__init__(f"{service}: {message}")
        self.service = service
        self.message = message
        self.detail = detail


class Unreachable(ServiceError):
    """Connection refused, DNS failure, connection reset: the server could not be reached."""

    kind = "unreachable"


class ServiceTimeout(Unreachable):
    """The server accepted the connection but did not answer in time."""

    kind = "timeout"


class TLSFailure(Unreachable):
    """The TLS handshake or certificate check failed."""

    kind = "tls"


class AuthError(ServiceError):
    """Credentials missing, wrong or expired (HTTP 401/403)."""

    kind = "auth"


class RateLimited(ServiceError):
    """The service asks us to slow down; ``retry_after`` seconds when it said."""

    kind = "rate_limited"

    def __init__(self, service: str, message: str, retry_after: float | None = None, detail: str = "") -> None:
        super().__init__(service, message, detail)
        self.retry_after = retry_after


class ServerError(ServiceError):
    """The server failed (5xx) or refused the request for its own reasons."""

    kind = "server"

    def __init__(self, service: str, message: str, status: int | None = None, detail: str = "") -> None:
        super().__init__(service, message, detail)
        self.status = status


class NotFound(ServiceError):
    """The thing asked for does not exist on the server."""

    kind = "not_found"


class BadResponse(ServiceError):
    """The answer could not be understood: malformed, truncated, or not that kind of server."""

    kind = "bad_response"


class WrongServer(BadResponse):
    """Something answered, but it is not the service we expected."""

    kind = "wrong_server"


class NotReady(ServiceError):
    """The service is up but cannot do this now (e.g. slskd not logged in to Soulseek)."""

    kind = "not_ready"


RETRYABLE = (Unreachable, RateLimited, ServerError, BadResponse)
"""Errors worth retrying with backoff (a wrong password is not)."""
