"""The app's download queue: ticks the Qt-free engine in a worker and tells the pages what changed.

One :class:`DownloadService` per window. It owns the
:class:`~soulsync.core.downloads.DownloadQueue`, runs one ``tick`` at a time on
the thread pool (about once a second), post-processes completed files (tag,
cover, file into the library) on the app's post-processing thread
(:attr:`~soulsync.context.AppContext.post_worker`, off the tick, so a slow
file never freezes the other transfers' progress), has the library pick up
the filed files (through the shared
:class:`~soulsync.ui.library_state.LibraryState`, the one owner of picking
files up), and records completions and failures in the activity feed.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Iterable

from PyQt6 import sip
from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from soulsync.context import AppContext, process_download
from soulsync.core.downloads import DownloadQueue
from soulsync.core.queue_model import QueueDiff, QueueState
from soulsync.core.models import Track
from soulsync.core.store_records import QueueItem, QueueMeta
from soulsync.ui.library_state import LibraryState
from soulsync.ui.workers import TaskHandle, run_task

log = logging.getLogger(__name__)



class DownloadService(QObject):
    diff_ready = pyqtSignal(object)
    """A :class:`QueueDiff` (changed items and removed ids) after each step."""
    error = pyqtSignal(str)
    """A problem talking to slskd, in words (empty string when it went away)."""
    filing = pyqtSignal(str)
    """Why finished downloads wait instead of being filed (the library folder is not there...), in words
    (empty string when they are filed again)."""
    item_finished = pyqtSignal(object)
    """A :class:`QueueItem` that just reached succeeded or failed."""

    def __init__(self, context: AppContext, activity=None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.activity = activity
        self.library: LibraryState | None = None
        """The shared LibraryState (set by the main window): rescanned after files are filed."""
        self._queue: DownloadQueue | None = None
        self._queue_key: tuple | None = None
        self._tick_task: TaskHandle | None = None
        self._last_error = ""
        self._last_filing = ""
        self._finished_ids: set[str] = set()
        self.active: set[str] = set()
        """Ids of the queue items not finished yet, as the last ticks reported them (safe on the GUI thread)."""
        self._build_lock = threading.Lock()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.tick)

    # ---- the engine ---------------------------------------------------------------
    @property
    def queue(self) -> DownloadQueue | None:
        """The engine, built from the current settings (rebuilt when slskd settings change).

        Building it reads the queue's database, so the ticks and actions first ask for it in their
        workers; once built, asking is cheap anywhere."""
        ctx = self.context
        if not ctx.slskd_configured():
            return None
        s, d = ctx.settings.slskd, ctx.settings.downloads
        key = (s.url, s.url_base, s.auth_mode, s.username, d.download_dir, d.concurrent_downloads,
               d.stall_timeout_s, d.max_attempts)
        with self._build_lock:
            if self._queue is None or key != self._queue_key:
                self._queue = ctx.download_queue(ctx.slskd(), on_completed=self._post_process)
                self._queue_key = key
            return self._queue

    @property
    def built_queue(self) -> DownloadQueue | None:
        """The engine if it is built already (never builds it: safe on the GUI thread)."""
        return self._queue

    def start(self) -> None:
        self._timer.start(int(self.context.settings.downloads.poll_interval_s * 1000))
        QTimer.singleShot(0, self.tick)

    def stop(self) -> None:
        self._timer.stop()
        if self._tick_task is not None:
            self._tick_task.cancel()

    def tick(self) -> None:
        if self._tick_task is not None or not self.context.slskd_configured():
            return

        def step(ctx) -> QueueDiff:
            queue = self.queue
            return queue.tick() if queue is not None else QueueDiff()

        self._tick_task = run_task(step, owner=self, on_result=self._publish,
                                   on_error=lambda exc: self._set_error(str(exc)),
                                   on_finished=self._tick_done)

    def _tick_done(self) -> None:
        self._tick_task = None

    def _publish(self, diff: QueueDiff) -> None:
        self._set_error(diff.error)
        if diff.filing != self._last_filing:
            self._last_filing = diff.filing
            self.filing.emit(diff.filing)
        if diff.changed or diff.removed:
            self.diff_ready.emit(diff)
        self._finished_ids.difference_update(diff.removed)
        self.active.difference_update(diff.removed)
        for item_id, changed in diff.changed.items():
            if changed.finished:
                self.active.discard(item_id)
            else:
                self.active.add(item_id)
        for item in diff.changed.values():
            if item.finished and item.id not in self._finished_ids:
                self._finished_ids.add(item.id)
                self.item_finished.emit(item)
                self._record(item)

    def _set_error(self, text: str) -> None:
        text = text.removeprefix("slskd: ")  # the error's own service prefix; the views name slskd themselves
        if text != self._last_error:
            self._last_error = text
            self.error.emit(text)

    def _record(self, item: QueueItem) -> None:
        if self.activity is None:
            return
        from soulsync.ui.models.queue import item_title

        title = item_title(item)
        if item.state == QueueState.SUCCEEDED:
            self.activity.add("download", f"Downloaded {title}", "downloads")
        elif item.state == QueueState.FAILED:
            self.activity.add("download_failed", f"Download failed: {title} ({item.reason})", "downloads")

    # ---- actions (all off the GUI thread) -------------------------------------------------
    def _run(self, fn, *args, on_done=None) -> None:
        if not self.context.slskd_configured():
            self._set_error("slskd is not set up: add its URL and API key in Settings.")
            return

        def work(ctx):
            queue = self.queue
            if queue is None:
                raise RuntimeError("slskd is not set up: add its URL and API key in Settings.")
            return fn(queue, *args)

        def done(result: Any) -> None:
            if isinstance(result, QueueDiff):
                self._publish(result)
            if on_done is not None:
                on_done(result)

        run_task(work, owner=self, on_result=done, on_error=lambda exc: self._set_error(str(exc)))

    def enqueue(self, files: Iterable[tuple[str, str, int]], wanted: Track | None = None,
                candidates: Iterable[Any] = (), source: str = "manual", group_id: str | None = None,
                meta: QueueMeta | None = None, on_done=None) -> None:
        files = list(files)
        candidates = list(candidates)

        def add(queue: DownloadQueue) -> QueueDiff:
            items = queue.enqueue(files, wanted=wanted, candidates=candidates, source=source, group_id=group_id,
                                  meta=meta)
            return QueueDiff(changed={i.id: i for i in items})

        self._run(add, on_done=on_done)

    def cancel(self, ids: list[str]) -> None:
        self._run(lambda q: q.cancel(ids))

    def retry(self, ids: list[str]) -> None:
        self._finished_ids.difference_update(ids)
        self._run(lambda q: q.retry(ids))

    def remove(self, ids: list[str]) -> None:
        self._run(lambda q: q.remove(ids))

    def clear_finished(self) -> None:
        self._run(lambda q: q.clear_finished())

    def is_active(self, username: str, filename: str) -> bool:
        queue = self.built_queue
        return queue.is_active(username, filename) if queue is not None else False

    def known_fake(self, username: str, filename: str) -> str | None:
        """Why this peer's file was refused as a fake before, or None (never builds the queue)."""
        queue = self.built_queue
        return queue.bad_sources.reason(username, filename) if queue is not None else None

    # ---- post-processing (runs on the app's post-processing thread) ------------------------
    def _post_process(self, item: QueueItem, path: Path):
        from soulsync.core.queue_model import Completion

        processor = self.context.post_processor()
        if processor is None:
            return Completion(True, str(path), "kept in the downloads folder (no library folder is set)")
        queue = self.built_queue
        result = process_download(processor, item, path, queue.bad_sources if queue is not None else ())
        library = self.library
        if result.ok and result.final_path and library is not None and not sip.isdeleted(library):
            library.files_placed([str(result.final_path)])  # (the window may have closed meanwhile)  # the library state picks them up (debounced)
        return result
