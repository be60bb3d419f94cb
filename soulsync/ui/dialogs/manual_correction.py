"""Manual correction: fix a failed or wrong download, or a wrong library match, by hand.

Two modal dialogs share one frame (the wanted track, an editable query, live
results ranked by the matching engine):

* :class:`DownloadCorrectionDialog` (``ManualCorrectionDialog.for_download``)
  searches Soulseek through slskd in a worker, ranks the files with
  :func:`~soulsync.core.matching.rank_search_results` (score, quality, user and
  why), and lists the sources the queue item already tried. Picking a file
  replaces the attempt: the chosen file is queued with the same wanted track
  and metadata, then the old attempt is cancelled (if it still runs) and
  removed from the queue.
* :class:`LibraryMatchDialog` (``ManualCorrectionDialog.for_library_match``)
  searches the library index live as the user types. Picking a track, or "Not
  in library", stores an override in SQLite (``Store.set_override``) that every
  later analysis honours; "Back to automatic" removes it.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from typing import Any, Iterable, Sequence

from PyQt6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QBrush, QColor
from PyQt6.QtWidgets import (
    QAbstractItemView, QDialog, QDialogButtonBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
    QSplitter, QTableView, QVBoxLayout, QWidget,
)

from soulsync.context import AppContext
from soulsync.core.downloads import QueueState
from soulsync.core.matching import Candidate, LibraryIndex, match_score, rank_search_results
from soulsync.core.models import Track
from soulsync.core.postprocess import guess_from_path
from soulsync.core.quality import QualityPrefs
from soulsync.core.ratelimit import SearchRateLimiter
from soulsync.core.search import clean_query, searchable
from soulsync.core.search_run import SearchCancelled, search_and_wait
from soulsync.core.soulseek_query import UNSEARCHABLE_REASON, network_query
from soulsync.core.store import QueueItem
from soulsync.core.analysis import library_key
from soulsync.core.soulseek_query import query_forms
from soulsync.ui.models.base import RowTableModel
from soulsync.ui.models.playlists import fmt_ms
from soulsync.ui.models.queue import file_name, state_text
from soulsync.ui.theme import ACCENT, MUTED
from soulsync.ui.wording import counted
from soulsync.ui.workers import TaskContext, TaskHandle, run_task

log = logging.getLogger(__name__)

SEARCH_POLL_S = 0.4
SEARCH_HARD_LIMIT_S = 45.0
"""A Soulseek search still running after this long is stopped and its results shown."""
TYPING_DEBOUNCE_MS = 250
REPLACE_TIMEOUT_MS = 30_000
"""How long a replacement waits for the queue to answer before giving up on retiring the old attempt."""
MAX_RESULTS = 200
LIBRARY_RESULTS = 50
_TEXT_HITS = 500
"""Plain-text library hits considered per query (the best by match are shown)."""

_shared_limiter: SearchRateLimiter | None = None


def _dialog_limiter() -> SearchRateLimiter:
    """The rate limiter of correction dialogs opened without one (one per process)."""
    global _shared_limiter
    if _shared_limiter is None:
        _shared_limiter = SearchRateLimiter()
    return _shared_limiter


def describe_track(track: Track) -> str:
    """``<b>Title</b> — Artists · Album · 3:45`` (rich text) for dialog headers."""
    from html import escape

    parts = [", ".join(track.artists), track.album, fmt_ms(track.duration_ms)]
    rest = " · ".join(escape(p) for p in parts if p)
    return f"<b>{escape(track.title)}</b>" + (f" — {rest}" if rest else "")


# ----------------------------------------------------------------------------- the shared frame


class ManualCorrectionDialog(QDialog):
    """The frame both corrections share: wanted track, query, results, choose / cancel.

    Use :meth:`for_download` or :meth:`for_library_match`. Subclasses provide
    ``search()`` (the query changed) and ``choose()`` (the user picked a row).
    """

    def __init__(self, context: AppContext, heading: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setModal(True)
        self.resize(1000, 640)
        self._tasks: list[TaskHandle] = []

        layout = QVBoxLayout(self)
        self.wanted_label = QLabel(heading)
        self.wanted_label.setObjectName("wanted_label")
        self.wanted_label.setWordWrap(True)
        self.wanted_label.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.wanted_label)

        row = QHBoxLayout()
        self.query_input = QLineEdit()
        self.query_input.setObjectName("query_input")
        self.query_input.setClearButtonEnabled(True)
        self.search_button = QPushButton("Search")
        self.search_button.setObjectName("search_button")
        row.addWidget(self.query_input, 1)
        row.addWidget(self.search_button)
        layout.addLayout(row)

        self.status_label = QLabel("")
        self.status_label.setObjectName("correction_status")
        self.status_label.setProperty("muted", True)
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)

        self.results_view = QTableView()
        self.results_view.setObjectName("results_view")
        self.results_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results_view.verticalHeader().setVisible(False)
        self.results_view.setAlternatingRowColors(True)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.results_view)
        layout.addWidget(self.splitter, 1)

        self.buttons = QDialogButtonBox()
        self.choose_button = self.buttons.addButton("Use this", QDialogButtonBox.ButtonRole.AcceptRole)
        self.choose_button.setObjectName("choose_button")
        self.choose_button.setProperty("primary", True)
        self.choose_button.setEnabled(False)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        layout.addWidget(self.buttons)

        self.search_button.clicked.connect(self.search)
        self.query_input.returnPressed.connect(self.search)
        self.results_view.doubleClicked.connect(lambda _index: self.choose())
        self.choose_button.clicked.connect(self.choose)
        self.cancel_button.clicked.connect(self.reject)

    def search(self) -> None:
        """Look for candidates matching the query (each kind of dialog searches its own source)."""
        raise NotImplementedError

    def choose(self) -> None:
        """Take the selected candidate."""
        raise NotImplementedError

    def set_results_model(self, model: QAbstractTableModel, stretch_column: int,
                          widths: dict[int, int] | None = None) -> None:
        """Show ``model``: short columns fit their contents, ``stretch_column`` takes the rest,
        ``widths`` gives long-text columns a starting width (the user can drag them)."""
        self.results_view.setModel(model)
        header = self.results_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(stretch_column, QHeaderView.ResizeMode.Stretch)
        for column, width in (widths or {}).items():
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, width)
        self.results_view.selectionModel().selectionChanged.connect(self._selection_changed)

    def selected_row(self) -> int | None:
        rows = self.results_view.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def _selection_changed(self) -> None:
        self.choose_button.setEnabled(self.selected_row() is not None)

    def start(self, fn, *args, **callbacks) -> TaskHandle:
        """Run ``fn`` in a worker owned by this dialog (cancelled when it closes)."""
        handle = run_task(fn, *args, owner=self, **callbacks)
        self._tasks = [t for t in self._tasks if not t.done] + [handle]
        return handle

    def done(self, result: int) -> None:
        for task in self._tasks:
            if not task.done:
                task.cancel()
        super().done(result)

    # ---- constructors ---------------------------------------------------------------
    @classmethod
    def for_download(cls, context: AppContext, queue_item: QueueItem, download_service,
                     parent: QWidget | None = None,
                     rate_limiter: SearchRateLimiter | None = None) -> "DownloadCorrectionDialog":
        """The correction dialog for a queue item (not shown yet: ``open()`` or ``exec()`` it)."""
        return DownloadCorrectionDialog(context, queue_item, download_service, parent, rate_limiter)

    @classmethod
    def for_library_match(cls, context: AppContext, wanted: Track, current_match: Track | None,
                          library_source: str, parent: QWidget | None = None,
                          library_index: LibraryIndex | None = None,
                          library_tracks: Sequence[Track] | None = None) -> "LibraryChoice | None":
        """Ask (modally) which library track ``wanted`` is; the choice is stored before this returns.

        Returns None when the user cancelled."""
        dialog = LibraryMatchDialog(context, wanted, current_match, library_source, parent,
                                    library_index=library_index, library_tracks=library_tracks)
        try:
            return dialog.choice if dialog.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dialog.deleteLater()


# ----------------------------------------------------------------------------- downloads


@dataclass(slots=True)
class SourceChoice:
    """One Soulseek file the user may pick, with what the ranking said about it."""

    username: str
    filename: str
    size: int = 0
    score: float | None = None
    quality: str = ""
    reason: str = ""
    tried: str = ""
    """Why this source failed before (empty when it was not tried)."""

    @classmethod
    def of(cls, entry: Candidate | dict, tried: dict[tuple[str, str], str]) -> "SourceChoice | None":
        """From a ranked :class:`Candidate` or a stored candidate dict; None when unusable."""
        if isinstance(entry, Candidate):
            values = {"username": entry.username, "filename": entry.filename, "size": entry.size,
                      "score": entry.score, "quality": entry.quality, "reason": entry.reason}
        elif isinstance(entry, dict):
            values = entry
        else:
            return None
        username, filename = values.get("username"), values.get("filename")
        if not isinstance(username, str) or not username or not isinstance(filename, str) or not filename:
            return None
        size = values.get("size")
        score = values.get("score")
        return cls(username, filename, size if isinstance(size, int) and size >= 0 else 0,
                   float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None,
                   str(values.get("quality") or ""), str(values.get("reason") or ""),
                   tried.get((username, filename), ""))

    @property
    def candidate(self) -> dict:
        """As the queue stores a candidate."""
        out: dict[str, Any] = {"username": self.username, "filename": self.filename, "size": self.size}
        if self.score is not None:
            out["score"] = self.score
        if self.quality:
            out["quality"] = self.quality
        if self.reason:
            out["reason"] = self.reason
        return out


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


def tried_sources(item: QueueItem) -> list[tuple[str, str, str]]:
    """``(user, remote file, why it failed)`` of every source tried, oldest first (replaced attempts too)."""
    out = []
    for entry in [*item.meta.earlier_attempts, *item.tried]:
        if isinstance(entry, (list, tuple)) and len(entry) >= 2 and all(isinstance(x, str) for x in entry[:2]):
            why = entry[2] if len(entry) > 2 and isinstance(entry[2], str) else ""
            out.append((entry[0], entry[1], why))
    return out


def search_sources(ctx: TaskContext, client, query: str, wanted: Track, prefs: QualityPrefs, timeout_ms: int,
                   response_limit: int) -> tuple[list[Candidate], int]:
    """Worker body: one Soulseek search, live counters as progress, then its files ranked for ``wanted``.

    Returns the ranked candidates and how many users answered. The search is
    stopped when cancelled or after :data:`SEARCH_HARD_LIMIT_S` of running, and
    deleted from slskd afterwards (:func:`~soulsync.core.search_run.search_and_wait`).
    """
    try:
        responses = search_and_wait(client, query, timeout_ms, response_limit,
                                    progress=lambda p: ctx.progress((p.responses, p.files)), wait=ctx.wait,
                                    poll_s=SEARCH_POLL_S, hard_limit_s=SEARCH_HARD_LIMIT_S, forget=True)
    except SearchCancelled:
        ctx.check()
        raise
    return rank_search_results(wanted, responses, prefs)[:MAX_RESULTS], len(responses)


class AttemptReplacement(QObject):
    """Replace a queue item's attempt: queue the chosen file, then cancel and remove the old item.

    Lives on the download service (so it outlives the dialog) and deletes
    itself when done. ``finished(ok, message)`` reports the outcome of queueing
    the new file.
    """

    finished = pyqtSignal(bool, str)

    def __init__(self, service, item: QueueItem, choice: SourceChoice, alternatives: Iterable[SourceChoice]) -> None:
        super().__init__(service)
        self.service = service
        self.item = item
        self.choice = choice
        self.alternatives = [a for a in alternatives
                             if (a.username, a.filename) != (choice.username, choice.filename) and not a.tried]
        self._settled = False
        self._over = False
        self._hears_errors = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REPLACE_TIMEOUT_MS)
        self._timer.timeout.connect(self._gave_up)

    def start(self) -> None:
        item, choice = self.item, self.choice
        meta = replace(item.meta, earlier_attempts=(
            *tried_sources(item), (item.username, item.filename, "replaced by you")))
        self.service.error.connect(self._error)
        self._hears_errors = True
        self._timer.start()
        self.service.enqueue([(choice.username, choice.filename, choice.size)], wanted=item.wanted,
                             candidates=[choice.candidate, *(a.candidate for a in self.alternatives)],
                             source=item.source, group_id=item.group_id, meta=meta, on_done=self._queued)

    def _queued(self, diff) -> None:
        if self._over:
            return
        self._stop_hearing_errors()
        if not diff.changed:
            self._settle(False, f"{file_name(self.choice.filename)} from {self.choice.username} is already in the "
                                "queue.")
            self._done()
            return
        self._settle(True, "")
        if self.item.finished:
            self.service.remove([self.item.id])
            self._done()
        else:
            self.service.diff_ready.connect(self._watch)
            self.service.cancel([self.item.id])

    def _watch(self, diff) -> None:
        old = diff.changed.get(self.item.id)
        if old is not None and old.finished and not self._over:
            self.service.remove([self.item.id])
            self._done()

    def _error(self, text: str) -> None:
        if text and not self._settled:
            self._settle(False, text)
            self._done()

    def _stop_hearing_errors(self) -> None:
        if self._hears_errors:
            self._hears_errors = False
            self.service.error.disconnect(self._error)

    def _gave_up(self) -> None:
        if not self._settled:
            self._settle(False, "The download queue did not answer; see the Downloads page.")
        log.warning("Replacing %s: the old attempt was not retired in time", self.item.id)
        self._done()

    def _settle(self, ok: bool, message: str) -> None:
        if not self._settled:
            self._settled = True
            self.finished.emit(ok, message)

    def _done(self) -> None:
        if self._over:
            return
        self._over = True
        self._stop_hearing_errors()
        try:
            self.service.diff_ready.disconnect(self._watch)
        except TypeError:  # it was never listening
            pass
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
    def _tried(self) -> dict[tuple[str, str], str]:
        return {(u, f): why or "failed" for u, f, why in tried_sources(self.item)}

    def _stored_sources(self) -> list[SourceChoice]:
        """The queue item's own remaining candidates, shown until a search answers."""
        tried = self._tried()
        current = (self.item.username, self.item.filename)
        out = []
        for entry in self.item.candidates:
            choice = SourceChoice.of(entry, tried)
            if choice is not None and (choice.username, choice.filename) != current:
                out.append(choice)
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
            search_sources, client, query, wanted, prefs, d.search_timeout_ms, d.response_limit,
            on_progress=lambda p, q=query: self.status_label.setText(
                f"Searching “{q}”: {p[0]} users, {p[1]} files so far…"),
            on_result=lambda value, q=query: self._found(q, *value),
            on_error=self._search_failed)

    def _found(self, query: str, candidates: list[Candidate], users: int) -> None:
        self._search_task = None
        tried = self._tried()
        current = (self.item.username, self.item.filename)
        rows = [c for c in (SourceChoice.of(x, tried) for x in candidates)
                if c is not None and (c.username, c.filename) != current]
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


