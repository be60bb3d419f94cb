"""The Downloads page's search actions, driven as a person would against the demo world: Stop,
the Free slot / bitrate / format filters, expanding an album row, a double-click, the right-click
menu and Ctrl+C."""
from __future__ import annotations

from PyQt6.QtCore import QModelIndex, QPoint, Qt, QTimer
from PyQt6.QtGui import QContextMenuEvent
from PyQt6.QtWidgets import QApplication, QMenu

from soulsync.core.search import ResultAlbum
from soulsync.core.search_filters import FilterSpec
from soulsync.ui.models.queue import ItemRole as QueueItemRole
from soulsync.ui.models.search_results import ItemRole


def type_search(qtbot, page, text: str) -> None:
    page.search_input.setFocus()
    qtbot.keyClicks(page.search_input, text)
    qtbot.keyClick(page.search_input, Qt.Key.Key_Return)


def search(qtbot, page, text: str):
    type_search(qtbot, page, text)
    session = page.current
    qtbot.waitUntil(lambda: session.state == "done", timeout=20000)
    return session


def shown(page) -> list:
    model = page.model
    return [model.item_at(model.index(r, 0)) for r in range(model.rowCount())]


def row_of(page, predicate) -> QModelIndex:
    model = page.model
    return next(model.index(r, 0) for r in range(model.rowCount()) if predicate(model.item_at(model.index(r, 0))))


def click(qtbot, view, index: QModelIndex, button=Qt.MouseButton.LeftButton) -> None:
    view.scrollTo(index)
    qtbot.mouseClick(view.viewport(), button, Qt.KeyboardModifier.NoModifier, view.visualRect(index).center())


def double_click(qtbot, view, index: QModelIndex) -> None:
    """Two clicks in quick succession, as the platform delivers them: a click, then the double-click."""
    pos = view.visualRect(index).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_stop_ends_the_search_now_and_shows_what_arrived(qtbot, window, sim_world):
    page = window.show_page("downloads")
    search(qtbot, page, sim_world.catalog.albums[2].artist)  # the simulated network is warmed up
    page.context.settings.downloads.search_timeout_ms = 120_000  # this one would run on for a long while
    type_search(qtbot, page, sim_world.catalog.albums[3].artist)
    session = page.current
    qtbot.waitUntil(lambda: bool(session.search_id) and page.stop_button.isEnabled(), timeout=20000)
    qtbot.mouseClick(page.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.state == "done", timeout=60000)
    record = sim_world.slskd._searches[session.search_id]
    assert record.cancel_requested and "Cancelled" in record.state, record.state
    results = session.results
    assert results is not None and not page.stop_button.isEnabled()
    assert page.model.rowCount() == len(results.albums) + len(results.singles), "what arrived is shown"


