"""The "Download missing" dialog: every missing track searched, downloaded, filed; live status.

A front end of the main job (:class:`soulsync.core.sync_run.SyncRun`), run in a
worker: album mode for releases (the Artists page), then every missing track.
The app's download service ticks the queue (so the Downloads page shows the
same transfers); the dialog shows the run's events, can be cancelled (what
finished is kept), and, when asked, the run mirrors the playlist on Plex once
the library has picked up the new files (one pick-up per run, through the
shared library state).
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from PyQt6.QtCore import QModelIndex, Qt, pyqtSignal
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import (
    QAbstractItemView, QCheckBox, QDialog, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton,
    QTableView, QVBoxLayout, QWidget,
)

from soulsync.context import AppContext
from soulsync.core.models import Track
from soulsync.core.run_progress import DownloadReport, Phase, RunProgress
from soulsync.ui.models.base import RowTableModel
from soulsync.ui.pools import long_run_pool
from soulsync.ui.theme import ACCENT, ERROR, MUTED, WARN
from soulsync.ui.workers import TaskHandle, run_task

log = logging.getLogger(__name__)

PHASE_COLORS = {Phase.DOWNLOADED: ACCENT, Phase.NOT_FOUND: ERROR, Phase.FAILED: ERROR, Phase.CANCELLED: MUTED,
                Phase.DOWNLOADING: WARN, Phase.PROCESSING: WARN, Phase.SEARCHING: WARN, Phase.QUEUED: WARN}
RUN_COLUMNS = ("Track", "Artist", "Status", "Progress", "Details")


class RunModel(RowTableModel):
    COLUMNS = RUN_COLUMNS
    """One row per missing track (``TrackProgress``), updated by key."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[Any] = []
        self._row: dict[str, int] = {}

    def set_rows(self, rows: list[Any]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self._row = {r.key: i for i, r in enumerate(self.rows)}
        self.endResetModel()

    def update(self, progress: Any) -> None:
        row = self._row.get(progress.key)
        if row is None:
            return
        self.rows[row] = progress
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(RUN_COLUMNS) - 1))

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        p = self.rows[index.row()]
        col, phase = index.column(), p.phase
        if role == Qt.ItemDataRole.ForegroundRole and col == 2:
            return QColor(PHASE_COLORS.get(phase, "#e6e8eb"))
        if role == Qt.ItemDataRole.ToolTipRole:
            return p.final_path or p.detail or None
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return (p.track.title, ", ".join(p.track.artists), phase.label,
                f"{p.percent:.0f}%" if phase in (Phase.DOWNLOADING, Phase.PROCESSING) else "",
                p.detail or (f"“{p.query}”" if p.query else ""))[col]


