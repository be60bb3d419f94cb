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
