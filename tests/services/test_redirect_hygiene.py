"""Credentials go only to the address configured for a service.

Two loopback origins: the configured one answers every request with a redirect (302 or 307) to the
other one, which records whatever reaches it. The other origin is either another port on 127.0.0.1
or the same port under the name ``localhost``. For the slskd, Plex and Spotify clients (API key,
password login, Plex token as header, bearer token, token refresh with a client secret, and an
answer's ``next`` link that points elsewhere) no credential may reach the other origin, and the
caller gets a :class:`ForeignAddress` error in words. Redirects within the origin keep working.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Callable, Iterator

import pytest

from soulsync.services.errors import ForeignAddress
from soulsync.services.http import ServiceSession, describe_origin, origin
from soulsync.services.plex import PlexClient
from soulsync.services.slskd import SlskdClient
from soulsync.services.spotify import SpotifyClient
from soulsync.services.spotify_auth import SpotifyAuth
from tests.services.loopback import Answer, Loopback, Seen

API_KEY = "slskd-api-key-0123456789abcdef"
PASSWORD = "slskd-password-hunter2-xyz"
PLEX_TOKEN = "plex-token-QWERTYUIOP12345"
BEARER = "spotify-access-token-ABCDEF98765"
REFRESH = "spotify-refresh-token-ZYXWV54321"
CLIENT_ID = "spotify-client-id"
CLIENT_SECRET = "spotify-client-secret-LMNOP24680"
CREDENTIALS = (API_KEY, PASSWORD, PLEX_TOKEN, BEARER, REFRESH, CLIENT_SECRET,
               base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode())


def _json(data: object, status: int = 200) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(data).encode()


def _xml(text: str) -> Answer:
    return 200, {"Content-Type": "text/xml"}, text.encode()


SLSKD_STATE = {"server": {"isConnected": True, "isLoggedIn": True, "state": "Connected, LoggedIn"},
               "version": {"current": "0.22.0"}, "user": {"username": "me"}}
PLEX_ROOT = '<MediaContainer machineIdentifier="abc123" friendlyName="Home" version="1.40.0"/>'
PLEX_SECTIONS = ('<MediaContainer size="1"><Directory key="1" type="artist" title="Music">'
                 '<Location path="/music"/></Directory></MediaContainer>')
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def service_answer(seen: Seen) -> Answer:
    """What a willing service answers (so a client that followed a redirect would be satisfied)."""
    path = seen.target.split("?")[0].removeprefix("/moved").rstrip("/")
    if path.endswith("/api/v0/session"):
        return _json({"token": "a-jwt"})
    if path.endswith("/api/v0/application"):
        return _json(SLSKD_STATE)
    if path == "/api/token":
        return _json({"access_token": "new-access", "expires_in": 3600, "token_type": "Bearer"})
    if path == "/v1/me":
        return _json({"id": "me", "display_name": "Me"})
    if path == "/v1/me/playlists":
        return _json({"items": [], "total": 0, "next": None})
    if path == "/library/sections":
        return _xml(PLEX_SECTIONS)
    if "/thumb/" in path:
        return 200, {"Content-Type": "image/png"}, PNG
    if path == "":
        return _xml(PLEX_ROOT)
    return _json({"error": {"status": 404, "message": "unknown path"}}, 404)


@dataclass
class Origins:
    """The configured origin, the other one, and what reached the other one."""

    configured: str
    other: str
    other_seen: Callable[[], list[Seen]]


@pytest.fixture(params=["other-port", "localhost"])
def origins(request) -> Iterator[Callable[[int], Origins]]:
    """``make(status)``: the configured origin redirects everything with ``status`` to the other one."""
    servers: list[Loopback] = []

    def make(status: int) -> Origins:
        if request.param == "other-port":
            other = Loopback(service_answer)
            other_url = f"http://127.0.0.1:{other.port}"
            configured = Loopback(lambda seen: (status, {"Location": other_url + seen.target}, b""))
            servers.extend((other, configured))
            return Origins(f"http://127.0.0.1:{configured.port}", other_url, lambda: list(other.seen))

        def route(seen: Seen) -> Answer:  # one server, reached as 127.0.0.1 (configured) and as localhost
            if seen.host.startswith("localhost"):
                return service_answer(seen)
            return status, {"Location": f"http://localhost:{server.port}{seen.target}"}, b""

        server = Loopback(route)
        servers.append(server)
        return Origins(f"http://127.0.0.1:{server.port}", f"http://localhost:{server.port}",
                       lambda: [s for s in server.seen if s.host.startswith("localhost")])

    yield make
    for server in servers:
        server.stop()


def outcome(call: Callable[[], object]) -> BaseException | None:
    try:
        call()
    except Exception as exc:  # noqa: BLE001 (the test inspects whatever was raised)
        return exc
    return None


def assert_no_credential_left(origins: Origins, error: BaseException | None) -> None:
    leaks = [(secret, seen.method, seen.target) for seen in origins.other_seen() for secret in CREDENTIALS
             if secret in seen.text()]
    assert leaks == [], f"credentials reached {origins.other}"
    assert origins.other_seen() == []  # the redirect was not followed at all
    assert isinstance(error, ForeignAddress), repr(error)
    assert "redirected to" in error.message and origins.other in error.message
    assert "Settings" in error.message
    assert all(secret not in str(error) for secret in CREDENTIALS)


CLIENT_CALLS: dict[str, Callable[[str], object]] = {
    "slskd api key": lambda url: SlskdClient(url, api_key=API_KEY, timeout=5).application_state(),
    "slskd password": lambda url: SlskdClient(url, username="me", password=PASSWORD, timeout=5).application_state(),
    "plex token header": lambda url: PlexClient(url, PLEX_TOKEN, timeout=5).server_info(),
    "plex image": lambda url: PlexClient(url, PLEX_TOKEN, timeout=5).thumb("/library/metadata/1/thumb/1"),
    "spotify bearer": lambda url: SpotifyClient(access_token=BEARER, api_base=url + "/v1/", timeout=5,
                                                max_retries=0).current_user(),
    "spotify token refresh": lambda url: SpotifyAuth(CLIENT_ID, "http://127.0.0.1:8888/callback",
                                                     client_secret=CLIENT_SECRET, accounts_base=url,
                                                     refresh_token=REFRESH, timeout=5).refresh(),
}


@pytest.mark.parametrize("status", [302, 307])
@pytest.mark.parametrize("client", list(CLIENT_CALLS))
def test_no_credential_follows_a_redirect_to_another_origin(origins, status: int, client: str):
    pair = origins(status)
    error = outcome(lambda: CLIENT_CALLS[client](pair.configured))
    assert_no_credential_left(pair, error)


def test_spotify_next_link_to_another_origin_is_not_followed_with_the_token(origins):
    pair = origins(302)  # only builds the other origin here; the first page comes from its own server
    first_page = {"items": [{"id": "p1", "name": "One", "owner": {"display_name": "me"}, "tracks": {"total": 0}}],
                  "total": 2, "next": f"{pair.other}/v1/me/playlists?offset=1&limit=1"}
    api = Loopback(lambda seen: _json(first_page))
    try:
        client = SpotifyClient(access_token=BEARER, api_base=f"http://127.0.0.1:{api.port}/v1/", timeout=5,
                               max_retries=0)
        error = outcome(client.playlists)
    finally:
        api.stop()
    assert [s.target.split("?")[0] for s in api.seen] == ["/v1/me/playlists"]
    assert pair.other_seen() == []
    assert isinstance(error, ForeignAddress) and "did not send the request there" in error.message
    assert pair.other in error.message and BEARER not in str(error)


# ---------------------------------------------------------------- same origin keeps working

def _same_origin_route(status: int, check: Callable[[Seen], bool]) -> Callable[[Seen], Answer]:
    """Redirect everything into ``/moved`` (a relative Location); answer there only with the credential."""
    def route(seen: Seen) -> Answer:
        if not seen.target.startswith("/moved"):
            return status, {"Location": "/moved" + seen.target}, b""
        return service_answer(seen) if check(seen) else _json({"error": {"status": 401, "message": "no"}}, 401)
    return route


@pytest.mark.parametrize("status", [302, 307])
def test_same_origin_redirects_keep_their_credentials(status: int):
    server = Loopback(_same_origin_route(status, lambda seen: seen.headers.get("X-API-Key") == API_KEY
                                         or seen.headers.get("X-Plex-Token") == PLEX_TOKEN
                                         or seen.headers.get("Authorization") == f"Bearer {BEARER}"))
    url = f"http://127.0.0.1:{server.port}"
    try:
        assert SlskdClient(url, api_key=API_KEY, timeout=5).application_state().logged_in
        info = PlexClient(url, PLEX_TOKEN, timeout=5).server_info()
        assert (info.name, [s.title for s in info.music_sections]) == ("Home", ["Music"])
        spotify = SpotifyClient(access_token=BEARER, api_base=url + "/v1/", timeout=5, max_retries=0)
        assert spotify.current_user().display_name == "Me"
    finally:
        server.stop()
    assert any(s.target.startswith("/moved/api/v0/") for s in server.seen)


def test_origin_compares_scheme_host_and_port():
    assert origin("http://LocalHost/x?y=1") == origin("http://localhost:80/z") == ("http", "localhost", 80)
    assert origin("https://api.spotify.com/v1/") == ("https", "api.spotify.com", 443)
    assert origin("http://127.0.0.1:5030") != origin("http://localhost:5030")
    assert origin("http://host:5030") != origin("https://host:5030")
    assert origin("http://host:5030") != origin("http://host:5031")
    assert describe_origin(origin("http://[::1]:32400/x")) == "http://[::1]:32400"
    session = ServiceSession("http://127.0.0.1:1", "slskd")
    with pytest.raises(ForeignAddress, match="not to the configured address http://127.0.0.1:1"):
        session.get("http://127.0.0.1:2/", timeout=1)
