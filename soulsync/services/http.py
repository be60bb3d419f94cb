"""HTTP sessions bound to one service's address: credentials never travel to another host.

requests drops the ``Authorization`` header when a redirect leads to another host, but it keeps
every other header (slskd's ``X-API-Key``, Plex's ``X-Plex-Token``), the query string (a
``X-Plex-Token=`` parameter) and, on a 307 or 308, the request body (a password, a refresh token).
spotipy also follows the absolute ``next`` links of an answer, bearer token included.

A :class:`ServiceSession` therefore talks to one origin only: the scheme, host and port of the
address configured for the service. A redirect to another origin is not followed and a request to
another origin is not sent; both raise :class:`~soulsync.services.errors.ForeignAddress`, which says
where the service pointed and what to do about it. Redirects within the origin keep working.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

from soulsync.services.errors import ForeignAddress

DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int | None]


def origin(url: str) -> Origin:
    """``(scheme, host, port)`` of ``url``: lower-cased, the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # not a number: requests refuses such a URL before sending anything
        return scheme, parts.netloc.lower(), None
    return scheme, (parts.hostname or "").lower(), port or DEFAULT_PORTS.get(scheme)


def describe_origin(value: Origin) -> str:
    """An origin as an address a person recognises: ``http://127.0.0.1:5030``."""
    scheme, host, port = value
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


class ServiceSession(requests.Session):
    """A requests session that sends requests to the origin of ``base_url`` only.

    ``service`` names the service in the :class:`ForeignAddress` it raises.
    """

    def __init__(self, base_url: str, service: str) -> None:
        super().__init__()
        self.service = service
        self.origin = origin(base_url)

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        """requests calls this before it follows a redirect: refuse one that leaves the origin."""
        target = origin(prepared_request.url or "")
        if target != self.origin:
            raise ForeignAddress(
                self.service,
                f"{describe_origin(self.origin)} redirected to {describe_origin(target)}. SoulSync sends "
                f"credentials only to the address in Settings, so it did not follow. If {self.service} "
                "moved there, enter that address in Settings.",
                f"HTTP {response.status_code} redirect")
        super().rebuild_auth(prepared_request, response)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send ``request`` if it goes to the configured origin; raise :class:`ForeignAddress` otherwise."""
        target = origin(request.url or "")
        if target != self.origin:
            raise ForeignAddress(
                self.service,
                f"an answer pointed to {describe_origin(target)}, not to the configured address "
                f"{describe_origin(self.origin)}; SoulSync did not send the request there")
        return super().send(request, **kwargs)
