"""Started by the packaging tests with an installed SoulSync's interpreter (never the checkout).

Runs the real ``soulsync.app.main`` with the given arguments; once the main window is
up it prints one ``PROBE {json}`` line describing what a user would see (which package
was imported, the stylesheet, the window icon) and quits the app.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication

import soulsync
from soulsync.app import main
from soulsync.ui.main_window import MainWindow


def report(app: QApplication) -> None:
    """Print what the running app looks like, then quit it."""
    window = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
    sheet = app.styleSheet()
    urls = re.findall(r"url\(([^)]+)\)", sheet)
    icon = window.windowIcon().pixmap(64, 64).toImage()
    print("PROBE " + json.dumps({
        "package": str(Path(soulsync.__file__).parent),
        "version": soulsync.__version__,
        "stylesheet": sheet,
        "stylesheet_urls": urls,
        "stylesheet_urls_missing": [u for u in urls if not Path(u).is_file()],
        "window_visible": window.isVisible(),
        "icon_null": icon.isNull(),
        "icon_centre": icon.pixelColor(32, 32).name() if not icon.isNull() else None,
        "icon_corner_alpha": icon.pixelColor(0, 0).alpha() if not icon.isNull() else None,
    }), flush=True)
    app.quit()


if __name__ == "__main__":
    qapp = QApplication(sys.argv[:1])
    QTimer.singleShot(0, lambda: report(qapp))
    raise SystemExit(main(sys.argv[1:]))
