"""Theme: the dark QSS stylesheet, palette constants and the app icon."""
from __future__ import annotations

from pathlib import Path

from PyQt6.QtGui import QColor, QIcon, QPalette
from PyQt6.QtWidgets import QApplication

RESOURCES = Path(__file__).resolve().parents[2] / "resources"

ACCENT = "#35c28b"
WARN = "#e0a84a"
ERROR = "#e5646e"
MUTED = "#8b93a1"
TEXT = "#e6e8eb"
SURFACE = "#191c22"


def resource(name: str) -> Path:
    return RESOURCES / name


def app_icon() -> QIcon:
    return QIcon(str(resource("icon.svg")))


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
    qss = resource("theme.qss")
    if qss.exists():
        app.setStyleSheet(qss.read_text(encoding="utf-8").replace("{RES}", RESOURCES.as_posix()))
    app.setWindowIcon(app_icon())
