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


class Refused(ServerError):
    """The server will never do this request as asked (HTTP 400): asking again is pointless.

    slskd, for example, refuses a search whose every term is one character long."""

    kind = "refused"


class NotFound(ServiceError):
    """The thing asked for does not exist on the server."""

    kind = "not_found"


class BadResponse(ServiceError):
    """The answer could not be understood: malformed, truncated, or not that kind of server."""

    kind = "bad_response"


class WrongServer(BadResponse):
    """Something answered, but it is not the service we expected."""

    kind = "wrong_server"


class ForeignAddress(ServiceError):
    """A redirect or a link in an answer pointed to another address (scheme, host or port) than the one
    configured for the service; the request was not sent there, so its credentials stayed home."""

    kind = "foreign_address"


class NotReady(ServiceError):
    """The service is up but cannot do this now (e.g. slskd not logged in to Soulseek)."""

    kind = "not_ready"


class PlaylistUnreadable(ServiceError):
    """The service lists a playlist but will not hand this app its contents (Spotify's development mode:
    another user's playlist, or one of Spotify's own). The message says why and what the person can do."""

    kind = "playlist_unreadable"  # core.playlist_cache.UNREADABLE_KIND


RETRYABLE = (Unreachable, RateLimited, ServerError, BadResponse)
"""Errors worth retrying with backoff (a wrong password is not)."""


def retry_delay(exc: BaseException, attempt: int, base_s: float = 1.0, max_wait_s: float = 60.0) -> float | None:
    """Seconds to wait before trying an operation again after it failed with ``exc`` on try ``attempt``
    (0 for the first), or None when another try makes no sense.

    Passing trouble is worth another try: a 5xx, a rate limit (after its Retry-After when the service
    gave one, unless that is longer than ``max_wait_s``), a refused or reset connection, an answer cut
    off or garbled. Backoff doubles from ``base_s``. Not retried: wrong or expired credentials, a
    request the server refused for its own reasons (4xx), a timeout (the person already waited that
    long), a TLS failure and a wrong server.
    """
    if isinstance(exc, (ServiceTimeout, TLSFailure, WrongServer)):
        return None
    backoff = base_s * 2 ** attempt
    if isinstance(exc, RateLimited):
        if exc.retry_after is None:
            return backoff
        return exc.retry_after if exc.retry_after <= max_wait_s else None
    if isinstance(exc, ServerError):
        return backoff if exc.status is not None and exc.status >= 500 else None
    if isinstance(exc, (Unreachable, BadResponse)):
        return backoff
    return None
