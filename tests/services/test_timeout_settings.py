"""Each service's "Network timeout" setting, from the settings file to the client: a client built by
the app context gives up on a server that does not answer after the configured time, not the
built-in default (10-15 s)."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from soulsync.context import AppContext
from soulsync.services.errors import ServiceTimeout, WrongServer

TIMEOUT_S = 1.0
"""The configured timeout (the smallest the settings allow)."""
DELAY_S = 8.0
"""How long the server holds a request (it is let go at the end of the test)."""


class DelayingServer:
    """An HTTP server on 127.0.0.1 that holds every request it was told to delay until released (at
    most ``DELAY_S``), then answers ``{}``; Spotify's token endpoint answers at once unless delayed too."""

    def __init__(self, delay_token_endpoint: bool = False) -> None:
        self.release = threading.Event()
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                server.requests.append(f"{self.command} {self.path}")
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                if self.path.startswith("/api/token") and not delay_token_endpoint:
                    body = {"access_token": "access-token", "token_type": "Bearer", "expires_in": 3600}
                else:
                    server.release.wait(DELAY_S)
                    body = {}
                data = json.dumps(body).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up long ago
                    pass

            do_GET = do_POST = _answer

            def log_message(self, *args) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def server():
    srv = DelayingServer()
    yield srv
    srv.stop()


def context_from_file(app_paths, server_url: str, timeout_s: float = TIMEOUT_S) -> AppContext:
    """An app context read from a settings file that points every service at ``server_url``."""
    app_paths.config_file.write_text(json.dumps({
        "schema_version": 2,
        "spotify": {"client_id": "client-id", "api_base": f"{server_url}/v1/", "accounts_base": server_url,
                    "timeout_s": timeout_s},
        "plex": {"url": server_url, "timeout_s": timeout_s},
        "slskd": {"url": server_url, "timeout_s": timeout_s},
    }))
    context = AppContext.open(app_paths, secret_backend="file")
    context.secrets.set("spotify_refresh_token", "refresh-token")
    context.secrets.set("plex_token", "plex-token")
    context.secrets.set("slskd_api_key", "slskd-api-key-0123456789")
    return context


def time_failure(call) -> tuple[float, BaseException]:
    started = time.monotonic()
    with pytest.raises(ServiceTimeout) as raised:
        call()
    return time.monotonic() - started, raised.value


@pytest.mark.parametrize("service", ["spotify", "plex", "slskd"])
def test_client_gives_up_after_the_configured_timeout(app_paths, server, service):
    context = context_from_file(app_paths, server.url)
    assert getattr(context.settings, service).timeout_s == TIMEOUT_S
    call = {"spotify": lambda: context.spotify().current_user(),
            "plex": lambda: context.plex().server_info(),
            "slskd": lambda: context.slskd().application_state()}[service]
    elapsed, error = time_failure(call)
    assert TIMEOUT_S * 0.9 <= elapsed < TIMEOUT_S + 1.0, f"gave up after {elapsed:.2f} s"
    assert "no answer in time" in error.message or "did not answer" in error.message, error.message
    assert server.requests, "the request never reached the server"


def test_spotify_sign_in_renewal_uses_the_timeout_too(app_paths):
    server = DelayingServer(delay_token_endpoint=True)
    try:
        context = context_from_file(app_paths, server.url)
        elapsed, _error = time_failure(lambda: context.spotify().current_user())
    finally:
        server.stop()
    assert TIMEOUT_S * 0.9 <= elapsed < TIMEOUT_S + 1.0, f"gave up after {elapsed:.2f} s"
    assert server.requests and server.requests[0].startswith("POST /api/token")


def test_a_longer_timeout_waits_for_a_slow_answer(app_paths, server):
    """The same slow server and a timeout longer than its delay: the client waits for the answer
    (an empty object, so the check then says this is not slskd, instead of timing out)."""
    context = context_from_file(app_paths, server.url, timeout_s=5.0)
    slskd = context.slskd()
    assert slskd.timeout == 5.0
    answer = threading.Timer(1.5, server.release.set)  # the server answers after 1.5 s
    answer.start()
    started = time.monotonic()
    with pytest.raises(WrongServer):
        slskd.application_state()
    answer.join()
    assert 1.4 <= time.monotonic() - started < 5.0