def sources_found_text(query: str, users: int, rows: list[SourceChoice]) -> str:
    """What a source search for Fix… found, in words."""
    answered = f"“{query}”: {counted(users, 'user')} answered"
    if not rows:
        return f"{answered}, but no file is the wanted track. Edit the query and search again."
    fresh = sum(1 for r in rows if not r.tried)
    are = "file is" if len(rows) == 1 else "files are"
    return f"{answered}; {len(rows)} {are} the wanted track ({fresh} not tried yet), best first."


# ----------------------------------------------------------------------------- library matches


def library_found_text(n: int, set_before: bool) -> str:
    """What a library search for Fix match… found (``n`` > 0), in words."""
    fit = "fits" if n == 1 else "fit"
    return (f"{counted(n, 'library track')} {fit}, the closest to the wanted track first."
            + (" You set this match before." if set_before else ""))


@dataclass(frozen=True, slots=True)
class LibraryChoice:
    """What the user decided for a wanted track's library match (already stored)."""

    track: Track | None
    """The library track chosen; None for "not in library" and for "back to automatic"."""
    library_key: str | None
    automatic: bool = False
    """The override was removed: the matcher decides again."""

    @property
    def not_in_library(self) -> bool:
        return self.track is None and not self.automatic


def query_track(text: str) -> Track | None:
    """A typed ``Artist - Title`` (or just a title) as a Track to look up in the library index."""
    text = text.strip()
    if not text:
        return None
    artist, sep, title = text.partition(" - ")
    if sep and artist.strip() and title.strip():
        return Track(title.strip(), [artist.strip()])
    return Track(text, [])


