"""The Artists page's views: the library's artists as a sortable, searchable list with avatars, and an artist's
discography grouped into albums, singles, compilations and appearances, each release owned, partial or missing."""
from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import cast

from PyQt6.QtCore import (
    QAbstractTableModel, QModelIndex, QRectF, QSize, QSortFilterProxyModel, Qt,
)
from PyQt6.QtGui import QColor, QPainter, QPixmap, QStandardItem, QStandardItemModel
from PyQt6.QtWidgets import (
    QAbstractItemView, QHeaderView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QTreeView,
)

from soulsync.core.discography import GROUP_LABELS, GROUP_ORDER, Discography, ReleaseState, ReleaseStatus
from soulsync.core.models import AlbumType, Track
from soulsync.core.normalize import fold
from soulsync.ui.theme import ACCENT, ERROR, MUTED, TEXT, WARN

log = logging.getLogger(__name__)


@dataclass
class ArtistRow:
    name: str
    albums: int
    tracks: int
    search_text: str


def library_artists(tracks: list[Track]) -> list[ArtistRow]:
    """Library artists (album artist, else first credited artist) with album and track counts."""
    albums: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, int] = defaultdict(int)
    names: dict[str, str] = {}
    for t in tracks:
        name = (t.album_artist or t.artist or "").strip()
        if not name:
            continue
        key = fold(name)
        names.setdefault(key, name)
        counts[key] += 1
        if t.album:
            albums[key].add(fold(t.album))
    return [ArtistRow(names[k], len(albums[k]), counts[k], k) for k in names]


class ArtistListModel(QAbstractTableModel):
    NameRole = Qt.ItemDataRole.UserRole + 1
    SortRole = Qt.ItemDataRole.UserRole + 2

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[ArtistRow] = []

    def set_rows(self, rows: list[ArtistRow]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else 1

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.name
        if role == self.NameRole:
            return row
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{row.name}\n{_count(row.albums, 'album')}, {_count(row.tracks, 'track')} in the library"
        return None


class ArtistSortProxy(QSortFilterProxyModel):
    """Filters by folded name; sorts by name, album count or track count."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.needle = ""
        self.by = "name"

    def set_needle(self, text: str) -> None:
        self.needle = fold(text).strip()
        self.invalidateFilter()

    def set_order(self, by: str) -> None:
        self.by = by
        self.invalidate()
        self.sort(0, Qt.SortOrder.AscendingOrder)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        if not self.needle:
            return True
        return self.needle in self._source().rows[source_row].search_text

    def _source(self) -> ArtistListModel:
        return cast(ArtistListModel, self.sourceModel())

    def lessThan(self, left: QModelIndex, right: QModelIndex) -> bool:
        a = self._source().rows[left.row()]
        b = self._source().rows[right.row()]
        if self.by == "albums":
            return (-a.albums, a.search_text) < (-b.albums, b.search_text)
        if self.by == "tracks":
            return (-a.tracks, a.search_text) < (-b.tracks, b.search_text)
        return a.search_text < b.search_text


class ImageCache:
    """Artist images on disk (cache dir, at most ``limit`` files), loaded lazily; initials meanwhile.

    Rows ask for their image when painted (:meth:`want`); the page fetches
    wanted images in a worker, a few at a time, and calls :meth:`forget` so
    the next paint reads the file.
    """

    def __init__(self, folder, limit: int = 3000) -> None:
        self.folder = folder
        self.limit = limit
        self.folder.mkdir(parents=True, exist_ok=True)
        self._pixmaps: dict[str, QPixmap | None] = {}
        self.wanted: list[str] = []
        self._asked: set[str] = set()

    def path_for(self, name: str):
        return self.folder / (hashlib.sha1(fold(name).encode()).hexdigest() + ".jpg")

    def pixmap(self, name: str) -> QPixmap | None:
        if name not in self._pixmaps:
            path = self.path_for(name)
            self._pixmaps[name] = QPixmap(str(path)) if path.exists() else None
        return self._pixmaps[name]

    def want(self, name: str) -> None:
        """A row showed initials: fetch this artist's image once."""
        if name not in self._asked:
            self._asked.add(name)
            self.wanted.append(name)

    def forget(self, name: str) -> None:
        self._pixmaps.pop(name, None)

    def store(self, name: str, data: bytes) -> None:
        """Write an image, keeping the folder under ``limit`` files (oldest go first)."""
        from soulsync.services.images import store_bounded

        store_bounded(self.path_for(name), data, self.limit)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _avatar_color(name: str) -> QColor:
    hue = int(hashlib.md5(name.encode()).hexdigest()[:4], 16) % 360
    return QColor.fromHsl(hue, 90, 70)


class ArtistDelegate(QStyledItemDelegate):
    """Avatar (image or initials), name, and album/track counts in one row."""

    def __init__(self, images: ImageCache, parent=None) -> None:
        super().__init__(parent)
        self.images = images

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return QSize(200, 52)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        row: ArtistRow = index.data(ArtistListModel.NameRole)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, QColor("#24473a"))
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(option.rect, QColor("#1b1f26"))
        r = option.rect
        avatar = QRectF(r.left() + 10, r.top() + 7, 38, 38)
        pix = self.images.pixmap(row.name)
        if pix is None:
            self.images.want(row.name)
        if pix is not None and not pix.isNull():
            from PyQt6.QtGui import QPainterPath

            path = QPainterPath()
            path.addEllipse(avatar)
            painter.setClipPath(path)
            painter.drawPixmap(avatar.toRect(), pix)
            painter.setClipping(False)
        else:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(_avatar_color(row.name))
            painter.drawEllipse(avatar)
            painter.setPen(QColor("#111318"))
            initials = "".join(w[0] for w in row.name.split()[:2]).upper() or "?"
            font = painter.font()
            font.setBold(True)
            painter.setFont(font)
            painter.drawText(avatar, Qt.AlignmentFlag.AlignCenter, initials)
            font.setBold(False)
            painter.setFont(font)
        text_left = r.left() + 58
        painter.setPen(QColor(TEXT))
        painter.drawText(QRectF(text_left, r.top() + 6, r.width() - 66, 20), Qt.AlignmentFlag.AlignVCenter,
                         row.name)
        painter.setPen(QColor(MUTED))
        painter.drawText(QRectF(text_left, r.top() + 26, r.width() - 66, 18), Qt.AlignmentFlag.AlignVCenter,
                         f"{_count(row.albums, 'album')} · {_count(row.tracks, 'track')}")
        painter.restore()


