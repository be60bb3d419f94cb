"""The Spotify sign-in's redirect listener: loopback only, one callback, closed afterwards, state checked.

The accounts service is a recording loopback server, so every token request the sign-in makes is
seen; the "browser" is a function that reads the authorize URL and calls the redirect URI.
"""
from __future__ import annotations

import base64
import hashlib
import json
import socket
from typing import Callable, Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from soulsync.services.errors import AuthError, ServiceError
from soulsync.services.spotify_auth import (
    Cancelled,
    RedirectListener,
    SignInTimeout,
    SpotifyAuth,
)
from tests.services.loopback import Answer, Loopback, Seen

CLIENT_ID = "listener-test-client"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def refused(host: str, port: int) -> bool:
    """True when nothing accepts a TCP connection at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def token_endpoint(seen: Seen) -> Answer:
    body = json.dumps({"access_token": "granted-access", "refresh_token": "granted-refresh",
                       "expires_in": 3600, "token_type": "Bearer"}).encode()
    return 200, {"Content-Type": "application/json"}, body


@pytest.fixture
def accounts() -> Iterator[Loopback]:
    server = Loopback(token_endpoint)
    yield server
    server.stop()


def sign_in(accounts: Loopback, host: str = "127.0.0.1") -> tuple[SpotifyAuth, int]:
    port = free_port()
    return SpotifyAuth(CLIENT_ID, f"http://{host}:{port}/callback",
                       accounts_base=f"http://127.0.0.1:{accounts.port}", timeout=5), port


def answering_browser(state_of: Callable[[str], str] = lambda state: state, code: str = "the-code",
                      pages: list[requests.Response] | None = None) -> Callable[[str], None]:
    """A browser whose user consents: it calls the redirect URI with ``code`` and ``state_of(state)``."""
    def open_url(url: str) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        callback = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': state_of(query['state'])})}"
        page = requests.get(callback, timeout=5)
        if pages is not None:
            pages.append(page)
    return open_url


def token_requests(accounts: Loopback) -> list[dict[str, str]]:
    return [{k: v[0] for k, v in parse_qs(s.body.decode()).items()} for s in accounts.seen
            if s.method == "POST" and s.target == "/api/token"]


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_listener_binds_the_loopback_address_only(host: str):
    port = free_port()
    listener = RedirectListener(f"http://{host if ':' not in host else f'[{host}]'}:{port}/callback", "s")
    listener.start()
    try:
        assert listener.address == (host, port)
    finally:
        listener.close()
    assert listener.address is None and refused(host, port)


def test_listener_refuses_localhost_which_spotify_refuses():
    with pytest.raises(ServiceError, match="loopback address with a port"):
        RedirectListener(f"http://localhost:{free_port()}/callback", "s")


def _other_local_address() -> str | None:
    """A non-loopback IPv4 address of this machine, if it has one (no packet is sent)."""
    candidates: set[str] = set()
    try:
        candidates.update(info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET))
    except OSError:
        pass
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: picks the outgoing interface, sends nothing
            candidates.add(probe.getsockname()[0])
        except OSError:
            pass
    usable = sorted(a for a in candidates if not a.startswith("127.") and a != "0.0.0.0")
    return usable[0] if usable else None


def test_listener_is_not_reachable_on_another_local_address():
    other = _other_local_address()
    if other is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    port = free_port()
    listener = RedirectListener(f"http://127.0.0.1:{port}/callback", "s")
    listener.start()
    try:
        assert not refused("127.0.0.1", port)
        assert refused(other, port)
    finally:
        listener.close()


def test_one_callback_with_pkce_then_the_listener_is_gone(accounts):
    auth, port = sign_in(accounts)
    pages: list[requests.Response] = []
    opened: list[str] = []

    def browser(url: str) -> None:
        opened.append(url)
        answering_browser(pages=pages)(url)

    tokens = auth.authorize(open_browser=browser, timeout=10)
    assert tokens.access_token == "granted-access" and pages[0].status_code == 200
    query = {k: v[0] for k, v in parse_qs(urlsplit(opened[0]).query).items()}
    assert query["code_challenge_method"] == "S256" and len(query["state"]) >= 32
    [form] = token_requests(accounts)
    assert form["code"] == "the-code" and form["grant_type"] == "authorization_code"
    digest = base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"].encode()).digest()).rstrip(b"=")
    assert digest.decode() == query["code_challenge"]
    assert refused("127.0.0.1", port)  # a second callback finds nobody listening
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/callback?code=again&state={query['state']}", timeout=2)
    assert len(token_requests(accounts)) == 1


def test_listener_closes_by_itself_after_the_callback():
    port = free_port()
    listener = RedirectListener(f"http://127.0.0.1:{port}/callback", "right-state")
    listener.start()
    assert requests.get(f"http://127.0.0.1:{port}/favicon.ico", timeout=5).status_code == 404  # not the callback
    assert requests.get(f"http://127.0.0.1:{port}/callback?code=c1&state=right-state", timeout=5).ok
    assert listener.wait(5) == "c1"
    assert refused("127.0.0.1", port) and listener.address is None


def test_a_wrong_state_is_refused_and_its_code_never_used(accounts):
    auth, port = sign_in(accounts)
    pages: list[requests.Response] = []
    with pytest.raises(AuthError, match="state mismatch"):
        auth.authorize(open_browser=answering_browser(lambda state: state[::-1], "forged-code", pages), timeout=10)
    assert pages[0].status_code == 400 and "did not belong" in pages[0].text
    assert token_requests(accounts) == [] and not auth.connected
    assert refused("127.0.0.1", port)


def test_a_missing_state_is_refused(accounts):
    auth, port = sign_in(accounts)

    def browser(url: str) -> None:
        redirect = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        assert requests.get(f"{redirect}?code=no-state", timeout=5).status_code == 400

    with pytest.raises(AuthError, match="state mismatch"):
        auth.authorize(open_browser=browser, timeout=10)
    assert token_requests(accounts) == []


def test_timeout_closes_the_listener(accounts):
    auth, port = sign_in(accounts)
    ports_open: list[bool] = []
    with pytest.raises(SignInTimeout):
        auth.authorize(open_browser=lambda url: ports_open.append(not refused("127.0.0.1", port)), timeout=0.3)
    assert ports_open == [True] and refused("127.0.0.1", port)
    assert token_requests(accounts) == []


def test_cancel_closes_the_listener(accounts):
    auth, port = sign_in(accounts)
    asked: list[bool] = []

    def cancelled() -> bool:
        asked.append(True)
        return len(asked) > 1  # the first look is before anything could have happened

    with pytest.raises(Cancelled):
        auth.authorize(open_browser=lambda url: None, cancelled=cancelled, timeout=30)
    assert refused("127.0.0.1", port) and token_requests(accounts) == []


def test_listener_wait_closes_on_its_own_timeout_too():
    port = free_port()
    listener = RedirectListener(f"http://127.0.0.1:{port}/callback", "s")
    listener.start()
    with pytest.raises(SignInTimeout):
        listener.wait(0.2)
    assert refused("127.0.0.1", port)  # without close() from the caller


def test_the_browser_opens_only_web_addresses():
    auth = SpotifyAuth(CLIENT_ID, f"http://127.0.0.1:{free_port()}/callback", accounts_base="file:///etc")
    opened: list[str] = []
    with pytest.raises(Exception, match="not an http"):
        auth.authorize(open_browser=opened.append, timeout=1)
    assert opened == []
