"""Dashboard: stat cards, service status, the recent-activity feed and quick actions."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from PyQt6.QtCore import QAbstractListModel, QModelIndex, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QResizeEvent
from PyQt6.QtWidgets import (
    QFrame, QGridLayout, QHBoxLayout, QLabel, QListView, QPushButton, QScrollArea, QVBoxLayout, QWidget,
)

from soulsync.context import AppContext
from soulsync.ui.pages.base import Page
from soulsync.ui.service_monitor import SERVICES
from soulsync.ui.theme import ACCENT, ERROR, MUTED, WARN
from soulsync.ui.widgets.schedule_panel import SchedulePanel
from soulsync.ui.widgets.status_indicator import STATE_COLORS
from soulsync.ui.workers import TaskHandle, run_task

STATS_REFRESH_MS = 2000
KIND_COLORS = {"download": ACCENT, "download_failed": ERROR, "sync": "#6aa8ff", "library": WARN,
               "settings": MUTED}


@dataclass
class DashboardStats:
    playlists: int = 0
    library_tracks: int = 0
    missing: int = 0
    wishlist: int = 0
    active_downloads: int = 0
    downloaded_today: int = 0


def read_stats(ctx, store) -> DashboardStats:
    """Worker body: every figure straight from the database."""
    midnight = time.mktime(time.localtime()[:3] + (0, 0, 0, 0, 0, -1))
    return DashboardStats(
        playlists=len(store.playlists()),
        library_tracks=store.count_library(),
        missing=store.missing_total(),
        wishlist=store.count_wishlist(),
        active_downloads=store.count_queue(finished=False),
        downloaded_today=store.count_succeeded_since(midnight),
    )


class StatCard(QFrame):
    clicked = pyqtSignal()

    def __init__(self, key: str, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        self.setProperty("stat", key)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        self.value_label = QLabel("–")
        self.value_label.setObjectName(f"stat_{key}")
        self.value_label.setStyleSheet("font-size: 22pt; font-weight: 600; background: transparent;")
        caption = QLabel(label)
        caption.setProperty("muted", True)
        caption.setWordWrap(True)
        layout.addWidget(self.value_label)
        layout.addWidget(caption)

    def set_value(self, value: int) -> None:
        self.value_label.setText(f"{value:,}")

    def mouseReleaseEvent(self, event) -> None:
        self.clicked.emit()
        super().mouseReleaseEvent(event)


class ActivityModel(QAbstractListModel):
    """Activity rows, newest first."""

    TargetRole = Qt.ItemDataRole.UserRole + 1
    LIMIT = 200

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[dict] = []

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            when = time.strftime("%H:%M", time.localtime(row["ts"]))
            day = "" if time.localtime(row["ts"])[:3] == time.localtime()[:3] else \
                time.strftime("%d %b ", time.localtime(row["ts"]))
            return f"{day}{when}   {row['message']}"
        if role == Qt.ItemDataRole.ForegroundRole:
            from PyQt6.QtGui import QColor

            return QColor(KIND_COLORS.get(row["kind"], "#e6e8eb"))
        if role == Qt.ItemDataRole.ToolTipRole:
            return row["message"] + ("\nDouble-click to open" if row.get("target") else "")
        if role == self.TargetRole:
            return row.get("target", "")
        return None

    def reset_rows(self, rows: list[dict]) -> None:
        self.beginResetModel()
        self.rows = rows[: self.LIMIT]
        self.endResetModel()

    def prepend(self, row: dict) -> None:
        self.beginInsertRows(QModelIndex(), 0, 0)
        self.rows.insert(0, row)
        self.endInsertRows()
        if len(self.rows) > self.LIMIT:
            self.beginRemoveRows(QModelIndex(), self.LIMIT, len(self.rows) - 1)
            del self.rows[self.LIMIT:]
            self.endRemoveRows()


CARDS_IN_ONE_ROW_WIDTH = 1000
"""Page width (px) from which the six stat cards stand in one row; below it they take two rows of three."""


class DashboardPage(Page):
    page_id = "dashboard"
    title = "Dashboard"
    subtitle = "Your library at a glance"

    CARDS = (("playlists", "Spotify playlists", "sync"), ("library_tracks", "Library tracks", "artists"),
             ("missing", "Missing from playlists", "sync"), ("wishlist", "On the wishlist", "sync"),
             ("active_downloads", "Active downloads", "downloads"),
             ("downloaded_today", "Downloaded today", "downloads"))

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.stats = DashboardStats()
        self._stats_task: TaskHandle | None = None

        self.card_grid = QGridLayout()
        self.card_grid.setSpacing(12)
        self.cards: dict[str, StatCard] = {}
        for key, label, target in self.CARDS:
            card = StatCard(key, label)
            card.clicked.connect(lambda t=target: self._navigate(t))
            self.cards[key] = card
        self._card_columns = 0
        self._place_cards(len(self.CARDS))
        self.body.addLayout(self.card_grid)

        lower = QHBoxLayout()
        lower.setSpacing(16)
        feed_box = QFrame()
        feed_box.setObjectName("Card")
        feed_layout = QVBoxLayout(feed_box)
        title = QLabel("Recent activity")
        title.setObjectName("SectionTitle")
        feed_layout.addWidget(title)
        self.activity_model = ActivityModel(self)
        self.activity_view = QListView()
        self.activity_view.setObjectName("activity_feed")
        self.activity_view.setModel(self.activity_model)
        self.activity_view.setUniformItemSizes(True)
        self.activity_view.doubleClicked.connect(self._open_activity)
        self.empty_feed = QLabel("Nothing has happened yet. Sync a playlist or search for music to get going.")
        self.empty_feed.setProperty("muted", True)
        self.empty_feed.setWordWrap(True)
        feed_layout.addWidget(self.empty_feed)
        feed_layout.addWidget(self.activity_view, 1)
        feed_layout.addStretch(0)
        lower.addWidget(feed_box, 3)

        side = QVBoxLayout()
        services = QFrame()
        services.setObjectName("Card")
        svc_layout = QGridLayout(services)
        svc_title = QLabel("Services")
        svc_title.setObjectName("SectionTitle")
        svc_layout.addWidget(svc_title, 0, 0, 1, 3)
        self.service_rows: dict[str, tuple[QLabel, QLabel, QPushButton]] = {}
        for row, service in enumerate(SERVICES, start=1):
            name = QLabel(f"● {service}")
            name.setObjectName(f"dash_status_{service.lower()}")
            detail = QLabel("Not checked yet")
            detail.setProperty("muted", True)
            detail.setWordWrap(True)
            button = QPushButton("Test now")
            button.setObjectName(f"dash_test_{service.lower()}")
            button.clicked.connect(lambda _=False, s=service: self._test_service(s))
            svc_layout.addWidget(name, row * 2 - 1, 0)
            svc_layout.addWidget(button, row * 2 - 1, 2)
            svc_layout.addWidget(detail, row * 2, 0, 1, 3)
            self.service_rows[service] = (name, detail, button)
        svc_layout.setColumnStretch(1, 1)
        side.addWidget(services)
        self.schedule = SchedulePanel()
        side.addWidget(self.schedule)

        actions = QFrame()
        actions.setObjectName("Card")
        act_layout = QVBoxLayout(actions)
        act_title = QLabel("Quick actions")
        act_title.setObjectName("SectionTitle")
        act_layout.addWidget(act_title)
        self.action_buttons: dict[str, QPushButton] = {}
        for key, label in (("sync_all", "Sync all playlists"), ("retry_wishlist", "Retry the wishlist"),
                           ("rescan_library", "Rescan the library")):
            button = QPushButton(label)
            button.setObjectName(f"action_{key}")
            button.clicked.connect(lambda _=False, k=key: self._quick_action(k))
            act_layout.addWidget(button)
            self.action_buttons[key] = button
        side.addWidget(actions)
        side.addStretch(1)
        side_box = QWidget()
        side_box.setLayout(side)
        side.setContentsMargins(0, 0, 0, 0)
        side_scroll = QScrollArea()  # services and quick actions stay reachable in a low window
        side_scroll.setObjectName("dashboard_side")
        side_scroll.setWidgetResizable(True)
        side_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        side_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        side_scroll.setWidget(side_box)
        lower.addWidget(side_scroll, 2)
        self.body.addLayout(lower, 1)

        self.feed = None
        self.monitor = None
        self._show_page: Callable[[str], QWidget] | None = None
        self._sync_page: QWidget | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(STATS_REFRESH_MS)
        self._timer.timeout.connect(self.refresh_stats)

    # ---- wiring -----------------------------------------------------------------
    def _place_cards(self, columns: int) -> None:
        """The stat cards in ``columns`` columns (all six in a row when there is room, else two rows)."""
        if columns == self._card_columns:
            return
        self._card_columns = columns
        for i, card in enumerate(self.cards.values()):
            self.card_grid.removeWidget(card)
            self.card_grid.addWidget(card, i // columns, i % columns)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_cards(len(self.CARDS) if event.size().width() >= CARDS_IN_ONE_ROW_WIDTH else 3)

    def attach(self, feed, monitor) -> None:
        """Connect to the activity feed and service monitor (the main window calls this)."""
        self.feed = feed
        self.monitor = monitor
        feed.added.connect(self._activity_added)
        monitor.status_changed.connect(self._service_status)
        for service, (state, message, when) in monitor.last.items():
            self._service_status(service, state, message, when)
        run_task(lambda ctx: self.context.store.activity(ActivityModel.LIMIT), owner=self,
                 on_result=self._activity_loaded)
        self._timer.start()
        self.refresh_stats()

    def attach_automation(self, service) -> None:
        """Show the automation's schedule (the main window calls this)."""
        self.schedule.attach(service)

    def set_navigation(self, show_page: Callable[[str], QWidget], sync_page: QWidget) -> None:
        """How to open a page (activity click-through) and the Sync page the quick actions run on
        (the main window calls this)."""
        self._show_page = show_page
        self._sync_page = sync_page

    def on_shown(self) -> None:
        self.refresh_stats()
        self.schedule.reload()

    def refresh_stats(self) -> None:
        if self._stats_task is not None:
            return
        self._stats_task = run_task(read_stats, self.context.store, owner=self, on_result=self._show_stats,
                                    on_finished=self._stats_done)

    def _stats_done(self) -> None:
        self._stats_task = None

    def _show_stats(self, stats: DashboardStats) -> None:
        self.stats = stats
        for key, card in self.cards.items():
            card.set_value(getattr(stats, key))

    def _activity_loaded(self, rows: list[dict]) -> None:
        self.activity_model.reset_rows([dict(r) for r in rows])
        self._update_empty()

    def _activity_added(self, row: dict) -> None:
        self.activity_model.prepend(row)
        self._update_empty()
        self.refresh_stats()

    def _update_empty(self) -> None:
        empty = self.activity_model.rowCount() == 0
        self.empty_feed.setVisible(empty)
        self.activity_view.setVisible(not empty)

    def _open_activity(self, index: QModelIndex) -> None:
        target = self.activity_model.data(index, ActivityModel.TargetRole)
        if target:
            self._navigate(target)

    def _navigate(self, target: str) -> None:
        if self._show_page is None:
            return
        page_id, _, detail = target.partition(":")
        page = self._show_page(page_id)
        opener = getattr(page, "open_detail", None)
        if detail and opener:
            opener(detail)

    def _service_status(self, service: str, state: str, message: str, when: float) -> None:
        name, detail, button = self.service_rows[service]
        color = STATE_COLORS.get(state, MUTED)
        name.setText(f'<span style="color:{color}">●</span> {service}')
        checked = time.strftime("%H:%M:%S", time.localtime(when))
        detail.setText(f"{message}  ·  checked {checked}" if state not in ("checking", "off") else message)
        button.setEnabled(state != "checking")

    def _test_service(self, service: str) -> None:
        if self.monitor is not None:
            self.monitor.check(service)

    def _quick_action(self, key: str) -> None:
        if self._show_page is None or self._sync_page is None:
            return
        handler = getattr(self._sync_page, key, None)
        if handler is None:
            self.announce("This action is not available yet.")
            return
        self._show_page("sync")
        handler()

    def shutdown(self) -> None:
        self._timer.stop()
