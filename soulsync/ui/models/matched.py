"""The models of the Matched download dialog: the Spotify releases proposed for a search result,
and the pairing of its files with the chosen release's tracks."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PyQt6.QtCore import QModelIndex, Qt
from PyQt6.QtGui import QBrush, QColor, QImage, QPixmap

from soulsync.core.matching import MATCH_THRESHOLD
from soulsync.core.models import Track
from soulsync.core.pairing import AlbumFile, AlbumProposal, Pair, Pairing, TrackProposal
from soulsync.ui.models.base import RowTableModel
from soulsync.ui.models.playlists import fmt_ms
from soulsync.ui.theme import ERROR, MUTED, WARN

THUMB = 48
"""Cover thumbnail size in the proposals table (pixels)."""

Proposal = AlbumProposal | TrackProposal


def proposal_image(p: Proposal, covers: dict[str, str]) -> str | None:
    """The cover URL of a proposal (a track's comes from its album, once read)."""
    if isinstance(p, AlbumProposal):
        return p.album.image_url
    return covers.get(p.track.spotify_album_id or "")


class ProposalModel(RowTableModel):
    """Spotify albums (or tracks) proposed for the search result, best first."""

    ALBUM_COLUMNS = ("", "Album", "Artist", "Year", "Tracks", "Match")
    TRACK_COLUMNS = ("", "Track", "Artist", "Album", "Length", "Match")

    def __init__(self, tracks: bool, parent=None) -> None:
        super().__init__(parent)
        self.columns = self.TRACK_COLUMNS if tracks else self.ALBUM_COLUMNS
        self.first_number_column = 4 if tracks else 3
        """Columns from here on hold numbers (year, tracks, length, match): right-aligned."""
        self.rows: list[Proposal] = []
        self.covers: dict[str, QPixmap] = {}
        """Thumbnails by image URL."""
        self.album_images: dict[str, str] = {}
        """Spotify album id -> image URL, for track proposals once their album is known."""

    def set_rows(self, rows: list[Proposal]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def replace(self, row: int, proposal: Proposal) -> None:
        if 0 <= row < len(self.rows):
            self.rows[row] = proposal
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.columns) - 1))

    def set_cover(self, url: str, image: QImage) -> None:
        self.covers[url] = QPixmap.fromImage(image.scaled(
            THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))
        for row, p in enumerate(self.rows):
            if proposal_image(p, self.album_images) == url:
                self.dataChanged.emit(self.index(row, 0), self.index(row, 0),
                                      [Qt.ItemDataRole.DecorationRole])

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        p = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            url = proposal_image(p, self.album_images)
            return self.covers.get(url) if url else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return p.reason
        if role == Qt.ItemDataRole.TextAlignmentRole and col >= self.first_number_column:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if isinstance(p, AlbumProposal):
            a = p.album
            total = a.total_tracks or len(a.tracks)
            values = ("", a.title, ", ".join(a.artists), a.year or "", total or "", f"{p.score:.0%}")
        else:
            t = p.track
            values = ("", t.title, ", ".join(t.artists), t.album, fmt_ms(t.duration_ms), f"{p.score:.0%}")
        return values[col]


@dataclass(slots=True)
class PairRow:
    """One line of the pairing table: a pair, a file without a track, or a track without a file."""

    pair: Pair | None = None
    file: AlbumFile | None = None
    track: Track | None = None
    checked: bool = True


class PairingModel(RowTableModel):
    """Each file next to its Spotify track; the leftovers of both sides below."""

    COLUMNS = ("", "File", "Length", "#", "Spotify track", "Length", "Match")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[PairRow] = []
        self.multi_disc = False

    def set_pairing(self, pairing: Pairing | None) -> None:
        self.beginResetModel()
        self.rows = []
        if pairing is not None:
            self.rows = ([PairRow(pair=p) for p in pairing.pairs]
                         + [PairRow(file=f, checked=False) for f in pairing.unpaired_files]
                         + [PairRow(track=t, checked=False) for t in pairing.unpaired_tracks])
        discs = {(r.pair.track if r.pair is not None else r.track).disc_number or 1
                 for r in self.rows if r.pair is not None or r.track is not None}
        self.multi_disc = len(discs) > 1
        self.endResetModel()

    def chosen(self) -> list[Pair]:
        """The pairs still checked: what confirming downloads."""
        return [r.pair for r in self.rows if r.pair is not None and r.checked]

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        if not index.isValid():  # the root is no item: nothing can select, check or enable it
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == 0 and self.rows[index.row()].pair is not None:
            base |= Qt.ItemFlag.ItemIsUserCheckable
        return base

    def setData(self, index: QModelIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.CheckStateRole or self.rows[index.row()].pair is None:
            return False
        self.rows[index.row()].checked = Qt.CheckState(value) == Qt.CheckState.Checked
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])
        return True

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.CheckStateRole and col == 0 and row.pair is not None:
            return Qt.CheckState.Checked if row.checked else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ForegroundRole:
            if row.file is not None:
                return QBrush(QColor(WARN))
            if row.track is not None:
                return QBrush(QColor(MUTED))
            if row.pair is not None and row.pair.score < MATCH_THRESHOLD and col == 6:
                return QBrush(QColor(ERROR))
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if row.pair is not None:
                return row.pair.reason
            if row.file is not None:
                return "No track of this album matches this file: it will not be downloaded."
            return "No file of this result is this track."
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        f = row.pair.file if row.pair is not None else row.file
        t = row.pair.track if row.pair is not None else row.track
        number = ""
        if t is not None and t.track_number:
            number = f"{t.disc_number or 1}-{t.track_number:02d}" if self.multi_disc else f"{t.track_number}"
        values = (
            "",
            f.name if f is not None else "— no file —",
            fmt_ms(f.duration_ms) if f is not None else "",
            number,
            t.title if t is not None else "— not on this album —",
            fmt_ms(t.duration_ms) if t is not None else "",
            f"{row.pair.score:.0%}" if row.pair is not None else "",
        )
        return values[col]
