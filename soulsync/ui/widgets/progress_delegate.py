"""Paints a slim progress bar with its percentage in a table cell."""
from __future__ import annotations

from PyQt6.QtCore import QModelIndex, QRectF, Qt
from PyQt6.QtGui import QColor, QPainter
from PyQt6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from soulsync.ui.theme import ACCENT, TEXT


class ProgressDelegate(QStyledItemDelegate):
    def __init__(self, role: int, parent=None) -> None:
        super().__init__(parent)
        self.role = role

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        value = index.data(self.role)
        if value is None:
            super().paint(painter, option, index)
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        rect = QRectF(option.rect).adjusted(6, option.rect.height() / 2 - 7, -6, -(option.rect.height() / 2 - 7))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#0f1115"))
        painter.drawRoundedRect(rect, 4, 4)
        fraction = max(0.0, min(1.0, float(value) / 100.0))
        if fraction > 0:
            chunk = QRectF(rect)
            chunk.setWidth(max(6.0, rect.width() * fraction))
            painter.setBrush(QColor(ACCENT).darker(125))
            painter.drawRoundedRect(chunk, 4, 4)
        painter.setPen(QColor(TEXT))
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 0.85)
        painter.setFont(font)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, f"{float(value):.0f}%")
        painter.restore()
