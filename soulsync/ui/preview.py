"""Fetch-for-preview controller: one :class:`PreviewSession` per previewed search result.

A session runs a :class:`~soulsync.core.preview_fetch.PreviewFetch` in a worker
on the player's own thread pool (a fetch can run for minutes; it must not hold
the shared pool), reports its progress on the GUI thread and hands out
:class:`~soulsync.ui.progressive_device.ProgressiveDevice` readers over the
cache file for the player. :meth:`PreviewSession.stop` cancels the fetch
(whose worker then cancels the transfer at slskd and deletes the files) or,
when the fetch had finished, deletes the cache file in a worker.

:class:`PlayerState` is what the player bar shows and publishes.
"""
from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from pathlib import Path

from PyQt6.QtCore import QObject, QThreadPool, pyqtSignal

from soulsync.context import AppContext
from soulsync.core.preview_cache import PreviewOptions, StreamBuffer, StreamCache
from soulsync.core.preview_fetch import FetchProgress, PreviewFailed, PreviewFetch
from soulsync.core.search import ResultTrack
from soulsync.ui.progressive_device import ProgressiveDevice
from soulsync.ui.workers import TaskContext, TaskHandle, run_task

log = logging.getLogger(__name__)


class PreviewState(str, enum.Enum):
    """What the player bar is doing."""

    IDLE = "idle"
    QUEUED = "queued"
    """Waiting in the peer's upload queue (``PlayerState.place``)."""
    CONNECTING = "connecting"
    BUFFERING = "buffering"
    """Waiting for data (``PlayerState.percent`` of what is needed to go on)."""
    PLAYING = "playing"
    PAUSED = "paused"
    FAILED = "failed"
    """``PlayerState.message`` says why; the bar returns to idle shortly after."""


@dataclass(frozen=True, slots=True)
class PlayerState:
    """The player bar's state as published by ``PlayerBar.state`` / ``PlayerBar.state_changed``."""

    kind: PreviewState = PreviewState.IDLE
    place: int | None = None
    percent: int | None = None
    message: str = ""

    @property
    def text(self) -> str:
        """The state in words, as the bar shows it."""
        kind = self.kind
        if kind is PreviewState.QUEUED:
            return f"Queued at the peer (place {self.place})" if self.place else "Queued at the peer"
        if kind is PreviewState.CONNECTING:
            return "Connecting to the peer…"
        if kind is PreviewState.BUFFERING:
            suffix = f" {self.percent} %" if self.percent is not None else "…"
            return f"Buffering{suffix}" + (f" ({self.message})" if self.message else "")
        if kind is PreviewState.PLAYING:
            return "Playing"
        if kind is PreviewState.PAUSED:
            return "Paused"
        if kind is PreviewState.FAILED:
            return f"Preview failed: {self.message}" if self.message else "Preview failed"
        return "Nothing playing"


class PreviewSession(QObject):
    """The fetch and the cache file of one preview."""

    progress = pyqtSignal(object)
    """A :class:`FetchProgress`."""
    completed = pyqtSignal()
    """The whole file is in the cache."""
    failed = pyqtSignal(str)
    """The fetch failed; the reason in words."""

    def __init__(self, context: AppContext, track: ResultTrack, cache: StreamCache, options: PreviewOptions,
                 pool: QThreadPool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.track = track
        self.cache = cache
        self.options = options
        self.pool = pool
        self.buffer = StreamBuffer(track.file.size)
        self.path: Path = cache.new_path(track.ext)
        self.last: FetchProgress | None = None
        self.complete = False
        self.stopped = False
        self._fetch: PreviewFetch | None = None
        self._hand_over = False
        self._fetched = False
        self._task: TaskHandle | None = None

    def start(self) -> None:
        """Start fetching in a worker."""
        self._task = run_task(self._run, owner=self, pool=self.pool, on_progress=self._on_progress,
                              on_result=self._on_result, on_error=self._on_error, on_finished=self._on_finished)

    def _run(self, ctx: TaskContext) -> bool:
        if not self.context.slskd_configured():
            raise PreviewFailed("slskd is not set up (see Settings)")
        client = self.context.slskd()
        try:
            fetch = PreviewFetch(client, self.track.file, self.path, self.buffer, self.cache, self.options,
                                 downloads_dir=self.context.settings.downloads.download_dir or None)
            self._fetch = fetch
            if self._hand_over:  # after publishing the fetch: hand_over() sees one or the other
                fetch.hand_over()
            self._fetched = fetch.run(ctx.wait, ctx.progress)
            return self._fetched
        finally:
            client.close()

    def open_device(self, parent: QObject | None = None) -> ProgressiveDevice:
        """A new reader over the cache file, opened for the player."""
        device = ProgressiveDevice(self.path, self.buffer, parent)
        device.open_for_playback()
        return device

    def hand_over(self) -> None:
        """The user queued this file for download: leave its slskd transfer to the download queue."""
        self._hand_over = True
        if self._fetch is not None:
            self._fetch.hand_over()

    def stop(self) -> None:
        """End the preview: cancel the fetch (its worker cleans up at slskd and on disk) or delete the
        finished cache file. The session deletes itself once its worker is done."""
        if self.stopped:
            return
        self.stopped = True
        self.buffer.close("stopped")
        if self._task is not None and not self._task.done:
            self._task.cancel()
        else:
            self._retire()

    def _retire(self) -> None:
        if self._fetched:
            run_task(self._release, self.cache, self.path, pool=self.pool)
        self.deleteLater()

    @staticmethod
    def _release(ctx: TaskContext, cache: StreamCache, path: Path) -> None:
        cache.release(path)

    def _on_progress(self, progress: object) -> None:
        if isinstance(progress, FetchProgress) and not self.stopped:
            self.last = progress
            self.progress.emit(progress)

    def _on_result(self, done: object) -> None:
        if done and not self.stopped:
            self.complete = True
            self.completed.emit()

    def _on_finished(self) -> None:
        if self.stopped:
            self._retire()

    def _on_error(self, exc: Exception) -> None:
        if self.stopped:
            return
        reason = exc.reason if isinstance(exc, PreviewFailed) else str(getattr(exc, "message", "") or exc)
        log.info("preview of %s failed: %s", self.track.name, reason)
        self.failed.emit(reason)
