"""The main window: sidebar navigation, page stack, player bar and status bar."""
from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import cast

from PyQt6.QtCore import QByteArray, Qt, pyqtSignal
from PyQt6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PyQt6.QtWidgets import (
    QApplication, QButtonGroup, QFrame, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QPushButton,
    QStackedWidget,
    QVBoxLayout, QWidget,
)

from soulsync.context import AppContext
from soulsync.ui.activity import ActivityFeed
from soulsync.ui.automation import AutomationService
from soulsync.ui.dialogs.about import AboutDialog
from soulsync.ui.download_service import DownloadService
from soulsync.ui.library_state import LibraryState
from soulsync.ui.pages.artists import ArtistsPage
from soulsync.ui.pages.base import Page
from soulsync.ui.pages.dashboard import DashboardPage
from soulsync.ui.pages.downloads import DownloadsPage
from soulsync.ui.pages.settings import SettingsPage
from soulsync.ui.pages.sync import SyncPage
from soulsync.ui.service_monitor import SERVICES, ServiceMonitor
from soulsync.ui.theme import app_icon
from soulsync.ui.tray import CloseChoice, Tray, close_choice
from soulsync.ui.widgets.player_bar import PlayerBar
from soulsync.ui.widgets.status_indicator import StatusIndicator

log = logging.getLogger(__name__)

NAV = (
    ("dashboard", "Dashboard", DashboardPage),
    ("downloads", "Downloads", DownloadsPage),
    ("sync", "Sync", SyncPage),
    ("artists", "Artists", ArtistsPage),
    ("settings", "Settings", SettingsPage),
)


