"""The player bar's own controls: the seek slider that also shows how much of the file has been
downloaded, and the media icons drawn for the dark theme."""
from __future__ import annotations

from PyQt6.QtCore import QPointF, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QIcon, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap, QPolygonF
from PyQt6.QtWidgets import QSlider, QWidget

from soulsync.ui import theme


def media_icon(kind: str, color: str = theme.TEXT) -> QIcon:
    """A small vector icon drawn here (the style's media icons are too dark for the theme)."""
    pixmap = QPixmap(32, 32)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(color))
    if kind == "play":
        painter.drawPolygon(QPolygonF([QPointF(11, 7), QPointF(26, 16), QPointF(11, 25)]))
    elif kind == "pause":
        painter.drawRoundedRect(QRectF(9, 7, 5, 18), 1, 1)
        painter.drawRoundedRect(QRectF(18, 7, 5, 18), 1, 1)
    elif kind == "stop":
        painter.drawRoundedRect(QRectF(9, 9, 14, 14), 2, 2)
    else:  # speaker, with waves or a cross
        painter.drawPolygon(QPolygonF([QPointF(5, 12), QPointF(10, 12), QPointF(17, 6), QPointF(17, 26),
                                       QPointF(10, 20), QPointF(5, 20)]))
        pen = QPen(QColor(color), 2.2)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if kind == "muted":
            painter.drawLine(QPointF(21, 12), QPointF(28, 20))
            painter.drawLine(QPointF(28, 12), QPointF(21, 20))
        else:
            painter.drawArc(QRectF(13, 10, 10, 12), -60 * 16, 120 * 16)
            painter.drawArc(QRectF(12, 6, 16, 20), -60 * 16, 120 * 16)
    painter.end()
    return QIcon(pixmap)


class SeekBar(QSlider):
    """Position slider that also paints the downloaded part; a click jumps, a release asks to seek."""

    seek_requested = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setObjectName("player_seek")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setRange(0, 0)
        self.setMinimumHeight(18)
        self._downloaded = 0.0

    @property
    def downloaded(self) -> float:
        """The downloaded fraction of the file (0..1)."""
        return self._downloaded

    def set_downloaded(self, fraction: float) -> None:
        fraction = min(1.0, max(0.0, fraction))
        if abs(fraction - self._downloaded) >= 0.001 or fraction in (0.0, 1.0):
            self._downloaded = fraction
            self.update()

    def _span(self) -> tuple[float, float]:
        margin = 7.0
        return margin, max(1.0, self.width() - 2 * margin)

    def _value_at(self, x: float) -> int:
        left, width = self._span()
        fraction = min(1.0, max(0.0, (x - left) / width))
        return round(self.minimum() + fraction * (self.maximum() - self.minimum()))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.isEnabled() and self.maximum() > 0:
            self.setSliderDown(True)
            self.setValue(self._value_at(event.position().x()))
            event.accept()
            return
        event.ignore()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self.isSliderDown():
            self.setValue(self._value_at(event.position().x()))
            event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.isSliderDown():
            self.setSliderDown(False)
            self.seek_requested.emit(self.value())
            event.accept()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        left, width = self._span()
        mid = self.height() / 2
        groove = QRectF(left, mid - 2, width, 4)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#2c313a"))
        painter.drawRoundedRect(groove, 2, 2)
        if self._downloaded > 0:
            painter.setBrush(QColor("#566070"))
            painter.drawRoundedRect(QRectF(left, mid - 2, width * self._downloaded, 4), 2, 2)
        span = self.maximum() - self.minimum()
        if span > 0:
            played = (self.value() - self.minimum()) / span
            painter.setBrush(QColor(theme.ACCENT if self.isEnabled() else "#3a4049"))
            painter.drawRoundedRect(QRectF(left, mid - 2, width * played, 4), 2, 2)
            painter.setBrush(QColor(theme.TEXT if self.isEnabled() else "#5d6572"))
            painter.drawEllipse(QRectF(left + width * played - 6, mid - 6, 12, 12))
        painter.end()
