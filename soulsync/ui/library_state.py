"""The library index shared by every page: built once in a worker, rebuilt when the library changes.

Building a 200,000-track index takes seconds and freeing one stalls whichever
thread drops it, so the app keeps exactly one, replaces it only after a
rescan, and lets pages read ``index`` / ``tracks`` without rebuilding.

It is also the one owner of picking up finished downloads: the download
service reports every filed file (:meth:`LibraryState.files_placed`, from any
thread) and the library picks them up in one rescan a few seconds after the
last one, followed by one rebuild of the index. While a sync run is
downloading it holds the pick-up (:meth:`LibraryState.hold`), and at its end
asks for one pick-up of everything filed meanwhile (:class:`SharedLibrary`,
the run's library port): one scan and one index per batch of downloads.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PyQt6.QtCore import QObject, QTimer, pyqtSignal, pyqtSlot

from soulsync.context import AppContext
from soulsync.core.matching import LibraryIndex
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

    _call = pyqtSignal(object)
    """A function to run on the GUI thread (see :class:`SharedLibrary`)."""
    _placed_signal = pyqtSignal()

    pickup_debounce_ms = 4000
    """Files filed this close together are picked up by one rescan."""
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
        self._placed: set[str] = set()
        self._placed_lock = threading.Lock()
        self._holds = 0
        self._scan_waiters: list[Callable[[str, bool], None]] = []
        """Told (summary, ok) once the index includes the current scan's results."""
        self._index_waiters: list[Callable[[str, bool], None]] = []
        self._next_waiters: list[Callable[[str, bool], None]] = []
        """Waiting for the scan after the running one (their files came too late for it)."""
        self._last_scan: tuple[str, bool] = ("", True)
        self._pickup_timer = QTimer(self)
        self._pickup_timer.setSingleShot(True)
        self._pickup_timer.setInterval(self.pickup_debounce_ms)
        self._pickup_timer.timeout.connect(self._pick_up_placed)
        self._call.connect(self._run_call)
        self._placed_signal.connect(self._placed_arrived)

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
            from soulsync.core.analysis import index_library

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
            self._last_scan = (summary, True)
            self._index_waiters.extend(self._scan_waiters)
            self._scan_waiters = []
            self.reload()

        def failed(exc: Exception) -> None:
            from soulsync.services.checks import describe_error

            text = describe_error(exc, exc.service)[1] if hasattr(exc, "service") else str(exc)
            self.failed.emit(text)
            self.scanned.emit(f"Library scan failed: {text}")
            waiters, self._scan_waiters = self._scan_waiters, []
            for tell in waiters:
                tell(text, False)

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
        if self._pending_paths or self._next_waiters:
            paths, self._pending_paths = self._pending_paths, []
            waiters, self._next_waiters = self._next_waiters, []
            self._scan_waiters.extend(waiters)
            self.rescan(after_download=paths or None)

    # ---- picking up finished downloads --------------------------------------------------------
    def files_placed(self, paths: list[str]) -> None:
        """Files were filed into the library (any thread): picked up together, a few seconds after the last."""
        with self._placed_lock:
            self._placed.update(paths)
        self._placed_signal.emit()  # hop to the GUI thread for the timer

    def _placed_arrived(self) -> None:
        if not self._holds:
            self._pickup_timer.start()

    def hold(self) -> None:
        """A run is downloading: keep what is filed for its own pick-up at the end (GUI thread)."""
        self._holds += 1
        self._pickup_timer.stop()

    def release(self) -> None:
        """The run ended: whatever it did not pick up itself is picked up as usual."""
        self._holds = max(0, self._holds - 1)
        if not self._holds and self._placed:
            self._pickup_timer.start()

    def _take_placed(self) -> list[str]:
        with self._placed_lock:
            placed, self._placed = sorted(self._placed), set()
        return placed

    def _pick_up_placed(self) -> None:
        placed = self._take_placed()
        if placed and not self._holds:
            self.rescan(after_download=placed)
        elif placed:
            with self._placed_lock:
                self._placed.update(placed)

    def pick_up(self, paths: list[str] | None, tell: Callable[[str, bool], None], full: bool = False) -> None:
        """Pick up ``paths`` and everything filed meanwhile in one rescan (or rescan everything when ``paths``
        is None), then rebuild the index once; ``tell(summary, ok)`` when the new index is ready (GUI thread)."""
        self._pickup_timer.stop()
        placed = sorted(set(paths or ()) | set(self._take_placed())) if paths is not None else None
        if self._scan_task is not None:  # picked up by a follow-up scan when the running one ends
            self._pending_paths.extend(placed or ())
            self._next_waiters.append(tell)
            return
        self._scan_waiters.append(tell)
        self.rescan(full=full, after_download=placed)

    def when_ready(self, tell: Callable[[str, bool], None]) -> None:
        """``tell`` once an index is there (at once when it is; GUI thread)."""
        if self.index is not None and self._task is None:
            tell("", True)
            return
        self._index_waiters.append(tell)
        self.reload()

    @pyqtSlot(object)
    def _run_call(self, fn) -> None:
        fn()

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
            return
        waiters, self._index_waiters = self._index_waiters, []
        summary, ok = self._last_scan
        for tell in waiters:
            tell(summary, ok and self.index is not None)