class DownloadMissingDialog(QDialog):
    """Start with :meth:`start`; ``finished_run(report)`` when everything has ended."""

    finished_run = pyqtSignal(object)
    track_progress = pyqtSignal(object)
    """Each track's TrackProgress as it changes (the Sync page mirrors it in its table)."""

    service_patience_s = 120.0
    """How long slskd may fail without a break before the run stops (its rows say why meanwhile)."""

    def __init__(self, context: AppContext, wanted: list[tuple[Track, str | None]], download_service,
                 library, playlists: list | None = None, parent: QWidget | None = None,
                 releases: list | None = None, activity=None) -> None:
        super().__init__(parent)
        self.setObjectName("download_missing_dialog")
        self.setWindowTitle("Download missing tracks")
        self.resize(960, 600)
        self.context, self.wanted, self.service, self.library = context, wanted, download_service, library
        self.playlists = playlists or []
        self.releases = releases or []
        """ReleaseStates (Artists page): album mode first, single tracks for what no folder covers."""
        self.report: DownloadReport | None = None
        self.running = False
        self._told_trouble = ""
        self._notable: list[str] = []
        """Notes worth the status bar and the activity feed (a Plex playlist of the user's own left alone)."""
        self.activity = activity
        """The activity feed (the main window's), or None."""
        self._stop = threading.Event()
        self._task: TaskHandle | None = None
        self._pool = long_run_pool(self)
        """The run lasts minutes and waits for the download queue's ticks: off the shared pool (see its reason)."""

        layout = QVBoxLayout(self)
        self.headline = QLabel(f"{len(wanted)} missing tracks: each is searched on Soulseek, the best file is "
                               "downloaded, tagged and filed in your library.")
        self.headline.setWordWrap(True)
        layout.addWidget(self.headline)
        self.progress = QProgressBar()
        self.progress.setObjectName("run_progress")
        layout.addWidget(self.progress)
        self.counts = QLabel("")
        self.counts.setObjectName("run_counts")
        self.counts.setProperty("muted", True)
        layout.addWidget(self.counts)
        self.model = RunModel(self)
        self.view = QTableView()
        self.view.setObjectName("run_table")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(24)
        self.view.setAlternatingRowColors(True)
        header = self.view.horizontalHeader()
        for col, width in enumerate((240, 180, 140, 70, 300)):
            header.resizeSection(col, width)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.view, 1)
        row = QHBoxLayout()
        self.mirror_box = QCheckBox("Afterwards, mirror the playlist on Plex")
        self.mirror_box.setObjectName("mirror_box")
        self.mirror_box.setChecked(context.settings.library.create_plex_playlists and context.plex_configured()
                                   and bool(self.playlists))
        self.mirror_box.setEnabled(context.plex_configured() and bool(self.playlists))
        row.addWidget(self.mirror_box)
        row.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("run_cancel")
        self.cancel_button.setToolTip("Stop searching and cancel queued downloads; finished tracks are kept")
        self.close_button = QPushButton("Close")
        self.close_button.setObjectName("run_close")
        self.close_button.setEnabled(False)
        row.addWidget(self.cancel_button)
        row.addWidget(self.close_button)
        layout.addLayout(row)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.accept)

    # ---- running -----------------------------------------------------------------------------
    def start(self) -> None:
        """Run the main job (:class:`~soulsync.core.sync_run.SyncRun`) on the wanted tracks and releases."""
        if not self.context.slskd_configured():
            self.counts.setText("slskd is not set up: add its URL and API key in Settings.")
            self._ended()
            return
        from soulsync.ui.library_state import SharedLibrary

        service, context, wanted, stop = self.service, self.context, list(self.wanted), self._stop
        mirror, playlists, releases = self.mirror_box.isChecked(), list(self.playlists), list(self.releases)
        patience, library = self.service_patience_s, SharedLibrary(self.library)

        def work(ctx):
            from soulsync.core.store_records import wanted_key
            from soulsync.core.sync_run import SyncOptions, SyncRequest, SyncRun
            from soulsync.services.playlist_reader import PlaylistTracks

            queue = service.queue  # built here, not on the GUI thread, when the app's queue has not been yet
            if queue is None:
                raise RuntimeError("slskd is not set up: add its URL and API key in Settings.")
            run = SyncRun(SyncRequest(playlists=playlists, tracks=wanted, releases=releases),
                          SyncOptions(analyse=False, mirror=mirror), store=context.store, library=library,
                          reader=PlaylistTracks(context.store),
                          downloads=context.download_tools(queue, drive_queue=False, service_patience_s=patience),
                          on_event=ctx.progress, is_cancelled=stop.is_set,
                          wait=lambda seconds: ctx.wait(seconds) or stop.is_set())
            result = run.run()
            report = result.downloads or DownloadReport([], RunProgress())
            on_wishlist = {wanted_key(track) for track, _reason, _tries in context.store.wishlist()}
            wished = sum(1 for p in report.tracks if p.phase in (Phase.NOT_FOUND, Phase.FAILED)
                         and p.key in on_wishlist)
            return report, wished, result.notes

        self.running = True
        self.library.hold()
        self._task = run_task(work, owner=self, on_progress=self._progress, on_result=self._done,
                              on_error=self._failed, on_finished=self._run_ended, pool=self._pool)

    def _run_ended(self) -> None:
        self.running = False
        self.library.release()

    def _progress(self, event) -> None:
        from soulsync.core import sync_run as s

        if isinstance(event, s.DownloadsPlanned):
            self.model.set_rows(event.rows)
        elif isinstance(event, s.TrackChanged):
            self.model.update(event.progress)
            self.track_progress.emit(event.progress)
        elif isinstance(event, s.CountsChanged):
            self._update_counts(event.counts)
        elif isinstance(event, s.StageStarted) and event.stage in (s.Stage.PICKUP, s.Stage.MIRROR):
            self.counts.setText(event.stage.label + "…")
        elif isinstance(event, s.Note):
            if event.notable:
                self._notable.append(event.text)
            self.counts.setText(event.text)

    def _update_counts(self, c) -> None:
        self.progress.setRange(0, max(1, c.total))
        self.progress.setValue(c.finished)
        parts = [f"{c.downloaded} downloaded"]
        for n, word in ((c.downloading, "downloading"), (c.searching, "searching"), (c.waiting, "waiting"),
                        (c.not_found, "not found"), (c.failed, "failed"), (c.cancelled, "cancelled")):
            if n:
                parts.append(f"{n} {word}")
        text = f"{c.finished} of {c.total} done: " + ", ".join(parts)
        if c.trouble:  # slskd fails; the run keeps trying (and says so in the rows concerned)
            text += f"\n{c.trouble}; trying again"
            if c.trouble != self._told_trouble:
                self._announce(f"Download missing: {c.trouble}; trying again")
        self._told_trouble = c.trouble
        self.counts.setText(text)

    def _announce(self, text: str) -> None:
        """Say ``text`` in the main window's status bar too (through the page that opened the dialog)."""
        announce = getattr(self.parent(), "announce", None)
        if callable(announce):
            announce(text)

    def _done(self, value) -> None:
        self.report, wish, notes = value
        announcements = list(self._notable)
        self.model.set_rows(self.report.tracks)
        self._update_counts(self.report.progress)
        text = self.report.summary()
        if wish:
            text += f". {wish} went to the wishlist, to be tried again later."
        if self.report.error or self.report.progress.not_found or self.report.progress.failed:
            self._announce(f"Download missing: {text}")
        for announcement in announcements:
            self._announce(announcement)
        if notes:
            text += "\n" + "\n".join(notes)
        self.counts.setText(text)
        self._ended()
        if self.activity is not None:
            self.activity.add("sync", f"Download missing: {self.report.summary()}", "sync")
            for announcement in announcements:
                self.activity.add("sync", announcement, "sync")
        self.finished_run.emit(self.report)

    def _failed(self, exc: Exception) -> None:
        from soulsync.services.checks import describe_error

        text = f"The run stopped: {describe_error(exc, 'slskd')[1]}"
        self.counts.setText(text)
        self._announce(f"Download missing: {text}")
        self._ended()

    def _ended(self) -> None:
        self.cancel_button.setEnabled(False)
        self.close_button.setEnabled(True)

    def cancel(self) -> None:
        if self.running:
            self._stop.set()
            self.cancel_button.setEnabled(False)
            self.counts.setText("Cancelling: running searches stop, queued downloads are cancelled…")

    def reject(self) -> None:
        """Closing while running cancels (finished tracks are kept)."""
        if self.running:
            self.cancel()
        super().reject()

