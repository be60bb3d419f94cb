"""Settings → Spotify Connect as a person uses it: the redirect URI checked while typing, what Connect waits
for (the sign-in address, to copy), Cancel, and giving up with advice when Spotify never redirects."""
from __future__ import annotations

import socket

import pytest
import requests
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QApplication

from soulsync.ui.pages.settings import SettingsPage


@pytest.fixture
def page(qtbot, demo_context):
    demo_context.secrets.delete("spotify_refresh_token")
    p = SettingsPage(demo_context)
    qtbot.addWidget(p)
    p.show()
    qtbot.waitUntil(lambda: p.secrets_ready, timeout=5000)
    return p


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def type_redirect(qtbot, page: SettingsPage, text: str) -> None:
    page.spotify.redirect.clear()
    qtbot.keyClicks(page.spotify.redirect, text)


@pytest.mark.parametrize("uri, words", [
    ("http://localhost:8888/callback", "refuses “localhost”"),
    ("http://192.168.1.20:8888/callback", "plain http only for 127.0.0.1 and [::1]"),
    ("https://music.example.org/callback", "receives the sign-in on this computer"),
    ("http://127.0.0.1/callback", "Add a port"),
])
def test_a_redirect_uri_spotify_or_soulsync_cannot_use_is_refused_while_typing(qtbot, page, demo_context, uri,
                                                                               words):
    saved = demo_context.settings.spotify.redirect_uri
    type_redirect(qtbot, page, uri)
    assert words in page.spotify.redirect_hint.text() and page.spotify.redirect_hint.property("problem")
    assert not page.spotify.connect_button.isEnabled()
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert words in page.form_error.text()
    assert demo_context.settings.spotify.redirect_uri == saved


@pytest.mark.parametrize("uri", ["http://127.0.0.1:8888/callback", "http://[::1]:8888/callback"])
def test_a_usable_redirect_uri_says_exactly_what_to_register(qtbot, page, uri):
    type_redirect(qtbot, page, "http://localhost:8888/callback")
    type_redirect(qtbot, page, uri)
    hint = page.spotify.redirect_hint.text()
    assert "Spotify Developer Dashboard" in hint and hint.endswith(f"add exactly this redirect URI: {uri}")
    assert not page.spotify.redirect_hint.property("problem") and page.spotify.connect_button.isEnabled()


def test_connect_shows_the_sign_in_address_and_cancel_stops_waiting(qtbot, page, demo_context, sim_world,
                                                                   gui_network_guard):
    opened: list[str] = []
    demo_context.open_browser = opened.append  # no browser opens: the person copies the address
    port = int(demo_context.settings.spotify.redirect_uri.rsplit(":", 1)[1].split("/")[0])
    qtbot.mouseClick(page.spotify.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.spotify.waiting.isVisible() and bool(opened), timeout=10000)
    url = page.spotify.signin_url.text()
    assert url == opened[0] and url.startswith(f"{sim_world.spotify.url}/authorize?")
    assert demo_context.settings.spotify.redirect_uri in page.spotify.waiting_text.text()
    assert "for up to 120 s" in page.spotify.waiting_text.text()
    assert page.spotify.result.state == "busy" and not page.spotify.connect_button.isEnabled()
    with gui_network_guard.allowed():
        assert not refused(port)  # listening for the browser's return
    qtbot.mouseClick(page.spotify.copy_url_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == url

    qtbot.mouseClick(page.spotify.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.spotify.result.text() == "Sign-in cancelled.", timeout=10000)
    assert not page.spotify.waiting.isVisible() and page.spotify.connect_button.isEnabled()
    with gui_network_guard.allowed():
        assert refused(port)
    assert not demo_context.secrets.get("spotify_refresh_token")


def test_connect_gives_up_and_points_at_the_dashboard_when_spotify_never_redirects(qtbot, page, demo_context,
                                                                                  sim_world):
    uri = f"http://127.0.0.1:{free_port()}/callback"  # valid, but not registered for the app
    type_redirect(qtbot, page, uri)
    pages: list[requests.Response] = []
    demo_context.open_browser = lambda url: pages.append(requests.get(url, timeout=5))  # runs in the worker
    page.connect_timeout_s = 1.0
    qtbot.mouseClick(page.spotify.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.spotify.result.state == "error", timeout=15000)
    assert "INVALID_CLIENT: Invalid redirect URI" in pages[0].text  # what the browser showed
    text = page.spotify.result.text()
    assert "did not come back within 1 s" in text and "Spotify Developer Dashboard" in text
    assert f"exactly {uri}" in text
    assert not page.spotify.waiting.isVisible() and page.spotify.connect_button.isEnabled()
    assert not demo_context.secrets.get("spotify_refresh_token")


def test_connect_waits_two_minutes_by_default():
    assert SettingsPage.connect_timeout_s == 120.0
