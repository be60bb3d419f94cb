"""The system tray: SoulSync keeps running there while automation is on, and tells what runs brought in.

:class:`Tray` owns the :class:`QSystemTrayIcon` (only where the desktop has a
tray: :meth:`Tray.available`), its menu (open the window, pause automation,
quit) and the messages: scheduled runs' notices are grouped and rate-limited
by :class:`soulsync.core.notices.NoticeBatcher`, and a timer lets the next
message out when its gap has passed.

:func:`close_choice` decides what closing the window does: keep running in
the tray (asked once when automation is on, remembered in
``automation.close_to_tray``, changeable in Settings), quit, or stay; where
there is no tray, or downloads are still running, closing asks.
"""
from __future__ import annotations

import enum
import logging
from collections.abc import Callable

from PyQt6.QtCore import QObject, QTimer, pyqtSignal
from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import QCheckBox, QMenu, QMessageBox, QSystemTrayIcon, QWidget

from soulsync.core.notices import Message, NoticeBatcher, RunNotice
from soulsync.ui.theme import app_icon

log = logging.getLogger(__name__)


class Tray(QObject):
    """The tray icon and its menu; see the module docstring."""

    open_requested = pyqtSignal()
    pause_toggled = pyqtSignal(bool)
    quit_requested = pyqtSignal()
    message_shown = pyqtSignal(object)
    """Each :class:`~soulsync.core.notices.Message` as it is shown (tests and the activity feed follow it)."""

    def __init__(self, parent: QObject | None = None, batcher: NoticeBatcher | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        super().__init__(parent)
        self.batcher = batcher or (NoticeBatcher(clock=clock) if clock is not None else NoticeBatcher())
        self.enabled_messages = True
        self.icon: QSystemTrayIcon | None = None
        self.menu = QMenu()
        self.menu.setObjectName("tray_menu")
        self.open_action = QAction("Open SoulSync", self.menu)
        self.pause_action = QAction("Pause automation", self.menu)
        self.pause_action.setCheckable(True)
        self.quit_action = QAction("Quit SoulSync", self.menu)
        for action in (self.open_action, self.pause_action, self.quit_action):
            self.menu.addAction(action)
        self.menu.insertSeparator(self.quit_action)
        self.open_action.triggered.connect(self.open_requested)
        self.pause_action.toggled.connect(self.pause_toggled)
        self.quit_action.triggered.connect(self.quit_requested)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.flush)

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def show(self) -> bool:
        """Show the icon where the desktop has a tray; returns whether it is shown."""
        if self.icon is None and self.available():
            self.icon = QSystemTrayIcon(app_icon(), self)
            self.icon.setToolTip("SoulSync")
            self.icon.setContextMenu(self.menu)
            self.icon.activated.connect(self._activated)
        if self.icon is not None:
            self.icon.show()
        return self.icon is not None

    def hide(self) -> None:
        if self.icon is not None:
            self.icon.hide()

    @property
    def visible(self) -> bool:
        return self.icon is not None and self.icon.isVisible()

    def set_paused(self, paused: bool) -> None:
        """Reflect the automation's pause in the menu (without echoing it back)."""
        self.pause_action.blockSignals(True)
        self.pause_action.setChecked(paused)
        self.pause_action.blockSignals(False)

    def set_status(self, text: str) -> None:
        """The icon's tooltip: what runs next."""
        if self.icon is not None:
            self.icon.setToolTip(f"SoulSync\n{text}" if text else "SoulSync")

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.open_requested.emit()

    # ---- messages -------------------------------------------------------------------------
    def tell(self, notice: RunNotice) -> None:
        """A run's news: shown now, or with the next message when one went out recently."""
        if not self.enabled_messages:
            return
        self.batcher.add(notice)
        self.flush()

    def say(self, title: str, text: str) -> None:
        """A one-off message (e.g. "SoulSync keeps running here"), not rate-limited."""
        self._show(Message(title, text, False))

    def flush(self) -> None:
        message = self.batcher.take()
        if message is not None:
            self._show(message)
        due = self.batcher.next_due()
        if due is not None:
            wait_ms = max(1000, int((due - self.batcher.clock()) * 1000))
            self._timer.start(wait_ms)

    def _show(self, message: Message) -> None:
        log.info("Tray message: %s: %s", message.title, message.body.replace("\n", "; "))
        if self.icon is not None and self.icon.isVisible():
            icon = (QSystemTrayIcon.MessageIcon.Warning if message.attention
                    else QSystemTrayIcon.MessageIcon.Information)
            self.icon.showMessage(message.title, message.body, icon, 10_000)
        self.message_shown.emit(message)


