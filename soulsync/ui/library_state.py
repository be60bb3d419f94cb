"""The library index shared by every page: built once in a worker, rebuilt when the library changes.

Building a 200,000-track index takes seconds and freeing one stalls whichever
thread drops it, so the app keeps exactly one, replaces it only after a
rescan, and lets pages read ``index`` / ``tracks`` without rebuilding.
"""
from __future__ import annotations

import logging

from PyQt6.QtCore import QObject, pyqtSignal

from soulsync.context import AppContext
from soulsync.core.library_index import LibraryIndex
from soulsync.ui.activity import ActivityFeed
from soulsync.ui.workers import TaskHandle, run_task, with_retries

log = logging.getLogger(__name__)


class LibraryState(QObject):
    changed = pyqtSignal()
    """A new index is ready (``index``, ``tracks``, ``source``)."""
    failed = pyqtSignal(str)
    scan_progress = pyqtSignal(str)
    """What a rescan is doing, in words."""
    scanned = pyqtSignal(str)
    """A rescan ended: its summary in words."""
    notice = pyqtSignal(str)
    """A passing problem worth telling, in words (a rescan that failed and is tried again)."""

    retry_attempts = 3
    """Tries of a rescan that fails for a passing reason (5xx, rate limit, reset, garbled answer)."""
    retry_base_s = 1.0
    """Wait before the second try; it doubles for each further one."""

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.index: LibraryIndex | None = None
        self.by_key: dict = {}
        """Library key (Plex rating key or file path) -> track, for pinned overrides."""
        self.tracks: list = []
        self.source = ""
        self._task: TaskHandle | None = None
        self._again = False
        self._scan_task: TaskHandle | None = None
        self._pending_paths: list[str] = []
        self.activity: ActivityFeed | None = None
        """The activity feed, when the main window provides one."""

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

    @property
    def scanning(self) -> bool:
        return self._scan_task is not None

    def rescan(self, full: bool = False, after_download: list[str] | None = None) -> None:
        """Refresh the library index from Plex or the folder (changes only, unless ``full``), then rebuild.

        ``after_download``: paths just placed in the library; the library is asked to pick them up first.
        """
        if self._scan_task is not None:
            if after_download:  # picked up by a follow-up scan when this one ends
                self._pending_paths.extend(after_download)
            return
        context, store = self.context, self.context.store
        attempts, base_s = self.retry_attempts, self.retry_base_s

        def work(ctx):
            from soulsync.services.library import library_source

            source = library_source(context)

            def read(_attempt: int):
                ctx.progress(f"Reading {source.name}…")
                if after_download:
                    return source.after_download(store, after_download, cancel=lambda: ctx.cancelled)
                return source.refresh(store, full=full, cancel=lambda: ctx.cancelled,
                                      progress=lambda done, total: ctx.progress(
                                          f"Reading {source.name}: {done} of {total} tracks"))

            def retrying(text: str) -> None:
                log.info("Library scan: %s", text)
                ctx.progress(("retry", text))

            return with_retries(ctx, read, attempts=attempts, base_s=base_s, announce=retrying)

        def done(report) -> None:
            summary = report.summary()
            self.scanned.emit(summary)
            if self.activity is not None:
                self.activity.add("library", summary, "artists")
            self.reload()

        def failed(exc: Exception) -> None:
            from soulsync.services.checks import describe_error

            text = describe_error(exc, exc.service)[1] if hasattr(exc, "service") else str(exc)
            self.failed.emit(text)
            self.scanned.emit(f"Library scan failed: {text}")

        self._scan_task = run_task(work, owner=self, on_result=done, on_error=failed,
                                   on_progress=self._scan_progress, on_finished=self._scan_finished)

    def _scan_progress(self, value) -> None:
        """A rescan's progress text, or ``("retry", text)`` when a try failed and another follows."""
        if isinstance(value, tuple):
            value = value[1]
            self.notice.emit(value)
        self.scan_progress.emit(value)

    def _scan_finished(self) -> None:
        self._scan_task = None
        if self._pending_paths:
            paths, self._pending_paths = self._pending_paths, []
            self.rescan(after_download=paths)

    def rescan_if_empty(self) -> None:
        """At start: read the library once when nothing is indexed yet (first run, demo)."""
        store = self.context.store

        def check(ctx):
            from soulsync.services.library import LibraryError, library_source

            try:
                return not library_source(self.context).is_indexed(store)
            except LibraryError:
                return False

        run_task(check, owner=self, on_result=lambda empty: self.rescan() if empty else None)

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