def test_free_slot_bitrate_and_format_filters_narrow_the_rows(qtbot, window, sim_world):
    page = window.show_page("downloads")
    search(qtbot, page, sim_world.catalog.albums[5].artist)
    everything = shown(page)
    checks = [
        (lambda: qtbot.mouseClick(page.filters.free_slot_box, Qt.MouseButton.LeftButton,
                                  pos=QPoint(4, page.filters.free_slot_box.height() // 2)),
         FilterSpec(free_slot_only=True),
         lambda: page.filters.free_slot_box.setChecked(False)),
        (lambda: page.filters.bitrate_combo.setCurrentIndex(page.filters.bitrate_combo.findData(320)),
         FilterSpec(min_bitrate=320),
         lambda: page.filters.bitrate_combo.setCurrentIndex(0)),
        (lambda: qtbot.mouseClick(page.filters.format_boxes["MP3"], Qt.MouseButton.LeftButton,
                                  pos=QPoint(4, page.filters.format_boxes["MP3"].height() // 2)),
         FilterSpec(formats=frozenset({"MP3"})),
         lambda: page.filters.format_boxes["MP3"].setChecked(False)),
    ]
    for apply, spec, undo in checks:
        apply()
        expected = [item for item in everything if spec.matches(item)]
        assert 0 < len(expected) < len(everything), f"the demo results must be narrowed by {spec}"
        assert sorted(map(id, shown(page))) == sorted(map(id, expected)), spec
        undo()
        assert len(shown(page)) == len(everything)


def test_clicking_the_arrow_of_an_album_row_shows_its_tracks(qtbot, window, sim_world):
    page = window.show_page("downloads")
    search(qtbot, page, sim_world.catalog.albums[5].artist)
    view = page.view
    album = row_of(page, lambda item: isinstance(item, ResultAlbum))
    assert not view.isExpanded(album)
    view.scrollTo(album)
    rect = view.visualRect(album)
    arrow = QPoint(rect.left() - view.indentation() // 2, rect.center().y())
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=arrow)
    assert view.isExpanded(album)
    first_track = page.model.index(0, 0, album)
    assert view.visualRect(first_track).isValid(), "its tracks are shown under it"


def queued_files(window) -> list[tuple[str, str]]:
    """(user, file) of every row of the queue panel, Active and Finished."""
    panel = window.pages["downloads"].queue_panel
    return [(item.username, item.filename) for model in (panel.active_model, panel.finished_model)
            for item in (model.data(model.index(r, 0), QueueItemRole) for r in range(model.rowCount()))]


def first_track_of_an_album(page) -> tuple[QModelIndex, object]:
    album = row_of(page, lambda item: isinstance(item, ResultAlbum))
    page.view.expand(album)
    index = page.model.index(0, 0, album)
    page.view.scrollTo(index)
    return index, page.model.data(index, ItemRole)


def test_double_clicking_a_track_queues_it(qtbot, window, sim_world):
    page = window.show_page("downloads")
    search(qtbot, page, sim_world.catalog.albums[5].artist)
    index, track = first_track_of_an_album(page)
    double_click(qtbot, page.view, index)
    qtbot.waitUntil(lambda: len(queued_files(window)) == 1, timeout=10000)
    assert queued_files(window) == [(track.username, track.file.filename)]


def right_click_and_choose(qtbot, view, index: QModelIndex, label: str) -> list[str]:
    """Right-click the row (it gets selected, then its menu opens) and pick ``label``; returns the
    menu's entries."""
    entries: list[str] = []

    def pick() -> None:
        menu = QApplication.activePopupWidget()
        assert isinstance(menu, QMenu), "a right-click opens a menu"
        entries.extend(a.text() for a in menu.actions())
        action = next(a for a in menu.actions() if a.text() == label)
        menu.close()
        action.trigger()

    pos = view.visualRect(index).center()
    qtbot.mousePress(view.viewport(), Qt.MouseButton.RightButton, pos=pos)
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.RightButton, pos=pos)
    QTimer.singleShot(0, pick)
    QApplication.sendEvent(view.viewport(), QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos,
                                                              view.viewport().mapToGlobal(pos)))
    return entries


def test_right_click_menu_downloads_and_copies_the_path(qtbot, window, sim_world):
    page = window.show_page("downloads")
    search(qtbot, page, sim_world.catalog.albums[5].artist)
    index, track = first_track_of_an_album(page)
    QApplication.clipboard().clear()
    entries = right_click_and_choose(qtbot, page.view, index, "Copy path")
    assert entries[0] == "Download" and "Matched download…" in entries and "Copy path" in entries
    assert QApplication.clipboard().text() == track.file.filename
    right_click_and_choose(qtbot, page.view, index, "Download")
    qtbot.waitUntil(lambda: len(queued_files(window)) == 1, timeout=10000)
    assert queued_files(window) == [(track.username, track.file.filename)]


def test_ctrl_c_copies_the_paths_of_the_selected_rows(qtbot, window, sim_world):
    page = window.show_page("downloads")
    search(qtbot, page, sim_world.catalog.albums[5].artist)
    index, track = first_track_of_an_album(page)
    click(qtbot, page.view, index)
    QApplication.clipboard().clear()
    window.activateWindow()
    page.view.setFocus()
    qtbot.waitUntil(page.view.hasFocus, timeout=3000)
    qtbot.keyClick(page.view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == track.file.filename
