"""Theme: the dark QSS stylesheet, palette constants and the app icon."""
from __future__ import annotations

import re

from PyQt6.QtGui import QColor, QIcon, QPalette
from PyQt6.QtWidgets import QApplication

from soulsync import assets

ACCENT = "#35c28b"
WARN = "#e0a84a"
ERROR = "#e5646e"
MUTED = "#8b93a1"
TEXT = "#e6e8eb"
SURFACE = "#191c22"


_RESOURCE_URL = re.compile(r"\{RES\}/([\w.-]+)")
"""``{RES}/name.svg`` in theme.qss: a resource the sheet refers to by file name."""


def app_icon() -> QIcon:
    """SoulSync's icon (scalable, from the packaged SVG)."""
    return QIcon(str(assets.path("icon.svg")))


def stylesheet() -> str:
    """theme.qss with each ``{RES}/name`` replaced by that resource's file path."""
    return _RESOURCE_URL.sub(lambda m: assets.path(m.group(1)).as_posix(), assets.read_text("theme.qss"))


def apply_theme(app: QApplication) -> None:
    """Fusion style, a dark palette (for native bits QSS does not reach) and the QSS sheet."""
    app.setStyle("Fusion")
    pal = QPalette()
    for role, color in (
        (QPalette.ColorRole.Window, "#111318"), (QPalette.ColorRole.WindowText, TEXT),
        (QPalette.ColorRole.Base, "#15171c"), (QPalette.ColorRole.AlternateBase, "#181b21"),
        (QPalette.ColorRole.Text, TEXT), (QPalette.ColorRole.Button, "#22262e"),
        (QPalette.ColorRole.ButtonText, TEXT), (QPalette.ColorRole.Highlight, "#24473a"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"), (QPalette.ColorRole.ToolTipBase, "#22262e"),
        (QPalette.ColorRole.ToolTipText, TEXT), (QPalette.ColorRole.PlaceholderText, "#6b7380"),
        (QPalette.ColorRole.Link, ACCENT),
    ):
        pal.setColor(role, QColor(color))
    app.setPalette(pal)
    app.setStyleSheet(stylesheet())
    app.setWindowIcon(app_icon())
