"""Fix this download: pick another Soulseek source for a failed or wrong download.

The dialog searches Soulseek in a worker and shows the ranked files and the
sources already tried; picking one hands the replacement to
:class:`~soulsync.core.replace_source.SourceReplacement`, which
:class:`AttemptReplacement` drives against the download service.
"""
from __future__ import annotations

import logging
from typing import Any, Iterable

from PyQt6.QtCore import QModelIndex, QObject, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QBrush, QColor
from PyQt6.QtWidgets import QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from soulsync.context import AppContext
from soulsync.core.result_ranking import Candidate
from soulsync.core.models import Track
from soulsync.core.postprocess import guess_from_path
from soulsync.core.quality import QualityPrefs
from soulsync.core.ratelimit import SearchRateLimiter
from soulsync.core.replace_source import (
    ReplacementStep, SourceChoice, SourceReplacement, search_sources, source_choices, tried_sources,
)
from soulsync.core.search_text import clean_query
from soulsync.core.search_run import SearchCancelled
from soulsync.core.soulseek_query import UNSEARCHABLE_REASON, network_query
from soulsync.core.queue_model import QueueState
from soulsync.core.store_records import QueueItem
from soulsync.core.soulseek_query import query_forms
from soulsync.ui.dialogs.manual_correction import ManualCorrectionDialog, describe_track
from soulsync.ui.models.base import RowTableModel
from soulsync.ui.models.queue import file_name, state_text
from soulsync.ui.theme import MUTED
from soulsync.ui.wording import counted
from soulsync.ui.workers import TaskContext, TaskHandle

log = logging.getLogger(__name__)

REPLACE_TIMEOUT_MS = 30_000
"""How long a replacement waits for the queue to answer before giving up on retiring the old attempt."""

_shared_limiter: SearchRateLimiter | None = None


def _dialog_limiter() -> SearchRateLimiter:
    """The rate limiter of correction dialogs opened without one (one per process)."""
    global _shared_limiter
    if _shared_limiter is None:
        _shared_limiter = SearchRateLimiter()
    return _shared_limiter


class SourceModel(RowTableModel):
    """Ranked Soulseek files for the wanted track; sources tried before are greyed and say why."""

    COLUMNS = ("Score", "Quality", "User", "File", "Why")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[SourceChoice] = []

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        c = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.ForegroundRole and c.tried:
            return QBrush(QColor(MUTED))
        if role == Qt.ItemDataRole.ToolTipRole:
            return c.filename if col == 3 else (c.reason + (f"\nTried before: {c.tried}" if c.tried else ""))
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if col == 0:
            return f"{c.score:.0%}" if c.score is not None else ""
        if col == 1:
            return c.quality
        if col == 2:
            return c.username
        if col == 3:
            return file_name(c.filename)
        return (f"tried: {c.tried} — " if c.tried else "") + c.reason