class LibrarySearch:
    """Look library tracks up for a wanted track and a typed query: the index, then plain words.

    The index finds the track a query names (``Artist - Title``); the word
    scan finds anything whose artist, title or album contains every typed word
    (so half-typed words work). Hits are ordered by how well they match the
    wanted track. Thread-safe; the word texts are built on first use.
    """

    def __init__(self, tracks: Sequence[Track], index: LibraryIndex | None = None) -> None:
        self.tracks = list(tracks)
        self.index = index if index is not None else LibraryIndex(self.tracks)
        self._texts: list[str] | None = None
        self._lock = threading.Lock()

    def _words(self) -> list[str]:
        with self._lock:
            if self._texts is None:
                self._texts = [searchable(f"{' '.join(t.artists)} {t.title} {t.album}") for t in self.tracks]
            return self._texts

    def find(self, wanted: Track, query: str, limit: int = LIBRARY_RESULTS,
             cancelled=lambda: False) -> list[tuple[Track, float]]:
        """The best library tracks for ``query`` (``wanted`` itself when the query is empty)."""
        hits: dict[str, Track] = {}
        asked = query_track(query) or wanted
        for track, _score in self.index.search(asked, limit):
            hits.setdefault(library_key(track), track)
        words = searchable(query).split()
        if words:
            for n, text in enumerate(self._words()):
                if n % 20_000 == 0 and cancelled():
                    return []
                if all(w in text for w in words):
                    track = self.tracks[n]
                    hits.setdefault(library_key(track), track)
                    if len(hits) >= _TEXT_HITS:
                        break
        scored = [(t, match_score(wanted, t)) for t in hits.values()]
        scored.sort(key=lambda x: (-x[1], x[0].artist.casefold(), x[0].title.casefold()))
        return scored[:limit]


