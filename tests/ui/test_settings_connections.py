"""Settings connection tests against real HTTP servers on loopback: success and each failure kind."""
from __future__ import annotations

import socket

import pytest
from PyQt6.QtCore import Qt

from soulsync.ui.pages.settings import SettingsPage


@pytest.fixture
def page(qtbot, demo_context):
    """The Settings page with 1.5 s network timeouts, once its stored secrets fill the form."""
    for service in (demo_context.settings.spotify, demo_context.settings.plex, demo_context.settings.slskd):
        service.timeout_s = 1.5
    p = SettingsPage(demo_context)
    qtbot.addWidget(p)
    p.show()
    qtbot.waitUntil(lambda: p.secrets_ready, timeout=5000)
    assert (p.spotify.timeout.value(), p.plex.timeout.value(), p.slskd.timeout.value()) == (1.5, 1.5, 1.5)
    return p


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def run_test(qtbot, button, label) -> tuple[str, str]:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: label.state in ("ok", "error"), timeout=15000)
    return label.state, label.text()


def test_plex_success_lists_server_and_libraries(qtbot, page, sim_world):
    state, text = run_test(qtbot, page.plex.test_button, page.plex.result)
    assert state == "ok", text
    assert "SoulSync Sim" in text and "Music" in text
    assert [page.plex.section.itemText(i) for i in range(page.plex.section.count())] == ["Music"]


@pytest.mark.parametrize("kind", ["unreachable", "401", "timeout", "wrong_server"])
def test_plex_failures_are_told_apart(qtbot, page, sim_world, kind):
    expected = {"unreachable": "Cannot reach Plex", "401": "Plex refused", "timeout": "did not answer in time",
                "wrong_server": "not Plex"}[kind]
    if kind == "unreachable":
        page.plex.url.setText(closed_port_url())
    elif kind == "401":
        page.plex.token.setText("wrong-token")
    elif kind == "timeout":
        sim_world.plex.faults.add("latency", seconds=4.0, count=3)
    else:
        page.plex.url.setText(sim_world.spotify.url)
    try:
        state, text = run_test(qtbot, page.plex.test_button, page.plex.result)
    finally:
        sim_world.plex.faults.clear()
    assert state == "error"
    assert expected in text, text


def test_spotify_success_names_the_user(qtbot, page, sim_world):
    state, text = run_test(qtbot, page.spotify.test_button, page.spotify.result)
    assert state == "ok", text
    assert text.startswith("Connected as ")


@pytest.mark.parametrize("kind", ["unreachable", "401", "timeout"])
def test_spotify_failures(qtbot, page, sim_world, demo_context, kind):
    expected = {"unreachable": "Cannot reach Spotify", "401": "Spotify refused", "timeout": "did not answer"}[kind]
    if kind == "unreachable":
        demo_context.settings.spotify.api_base = closed_port_url() + "/v1/"
        demo_context.settings.spotify.accounts_base = closed_port_url()
    elif kind == "401":
        sim_world.spotify.revoke_refresh_tokens()
    else:
        sim_world.spotify.faults.add("latency", seconds=4.0, count=4)
    try:
        state, text = run_test(qtbot, page.spotify.test_button, page.spotify.result)
    finally:
        sim_world.spotify.faults.clear()
    assert state == "error"
    assert expected in text, text


def test_spotify_connect_runs_pkce_flow_and_stores_tokens(qtbot, page, demo_context):
    demo_context.secrets.delete("spotify_refresh_token")
    qtbot.mouseClick(page.spotify.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.spotify.result.state in ("ok", "error"), timeout=15000)
    assert page.spotify.result.state == "ok", page.spotify.result.text()
    assert demo_context.secrets.get("spotify_refresh_token")
    assert demo_context.settings.spotify.user in page.spotify.account.text()
    config = demo_context.paths.config_file.read_text()
    assert demo_context.secrets.get("spotify_refresh_token") not in config


def test_slskd_success_reports_version_and_login(qtbot, page, sim_world):
    state, text = run_test(qtbot, page.slskd.test_button, page.slskd.result)
    assert state == "ok", text
    assert f"slskd {sim_world.slskd.version}" in text and "logged in to Soulseek" in text


@pytest.mark.parametrize("kind", ["unreachable", "401", "timeout", "wrong_server", "logged_out"])
def test_slskd_failures_are_told_apart(qtbot, page, sim_world, kind):
    expected = {"unreachable": "Cannot reach slskd", "401": "slskd refused", "timeout": "did not answer in time",
                "wrong_server": "not slskd", "logged_out": "not logged in to Soulseek"}[kind]
    if kind == "unreachable":
        page.slskd.url.setText(closed_port_url())
    elif kind == "401":
        page.slskd.api_key.setText("not-the-key")
    elif kind == "timeout":
        sim_world.slskd.faults.add("latency", seconds=4.0, count=3)
    elif kind == "wrong_server":
        page.slskd.url.setText(sim_world.plex.url)
    else:
        sim_world.slskd.logout()
    try:
        state, text = run_test(qtbot, page.slskd.test_button, page.slskd.result)
    finally:
        sim_world.slskd.faults.clear()
        sim_world.slskd.login()
    assert state == "error"
    assert expected in text, text


def test_spotify_wrong_server(qtbot, page, sim_world, demo_context):
    demo_context.settings.spotify.api_base = sim_world.plex.url + "/v1/"
    state, text = run_test(qtbot, page.spotify.test_button, page.spotify.result)
    assert state == "error"
    assert "not Spotify" in text, text
