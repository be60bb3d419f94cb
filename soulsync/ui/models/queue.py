"""Table model of download queue items, updated by diff so unchanged rows are not repainted."""
from __future__ import annotations

from typing import Any, Iterable

from PyQt6.QtCore import QAbstractTableModel, QModelIndex, Qt

from soulsync.core.queue_model import QueueState, queue_state_words
from soulsync.core.store_records import QueueItem
from soulsync.ui.models.search_results import human_size, human_speed

COLUMNS = ("Track", "User", "Status", "Progress", "Speed", "ETA", "Size", "Attempt")
COL_TRACK, COL_USER, COL_STATUS, COL_PROGRESS, COL_SPEED, COL_ETA, COL_SIZE, COL_ATTEMPT = range(len(COLUMNS))
ItemRole = Qt.ItemDataRole.UserRole + 1
ProgressRole = Qt.ItemDataRole.UserRole + 3

_EXPLAINED = frozenset({QueueState.QUEUED, QueueState.QUEUED_LOCALLY, QueueState.REQUESTED})
"""Waiting states whose row shows the item's reason."""


def file_name(remote: str) -> str:
    return remote.replace("\\", "/").rsplit("/", 1)[-1]


def item_title(item: QueueItem) -> str:
    if item.wanted is not None:
        return item.wanted.display()
    return file_name(item.filename)


def state_text(item: QueueItem) -> str:
    words = queue_state_words(item.state)
    if item.state == QueueState.QUEUED_REMOTELY and item.place_in_queue:
        words = f"Queued at peer (#{item.place_in_queue})"
    # a reason says why it waits: sent again, moved on to another source, or slskd retrying it itself
    if item.reason and item.reason != words and (item.finished or item.state in _EXPLAINED):
        words = f"{words}: {item.reason}"
    refused = len(refused_fakes(item))
    if refused and item.finished:
        words = f"{words} · {refused} fake source{'s' if refused > 1 else ''} refused"
    return words


def refused_fakes(item: QueueItem) -> list[tuple[str, str, str]]:
    """``(username, filename, why)`` of the sources refused as fakes for this item (``meta.refused``)."""
    return list(item.meta.refused)


def eta_text(item: QueueItem) -> str:
    if item.state != QueueState.IN_PROGRESS or not item.speed or not item.size:
        return ""
    remaining = max(0, item.size - item.bytes_done) / item.speed
    return f"{int(remaining // 60)}:{int(remaining % 60):02d}"


class QueueTableModel(QAbstractTableModel):
    """Rows of :class:`QueueItem`; :meth:`apply` inserts, updates and removes by id."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._items: list[QueueItem] = []
        self._row: dict[str, int] = {}

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def item(self, row: int) -> QueueItem:
        return self._items[row]

    def items(self) -> list[QueueItem]:
        return list(self._items)

    def row_of(self, item_id: str) -> int | None:
        return self._row.get(item_id)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = self._items[index.row()]
        col = index.column()
        if role == ItemRole:
            return item
        if role == ProgressRole:
            return item.percent
        if role == Qt.ItemDataRole.ToolTipRole:
            tried = "".join(f"\n• tried {u}: {why}" for u, _f, why in (t for t in item.tried if len(t) == 3))
            return f"{item.filename}\nfrom {item.username}{tried}" + (f"\n{item.reason}" if item.reason else "")
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_SPEED, COL_ETA, COL_SIZE, COL_ATTEMPT):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if col == COL_TRACK:
            return item_title(item)
        if col == COL_USER:
            return item.username
        if col == COL_STATUS:
            return state_text(item)
        if col == COL_PROGRESS:
            return f"{item.percent:.0f}%"
        if col == COL_SPEED:
            return human_speed(item.speed) if item.state == QueueState.IN_PROGRESS else ""
        if col == COL_ETA:
            return eta_text(item)
        if col == COL_SIZE:
            return human_size(item.size)
        if col == COL_ATTEMPT:
            return str(item.attempt) if item.attempt > 1 else ""
        return None

    def apply(self, items: Iterable[QueueItem], removed: Iterable[str] = ()) -> tuple[int, int, int]:
        """Merge changed items in (update or append) and drop removed ids.

        Returns (inserted, updated, removed) counts. Only rows whose values
        changed emit ``dataChanged``.
        """
        removed_ids = [i for i in removed if i in self._row]
        for item_id in sorted(removed_ids, key=lambda i: self._row[i], reverse=True):
            row = self._row[item_id]
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._items[row]
            self.endRemoveRows()
            self._reindex()
        new: list[QueueItem] = []
        updated = 0
        for item in items:
            row = self._row.get(item.id)
            if row is None:
                new.append(item)
                continue
            old = self._items[row]
            if _visible(old) != _visible(item):
                self._items[row] = item
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
                updated += 1
            else:
                self._items[row] = item
        if new:
            start = len(self._items)
            self.beginInsertRows(QModelIndex(), start, start + len(new) - 1)
            self._items.extend(new)
            self._reindex()
            self.endInsertRows()
        return len(new), updated, len(removed_ids)

    def reset_items(self, items: list[QueueItem]) -> None:
        self.beginResetModel()
        self._items = list(items)
        self._reindex()
        self.endResetModel()

    def _reindex(self) -> None:
        self._row = {item.id: row for row, item in enumerate(self._items)}


def _visible(item: QueueItem) -> tuple:
    """What a row shows; rows whose tuple is unchanged are not repainted."""
    return (item.state, item.reason, round(item.percent, 1), int(item.speed / 1024), item.place_in_queue,
            item.attempt, item.username, item.filename, item.size)

