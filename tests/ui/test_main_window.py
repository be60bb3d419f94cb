"""The main window: every page is reachable from the sidebar; geometry and last page persist."""
from __future__ import annotations

import pytest
from PyQt6.QtCore import Qt

from soulsync.ui.main_window import NAV, MainWindow


@pytest.fixture
def window(qtbot, app_context):
    win = MainWindow(app_context, check_services=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_sidebar_reaches_every_page(qtbot, window):
    for page_id, label, _cls in NAV:
        button = window.nav_buttons[page_id]
        assert button.text() == label
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert window.current_page_id == page_id
        assert window.stack.currentWidget() is window.pages[page_id]
        assert button.isChecked()


def test_status_bar_has_an_indicator_per_service(window):
    assert set(window.indicators) == {"Spotify", "Plex", "slskd"}
    for indicator in window.indicators.values():
        assert indicator.isVisible()


def test_unconfigured_services_show_off_state(qtbot, app_context):
    win = MainWindow(app_context, check_services=True)
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: all(i.state == "off" for i in win.indicators.values()), timeout=3000)
    assert "Not configured" in win.indicators["Plex"].toolTip()


def test_last_page_and_geometry_are_remembered(qtbot, app_context):
    from soulsync.config import load_settings

    win = MainWindow(app_context, check_services=False)
    qtbot.addWidget(win)
    win.show()
    win.resize(1111, 777)
    win.show_page("artists")
    before = win.geometry()
    win.close()
    saved = load_settings(app_context.paths)
    assert saved.ui.last_page == "artists"
    assert saved.ui.geometry
    app_context.settings = saved
    again = MainWindow(app_context, check_services=False)
    qtbot.addWidget(again)
    again.show()
    assert again.current_page_id == "artists"
    assert again.geometry().size() == before.size()


def test_downloads_waiting_for_the_library_folder_are_told_without_naming_slskd(qtbot, app_context):
    from soulsync.core.downloads import QueueDiff

    window = MainWindow(app_context, check_services=False)
    qtbot.addWidget(window)
    text = "The library folder /mnt/nas/Music is not there (is the disk plugged in?). Downloads wait until it is back."
    window.downloads._publish(QueueDiff(filing=text))
    panel = window.pages["downloads"].queue_panel
    assert window.statusBar().currentMessage() == text and panel.error_label.text() == text
    window.downloads._publish(QueueDiff())
    assert panel.error_label.text() == ""


def test_ctrl_and_a_digit_opens_each_page(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=3000)
    order = [page_id for page_id, _label, _cls in NAV]
    for index, page_id in reversed(list(enumerate(order))):
        qtbot.keyClick(window, getattr(Qt.Key, f"Key_{index + 1}"), Qt.KeyboardModifier.ControlModifier)
        assert window.current_page_id == page_id, f"Ctrl+{index + 1}"
        assert window.nav_buttons[page_id].isChecked()
