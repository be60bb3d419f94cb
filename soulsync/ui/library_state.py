"""The library index shared by every page: built once in a worker, rebuilt when the library changes.

Building a 200,000-track index takes seconds and freeing one stalls whichever
thread drops it, so the app keeps exactly one, replaces it only after a
rescan, and lets pages read ``index`` / ``tracks`` without rebuilding.
"""
from __future__ import annotations

import logging

from PyQt6.QtCore import QObject, pyqtSignal

from soulsync.context import AppContext
from soulsync.ui.workers import run_task

log = logging.getLogger(__name__)


class LibraryState(QObject):
    changed = pyqtSignal()
    """A new index is ready (``index``, ``tracks``, ``source``)."""
    failed = pyqtSignal(str)

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.index = None
        self.by_key: dict = {}
        """Library key (Plex rating key or file path) -> track, for pinned overrides."""
        self.tracks: list = []
        self.source = ""
        self._task = None
        self._again = False

    @property
    def ready(self) -> bool:
        return self.index is not None

    def source_name(self) -> str:
        """``plex`` or ``folder``: where the library index comes from under the current settings."""
        source = self.context.settings.library.source
        if source == "auto":
            return "plex" if self.context.plex_configured() else "folder"
        return source

    def reload(self) -> None:
        """Rebuild the index from the store (after a scan, or at start)."""
        if self._task is not None:
            self._again = True
            return
        store, source = self.context.store, self.source_name()

        def work(ctx):
            from soulsync.core.gcutil import built_in_bulk
            from soulsync.core.sync import index_library

            with built_in_bulk():
                tracks = store.library_tracks(source)
                index, by_key = index_library(tracks, cancel=lambda: ctx.cancelled)
                return source, tracks, index, by_key

        self._task = run_task(work, owner=self, on_result=self._built, on_error=self._failed,
                              on_finished=self._finished)

    def _built(self, value) -> None:
        self.source, self.tracks, self.index, self.by_key = value
        log.info("Library index ready: %d tracks from %s", len(self.tracks), self.source)
        self.changed.emit()

    def _failed(self, exc: Exception) -> None:
        log.error("Could not build the library index: %s", exc)
        self.failed.emit(str(exc))

    def _finished(self) -> None:
        self._task = None
        if self._again:
            self._again = False
            self.reload()