STATUS_COLORS = {ReleaseStatus.OWNED: ACCENT, ReleaseStatus.PARTIAL: WARN, ReleaseStatus.MISSING: ERROR}


class DiscographyView(QTreeView):
    """Groups → releases (owned / partial n of m / missing) → tracks."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("discography_view")
        self.model_ = QStandardItemModel(self)
        self.model_.setHorizontalHeaderLabels(["Release / track", "Year", "Status"])
        self.setModel(self.model_)
        self.setUniformRowHeights(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(1, 60)
        header.resizeSection(2, 140)
        header.setStretchLastSection(False)

    def show_discography(self, disco: Discography, include_appears_on: bool) -> None:
        self.model_.removeRows(0, self.model_.rowCount())
        for kind in GROUP_ORDER:
            releases = disco.group(kind)
            if not releases or (kind is AlbumType.APPEARS_ON and not include_appears_on):
                continue
            owned = sum(1 for r in releases if r.status is ReleaseStatus.OWNED)
            group = QStandardItem(f"{GROUP_LABELS[kind]} ({owned} of {len(releases)} complete)")
            font = group.font()
            font.setBold(True)
            group.setFont(font)
            self.model_.appendRow([group, QStandardItem(""), QStandardItem("")])
            for release in releases:
                group.appendRow(self._release_row(release))
            self.setExpanded(group.index(), True)

    def _release_row(self, release: ReleaseState) -> list[QStandardItem]:
        name = QStandardItem(release.album.title)
        name.setData(release, Qt.ItemDataRole.UserRole)
        year = QStandardItem(str(release.album.year or ""))
        words = release.status.label
        if release.status is ReleaseStatus.PARTIAL:
            words = f"{words} ({release.owned_count} of {release.total})"
        status = QStandardItem(words)
        status.setForeground(QColor(STATUS_COLORS[release.status]))
        for state in release.tracks:
            t = state.track
            num = f"{t.track_number:02d}. " if t.track_number else ""
            child = QStandardItem(f"{num}{t.title}")
            child.setData(state, Qt.ItemDataRole.UserRole)
            tip = f"In library: {state.match.track.path or state.match.track.title} " \
                  f"(score {state.match.score:.2f})" if state.owned else "Not in the library"
            child.setToolTip(tip)
            mark = QStandardItem("Owned" if state.owned else "Missing")
            mark.setForeground(QColor(ACCENT if state.owned else ERROR))
            name.appendRow([child, QStandardItem(""), mark])
        return [name, year, status]
