"""Manual correction: fix a failed or wrong download, or a wrong library match, by hand.

Two modal dialogs share one frame, :class:`ManualCorrectionDialog` (the wanted
track, an editable query, live results ranked by the matching engine):

* :class:`~soulsync.ui.dialogs.download_correction.DownloadCorrectionDialog`
  (``ManualCorrectionDialog.for_download``) searches Soulseek through slskd in
  a worker, ranks the files with
  :func:`~soulsync.core.result_ranking.rank_search_results` (score, quality, user and
  why), and lists the sources the queue item already tried. Picking a file
  replaces the attempt: the chosen file is queued with the same wanted track
  and metadata, then the old attempt is cancelled (if it still runs) and
  removed from the queue.
* :class:`~soulsync.ui.dialogs.library_match.LibraryMatchDialog`
  (``ManualCorrectionDialog.for_library_match``) searches the library index
  live as the user types. Picking a track, or "Not in library", stores an
  override in SQLite (``Store.set_override``) that every later analysis
  honours; "Back to automatic" removes it.

The workflows behind them are Qt-free: :mod:`soulsync.core.replace_source` and
:mod:`soulsync.core.library_search`. The dialogs hold widgets and wiring only.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from PyQt6.QtCore import QAbstractTableModel, Qt
from PyQt6.QtWidgets import (
    QAbstractItemView, QDialog, QDialogButtonBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
    QSplitter, QTableView, QVBoxLayout, QWidget,
)

from soulsync.context import AppContext
from soulsync.core.library_index import LibraryIndex
from soulsync.core.models import Track
from soulsync.core.ratelimit import SearchRateLimiter
from soulsync.core.store_records import QueueItem
from soulsync.ui.models.playlists import fmt_ms
from soulsync.ui.workers import TaskHandle, run_task

if TYPE_CHECKING:
    from soulsync.core.library_search import LibraryChoice
    from soulsync.ui.dialogs.download_correction import DownloadCorrectionDialog


def describe_track(track: Track) -> str:
    """``<b>Title</b> — Artists · Album · 3:45`` (rich text) for dialog headers."""
    from html import escape

    parts = [", ".join(track.artists), track.album, fmt_ms(track.duration_ms)]
    rest = " · ".join(escape(p) for p in parts if p)
    return f"<b>{escape(track.title)}</b>" + (f" — {rest}" if rest else "")

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
        from soulsync.ui.dialogs.download_correction import DownloadCorrectionDialog

        return DownloadCorrectionDialog(context, queue_item, download_service, parent, rate_limiter)

    @classmethod
    def for_library_match(cls, context: AppContext, wanted: Track, current_match: Track | None,
                          library_source: str, parent: QWidget | None = None,
                          library_index: LibraryIndex | None = None,
                          library_tracks: Sequence[Track] | None = None) -> "LibraryChoice | None":
        """Ask (modally) which library track ``wanted`` is; the choice is stored before this returns.

        Returns None when the user cancelled."""
        from soulsync.ui.dialogs.library_match import LibraryMatchDialog

        dialog = LibraryMatchDialog(context, wanted, current_match, library_source, parent,
                                    library_index=library_index, library_tracks=library_tracks)
        try:
            return dialog.choice if dialog.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dialog.deleteLater()