class CloseChoice(enum.Enum):
    TRAY = "tray"
    """Hide the window; SoulSync keeps running in the tray."""
    QUIT = "quit"
    STAY = "stay"
    """The person changed their mind: the window stays open."""


def close_choice(parent: QWidget, *, automation_on: bool, tray_available: bool, remembered: str,
                 active_downloads: int, remember: Callable[[str], None]) -> CloseChoice:
    """What closing the window does; asks where the answer is not known (see the module docstring).

    ``remembered`` is ``automation.close_to_tray`` (``ask``, ``tray`` or ``quit``); ``remember(answer)``
    stores an answer given with "Don't ask again"."""
    if automation_on and tray_available:
        if remembered == "tray":
            return CloseChoice.TRAY
        if remembered == "ask":
            return _ask_tray(parent, remember)
    if automation_on and not tray_available:
        box = QMessageBox(QMessageBox.Icon.Question, "Quit SoulSync?",
                          "Automation is on, but this desktop has no system tray to keep SoulSync running in. "
                          "If you quit, scheduled runs wait until you start SoulSync again (a run missed "
                          "meanwhile runs once then).", parent=parent)
        return _quit_or_stay(box, active_downloads)
    if active_downloads:
        box = QMessageBox(QMessageBox.Icon.Question, "Quit SoulSync?", "", parent=parent)
        return _quit_or_stay(box, active_downloads)
    return CloseChoice.QUIT


def _downloads_text(active: int) -> str:
    return (f"{active} download{'s are' if active != 1 else ' is'} still running. slskd goes on with "
            f"{'them' if active != 1 else 'it'}, and SoulSync files what finished when it starts next time.")


def _quit_or_stay(box: QMessageBox, active_downloads: int) -> CloseChoice:
    box.setObjectName("close_box")
    if active_downloads:
        box.setText((box.text() + "\n\n" if box.text() else "") + _downloads_text(active_downloads))
    quit_button = box.addButton("Quit", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Keep SoulSync open", QMessageBox.ButtonRole.RejectRole)
    box.exec()
    return CloseChoice.QUIT if box.clickedButton() is quit_button else CloseChoice.STAY


def _ask_tray(parent: QWidget, remember: Callable[[str], None]) -> CloseChoice:
    box = QMessageBox(QMessageBox.Icon.Question, "Keep SoulSync running?",
                      "Automation is on: kept playlists, the wishlist and watched artists run on their "
                      "schedule while SoulSync runs. Keep it running in the system tray when the window is "
                      "closed? (You can change this in Settings → Automation.)", parent=parent)
    box.setObjectName("close_box")
    tray_button = box.addButton("Keep running in the tray", QMessageBox.ButtonRole.AcceptRole)
    quit_button = box.addButton("Quit", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
    again = QCheckBox("Don't ask again")
    again.setChecked(True)
    box.setCheckBox(again)
    box.exec()
    clicked = box.clickedButton()
    if clicked is tray_button:
        choice = CloseChoice.TRAY
    elif clicked is quit_button:
        choice = CloseChoice.QUIT
    else:
        return CloseChoice.STAY
    if again.isChecked():
        remember(choice.value)
    return choice
