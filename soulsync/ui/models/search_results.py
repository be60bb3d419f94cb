"""Tree model over grouped search results: albums (expandable to their tracks) and singles.

Filtering and sorting happen here on precomputed keys (a sort key per row is
computed once per order change), which stays fast with tens of thousands of
files. Merging new results keeps rows that already exist (and therefore the
user's selection and scroll position, which the view restores by key).
"""
from __future__ import annotations

from typing import Any, Callable

from PyQt6.QtCore import QAbstractItemModel, QModelIndex, Qt, pyqtSignal

from soulsync.core.quality import quality_label
from soulsync.core.search import ResultAlbum, ResultItem, SearchResults
from soulsync.core.search_filters import FilterSpec, SortBy, sort_key

COLUMNS = ("Name", "Quality", "Tracks", "Size", "User", "Speed", "Queue", "Status")
COL_NAME, COL_QUALITY, COL_TRACKS, COL_SIZE, COL_USER, COL_SPEED, COL_QUEUE, COL_STATUS = range(len(COLUMNS))

ItemRole = Qt.ItemDataRole.UserRole + 1
KeyRole = Qt.ItemDataRole.UserRole + 2


def human_size(n: int | float) -> str:
    n = float(n or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def human_speed(bps: int | float) -> str:
    return f"{human_size(bps)}/s" if bps else "–"


def fmt_duration(seconds: int | float | None) -> str:
    if not seconds:
        return ""
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


SortKeys = dict[SortBy, dict[int, tuple]]


def prepare_for_view(results: SearchResults, query: str, order: list[str] | None = None) -> SortKeys:
    """Do in the worker what the view would otherwise do on the GUI thread: build every top-level
    item's folded match texts (text filters read them) and every order's sort key (by ``id(item)``),
    so filtering and re-sorting later only compare ready values."""
    items: list[ResultItem] = [*results.albums, *results.singles]
    for item in items:
        item.text  # noqa: B018  (computed once and kept on the item)
        item.name_text  # noqa: B018
    return {by: {id(item): key(item) for item in items}
            for by, key in ((b, sort_key(b, query, order)) for b in SortBy)}


class SearchResultsModel(QAbstractItemModel):
    """Top rows: albums then singles, filtered and sorted; albums have their tracks as children."""

    counts_changed = pyqtSignal(int, int)
    """(rows shown, rows total)"""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._all: list[ResultItem] = []
        self._seen: set[tuple[str, str]] = set()
        self._rows: list[ResultItem] = []
        self._row_of_album: dict[int, int] = {}
        self._filter = FilterSpec()
        self._sort = SortBy.RELEVANCE
        self._query = ""
        self._order: list[str] | None = None
        self._status: Callable[[ResultItem], str] = lambda item: ""
        self._keys: SortKeys = {}

    # ---- data in --------------------------------------------------------------
    def set_results(self, results: SearchResults, query: str, keys: SortKeys | None = None) -> None:
        """Replace everything (a new search); ``keys`` from :func:`prepare_for_view` when available."""
        self._query = query
        self._all = [*results.albums, *results.singles]
        self._seen = {item.key for item in self._all}
        self._keys = dict(keys or {})
        self._rebuild()

    def merge_results(self, results: SearchResults) -> int:
        """Add items not shown yet (same search run again or deeper); returns how many were new."""
        everything: list[ResultItem] = [*results.albums, *results.singles]
        new = [item for item in everything if item.key not in self._seen]
        if new:
            self._all.extend(new)
            self._seen.update(item.key for item in new)
            for by, table in self._keys.items():
                key = sort_key(by, self._query, self._order)
                table.update((id(item), key(item)) for item in new)
            self._rebuild()
        return len(new)

    def set_filter(self, spec: FilterSpec) -> None:
        if spec != self._filter:
            self._filter = spec
            self._rebuild()

    def set_sort(self, by: SortBy, quality_order: list[str] | None = None) -> None:
        if by != self._sort or quality_order != self._order:
            if quality_order != self._order:
                self._keys.pop(SortBy.QUALITY, None)
            self._sort, self._order = by, quality_order
            self._rebuild()

    def set_status_provider(self, provider: Callable[[ResultItem], str]) -> None:
        """``provider(item) -> "queued" | "in library" | ""``; call :meth:`refresh_status` after changes."""
        self._status = provider
        self.refresh_status()

    def refresh_status(self) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0, COL_STATUS), self.index(len(self._rows) - 1, COL_STATUS))

    @property
    def total(self) -> int:
        return len(self._all)

    @property
    def shown(self) -> int:
        return len(self._rows)

    def items(self) -> list[ResultItem]:
        return list(self._rows)

    # ---- ordering ---------------------------------------------------------------
    def _rebuild(self) -> None:
        """Filter and sort all items into the shown rows.

        Rows appear and vanish, so persistent indexes cannot be mapped; a reset is
        cheapest, and the view restores selection, expansion and scroll by key.
        """
        spec = self._filter
        rows = self._all if spec.is_empty else [item for item in self._all if spec.matches(item)]
        table = self._keys.get(self._sort)
        if table is None:
            key = sort_key(self._sort, self._query, self._order)
            table = self._keys[self._sort] = {id(item): key(item) for item in self._all}
        rows = sorted(rows, key=lambda item: table[id(item)])
        self.beginResetModel()
        self._rows = rows
        self._index_rows()
        self.endResetModel()
        self.counts_changed.emit(len(self._rows), len(self._all))

    def _index_rows(self) -> None:
        self._row_of_album = {id(item): row for row, item in enumerate(self._rows) if isinstance(item, ResultAlbum)}

    def index_of_key(self, key: tuple[str, str]) -> QModelIndex:
        for row, item in enumerate(self._rows):
            if item.key == key:
                return self.index(row, 0)
        return QModelIndex()

    # ---- Qt model ---------------------------------------------------------------
    def index(self, row: int, column: int, parent: QModelIndex = QModelIndex()) -> QModelIndex:
        if column < 0 or column >= len(COLUMNS) or row < 0:
            return QModelIndex()
        if not parent.isValid():
            if row >= len(self._rows):
                return QModelIndex()
            return self.createIndex(row, column, None)
        album = self._rows[parent.row()] if parent.internalPointer() is None else None
        if type(album) is not ResultAlbum or row >= len(album.tracks):
            return QModelIndex()
        return self.createIndex(row, column, album)

    def parent(self, child: QModelIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not child.isValid():
            return QModelIndex()
        album = child.internalPointer()
        if album is None:
            return QModelIndex()
        row = self._row_of_album.get(id(album))
        return self.createIndex(row, 0, None) if row is not None else QModelIndex()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        if not parent.isValid():
            return len(self._rows)
        if parent.internalPointer() is not None or parent.column() != 0:
            return 0
        item = self._rows[parent.row()]
        return item.track_count if isinstance(item, ResultAlbum) else 0

    def hasChildren(self, parent: QModelIndex = QModelIndex()) -> bool:
        return self.rowCount(parent) > 0

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def item_at(self, index: QModelIndex) -> ResultItem | None:
        if not index.isValid():
            return None
        album = index.internalPointer()
        if album is None:
            return self._rows[index.row()] if index.row() < len(self._rows) else None
        return album.tracks[index.row()]

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        item = self.item_at(index)
        if item is None:
            return None
        if role == ItemRole:
            return item
        if role == KeyRole:
            return item.key
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(item, col, index.internalPointer() is not None)
        if role == Qt.ItemDataRole.ToolTipRole:
            return item.folder if isinstance(item, ResultAlbum) else item.file.filename
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_TRACKS, COL_SIZE, COL_SPEED, COL_QUEUE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, item: ResultItem, col: int, child: bool) -> str:
        if col == COL_NAME:
            if isinstance(item, ResultAlbum):
                year = f" ({item.year})" if item.year else ""
                return f"{item.display_name}{year}"
            if child:
                g = item.guess
                num = f"{g.track_number:02d}. " if g.track_number else ""
                length = fmt_duration(item.file.length)
                return f"{num}{g.title}" + (f"   {length}" if length else "")
            return item.display_name
        if col == COL_QUALITY:
            return quality_label(item.ext, item.bitrate, item.bit_depth, item.sample_rate, item.is_vbr)
        if col == COL_TRACKS:
            return str(item.track_count) if isinstance(item, ResultAlbum) else ""
        if col == COL_SIZE:
            return human_size(item.size)
        if child and col in (COL_USER, COL_SPEED, COL_QUEUE):
            return ""
        if col == COL_USER:
            return item.username
        if col == COL_SPEED:
            return human_speed(item.upload_speed)
        if col == COL_QUEUE:
            return "free slot" if item.has_free_slot else f"{item.queue_length} queued"
        if col == COL_STATUS:
            return self._status(item)
        return ""