class MainWindow(QMainWindow):
    page_changed = pyqtSignal(str)

    def __init__(self, context: AppContext, check_services: bool = True,
                 clock: Callable[[], float] | None = None) -> None:
        super().__init__()
        self.context = context
        self.setWindowTitle("SoulSync" + (" — demo mode" if context.settings.demo else ""))
        self.setWindowIcon(app_icon())
        self.setMinimumSize(960, 600)  # every page fits from 1024x640 (tests/ui/test_small_window.py)

        self.monitor = ServiceMonitor(context, parent=self)
        self.activity = ActivityFeed(context.store, self)
        self.downloads = DownloadService(context, self.activity, self)
        self.library = LibraryState(context, self)
        self.library.activity = self.activity
        self.downloads.library = self.library
        self.pages: dict[str, Page] = {}
        self.nav_buttons: dict[str, QPushButton] = {}

        central = QWidget()
        root = QVBoxLayout(central)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        row = QHBoxLayout()
        row.setSpacing(0)
        root.addLayout(row, 1)

        sidebar = QFrame()
        sidebar.setObjectName("Sidebar")
        sidebar.setFixedWidth(200)
        side = QVBoxLayout(sidebar)
        side.setContentsMargins(0, 0, 0, 12)
        side.setSpacing(0)
        title = QLabel("SoulSync")
        title.setObjectName("AppTitle")
        side.addWidget(title)
        self.stack = QStackedWidget()
        group = QButtonGroup(self)
        group.setExclusive(True)
        for index, (page_id, label, cls) in enumerate(NAV):
            page = cls(context, self)
            page.download_service, page.activity_feed = self.downloads, self.activity
            page.set_status_bar(self.show_message)
            self.pages[page_id] = page
            self.stack.addWidget(page)
            button = QPushButton(label)
            button.setObjectName(f"nav_{page_id}")
            button.setCheckable(True)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.setToolTip(f"{label} (Ctrl+{index + 1})")
            button.clicked.connect(lambda _=False, p=page_id: self.show_page(p))
            group.addButton(button)
            side.addWidget(button)
            self.nav_buttons[page_id] = button
            QShortcut(QKeySequence(f"Ctrl+{index + 1}"), self).activated.connect(
                functools.partial(self.show_page, page_id))
        side.addStretch(1)
        if context.settings.demo:
            demo = QLabel("Demo mode: simulated\nSpotify, Plex and slskd")
            demo.setProperty("muted", True)
            demo.setContentsMargins(16, 0, 8, 0)
            side.addWidget(demo)
        about = QPushButton("About")
        about.setObjectName("about_button")
        about.setCursor(Qt.CursorShape.PointingHandCursor)
        about.setToolTip("Version, where your files are, licences (F1)")
        about.clicked.connect(self.show_about)
        side.addWidget(about)
        QShortcut(QKeySequence("F1"), self).activated.connect(self.show_about)
        row.addWidget(sidebar)
        row.addWidget(self.stack, 1)

        self.player_bar = PlayerBar(context, self)
        root.addWidget(self.player_bar)
        self.setCentralWidget(central)

        self.indicators: dict[str, StatusIndicator] = {}
        bar = self.statusBar()
        for service in SERVICES:
            indicator = StatusIndicator(service)
            self.indicators[service] = indicator
            bar.addPermanentWidget(indicator)
        self.monitor.status_changed.connect(self._on_status)
        dashboard = cast(DashboardPage, self.pages["dashboard"])
        downloads = cast(DownloadsPage, self.pages["downloads"])
        dashboard.attach(self.activity, self.monitor)
        dashboard.set_navigation(self.show_page, self.pages["sync"])
        downloads.set_previewer(self.player_bar.preview)
        cast(SettingsPage, self.pages["settings"]).monitor = self.monitor
        downloads.attach(self.downloads)
        self.player_bar.download_requested.connect(lambda track: downloads.download_items([track]))
        self.player_bar.matched_download_requested.connect(downloads.matched_download)
        cast(SyncPage, self.pages["sync"]).attach_library(self.library)
        cast(ArtistsPage, self.pages["artists"]).attach_library(self.library)
        downloads.attach_library(self.library)
        self.library.reload()
        if check_services:
            self.library.rescan_if_empty()
        self.library.scanned.connect(self.show_message)
        self.downloads.item_finished.connect(lambda _item: dashboard.refresh_stats())
        cast(SettingsPage, self.pages["settings"]).settings_saved.connect(self._settings_saved)

        self._quitting = False
        self._told_tray = False
        self.tray = Tray(self)
        self.tray.open_requested.connect(self.open_from_tray)
        self.tray.quit_requested.connect(self.quit_from_tray)
        self.tray.enabled_messages = context.settings.automation.notifications
        self.automation = AutomationService(context, self.library, self.downloads, notify=self.tray.tell,
                                            clock=clock or time.time, parent=self)
        self.tray.pause_toggled.connect(self.automation.set_paused)
        self.automation.changed.connect(self._automation_changed)
        self.automation.run_finished.connect(
            lambda record: self.activity.add("sync", f"Scheduled run: {record.summary}", "dashboard"))
        dashboard.attach_automation(self.automation)
        cast(SyncPage, self.pages["sync"]).playlists_kept.connect(self.automation.refresh)
        cast(ArtistsPage, self.pages["artists"]).artists_watched.connect(self.automation.refresh)

        self._restore()
        self.notice_box: QMessageBox | None = None
        self._tell_notices()
        if check_services:
            self.monitor.start()
            self.downloads.start()
            self.automation.start()
            if context.settings.automation.enabled:
                self.tray.show()

    # ---- navigation -----------------------------------------------------
    @property
    def current_page_id(self) -> str:
        widget = self.stack.currentWidget()
        return widget.page_id if isinstance(widget, Page) else ""

    def show_page(self, page_id: str) -> Page:
        page = self.pages.get(page_id) or self.pages["dashboard"]
        self.stack.setCurrentWidget(page)
        self.nav_buttons[page.page_id].setChecked(True)
        self.context.settings.ui.last_page = page.page_id
        page.on_shown()
        self.page_changed.emit(page.page_id)
        return page

    def show_about(self) -> None:
        """The About dialog: version, where settings, data and logs live, licences."""
        AboutDialog(self.context.paths, self).exec()

    def show_message(self, text: str, timeout_ms: int = 8000) -> None:
        """A message in the status bar (errors from any page go here too)."""
        self.statusBar().showMessage(text, timeout_ms)

    def _tell_notices(self) -> None:
        """Problems found while opening (a damaged settings or secrets file): a window that does not block,
        the status bar and the activity feed."""
        notices = list(self.context.notices)
        if not notices:
            return
        for text in notices:
            self.activity.add("settings", text, "settings")
        self.show_message(notices[0], 0)
        box = QMessageBox(QMessageBox.Icon.Warning, "SoulSync: a file of yours was damaged",
                          "\n\n".join(notices), QMessageBox.StandardButton.Ok, self)
        box.setModal(False)
        box.open()
        self.notice_box = box

    def _on_status(self, service: str, state: str, message: str, when: float) -> None:
        self.indicators[service].set_state(state, message, when)

    # ---- closing, the tray -------------------------------------------------------------------
    def close_choice(self) -> CloseChoice:
        """What closing the window does now (asks where the answer is not known; tests replace this)."""
        automation = self.context.settings.automation

        def remember(answer: str) -> None:
            automation.close_to_tray = answer
            try:
                self.context.save()
            except OSError as exc:
                log.error("Could not save settings: %s", exc)

        return close_choice(self, automation_on=automation.enabled, tray_available=Tray.available(),
                            remembered=automation.close_to_tray, active_downloads=len(self.downloads.active),
                            remember=remember)

    def _settings_saved(self) -> None:
        self.activity.add("settings", "Settings changed", "settings")
        automation = self.context.settings.automation
        self.tray.enabled_messages = automation.notifications
        if automation.enabled:
            self.tray.show()
            self.automation.start()
        else:
            self.automation.stop()
            self.tray.hide()
        self.automation.changed.emit()

    def _automation_changed(self) -> None:
        running = self.automation.running
        self.tray.set_status(f"Running: {running}" if running else "")

    def to_tray(self) -> None:
        """Hide the window; SoulSync goes on in the tray (said once per session)."""
        QApplication.setQuitOnLastWindowClosed(False)
        self.hide()
        if not self._told_tray:
            self._told_tray = True
            self.tray.say("SoulSync keeps running", "Automation goes on in the tray. Click the icon to open "
                          "the window; choose Quit in its menu to stop.")

    def open_from_tray(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def quit_from_tray(self) -> None:
        """Quit for real (the tray menu): the window closes without asking."""
        self._quitting = True
        QApplication.setQuitOnLastWindowClosed(True)
        hidden = not self.isVisible()
        self.close()
        app = QApplication.instance()
        if hidden and app is not None:  # no visible window is left to close: end the event loop
            app.quit()

    # ---- persistence ------------------------------------------------------
    def _restore(self) -> None:
        ui = self.context.settings.ui
        restored = False
        if ui.geometry:
            try:
                restored = self.restoreGeometry(QByteArray.fromBase64(ui.geometry.encode("ascii")))
            except (ValueError, UnicodeEncodeError):
                restored = False
        if not restored:
            self.resize(1280, 800)
        self.show_page(ui.last_page if ui.last_page in self.pages else "dashboard")

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._quitting:
            choice = self.close_choice()
            if choice is CloseChoice.STAY:
                event.ignore()
                return
            if choice is CloseChoice.TRAY and self.tray.show():
                event.ignore()
                self.to_tray()
                return
        self._quitting = True
        self.tray.hide()
        self.automation.stop()
        self.monitor.stop()
        self.downloads.stop()
        self.context.settings.ui.geometry = self.saveGeometry().toBase64().data().decode("ascii")
        for page in self.pages.values():
            closer = getattr(page, "shutdown", None)
            if closer:
                closer()
        self.player_bar.shutdown()
        try:
            self.context.save()
        except OSError as exc:
            log.error("Could not save settings: %s", exc)
        super().closeEvent(event)
