"""Settings page: the per-service network timeout spin boxes (saved, reloaded, used by the connection
tests) and the TLS opt-out, warned about on the page and in the status bar."""
from __future__ import annotations

import json
import time

import pytest
from PyQt6.QtCore import Qt

from soulsync.config import TIMEOUT_RANGE_S, load_settings
from soulsync.context import AppContext
from soulsync.ui.main_window import MainWindow
from soulsync.ui.pages.settings import SettingsPage
from soulsync.ui.widgets.status_indicator import TLS_OFF_NOTE


def open_page(qtbot, context) -> SettingsPage:
    page = SettingsPage(context)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: page.secrets_ready, timeout=5000)
    return page


def spin_values(page: SettingsPage) -> tuple[float, float, float]:
    return page.spotify.timeout.value(), page.plex.timeout.value(), page.slskd.timeout.value()


# ---- network timeouts ---------------------------------------------------------------------------

def test_timeout_spin_boxes_show_save_and_reload(qtbot, app_context):
    s = app_context.settings
    s.spotify.timeout_s, s.plex.timeout_s, s.slskd.timeout_s = 3.0, 45.5, 120.0
    page = open_page(qtbot, app_context)
    assert spin_values(page) == (3.0, 45.5, 120.0)
    for box in (page.spotify.timeout, page.plex.timeout, page.slskd.timeout):
        assert box.suffix() == " s" and (box.minimum(), box.maximum()) == TIMEOUT_RANGE_S

    page.spotify.timeout.clear()
    qtbot.keyClicks(page.spotify.timeout, "7")  # typed like a person would
    page.plex.timeout.setValue(2.5)
    page.slskd.timeout.setValue(60.0)
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.saved_label.text() == "Saved", timeout=5000)

    saved = json.loads(app_context.paths.config_file.read_text())
    assert [saved[k]["timeout_s"] for k in ("spotify", "plex", "slskd")] == [7.0, 2.5, 60.0]
    assert (app_context.settings.spotify.timeout_s, app_context.settings.plex.timeout_s) == (7.0, 2.5)
    assert load_settings(app_context.paths).slskd.timeout_s == 60.0
    reopened = open_page(qtbot, AppContext.open(app_context.paths, secret_backend="file"))
    assert spin_values(reopened) == (7.0, 2.5, 60.0)


def test_timeout_spin_boxes_keep_to_their_bounds(qtbot, app_context):
    page = open_page(qtbot, app_context)
    assert spin_values(page) == (10.0, 15.0, 10.0)  # the defaults
    page.plex.timeout.setValue(0.2)
    page.slskd.timeout.setValue(500)
    assert (page.plex.timeout.value(), page.slskd.timeout.value()) == (1.0, 120.0)
    form = page.form_settings()
    assert (form.plex.timeout_s, form.slskd.timeout_s) == (1.0, 120.0)


def test_connection_test_uses_the_timeout_in_the_form(qtbot, demo_context, sim_world):
    """Unsaved: the spin box says 1 s, the saved setting 15 s; Plex answers after 4 s."""
    assert demo_context.settings.plex.timeout_s == 15.0
    page = open_page(qtbot, demo_context)
    page.plex.timeout.setValue(1.0)
    sim_world.plex.faults.add("latency", seconds=4.0, count=3)
    try:
        started = time.monotonic()
        qtbot.mouseClick(page.plex.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: page.plex.result.state in ("ok", "error"), timeout=10000)
        elapsed = time.monotonic() - started
    finally:
        sim_world.plex.faults.clear()
    assert page.plex.result.state == "error" and "did not answer in time" in page.plex.result.text()
    assert elapsed < 3.5, f"the test waited {elapsed:.1f} s"


# ---- TLS opt-out -----------------------------------------------------------------------------

@pytest.mark.parametrize("service", ["plex", "slskd"])
def test_unchecked_certificate_shows_a_warning_next_to_it(qtbot, app_context, service):
    page = open_page(qtbot, app_context)
    box, warning = {"plex": (page.plex.verify, page.plex.tls_warning),
                    "slskd": (page.slskd.verify, page.slskd.tls_warning)}[service]
    other = page.slskd.tls_warning if service == "plex" else page.plex.tls_warning
    assert box.isChecked() and not warning.isVisibleTo(page)  # on by default: nothing to warn about
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    assert not box.isChecked()
    assert warning.isVisibleTo(page) and not other.isVisibleTo(page)
    assert "not checked" in warning.text() and "read your" in warning.text()
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    assert not warning.isVisibleTo(page)


def test_warning_shows_when_the_saved_setting_is_off(qtbot, app_context):
    app_context.settings.slskd.verify_tls = False
    page = open_page(qtbot, app_context)
    assert page.slskd.tls_warning.isVisibleTo(page) and not page.plex.tls_warning.isVisibleTo(page)
    page.load_from_context()  # Revert keeps it in step too
    assert page.slskd.tls_warning.isVisibleTo(page)


@pytest.fixture
def window(qtbot, demo_context):
    win = MainWindow(demo_context, check_services=False)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.downloads.stop()


def wait_checked(qtbot, window, services) -> None:
    qtbot.waitUntil(lambda: all(window.indicators[s].state in ("ok", "error") for s in services), timeout=15000)


def test_status_bar_says_when_certificate_checks_are_off(qtbot, window, demo_context):
    window.monitor.check_all()
    wait_checked(qtbot, window, ("Spotify", "Plex", "slskd"))
    assert not any(i.tls_unchecked or TLS_OFF_NOTE in i.toolTip() for i in window.indicators.values())

    page = window.show_page("settings")
    qtbot.waitUntil(lambda: page.secrets_ready, timeout=5000)
    qtbot.mouseClick(page.plex.verify, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)  # saving checks every service again
    assert demo_context.settings.plex.verify_tls is False
    plex, slskd = window.indicators["Plex"], window.indicators["slskd"]
    assert plex.state == "checking"  # saved: checked again at once
    qtbot.waitUntil(lambda: plex.state == "ok", timeout=15000)
    assert TLS_OFF_NOTE in plex.toolTip() and "certificate not checked" in plex.text()
    wait_checked(qtbot, window, ("slskd",))
    assert TLS_OFF_NOTE not in slskd.toolTip() and "certificate" not in slskd.text()
    assert TLS_OFF_NOTE not in window.indicators["Spotify"].toolTip()

    qtbot.mouseClick(page.plex.verify, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(page.slskd.verify, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: slskd.state == "ok" and slskd.tls_unchecked, timeout=15000)
    assert "certificate not checked" in slskd.text() and TLS_OFF_NOTE in slskd.toolTip()
    qtbot.waitUntil(lambda: plex.state == "ok", timeout=15000)
    assert not plex.tls_unchecked and TLS_OFF_NOTE not in plex.toolTip()


def test_an_unconfigured_service_carries_no_certificate_note(qtbot, app_context):
    app_context.settings.plex.verify_tls = False  # but no URL or token: Plex is not set up at all
    win = MainWindow(app_context, check_services=False)
    qtbot.addWidget(win)
    win.monitor.check("Plex")
    qtbot.waitUntil(lambda: win.indicators["Plex"].state == "off", timeout=5000)
    assert "Not configured" in win.indicators["Plex"].toolTip()
    assert not win.indicators["Plex"].tls_unchecked
