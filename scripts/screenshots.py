"""Take a screenshot of every page of the running app (demo mode when --demo).

Usage (under Xvfb): xvfb-run -s "-screen 0 1440x900x24" .venv/bin/python scripts/screenshots.py --demo
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--demo", action="store_true")
    parser.add_argument("--pages", default="dashboard,downloads,sync,artists,settings")
    parser.add_argument("--delay", type=float, default=2.0, help="seconds to let each page load")
    args = parser.parse_args()

    from soulsync.config import AppPaths
    from soulsync.context import AppContext
    from soulsync.ui.main_window import MainWindow
    from soulsync.ui.theme import apply_theme

    app = QApplication(sys.argv[:1])
    apply_theme(app)
    paths = AppPaths.under(Path(tempfile.mkdtemp(prefix="soulsync-shots-")))
    context = AppContext.open(paths, secret_backend="file")
    world = None
    if args.demo:
        from soulsync.sim.world import start_demo

        world = start_demo(context)
    window = MainWindow(context)
    window.resize(1440, 900)
    window.show()
    args.out.mkdir(parents=True, exist_ok=True)
    pages = [p for p in args.pages.split(",") if p]

    def shoot(index: int) -> None:
        if index > 0:
            window.grab().save(str(args.out / f"{pages[index - 1]}.png"))
        if index == len(pages):
            window.close()
            app.quit()
            return
        window.show_page(pages[index])
        QTimer.singleShot(int(args.delay * 1000), lambda: shoot(index + 1))

    QTimer.singleShot(500, lambda: shoot(0))
    app.exec()
    if world is not None:
        world.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
