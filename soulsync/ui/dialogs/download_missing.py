"""The "Download missing" dialog: every missing track searched, downloaded, filed; live status.

Runs :class:`soulsync.core.sync.DownloadMissing` in a worker. The app's
download service ticks the queue (so the Downloads page shows the same
transfers); the dialog follows each track, can be cancelled (what finished is
kept), puts what could not be found on the wishlist, and, when asked, mirrors
the playlist on Plex once the library has picked up the new files.
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
from soulsync.core.sync import DownloadReport
from soulsync.ui.models.base import RowTableModel
from soulsync.ui.pools import long_run_pool
from soulsync.ui.theme import ACCENT, ERROR, MUTED, WARN
from soulsync.ui.workers import TaskHandle, run_task

log = logging.getLogger(__name__)

PHASE_WORDS = {"waiting": "Waiting", "searching": "Searching", "queued": "Queued", "downloading": "Downloading",
               "processing": "Tagging and filing", "downloaded": "Downloaded", "not_found": "Not found",
               "failed": "Failed", "cancelled": "Cancelled"}
PHASE_COLORS = {"downloaded": ACCENT, "not_found": ERROR, "failed": ERROR, "cancelled": MUTED,
                "downloading": WARN, "processing": WARN, "searching": WARN, "queued": WARN}
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
        col, phase = index.column(), p.phase.value
        if role == Qt.ItemDataRole.ForegroundRole and col == 2:
            return QColor(PHASE_COLORS.get(phase, "#e6e8eb"))
        if role == Qt.ItemDataRole.ToolTipRole:
            return p.final_path or p.detail or None
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return (p.track.title, ", ".join(p.track.artists), PHASE_WORDS.get(phase, phase),
                f"{p.percent:.0f}%" if phase in ("downloading", "processing") else "",
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
                 releases: list | None = None) -> None:
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
        if not self.context.slskd_configured():
            self.counts.setText("slskd is not set up: add its URL and API key in Settings.")
            self._ended()
            return
        service, context, wanted, stop = self.service, self.context, list(self.wanted), self._stop
        mirror, playlists, releases = self.mirror_box.isChecked(), list(self.playlists), list(self.releases)
        d, patience = context.settings.downloads, self.service_patience_s

        def work(ctx):
            from soulsync.core.store import wanted_key
            from soulsync.core.sync import DownloadMissing, SearchSettings
            from soulsync.services.checks import describe_error
            from soulsync.services.library import library_source

            queue = service.queue  # built here, not on the GUI thread, when the app's queue has not been yet
            if queue is None:
                raise RuntimeError("slskd is not set up: add its URL and API key in Settings.")
            album_rows = _album_phase(ctx, context, queue, releases, stop) if releases else []
            run = DownloadMissing(
                wanted + [(p.track, None) for p in album_rows if p.phase.value != "downloaded"],
                client=context.slskd(), queue=queue, store=context.store, prefs=context.quality_prefs(),
                limiter=context.search_limiter,
                settings=SearchSettings(search_timeout_ms=d.search_timeout_ms, response_limit=d.response_limit),
                drive_queue=False, on_track=lambda p: ctx.progress(("track", p)),
                on_progress=lambda c: ctx.progress(("counts", c)), is_cancelled=stop.is_set,
                service_patience_s=patience, describe=lambda exc: describe_error(exc, "slskd")[1])
            ctx.progress(("rows", [p for p in album_rows if p.phase.value == "downloaded"] + run.tracks()))
            report = run.run()
            report.tracks[:0] = [p for p in album_rows if p.phase.value == "downloaded"]
            report.paths[:0] = [p.final_path for p in album_rows if p.final_path]
            report.progress.total += sum(1 for p in album_rows if p.phase.value == "downloaded")
            report.progress.downloaded += sum(1 for p in album_rows if p.phase.value == "downloaded")
            on_wishlist = {wanted_key(track) for track, _reason, _tries in context.store.wishlist()}
            wished = sum(1 for p in report.tracks
                         if p.phase.value in ("not_found", "failed") and p.key in on_wishlist)
            notes: list[str] = []
            announcements: list[str] = []
            if report.paths:
                ctx.progress(("note", "Waiting for the library to pick up the new files…"))
                source = library_source(context)
                notes.append(source.after_download(context.store, report.paths).summary())
                if mirror and source.supports_playlists:
                    mirrored, announcements = _mirror(context, source, playlists)
                    notes.extend(mirrored)
            return report, wished, notes, announcements

        self.running = True
        self._task = run_task(work, owner=self, on_progress=self._progress, on_result=self._done,
                              on_error=self._failed, on_finished=lambda: setattr(self, "running", False),
                              pool=self._pool)

    def _progress(self, value) -> None:
        kind, payload = value
        if kind == "rows":
            self.model.set_rows(payload)
        elif kind == "track":
            self.model.update(payload)
            self.track_progress.emit(payload)
        elif kind == "counts":
            self._update_counts(payload)
        else:
            self.counts.setText(payload)

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
        self.report, wish, notes, announcements = value
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
        self.library.reload()
        window = self.parentWidget().window() if self.parentWidget() is not None else None
        activity = getattr(window, "activity", None)
        if activity is not None:
            activity.add("sync", f"Download missing: {self.report.summary()}", "sync")
            for announcement in announcements:
                activity.add("sync", announcement, "sync")
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


def _album_phase(ctx, context: AppContext, queue, releases: list, stop: threading.Event) -> list:
    """Album mode: queue each release's missing tracks from one folder that covers it, and follow them.

    Returns a TrackProgress per track handled here; those not downloaded go on to the single-track
    pipeline (the caller adds them to its run)."""
    import uuid

    from soulsync.core.album_mode import plan_release
    from soulsync.core.search_run import SearchCancelled
    from soulsync.core.sync import Phase, TrackProgress
    from soulsync.core.store import wanted_key

    client, prefs, limiter = context.slskd(), context.quality_prefs(), context.search_limiter
    d = context.settings.downloads
    rows: list[TrackProgress] = []

    def slot() -> None:
        """Wait for a search slot (the rate limit is shared with every other search of the app)."""
        while not limiter.try_acquire():
            if ctx.wait(min(5.0, max(0.5, limiter.time_until_free()))) or stop.is_set():
                raise SearchCancelled("cancelled while waiting for a search slot")

    for n, release in enumerate(releases):
        if stop.is_set():
            break
        album, missing = release.album, release.missing_tracks
        if not missing:
            continue
        ctx.progress(("note", f"Looking for a folder with “{album.title}” ({n + 1} of {len(releases)})…"))
        plan = plan_release(client, album, missing, prefs, d.search_timeout_ms, d.response_limit,
                            before_search=slot, cancelled=stop.is_set)
        if plan.source is None:
            continue
        group = f"album:{album.spotify_id or uuid.uuid4().hex}"
        meta = {"cover_url": album.image_url, "release_date": album.release_date,
                "spotify_album_id": album.spotify_id}
        for remote, track in plan.source.files:
            items = queue.enqueue([remote], wanted=track, source="album", group_id=group, meta=meta)
            rows.append(TrackProgress(wanted_key(track), track, [], Phase.QUEUED,
                                      f"from {plan.source.username}'s folder ({plan.source.quality})",
                                      queue_item_id=items[0].id if items else None))
        ctx.progress(("rows", list(rows)))
    # follow the album-mode items until each has finished (the download service ticks the queue)
    words = {"succeeded": Phase.DOWNLOADED, "failed": Phase.FAILED, "cancelled": Phase.CANCELLED}
    while rows and not stop.is_set():
        pending = 0
        for row in rows:
            item = queue.get(row.queue_item_id) if row.queue_item_id else None
            if item is None or row.phase.finished:
                continue
            phase = words.get(item.state)
            if phase is None:
                pending += 1
                row.phase = Phase.DOWNLOADING if item.state == "in_progress" else Phase.QUEUED
                row.percent = item.percent
            else:
                row.phase, row.final_path = phase, item.final_path
                row.detail = item.reason if phase is not Phase.DOWNLOADED else row.detail
            ctx.progress(("track", row))
        if not pending:
            break
        if ctx.wait(0.5):
            break
    return rows


def _mirror(context: AppContext, source, playlists: list) -> tuple[list[str], list[str]]:
    """Re-analyse each playlist against the refreshed library and mirror it on Plex.

    Returns a note per playlist, and the notes worth the status bar and the activity feed too: a playlist
    of the user's own that has the mirrored name and was left untouched."""
    from soulsync.core.sync import analyse

    index, by_key = source.index(context.store)
    overrides = context.store.overrides()
    notes: list[str] = []
    announcements: list[str] = []
    for playlist in playlists:
        statuses = analyse(context.store.playlist_tracks(playlist.id), index, overrides, library=by_key,
                           playlist_id=playlist.id)
        try:
            result = source.mirror_playlist(context.store, playlist, statuses)
        except Exception as exc:  # one playlist failing must not hide the others
            notes.append(f"Plex playlist {playlist.name!r} not updated: {exc}")
            continue
        notes.append(result.message)
        if result.user_playlist is not None:
            announcements.append(result.message)
    return notes, announcements