@dataclass
class PickUpReport:
    """What :class:`SharedLibrary` reports for a pick-up or a refresh."""

    text: str
    cancelled: bool = False

    def summary(self) -> str:
        return self.text


class SharedLibrary:
    """The app's shared library as a sync run's library port (:class:`soulsync.core.sync_run.LibraryPort`).

    Called from the run's worker thread: the index is the one the app holds (no second build), and a
    pick-up or refresh is asked of the :class:`LibraryState` on the GUI thread and waited for."""

    wait_limit_s = 900.0
    """Longest wait for a pick-up (Plex itself is waited for at most five minutes)."""

    def __init__(self, state: LibraryState) -> None:
        self.state = state
        self.context = state.context
        self._source: Any = None

    def _library_source(self) -> Any:
        if self._source is None:
            from soulsync.services.library import library_source

            self._source = library_source(self.context)
        return self._source

    @property
    def name(self) -> str:
        return self._library_source().name

    @property
    def supports_playlists(self) -> bool:
        return bool(self._library_source().supports_playlists)

    def _on_gui(self, start: Callable[[Callable[[str, bool], None]], None], cancel: Callable[[], bool]
                ) -> PickUpReport:
        """Run ``start(tell)`` on the GUI thread and wait until it tells (or cancel, or the limit)."""
        told = threading.Event()
        answer: list[tuple[str, bool]] = []

        def tell(summary: str, ok: bool) -> None:
            answer.append((summary, ok))
            told.set()

        try:
            self.state._call.emit(lambda: start(tell))
        except RuntimeError:  # the app is closing: the next start picks the files up
            return PickUpReport("The app is closing; the new files are picked up at the next start.", True)
        waited = 0.0
        while not told.wait(0.25):
            waited += 0.25
            if cancel() or waited >= self.wait_limit_s:
                return PickUpReport("The library is still reading the new files; they are picked up when it is "
                                    "done.", cancelled=cancel())
        summary, ok = answer[0]
        if not ok:
            from soulsync.core.sync_run import SyncError

            raise SyncError(summary or "the library index could not be built")
        return PickUpReport(summary)

    def refresh(self, full: bool, progress: Any, cancel: Callable[[], bool]) -> PickUpReport:
        return self._on_gui(lambda tell: self.state.pick_up(None, tell, full=full), cancel)

    def index(self, progress: Any, cancel: Callable[[], bool]) -> tuple[LibraryIndex, dict]:
        if self.state.index is None:
            self._on_gui(self.state.when_ready, cancel)
        index, by_key = self.state.index, self.state.by_key
        if index is None:
            from soulsync.core.sync_run import SyncError

            raise SyncError("the library index could not be built")
        return index, by_key

    def pick_up(self, paths: list[str], cancel: Callable[[], bool]) -> PickUpReport:
        return self._on_gui(lambda tell: self.state.pick_up(paths, tell), cancel)

    def mirror_playlist(self, playlist: Any, statuses: list) -> Any:
        return self._library_source().mirror_playlist(self.context.store, playlist, statuses)
