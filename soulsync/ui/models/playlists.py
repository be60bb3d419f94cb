"""Models for the Sync page: the playlist list and a playlist's tracks with their status."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from PyQt6.QtCore import QAbstractListModel, QModelIndex, QSortFilterProxyModel, Qt
from PyQt6.QtGui import QColor, QIcon, QPixmap

from soulsync.core.models import Playlist, Track
from soulsync.core.playlist_state import PlaylistTrackState
from soulsync.ui.models.base import RowTableModel
from soulsync.ui.theme import ACCENT, ERROR, MUTED, WARN

PlaylistRole = Qt.ItemDataRole.UserRole + 1
RowRole = Qt.ItemDataRole.UserRole + 2
StatusRole = Qt.ItemDataRole.UserRole + 3


def count_words(count: int | None) -> str:
    """A playlist's entry count in words; None (the service did not say) is unknown, not 0."""
    return "track count unknown" if count is None else f"{count} tracks"


class PlaylistListModel(QAbstractListModel):
    """Playlists with owner, track count, last analysis and a cover thumbnail; one whose tracks cannot be
    read says so instead of an analysis (its reason is the tooltip)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.playlists: list[Playlist] = []
        self.analysis: dict[str, tuple[int, int, float]] = {}
        self.icons: dict[str, QIcon] = {}

    def set_playlists(self, playlists: list[Playlist], analysis: dict[str, tuple[int, int, float]]) -> None:
        self.beginResetModel()
        self.playlists = playlists
        self.analysis = analysis
        self.endResetModel()

    def set_icon(self, playlist_id: str, image_path: str) -> None:
        pix = QPixmap(image_path)
        if pix.isNull():
            return
        self.icons[playlist_id] = QIcon(pix)
        for row, p in enumerate(self.playlists):
            if p.id == playlist_id:
                index = self.index(row)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def set_analysis(self, playlist_id: str, owned: int, missing: int, when: float) -> None:
        self.analysis[playlist_id] = (owned, missing, when)
        for row, p in enumerate(self.playlists):
            if p.id == playlist_id:
                index = self.index(row)
                self.dataChanged.emit(index, index)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.playlists)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        p = self.playlists[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            source = {"liked": "Liked Songs", "csv": "CSV import", "m3u": "M3U import"}.get(p.source, p.owner)
            count = count_words(p.track_count)
            line2 = f"{source} · {count}" if source else count
            if p.unreadable:
                line2 += " · can't be read"
            elif p.id in self.analysis:
                owned, missing, _ = self.analysis[p.id]
                line2 += f" · {missing} missing" if missing else " · complete"
            return f"{p.name}\n{line2}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self.icons.get(p.id)
        if role == PlaylistRole:
            return p
        if role == Qt.ItemDataRole.ToolTipRole:
            return p.unreadable or p.description or p.name
        if role == Qt.ItemDataRole.ForegroundRole and p.unreadable:
            return QColor(MUTED)
        return None


@dataclass
class TrackRow:
    """A playlist track and what the app knows of it."""

    position: int
    track: Track
    status: PlaylistTrackState = PlaylistTrackState.UNKNOWN
    """A :class:`PlaylistTrackState` (given as its value, it is made the member)."""
    library_track: Track | None = None
    score: float | None = None
    ambiguous: bool = False
    detail: str = ""
    """Why it failed, download progress, etc."""
    playlist_id: str | None = None

    def __post_init__(self) -> None:
        self.status = PlaylistTrackState(self.status)


STATUS_COLORS = {
    PlaylistTrackState.OWNED: ACCENT, PlaylistTrackState.DOWNLOADED: ACCENT, PlaylistTrackState.MISSING: ERROR,
    PlaylistTrackState.FAILED: ERROR, PlaylistTrackState.WISHLIST: ERROR, PlaylistTrackState.QUEUED: WARN,
    PlaylistTrackState.DOWNLOADING: WARN, PlaylistTrackState.SEARCHING: WARN, PlaylistTrackState.IGNORED: MUTED,
    PlaylistTrackState.UNKNOWN: MUTED,
}
TRACK_COLUMNS = ("#", "Title", "Artist", "Album", "Time", "Status", "In library", "Match")


def fmt_ms(ms: int | None) -> str:
    if not ms:
        return ""
    s = int(ms // 1000)
    return f"{s // 60}:{s % 60:02d}"


class TrackTableModel(RowTableModel):
    COLUMNS = TRACK_COLUMNS
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[TrackRow] = []

    def update_rows(self, changed: dict[int, TrackRow]) -> None:
        """Replace rows by position and repaint only those."""
        for row, value in changed.items():
            if 0 <= row < len(self.rows):
                self.rows[row] = value
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(TRACK_COLUMNS) - 1))

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        col = index.column()
        if role == RowRole:
            return row
        if role == StatusRole:
            return row.status
        if role == Qt.ItemDataRole.ForegroundRole and col == 5:
            return QColor(STATUS_COLORS[PlaylistTrackState(row.status)])
        if role == Qt.ItemDataRole.ToolTipRole:
            if row.library_track is not None:
                lib = row.library_track
                amb = "\nAnother library track matches almost as well: check it" if row.ambiguous else ""
                return f"Matched {lib.display()} ({lib.album})\n{lib.path or ''}{amb}"
            return row.detail or None
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        t = row.track
        if col == 0:
            return str(row.position + 1)
        if col == 1:
            return t.title
        if col == 2:
            return ", ".join(t.artists)
        if col == 3:
            return t.album
        if col == 4:
            return fmt_ms(t.duration_ms)
        if col == 5:
            state = PlaylistTrackState(row.status)
            return f"{state.label}: {row.detail}" if row.detail and state.explained else state.label
        if col == 6:
            return row.library_track.display() if row.library_track is not None else ""
        if col == 7:
            if row.score is None:
                return ""
            return f"{row.score:.0%}" + (" ?" if row.ambiguous else "")
        return None


class StatusFilterProxy(QSortFilterProxyModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.statuses: set[str] = set()
        self.text = ""

    def set_statuses(self, statuses: set[str]) -> None:
        self.statuses = statuses
        self.invalidateFilter()

    def set_text(self, text: str) -> None:
        self.text = text.lower().strip()
        self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        row = cast(TrackTableModel, self.sourceModel()).rows[source_row]
        if self.statuses and row.status not in self.statuses:
            return False
        if self.text:
            t = row.track
            hay = f"{t.title} {' '.join(t.artists)} {t.album}".lower()
            return all(word in hay for word in self.text.split())
        return True
