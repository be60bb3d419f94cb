"""Closing the window with automation on, the tray and its messages, as a person meets them."""
from __future__ import annotations

import pytest
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication, QMessageBox

from soulsync.core.notices import NoticeBatcher, RunNotice
from soulsync.ui import main_window as main_window_module
from soulsync.ui.main_window import MainWindow
from soulsync.ui.tray import CloseChoice, Tray, close_choice

REAL_CLOSE_CHOICE = main_window_module.MainWindow.close_choice
"""Taken at import, before the suite's fixture makes every window quit without asking."""


class Answer:
    """Clicks ``button`` in the next message box that opens, and keeps the box's text.

    Keep the object in a variable until the box was answered: Qt holds its timer callback weakly."""

    def __init__(self, button: str, keep_asking: bool | None = None) -> None:
        self.button, self.keep_asking = button, keep_asking
        self.text = ""
        self.buttons: list[str] = []
        QTimer.singleShot(0, self._attempt)

    def _attempt(self) -> None:
        box = next((w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()), None)
        if box is None:
            QTimer.singleShot(10, self._attempt)
            return
        self.text = box.text()
        self.buttons = [b.text() for b in box.buttons()]
        if self.keep_asking is not None and box.checkBox() is not None:
            box.checkBox().setChecked(not self.keep_asking)
        next(b for b in box.buttons() if b.text() == self.button).click()


def choose(qtbot, **kwargs) -> tuple[CloseChoice, list[str]]:
    remembered: list[str] = []
    parent = QMessageBox()  # any widget will do as the boxes' parent
    qtbot.addWidget(parent)
    defaults = dict(automation_on=True, tray_available=True, remembered="ask", active_downloads=0)
    defaults.update(kwargs)
    return close_choice(parent, remember=remembered.append, **defaults), remembered


def test_with_automation_on_closing_asks_once_whether_to_keep_running_in_the_tray(qtbot) -> None:
    answer = Answer("Keep running in the tray")
    choice, remembered = choose(qtbot)
    assert choice is CloseChoice.TRAY and remembered == ["tray"]
    assert "Keep it running in the system tray" in answer.text
    assert sorted(answer.buttons) == ["Cancel", "Keep running in the tray", "Quit"]
    # the answer is remembered: no box the next time
    assert choose(qtbot, remembered="tray")[0] is CloseChoice.TRAY


def test_quit_without_remembering_and_cancel_keeps_the_window(qtbot) -> None:
    quit_answer = Answer("Quit", keep_asking=True)
    assert choose(qtbot) == (CloseChoice.QUIT, []) and quit_answer.text
    cancel_answer = Answer("Cancel")
    assert choose(qtbot) == (CloseChoice.STAY, []) and cancel_answer.text


def test_without_a_tray_closing_says_scheduled_runs_wait_and_running_downloads_are_told(qtbot) -> None:
    answer = Answer("Keep SoulSync open")
    assert choose(qtbot, tray_available=False, active_downloads=2)[0] is CloseChoice.STAY
    assert "no system tray" in answer.text and "2 downloads are still running" in answer.text


def test_automation_off_quits_at_once_unless_downloads_are_running(qtbot) -> None:
    assert choose(qtbot, automation_on=False)[0] is CloseChoice.QUIT
    answer = Answer("Quit")
    assert choose(qtbot, automation_on=False, active_downloads=1)[0] is CloseChoice.QUIT
    assert "1 download is still running" in answer.text


@pytest.fixture
def window(qtbot, app_context, monkeypatch):
    monkeypatch.setattr(MainWindow, "close_choice", REAL_CLOSE_CHOICE)
    monkeypatch.setattr(Tray, "available", staticmethod(lambda: True))
    app_context.settings.automation.enabled = True
    app_context.settings.automation.close_to_tray = "tray"
    win = MainWindow(app_context, check_services=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win._quitting = True
    QApplication.setQuitOnLastWindowClosed(True)


def test_closing_hides_the_window_into_the_tray_and_the_tray_menu_opens_and_quits(qtbot, window) -> None:
    told = []
    window.tray.message_shown.connect(told.append)
    window.close()
    assert not window.isVisible() and window.tray.icon is not None
    assert [m.title for m in told] == ["SoulSync keeps running"]
    window.tray.open_action.trigger()
    qtbot.waitUntil(window.isVisible)
    window.tray.quit_action.trigger()
    qtbot.waitUntil(lambda: not window.isVisible())
    assert window._quitting and not window.tray.visible


def test_run_news_become_grouped_rate_limited_tray_messages() -> None:
    now = [1000.0]
    tray = Tray(batcher=NoticeBatcher(min_gap_s=900, clock=lambda: now[0]))
    shown = []
    tray.message_shown.connect(shown.append)
    tray.tell(RunNotice("Kept playlists", brought=3, detail="3 tracks for “Mix”"))
    tray.tell(RunNotice("Wishlist", brought=1))
    tray.tell(RunNotice("New releases", attention=1, detail="slskd did not answer"))
    assert [m.title for m in shown] == ["SoulSync: 3 new tracks in your library"]
    assert tray._timer.isActive(), "the rest waits for the gap"
    now[0] += 900
    tray.flush()
    assert shown[1].title == "SoulSync: 1 new track in your library, 1 needs your attention"
    assert shown[1].body == "Wishlist\nNew releases: slskd did not answer" and shown[1].attention
    tray.enabled_messages = False
    tray.tell(RunNotice("Wishlist", brought=5))
    now[0] += 900
    tray.flush()
    assert len(shown) == 2, "notifications turned off in Settings"
