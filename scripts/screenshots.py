"""Screenshots of every page of the running app, driven like a user would in demo mode.

Usage (under Xvfb):
    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python scripts/screenshots.py --out docs/screenshots

Each page is saved once per window size (``--sizes``, default 1024x640, 1440x900 and 1920x1080)
as ``<page>-<width>x<height>.png``.

In demo mode it waits for the library to be read, analyses a playlist, runs a
search and starts an album download, opens an artist, then grabs each page.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from PyQt6.QtCore import QItemSelectionModel, QTimer
from PyQt6.QtWidgets import QApplication


def wait(app: QApplication, condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        app.processEvents()
        time.sleep(0.02)
    return True


def pause(app: QApplication, seconds: float) -> None:
    wait(app, lambda: False, seconds)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--plain", action="store_true", help="no demo services: an empty first-run app")
    parser.add_argument("--sizes", default="1024x640,1440x900,1920x1080",
                        help="window sizes, comma-separated WIDTHxHEIGHT")
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
    if not args.plain:
        from soulsync.sim.world import start_demo

        world = start_demo(context)
    window = MainWindow(context)
    window.resize(1440, 900)
    window.show()
    args.out.mkdir(parents=True, exist_ok=True)

    def shot(name: str) -> None:
        pause(app, 0.8)
        window.grab().save(str(args.out / f"{name}.png"))
        print("saved", args.out / f"{name}.png", flush=True)

    if world is not None:
        wait(app, lambda: window.library.ready and len(window.library.tracks) > 0, 120)
        sync = window.show_page("sync")
        wait(app, lambda: sync.playlist_model.rowCount() > 3 and sync._refresh_task is None, 60)
        names = [p.name for p in sync.playlist_model.playlists]
        row = names.index("Road Trip '19") if "Road Trip '19" in names else 1
        sync.playlist_view.selectionModel().select(sync.playlist_model.index(row),
                                                   QItemSelectionModel.SelectionFlag.ClearAndSelect)
        wait(app, lambda: sync.track_model.rowCount() > 0, 20)
        sync.analyse_selected()
        wait(app, lambda: sync._analysis_task is None and sync.track_model.rows
             and sync.track_model.rows[0].status != "unknown", 60)

        downloads = window.show_page("downloads")
        album = world.catalog.albums[7]
        downloads.search_input.setText(f"{album.artist} {album.title}")
        downloads.search_now()
        wait(app, lambda: downloads.current is not None and downloads.current.state == "done", 60)
        model = downloads.model
        if model.rowCount():
            downloads.view.expand(model.index(0, 0))
            downloads.download_items([model.item_at(model.index(0, 0))])
        downloads.search_input.setText(album.artist)
        downloads.search_now()
        wait(app, lambda: downloads.current.state == "done", 60)
        wait(app, lambda: downloads.queue_panel.finished_model.rowCount() > 2, 60)
        if downloads.view.model().rowCount() > 1:
            downloads.view.selectionModel().select(downloads.model.index(1, 0),
                                                   QItemSelectionModel.SelectionFlag.ClearAndSelect
                                                   | QItemSelectionModel.SelectionFlag.Rows)

        artists = window.show_page("artists")
        wait(app, lambda: artists.proxy.rowCount() > 0, 30)
        artists.filter_edit.setText(album.artist[:5])
        artists.list_view.setCurrentIndex(artists.proxy.index(0, 0))
        wait(app, lambda: artists.discography is not None, 60)
        artists.filter_edit.setText("")
        pause(app, 2.0)  # images of the rows now on screen

    for size in args.sizes.split(","):
        width, height = (int(n) for n in size.lower().split("x"))
        window.resize(width, height)
        for page in ("dashboard", "downloads", "sync", "artists", "settings"):
            window.show_page(page)
            if page == "dashboard":
                window.pages["dashboard"].refresh_stats()
            shot(f"{page}-{width}x{height}")
    window.close()
    QTimer.singleShot(0, app.quit)
    app.exec()
    if world is not None:
        world.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
