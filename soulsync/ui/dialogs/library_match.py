"""Fix the library match: tell SoulSync which library track a wanted track is, or that it is missing.

The search and the stored choice are :mod:`soulsync.core.library_search`; the
dialog runs them in workers and shows the hits.
"""
from __future__ import annotations

from typing import Any, Sequence

from PyQt6.QtCore import QModelIndex, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QBrush, QColor
from PyQt6.QtWidgets import QDialogButtonBox, QWidget

from soulsync.context import AppContext
from soulsync.core.library_search import LibraryChoice, LibrarySearch, open_library_search, save_library_choice
from soulsync.core.library_index import LibraryIndex
from soulsync.core.models import Track
from soulsync.core.analysis import library_key
from soulsync.ui.dialogs.manual_correction import ManualCorrectionDialog, describe_track
from soulsync.ui.models.base import RowTableModel
from soulsync.ui.models.playlists import fmt_ms
from soulsync.ui.theme import ACCENT, MUTED
from soulsync.ui.wording import counted
from soulsync.ui.workers import TaskHandle

TYPING_DEBOUNCE_MS = 250


def library_found_text(n: int, set_before: bool) -> str:
    """What a library search for Fix match… found (``n`` > 0), in words."""
    fit = "fits" if n == 1 else "fit"
    return (f"{counted(n, 'library track')} {fit}, the closest to the wanted track first."
            + (" You set this match before." if set_before else ""))


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
        store, source, wanted, (tracks, index) = self.context.store, self.library_source, self.wanted, self._given

        def work(ctx):
            return open_library_search(store, source, wanted, tracks, index)

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
            return save_library_choice(store, wanted, choice)

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
