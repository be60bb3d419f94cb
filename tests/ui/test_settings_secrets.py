"""A slow keyring never freezes the window: the Settings page and the service monitor read and write
secrets in workers, and saving before the stored secrets arrived never wipes them."""
from __future__ import annotations

import threading
import time

import pytest
from PyQt6.QtCore import Qt, QTimer

from soulsync.config import load_settings
from soulsync.ui.pages.settings import SettingsPage
from soulsync.ui.pages.settings_sections import LOADING
from soulsync.ui.service_monitor import ServiceMonitor

DELAY_S = 0.5
"""Every get() and set() of the slow keyring takes this long."""
MAX_GAP_S = 0.3
"""The GUI thread may not go quiet for longer than this."""

STORED = {"spotify_client_secret": "client-secret-111", "spotify_refresh_token": "refresh-222",
          "plex_token": "plex-token-333", "slskd_api_key": "slskd-key-444", "slskd_password": "pass-555"}


class SlowSecrets:
    """A secret store in front of the real one, as slow as a desktop keyring that takes its time;
    records the thread of every read and write."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str, bool]] = []
        """(operation, name, on the GUI thread)."""

    def _note(self, op: str, name: str) -> None:
        self.calls.append((op, name, threading.current_thread() is threading.main_thread()))
        time.sleep(DELAY_S)  # the simulated keyring's slowness

    def get(self, name: str) -> str:
        self._note("get", name)
        return self.inner.get(name)

    def set(self, name: str, value: str) -> None:
        self._note("set", name)
        self.inner.set(name, value)

    def delete(self, name: str) -> None:
        self._note("delete", name)
        self.inner.delete(name)

    def reload(self) -> None:
        self._note("reload", "*")
        self.inner.reload()

    def on_gui_thread(self) -> list[tuple[str, str, bool]]:
        return [c for c in self.calls if c[2]]

    def writes(self) -> list[str]:
        return [name for op, name, _gui in self.calls if op in ("set", "delete")]


class Heartbeat:
    """A 20 ms QTimer on the GUI thread; ``max_gap`` is its longest silence."""

    def __init__(self) -> None:
        self._timer = QTimer()
        self._timer.setInterval(20)
        self._timer.timeout.connect(self._beat)
        self._last = time.monotonic()
        self.max_gap = 0.0
        self.beats = 0

    def start(self) -> "Heartbeat":
        self._last = time.monotonic()
        self._timer.start()
        return self

    def _beat(self) -> None:
        now = time.monotonic()
        self.max_gap, self._last = max(self.max_gap, now - self._last), now
        self.beats += 1

    def stop(self) -> None:
        self._timer.stop()
        self._beat()


@pytest.fixture
def slow(app_context):
    for name, value in STORED.items():
        app_context.secrets.set(name, value)
    app_context.settings.slskd.auth_mode = "password"  # the password row is shown too
    store = SlowSecrets(app_context.secrets)
    app_context.secrets = store
    return store


def make_page(qtbot, context) -> SettingsPage:
    page = SettingsPage(context)
    qtbot.addWidget(page)
    page.show()
    return page


def secret_edits(page: SettingsPage) -> dict:
    return {"spotify_client_secret": page.spotify.client_secret, "plex_token": page.plex.token,
            "slskd_api_key": page.slskd.api_key, "slskd_password": page.slskd.password}


def test_loading_secrets_keeps_the_gui_thread_free(qtbot, app_context, slow):
    beat = Heartbeat().start()
    started = time.monotonic()
    page = make_page(qtbot, app_context)
    built_in = time.monotonic() - started
    assert built_in < 0.3, f"building the page took {built_in:.2f} s: secrets were read on the GUI thread"
    for edit in secret_edits(page).values():  # until the secrets arrive: disabled and saying so
        assert not edit.isEnabled() and edit.text() == "" and edit.placeholderText() == LOADING
    assert page.spotify.account.text() == LOADING

    with qtbot.waitSignal(page.secrets_loaded, timeout=10000):
        pass
    beat.stop()
    assert time.monotonic() - started >= 5 * DELAY_S  # five slow reads really happened meanwhile
    assert beat.beats > 50 and beat.max_gap < MAX_GAP_S, f"the GUI thread froze for {beat.max_gap:.2f} s"
    for name, edit in secret_edits(page).items():
        assert edit.isEnabled() and edit.text() == STORED[name]
        assert edit.placeholderText() != LOADING
    assert page.spotify.account.text() == "connected"
    assert slow.calls and not slow.on_gui_thread()
    assert "spotify_refresh_token" in [name for _op, name, _gui in slow.calls]


def test_save_before_the_secrets_arrive_cannot_wipe_them(qtbot, app_context, slow):
    page = make_page(qtbot, app_context)
    assert not page.secrets_ready
    qtbot.keyClicks(page.plex.token, "typed-into-a-disabled-field")
    assert page.plex.token.text() == ""  # disabled: nothing can be typed before the stored token is there
    page.plex.url.setText("http://plex.lan:32400")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert page.saved_label.text() == "Saved"
    assert app_context.settings.plex.url == "http://plex.lan:32400"
    assert "plex.lan" in app_context.paths.config_file.read_text()

    qtbot.waitUntil(lambda: page.secrets_ready, timeout=10000)
    assert slow.writes() == []
    assert {name: slow.inner.get(name) for name in STORED} == STORED
    assert {name: edit.text() for name, edit in secret_edits(page).items()} == \
        {name: STORED[name] for name in secret_edits(page)}


def test_save_writes_only_changed_secrets_in_a_worker(qtbot, app_context, slow):
    page = make_page(qtbot, app_context)
    qtbot.waitUntil(lambda: page.secrets_ready, timeout=10000)
    page.plex.token.setText("new-plex-token-999")
    page.slskd.password.setText("new-password-888")
    slow.calls.clear()
    beat = Heartbeat().start()
    started = time.monotonic()
    assert page.save() is True
    assert time.monotonic() - started < 0.2
    assert not page.save_button.isEnabled() and page.saved_label.text() == "Saving…"
    assert page.save() is False  # a second save waits for the first
    with qtbot.waitSignal(page.settings_saved, timeout=10000):
        pass
    # the button comes back when the save's task has ended, which may be just after it said saved
    qtbot.waitUntil(lambda: page.save_button.isEnabled() and page.saved_label.text() == "Saved", timeout=10000)
    beat.stop()
    assert beat.max_gap < MAX_GAP_S, f"the GUI thread froze for {beat.max_gap:.2f} s"
    assert sorted(slow.writes()) == ["plex_token", "slskd_password"] and not slow.on_gui_thread()
    assert slow.inner.get("plex_token") == "new-plex-token-999"
    assert slow.inner.get("slskd_password") == "new-password-888"
    assert slow.inner.get("slskd_api_key") == STORED["slskd_api_key"]

    slow.calls.clear()  # saving again with nothing changed writes no secret at all
    assert page.save() is True and page.saved_label.text() == "Saved"
    assert slow.calls == []


def test_revert_while_loading_shows_the_latest_read(qtbot, app_context, slow):
    page = make_page(qtbot, app_context)
    slow.inner.set("plex_token", "changed-elsewhere")
    qtbot.mouseClick(page.revert_button, Qt.MouseButton.LeftButton)  # a second read, started later
    qtbot.waitUntil(lambda: page.secrets_ready, timeout=10000)
    qtbot.waitUntil(lambda: not page._tasks, timeout=10000)
    assert page.plex.token.text() == "changed-elsewhere"


def test_connection_test_before_the_secrets_arrive_reads_them_in_its_worker(qtbot, demo_context, sim_world):
    store = SlowSecrets(demo_context.secrets)
    demo_context.secrets = store
    page = make_page(qtbot, demo_context)
    assert not page.secrets_ready
    beat = Heartbeat().start()
    qtbot.mouseClick(page.plex.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.plex.result.state in ("ok", "error"), timeout=15000)
    beat.stop()
    assert page.plex.result.state == "ok", page.plex.result.text()
    assert beat.max_gap < MAX_GAP_S and not store.on_gui_thread()


def test_service_monitor_decides_configured_in_its_worker(qtbot, app_context, slow):
    app_context.settings.plex.url = "http://127.0.0.1:9"  # discard port: nothing listens
    app_context.settings.slskd.url = "http://127.0.0.1:9"
    app_context.settings.slskd.username = "me"
    monitor = ServiceMonitor(app_context)
    seen: dict[str, str] = {}
    monitor.status_changed.connect(lambda service, state, _message, _when: seen.__setitem__(service, state))
    beat = Heartbeat().start()
    started = time.monotonic()
    monitor.check_all()
    assert time.monotonic() - started < 0.2
    qtbot.waitUntil(lambda: all(seen.get(s) not in (None, "checking") for s in ("Spotify", "Plex", "slskd")),
                    timeout=15000)
    beat.stop()
    assert seen["Plex"] == "error" and seen["slskd"] == "error"  # configured (token read), unreachable
    assert seen["Spotify"] == "off"  # no client ID
    assert beat.max_gap < MAX_GAP_S and slow.calls and not slow.on_gui_thread()


class BrokenSecrets(SlowSecrets):
    """A keyring that fails: reads when ``fail_get``, writes when ``fail_set``."""

    fail_get = fail_set = False

    def get(self, name: str) -> str:
        if self.fail_get:
            raise RuntimeError("keyring locked")
        return super().get(name)

    def set(self, name: str, value: str) -> None:
        if self.fail_set:
            raise RuntimeError("keyring locked")
        super().set(name, value)


def test_unreadable_keyring_is_told_and_nothing_is_wiped(qtbot, app_context, slow):
    broken = BrokenSecrets(slow.inner)
    broken.fail_get = True
    app_context.secrets = broken
    page = make_page(qtbot, app_context)
    qtbot.waitUntil(lambda: "Could not read the stored passwords" in page.form_error.text(), timeout=5000)
    assert not page.secrets_ready and not page.plex.token.isEnabled()
    page.plex.url.setText("http://plex.lan:32400")
    assert page.save() is True  # the other settings can still be saved
    assert broken.writes() == [] and slow.inner.get("plex_token") == STORED["plex_token"]


def test_failed_secret_write_saves_nothing(qtbot, app_context, slow):
    broken = BrokenSecrets(slow.inner)
    app_context.secrets = broken
    page = make_page(qtbot, app_context)
    qtbot.waitUntil(lambda: page.secrets_ready, timeout=10000)
    broken.fail_set = True
    page.plex.token.setText("new-token")
    page.plex.url.setText("http://plex.lan:32400")
    assert page.save() is True
    qtbot.waitUntil(lambda: "nothing was saved" in page.form_error.text(), timeout=10000)
    assert app_context.settings.plex.url != "http://plex.lan:32400"
    assert load_settings(app_context.paths).plex.url != "http://plex.lan:32400"
    assert page.save_button.isEnabled() and page.saved_label.text() == ""


def test_a_write_failing_halfway_says_what_was_stored(qtbot, app_context, slow):
    class FailsSecond(BrokenSecrets):
        def set(self, name: str, value: str) -> None:
            if self.writes():  # the first write went through; the keyring locks before the second
                raise RuntimeError("keyring locked")
            super().set(name, value)

    broken = FailsSecond(slow.inner)
    app_context.secrets = broken
    page = make_page(qtbot, app_context)
    qtbot.waitUntil(lambda: page.secrets_ready, timeout=10000)
    page.plex.token.setText("new-plex-token")
    page.slskd.api_key.setText("new-slskd-key")
    assert page.save() is True
    qtbot.waitUntil(lambda: "Could not store" in page.form_error.text(), timeout=10000)
    assert "1 of the 2 changed ones were stored" in page.form_error.text()
    stored = [n for n in ("plex_token", "slskd_api_key") if slow.inner.get(n).startswith("new-")]
    assert len(stored) == 1
    assert page._changed_secrets().keys() == {"plex_token", "slskd_api_key"} - set(stored)
