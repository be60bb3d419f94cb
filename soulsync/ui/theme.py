"""Theme: the dark QSS stylesheet, palette constants and the app icon."""
from __future__ import annotations

import logging
import re
from pathlib import Path

from PyQt6.QtGui import QColor, QIcon, QPalette
from PyQt6.QtWidgets import QApplication

from soulsync import assets

log = logging.getLogger(__name__)

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
    sheet = stylesheet()
    app.setStyleSheet(sheet)
    icon = app_icon()
    app.setWindowIcon(icon)
    missing = [url for url in re.findall(r"url\(([^)]+)\)", sheet) if not Path(url).is_file()]
    if missing:
        log.warning("The stylesheet refers to missing files: %s", ", ".join(missing))
    rendered = not icon.pixmap(64, 64).isNull()
    if not rendered:
        log.warning("The app icon could not be rendered from %s (is Qt's SVG support missing?)",
                    assets.path("icon.svg"))
    if rendered and not missing:
        log.info("Theme applied (resources in %s)", assets.root())