class LibraryTrackModel(RowTableModel):
    """Library tracks with how well each matches the wanted track."""

    COLUMNS = ("Match", "Title", "Artist", "Album", "Length", "Where")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[Track, float]] = []
        self.current_key: str | None = None

    def set_rows(self, rows: list[tuple[Track, float]]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        track, score = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.ForegroundRole and library_key(track) == self.current_key:
            return QBrush(QColor(ACCENT))
        if role == Qt.ItemDataRole.ToolTipRole:
            return (track.path or library_key(track)) + (
                "\nThe current match" if library_key(track) == self.current_key else "")
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        values = (f"{score:.0%}", track.title, ", ".join(track.artists), track.album, fmt_ms(track.duration_ms),
                  track.path or library_key(track))
        return values[col]


class LibraryMatchDialog(ManualCorrectionDialog):
    """Tell SoulSync which library track a wanted track is, or that the library lacks it.

    The choice is stored as an override (``Store.set_override``) before the
    dialog accepts; ``choice`` then holds it and ``override_saved`` carries it.
    """

    override_saved = pyqtSignal(object)
    """A :class:`LibraryChoice`, once stored."""

    def __init__(self, context: AppContext, wanted: Track, current_match: Track | None, library_source: str,
                 parent: QWidget | None = None, library_index: LibraryIndex | None = None,
                 library_tracks: Sequence[Track] | None = None) -> None:
        now = (f"Now matched to {describe_track(current_match)}" if current_match is not None
               else "Now: not found in the library")
        super().__init__(context, f"Wanted: {describe_track(wanted)}<br><span style='color:{MUTED}'>{now}</span>",
                         parent)
        self.setObjectName("library_match_dialog")
        self.setWindowTitle("Fix the library match")
        self.wanted = wanted
        self.current_match = current_match
        self.library_source = library_source
        self.choice: LibraryChoice | None = None
        self._library: LibrarySearch | None = None
        self._given = (library_tracks, library_index)
        self._find_task: TaskHandle | None = None
        self._has_override = False
        self.choose_button.setText("Use this track")
        self.not_in_library_button = self.buttons.addButton("Not in library", QDialogButtonBox.ButtonRole.ActionRole)
        self.not_in_library_button.setObjectName("not_in_library_button")
        self.automatic_button = self.buttons.addButton("Back to automatic", QDialogButtonBox.ButtonRole.ResetRole)
        self.automatic_button.setObjectName("automatic_button")
        self.automatic_button.setEnabled(False)
        self.search_button.setVisible(False)
        self.query_input.setPlaceholderText("Type an artist, a title or both (Artist - Title)…")

        self.track_model = LibraryTrackModel(self)
        self.track_model.current_key = library_key(current_match) if current_match is not None else None
        self.set_results_model(self.track_model, 5, {1: 240, 2: 160, 3: 200})
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(TYPING_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.search)
        self.query_input.textEdited.connect(lambda _text: self._debounce.start())
        self.not_in_library_button.clicked.connect(self.mark_not_in_library)
        self.automatic_button.clicked.connect(self.back_to_automatic)

        self.query_input.setText(f"{wanted.artist} - {wanted.title}" if wanted.artist else wanted.title)
        self.status_label.setText("Reading the library index…")
        self._load()

    def _load(self) -> None:
        """Build (or take) the library search and read whether an override exists, in a worker."""
        from soulsync.core.store import wanted_key

        store, source, (tracks, index) = self.context.store, self.library_source, self._given
        key = wanted_key(self.wanted)

        def work(ctx):
            library = LibrarySearch(tracks if tracks is not None else store.library_tracks(source), index)
            return library, key in store.overrides()

        def ready(value) -> None:
            self._library, self._has_override = value
            self.automatic_button.setEnabled(self._has_override)
            self.status_label.setText(f"{len(self._library.tracks)} tracks in the library."
                                      + (" You set this match before." if self._has_override else ""))
            self.search()

        self.start(work, on_result=ready,
                   on_error=lambda exc: self.status_label.setText(f"Could not read the library index: {exc}"))

    def search(self) -> None:
        """Look the query up in the library (in a worker); results replace the list."""
        library = self._library
        if library is None:
            return
        if self._find_task is not None:
            self._find_task.cancel()
        wanted, query = self.wanted, self.query_input.text()

        def work(ctx):
            return library.find(wanted, query, cancelled=lambda: ctx.cancelled)

        self._find_task = self.start(work, on_result=self._found)

    def _found(self, rows: list[tuple[Track, float]]) -> None:
        self._find_task = None
        self.track_model.set_rows(rows)
        if rows:
            self.results_view.selectRow(0)
            self.status_label.setText(library_found_text(len(rows), self._has_override))
        else:
            self.status_label.setText("No library track fits that. Try fewer words, or mark it as not in the "
                                      "library.")

    # ---- choosing -------------------------------------------------------------------
    def choose(self) -> None:
        row = self.selected_row()
        if row is None:
            return
        track = self.track_model.rows[row][0]
        self._save(LibraryChoice(track, library_key(track)))

    def mark_not_in_library(self) -> None:
        self._save(LibraryChoice(None, None))

    def back_to_automatic(self) -> None:
        self._save(LibraryChoice(None, None, automatic=True))

    def _save(self, choice: LibraryChoice) -> None:
        """Store the override in a worker (SQLite has one writer at a time), then accept."""
        store, wanted = self.context.store, self.wanted
        for button in (self.choose_button, self.not_in_library_button, self.automatic_button):
            button.setEnabled(False)

        def work(ctx):
            if choice.automatic:
                store.clear_override(wanted)
            else:
                store.set_override(wanted, choice.library_key)
            return choice

        def saved(value: LibraryChoice) -> None:
            self.choice = value
            self.override_saved.emit(value)
            self.accept()

        def failed(exc: Exception) -> None:
            self.status_label.setText(f"Could not save your choice: {exc}")
            self.not_in_library_button.setEnabled(True)
            self.automatic_button.setEnabled(self._has_override)
            self._selection_changed()

        self.start(work, on_result=saved, on_error=failed)
