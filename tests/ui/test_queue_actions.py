"""The queue panel's buttons, driven as a person would: click a row, click the button, see what happens.

The engine under the page is replaced by a recorder (the DownloadService's own action plumbing stays),
so each test checks that a click asks the queue for exactly the right thing, with the right items.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QTableView

from soulsync.core.queue_model import QueueDiff
from soulsync.core.models import Track
from soulsync.core.store_records import QueueItem
from soulsync.ui.main_window import MainWindow


@dataclass
class RecordingQueue:
    """Stands in for the download engine: remembers each action asked of it."""

    calls: list[tuple[str, list[str]]] = field(default_factory=list)

    def cancel(self, ids: list[str]) -> QueueDiff:
        self.calls.append(("cancel", list(ids)))
        return QueueDiff()

    def retry(self, ids: list[str]) -> QueueDiff:
        self.calls.append(("retry", list(ids)))
        return QueueDiff()

    def remove(self, ids: list[str]) -> QueueDiff:
        self.calls.append(("remove", list(ids)))
        return QueueDiff()

    def clear_finished(self) -> QueueDiff:
        self.calls.append(("clear_finished", []))
        return QueueDiff()


def item(id_: str, state: str, finished: bool) -> QueueItem:
    return QueueItem(id=id_, state=state, username="peer", filename=f"@@p\\Music\\A\\{id_} - Song.flac", size=1,
                     wanted=Track(title=f"Song {id_}", artists=["Band"], album="A"),
                     finished_at=1.0 if finished else None, reason="no source" if state == "failed" else "")


@pytest.fixture
def page_and_queue(qtbot, app_context, monkeypatch):
    app_context.store.add_queue_items([
        item("a1", "downloading", False), item("a2", "queued", False),
        item("f1", "failed", True), item("f2", "succeeded", True), item("f3", "cancelled", True)])
    window = MainWindow(app_context, check_services=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    queue = RecordingQueue()
    monkeypatch.setattr(window.downloads, "_run", lambda fn, *args, on_done=None: fn(queue, *args))
    page = window.show_page("downloads")
    panel = page.queue_panel
    qtbot.waitUntil(lambda: (panel.active_model.rowCount(), panel.finished_model.rowCount()) == (2, 3),
                    timeout=5000)
    return page, queue


def click_row(qtbot, view: QTableView, row: int, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    rect = view.visualRect(view.model().index(row, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())


def ids_in(view: QTableView) -> list[str]:
    from soulsync.ui.models.queue import ItemRole

    return [view.model().data(view.model().index(r, 0), ItemRole).id for r in range(view.model().rowCount())]


def test_cancel_asks_the_queue_to_cancel_the_selected_active_downloads(qtbot, page_and_queue):
    page, queue = page_and_queue
    panel = page.queue_panel
    assert not panel.cancel_button.isEnabled(), "nothing selected: nothing to cancel"
    click_row(qtbot, panel.active_view, 0)
    click_row(qtbot, panel.active_view, 1, Qt.KeyboardModifier.ControlModifier)
    assert panel.cancel_button.isEnabled()
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert len(queue.calls) == 1 and queue.calls[0][0] == "cancel"
    assert sorted(queue.calls[0][1]) == ["a1", "a2"]


def test_retry_and_remove_act_on_the_selected_finished_rows(qtbot, page_and_queue):
    page, queue = page_and_queue
    panel = page.queue_panel
    qtbot.mouseClick(panel.tabs.tabBar(), Qt.MouseButton.LeftButton, pos=panel.tabs.tabBar().tabRect(1).center())
    assert panel.tabs.currentIndex() == 1
    finished = ids_in(panel.finished_view)
    succeeded = finished.index("f2")
    click_row(qtbot, panel.finished_view, succeeded)
    assert not panel.retry_button.isEnabled(), "a download that worked cannot be retried"
    assert panel.remove_button.isEnabled() and not panel.cancel_button.isEnabled()
    failed = finished.index("f1")
    click_row(qtbot, panel.finished_view, failed)
    assert panel.retry_button.isEnabled()
    qtbot.mouseClick(panel.retry_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert queue.calls == [("retry", ["f1"]), ("remove", ["f1"])]


def test_clear_finished_asks_the_queue_to_clear(qtbot, page_and_queue):
    page, queue = page_and_queue
    panel = page.queue_panel
    assert panel.clear_button.isEnabled()
    qtbot.mouseClick(panel.clear_button, Qt.MouseButton.LeftButton)
    assert queue.calls == [("clear_finished", [])]


def test_fix_opens_the_correction_dialog_for_the_selected_download(qtbot, page_and_queue):
    page, _queue = page_and_queue
    panel = page.queue_panel
    qtbot.mouseClick(panel.tabs.tabBar(), Qt.MouseButton.LeftButton, pos=panel.tabs.tabBar().tabRect(1).center())
    click_row(qtbot, panel.finished_view, ids_in(panel.finished_view).index("f2"))
    assert not panel.fix_button.isEnabled(), "a download that worked needs no fixing"
    click_row(qtbot, panel.finished_view, ids_in(panel.finished_view).index("f1"))
    assert panel.fix_button.isEnabled()
    qtbot.mouseClick(panel.fix_button, Qt.MouseButton.LeftButton)
    dialog = page.fix_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=3000)
    assert dialog.item.id == "f1"
    dialog.reject()
