"""Fixtures the end-to-end tests share."""
from __future__ import annotations

import pytest

from soulsync.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, demo_context):
    """The main window on the demo world, shown, with its download queue ticking."""
    win = MainWindow(demo_context, check_services=False)
    qtbot.addWidget(win)
    win.show()
    win.downloads.start()
    yield win
    win.downloads.stop()


def select_playlist(qtbot, page, name: str) -> None:
    """On the Sync page: wait for the playlist list, select ``name``, wait for its tracks to show."""
    from PyQt6.QtCore import QItemSelectionModel

    qtbot.waitUntil(lambda: any(p.name == name for p in page.playlist_model.playlists)
                    and page._refresh_task is None, timeout=30000)
    row = [p.name for p in page.playlist_model.playlists].index(name)
    page.playlist_view.selectionModel().select(page.playlist_model.index(row),
                                               QItemSelectionModel.SelectionFlag.ClearAndSelect)
    qtbot.waitUntil(lambda: page.track_model.rowCount() > 0, timeout=5000)
