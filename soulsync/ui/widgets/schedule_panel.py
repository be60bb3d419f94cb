"""The Dashboard's Automation card: what runs next and when, the last runs, pause and run now."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import QModelIndex, Qt
from PyQt6.QtWidgets import (
    QAbstractItemView, QFrame, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableView, QVBoxLayout, QWidget,
)

from soulsync.ui.models.base import RowTableModel


def when(at: float | None, now: float) -> str:
    """A time as a person reads it in a schedule: "in 2 h 10 min", "now", "5 min ago"."""
    if at is None:
        return "–"
    delta = at - now
    if abs(delta) < 60:
        return "now"
    minutes = int(abs(delta) // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        text = f"{days} d {hours} h" if hours else f"{days} d"
    elif hours:
        text = f"{hours} h {minutes} min" if minutes else f"{hours} h"
    else:
        text = f"{minutes} min"
    return f"in {text}" if delta > 0 else f"{text} ago"


class ScheduleModel(RowTableModel):
    """One row per scheduled job (:class:`~soulsync.core.scheduler.JobStatus`)."""

    COLUMNS = ("Job", "Next run", "Last run")

    def __init__(self, parent=None, clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self.labels: dict[str, str] = {}
        self.clock = clock

    def label(self, job: str) -> str:
        return self.labels.get(job, job)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        job = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.UserRole:
            return job.name
        if role == Qt.ItemDataRole.ToolTipRole and job.last is not None:
            return f"Last run {when(job.last.started_at, self.clock())}: {job.last.summary}"
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if col == 0:
            return self.label(job.name)
        if col == 1:
            return "running now" if job.running else when(job.next_run, self.clock())
        return "not yet" if job.last is None else job.last.outcome.label


class SchedulePanel(QFrame):
    """Shows an :class:`~soulsync.ui.automation.AutomationService`'s schedule; see the module docstring."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        self.service: Any = None
        self.paused = False
        layout = QVBoxLayout(self)
        title = QLabel("Automation")
        title.setObjectName("SectionTitle")
        layout.addWidget(title)
        self.status = QLabel("Automation is off: turn it on in Settings → Automation.")
        self.status.setObjectName("schedule_status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.model = ScheduleModel(self)
        self.view = QTableView()
        self.view.setObjectName("schedule_view")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.verticalHeader().setVisible(False)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.view.setMinimumHeight(110)
        layout.addWidget(self.view)
        buttons = QHBoxLayout()
        self.run_now_button = QPushButton("Run now")
        self.run_now_button.setObjectName("schedule_run_now")
        self.run_now_button.setToolTip("Run the selected job now (even while paused)")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("schedule_pause")
        buttons.addWidget(self.run_now_button)
        buttons.addWidget(self.pause_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.history = QLabel("")
        self.history.setObjectName("schedule_history")
        self.history.setWordWrap(True)
        self.history.setProperty("muted", True)
        layout.addWidget(self.history)
        self.run_now_button.clicked.connect(self.run_now)
        self.pause_button.clicked.connect(self.toggle_pause)
        self._enable(False)

    def attach(self, service: Any) -> None:
        self.service = service
        self.model.clock = service.clock  # the schedule's own clock (sped up in the demo)
        service.changed.connect(self.reload)
        self.reload()

    def reload(self) -> None:
        if self.service is not None:
            self.service.load_snapshot(self.show_snapshot)

    def _enable(self, on: bool) -> None:
        self.view.setVisible(on)
        self.run_now_button.setVisible(on)
        self.pause_button.setVisible(on)

    def show_snapshot(self, snap: Any) -> None:
        self._enable(snap.enabled)
        if not snap.enabled:
            self.status.setText("Automation is off: turn it on in Settings → Automation to keep playlists "
                                "in sync, retry the wishlist and fetch watched artists' new releases by themselves.")
            self.model.set_rows([])
            self.history.setText("")
            return
        self.paused = snap.paused
        self.pause_button.setText("Resume" if snap.paused else "Pause")
        self.model.labels = dict(getattr(snap, "labels", {}) or {})
        selected = self.selected_job()
        self.model.set_rows(sorted(snap.jobs, key=lambda j: j.next_run))
        if selected is not None:
            for row, job in enumerate(self.model.rows):
                if job.name == selected:
                    self.view.selectRow(row)
        now = self.model.clock()
        if snap.running:
            text = f"Running: {self.model.label(snap.running)}"
        elif snap.paused:
            text = "Paused: nothing runs by itself until you resume (Run now still works)."
        elif snap.jobs:
            first = min(snap.jobs, key=lambda j: j.next_run)
            text = f"Next: {self.model.label(first.name)}, {when(first.next_run, now)}"
        else:
            text = "Nothing to run yet: keep a playlist in sync (Sync page) or watch an artist (Artists page)."
        self.status.setText(text)
        lines = [f"{time.strftime('%H:%M', time.localtime(r.started_at))}  {self.model.label(r.job)}: "
                 f"{r.outcome.label}. {r.summary}" for r in snap.history[:5]]
        self.history.setText("Last runs:\n" + "\n".join(lines) if lines else "No runs yet.")

    def selected_job(self) -> str | None:
        rows = self.view.selectionModel().selectedRows() if self.view.selectionModel() is not None else []
        return rows[0].data(Qt.ItemDataRole.UserRole) if rows else None

    def run_now(self) -> None:
        job = self.selected_job() or (self.model.rows[0].name if self.model.rows else None)
        if job is not None and self.service is not None:
            self.service.run_now(job)
            self.status.setText(f"Starting {self.model.label(job)}…")

    def toggle_pause(self) -> None:
        if self.service is not None:
            self.paused = not self.paused
            self.pause_button.setText("Resume" if self.paused else "Pause")
            self.service.set_paused(self.paused)
