"""The activity feed: events persisted in SQLite and announced live to the pages."""
from __future__ import annotations

import logging

from PyQt6.QtCore import QObject, pyqtSignal

from soulsync.ui.workers import run_task

log = logging.getLogger(__name__)

KINDS = {
    "sync": "Playlist synced",
    "download": "Download completed",
    "download_failed": "Download failed",
    "library": "Library scanned",
    "settings": "Settings changed",
    "search": "Search",
    "info": "Info",
}


class ActivityFeed(QObject):
    """``add(kind, message, target)`` stores an event (in a worker) and emits ``added(row)``.

    ``target`` tells where a click on the event leads, as ``page`` or ``page:detail``.
    """

    added = pyqtSignal(dict)

    def __init__(self, store, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store

    def add(self, kind: str, message: str, target: str = "") -> None:
        log.info("Activity [%s] %s", kind, message)

        def write(ctx):
            row_id = self.store.add_activity(kind, message, target)
            return self.store.query("SELECT * FROM activity WHERE id = ?", (row_id,))[0]

        run_task(write, owner=self, on_result=lambda row: self.added.emit(dict(row)),
                 on_error=lambda exc: log.error("Could not record activity: %s", exc))