class AttemptModel(RowTableModel):
    """The sources already tried for a queue item, and the current attempt."""

    COLUMNS = ("User", "File", "What happened")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, str, str]] = []

    def set_item(self, item: QueueItem) -> None:
        self.beginResetModel()
        self.rows = [*tried_sources(item), (item.username, item.filename, f"now: {state_text(item)}")]
        self.endResetModel()

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        user, filename, why = self.rows[index.row()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return filename if index.column() == 1 else why
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return (user, file_name(filename), why)[index.column()]


class AttemptReplacement(QObject):
    """Carry out a :class:`~soulsync.core.replace_source.SourceReplacement` on the download service.

    Lives on the download service (so it outlives the dialog) and deletes
    itself when done. ``finished(ok, message)`` reports the outcome of queueing
    the new file.
    """

    finished = pyqtSignal(bool, str)

    def __init__(self, service, item: QueueItem, choice: SourceChoice, alternatives: Iterable[SourceChoice]) -> None:
        super().__init__(service)
        self.service = service
        self.replacement = SourceReplacement(item, choice, alternatives)
        self._reported = False
        self._closed = False
        self._hears_errors = False
        self._watching = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REPLACE_TIMEOUT_MS)
        self._timer.timeout.connect(self._gave_up)

    def start(self) -> None:
        request = self.replacement.request()
        self.service.error.connect(self._error)
        self._hears_errors = True
        self._timer.start()
        self.service.enqueue(request.files, wanted=request.wanted, candidates=request.candidates,
                             source=request.source, group_id=request.group_id, meta=request.meta,
                             on_done=self._queued)

    def _queued(self, diff) -> None:
        if self.replacement.over:
            return
        self._stop_hearing_errors()
        self._follow(self.replacement.queued(bool(diff.changed)))

    def _watch(self, diff) -> None:
        old = diff.changed.get(self.replacement.item.id)
        if old is not None:
            self._follow(self.replacement.old_changed(old))

    def _error(self, text: str) -> None:
        self._follow(self.replacement.error(text))

    def _gave_up(self) -> None:
        log.warning("Replacing %s: the old attempt was not retired in time", self.replacement.item.id)
        self._follow(self.replacement.timed_out())

    def _follow(self, step: ReplacementStep) -> None:
        """Report the outcome once it is known, then do what ``step`` says."""
        if self.replacement.result is not None and not self._reported:
            self._reported = True
            self.finished.emit(*self.replacement.result)
        old_id = self.replacement.item.id
        if step is ReplacementStep.CANCEL_OLD:
            self.service.diff_ready.connect(self._watch)
            self._watching = True
            self.service.cancel([old_id])
        elif step is ReplacementStep.REMOVE_OLD:
            self.service.remove([old_id])
        if self.replacement.over:
            self._done()

    def _stop_hearing_errors(self) -> None:
        if self._hears_errors:
            self._hears_errors = False
            self.service.error.disconnect(self._error)

    def _done(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop_hearing_errors()
        if self._watching:
            self._watching = False
            self.service.diff_ready.disconnect(self._watch)
        self._timer.stop()
        self.deleteLater()


class DownloadCorrectionDialog(ManualCorrectionDialog):
    """Pick another Soulseek source for a failed or wrong download.

    Signals: ``replaced(str)``: the id of the queue item whose attempt was
    replaced (the new file is queued by then); the dialog accepts right after.
    """

    replaced = pyqtSignal(str)

    def __init__(self, context: AppContext, item: QueueItem, download_service, parent: QWidget | None = None,
                 rate_limiter: SearchRateLimiter | None = None) -> None:
        ranking = item.wanted or guess_from_path(item.filename) or Track(file_name(item.filename).rsplit(".", 1)[0],
                                                                           [])
        if item.wanted is not None:
            heading = "Wanted: " + describe_track(item.wanted)
        else:
            from html import escape

            heading = (f"Plain download: <b>{escape(file_name(item.filename))}</b><br>"
                       f"<span style='color:{MUTED}'>Ranked as {escape(ranking.display())} "
                       "(guessed from its path)</span>")
        super().__init__(context, heading, parent)
        self.setObjectName("download_correction_dialog")
        self.item = item
        self.wanted = item.wanted
        self.ranking_track = ranking
        """What the results are ranked against: the wanted track, or a guess for a plain download."""
        self.setWindowTitle("Fix this download")
        self.download_service = download_service
        self.limiter = rate_limiter if rate_limiter is not None else _dialog_limiter()
        self._search_task: TaskHandle | None = None
        self._wait_timer = QTimer(self)
        self._wait_timer.setSingleShot(True)
        self._wait_timer.timeout.connect(self.search)
        self._replacement: AttemptReplacement | None = None
        self.choose_button.setText("Use this file")

        self.source_model = SourceModel(self)
        self.set_results_model(self.source_model, 4, {3: 320})
        tried_box = QWidget()
        tried_layout = QVBoxLayout(tried_box)
        tried_layout.setContentsMargins(0, 0, 0, 0)
        tried_layout.addWidget(QLabel("Already tried"))
        self.attempt_model = AttemptModel(self)
        self.attempt_model.set_item(item)
        self.attempts_view = QTableView()
        self.attempts_view.setObjectName("attempts_view")
        self.attempts_view.setModel(self.attempt_model)
        self.attempts_view.verticalHeader().setVisible(False)
        header = self.attempts_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        tried_layout.addWidget(self.attempts_view)
        self.splitter.addWidget(tried_box)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)

        forms = query_forms(self.ranking_track)
        self.query_input.setText(forms[0] if forms else clean_query(self.ranking_track.title))
        self.source_model.set_rows(self._stored_sources())
        download_service.diff_ready.connect(self._queue_changed)
        if context.slskd_configured():
            self.search()
        else:
            self.status_label.setText("slskd is not set up: add its URL and API key in Settings.")
            self.search_button.setEnabled(False)

    # ---- sources ------------------------------------------------------------------
    def _stored_sources(self) -> list[SourceChoice]:
        """The queue item's own remaining candidates, shown until a search answers."""
        out = source_choices(self.item, self.item.candidates)
        if out:
            self.status_label.setText(f"{len(out)} other source{'s' if len(out) != 1 else ''} from the first "
                                      "search; searching again…")
        return out

    def _queue_changed(self, diff) -> None:
        changed = diff.changed.get(self.item.id)
        if changed is not None:
            self.item = changed
            self.attempt_model.set_item(changed)

    # ---- searching ------------------------------------------------------------------
    def search(self) -> None:
        """Search Soulseek for the query (in a worker), within the search rate limit."""
        typed = clean_query(self.query_input.text())
        if not typed:
            self.status_label.setText("Type what to search for.")
            return
        query = network_query(typed)
        if query is None:
            self.status_label.setText(f"Cannot search “{typed}”: {UNSEARCHABLE_REASON}. Add a longer word "
                                      "(the album title, for example).")
            return
        if self._search_task is not None:
            self._search_task.cancel()
            self._search_task = None
        if not self.limiter.try_acquire():
            wait = max(1.0, self.limiter.time_until_free())
            self.status_label.setText(f"Soulseek allows about {self.limiter.limit} searches per "
                                      f"{self.limiter.window:.0f} s: searching in {wait:.0f} s.")
            self._wait_timer.start(int(wait * 1000))
            return
        d = self.context.settings.downloads
        client, wanted, prefs = self.context.slskd(), self.ranking_track, self.context.quality_prefs()
        self.status_label.setText(f"Searching “{query}”…")
        self._search_task = self.start(
            _search_sources, client, query, wanted, prefs, d.search_timeout_ms, d.response_limit,
            on_progress=lambda p, q=query: self.status_label.setText(
                f"Searching “{q}”: {p[0]} users, {p[1]} files so far…"),
            on_result=lambda value, q=query: self._found(q, *value),
            on_error=self._search_failed)

    def _found(self, query: str, candidates: list[Candidate], users: int) -> None:
        self._search_task = None
        rows = source_choices(self.item, candidates)
        self.source_model.set_rows(rows)
        self.status_label.setText(sources_found_text(query, users, rows))
        if rows:
            self.results_view.selectRow(0)

    def _search_failed(self, exc: Exception) -> None:
        from soulsync.services.checks import describe_error

        self._search_task = None
        self.status_label.setText(f"Search failed: {describe_error(exc, 'slskd')[1]}")

    # ---- choosing -------------------------------------------------------------------
    def choose(self) -> None:
        """Replace the attempt with the selected file."""
        row = self.selected_row()
        if row is None or self._replacement is not None:
            return
        if self.item.state == QueueState.PROCESSING:
            self.status_label.setText("This download is being tagged and filed right now; wait until it ends.")
            return
        choice = self.source_model.rows[row]
        self.choose_button.setEnabled(False)
        self.status_label.setText(f"Queueing {file_name(choice.filename)} from {choice.username}…")
        replacement = AttemptReplacement(self.download_service, self.item, choice, self.source_model.rows)
        replacement.finished.connect(self._replaced)
        self._replacement = replacement
        replacement.start()

    def done(self, result: int) -> None:
        try:
            self.download_service.diff_ready.disconnect(self._queue_changed)
        except TypeError:  # closed once already
            pass
        super().done(result)

    def _replaced(self, ok: bool, message: str) -> None:
        self._replacement = None
        if not ok:
            self.status_label.setText(message)
            self._selection_changed()
            return
        self.replaced.emit(self.item.id)
        self.accept()

def _search_sources(ctx: TaskContext, client, query: str, wanted: Track, prefs: QualityPrefs, timeout_ms: int,
                    response_limit: int) -> tuple[list[Candidate], int]:
    """Worker body: :func:`~soulsync.core.replace_source.search_sources` with the worker's progress and
    cancellation."""
    try:
        return search_sources(client, query, wanted, prefs, timeout_ms, response_limit,
                              progress=ctx.progress, wait=ctx.wait)
    except SearchCancelled:
        ctx.check()
        raise


def sources_found_text(query: str, users: int, rows: list[SourceChoice]) -> str:
    """What a source search for Fix… found, in words."""
    answered = f"“{query}”: {counted(users, 'user')} answered"
    if not rows:
        return f"{answered}, but no file is the wanted track. Edit the query and search again."
    fresh = sum(1 for r in rows if not r.tried)
    are = "file is" if len(rows) == 1 else "files are"
    return f"{answered}; {len(rows)} {are} the wanted track ({fresh} not tried yet), best first."
