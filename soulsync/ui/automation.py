"""The app's side of set and forget: the core scheduler driven by a Qt timer, its runs in a worker.

:class:`AutomationService` owns the :class:`~soulsync.core.scheduler.Scheduler`
and the :class:`~soulsync.automation.Automation` jobs while automation is on.
A timer looks for due jobs (at the scheduler's next wake-up, at least every
minute); due runs are claimed and run one after another on their own
one-thread pool (a run lasts minutes and waits for the download queue, whose
ticks need the shared pool). Runs use the app's shared library index and
download queue, like the Download missing dialog. The Dashboard reads
:meth:`AutomationService.snapshot`; run news go to the tray.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from soulsync.context import AppContext
from soulsync.core.scheduler import JobStatus, RunRecord
from soulsync.ui.pools import long_run_pool
from soulsync.ui.workers import TaskHandle, run_task

log = logging.getLogger(__name__)

LOOK_EVERY_MS = 60_000
"""The longest wait between two looks for due jobs."""


@dataclass
class ScheduleSnapshot:
    """What the Dashboard shows: each job's next run and the last runs."""

    enabled: bool
    paused: bool = False
    jobs: list[JobStatus] = field(default_factory=list)
    history: list[RunRecord] = field(default_factory=list)
    running: str = ""
    """The job running now (empty when none)."""
    labels: dict[str, str] = field(default_factory=dict)
    """Job name -> what to call it (a kept playlist's name)."""


class AutomationService(QObject):
    changed = pyqtSignal()
    """Jobs, their next runs or the history changed (the Dashboard reloads its view)."""
    run_finished = pyqtSignal(object)
    """A :class:`RunRecord` when a run ended."""

    def __init__(self, context: AppContext, library: Any, downloads: Any, notify: Callable[[Any], None] | None = None,
                 clock: Callable[[], float] = time.time, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context, self.library_state, self.downloads = context, library, downloads
        self.notify = notify
        self.clock = clock
        self.scheduler: Any = None
        self.automation: Any = None
        self.running = ""
        self._stop = threading.Event()
        self._build_lock = threading.Lock()
        self._task: TaskHandle | None = None
        self._pool = long_run_pool(self)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.look)

    @property
    def enabled(self) -> bool:
        return self.context.settings.automation.enabled

    def start(self) -> None:
        """Start (or restart after a settings change) when automation is on; stop it when it is off."""
        if not self.enabled:
            self._timer.stop()
            return
        if self.scheduler is not None and self.scheduler.stopping and self._task is None:
            self.scheduler = self.automation = None  # stopped before: a fresh one (its stop cannot be undone)
        self._stop.clear()
        self._timer.start(0)

    def refresh(self) -> None:
        """The kept or watched lists changed: the jobs follow at once (and the Dashboard with them)."""
        if self.enabled and self._task is None:
            self._timer.start(0)
        else:
            self.changed.emit()

    def stop(self) -> None:
        """Stop looking; a running run is cancelled (what it finished is kept, it runs again next time)."""
        self._timer.stop()
        self._stop.set()
        if self.scheduler is not None:
            self.scheduler.request_stop()

    # ---- the scheduler, built in a worker ------------------------------------------------------
    def _ensure(self, register: bool = True) -> Any:
        """The scheduler and the jobs (built on first use, in a worker: it reads the database); ``register``
        brings the jobs in line with the kept and watched lists (before running, not for a mere look)."""
        with self._build_lock:
            return self._build(register)

    def _build(self, register: bool) -> Any:
        if self.scheduler is None:
            from soulsync.automation import Automation, JobPorts
            from soulsync.core.scheduler import Scheduler
            from soulsync.ui.library_state import SharedLibrary

            context, state = self.context, self.library_state
            shared = SharedLibrary(state)

            def tools():
                queue = self.downloads.queue
                if queue is None:
                    from soulsync.core.sync_run import SyncError

                    raise SyncError("slskd is not set up: add its URL and API key in Settings.")
                return context.download_tools(queue, drive_queue=False)

            ports = JobPorts(library=lambda: shared, tools=tools,
                             spotify=lambda: context.spotify() if context.spotify_configured() else None,
                             is_cancelled=self._stop.is_set, wait=self._stop.wait,
                             hold=shared.hold, release=shared.release)
            self.scheduler = Scheduler(context.store, clock=self.clock)
            self.automation = Automation(context, self.scheduler, ports, notify=self._notify, clock=self.clock)
            register = True
        if register:
            self.automation.register()
        return self.scheduler

    def _notify(self, notice: Any) -> None:
        if self.notify is not None:
            self.notify(notice)

    # ---- looking and running -----------------------------------------------------------------
    def look(self) -> None:
        """Run what is due (one run after another), then look again at the next wake-up."""
        if self._task is not None or not self.enabled:
            return

        def work(ctx):
            scheduler = self._ensure()
            records = []
            for claim in scheduler.take_due():
                if self._stop.is_set():
                    claim.release()
                    continue
                ctx.progress(("running", claim.name))
                records.append(claim.run())
                ctx.progress(("finished", records[-1]))
            return scheduler.next_wakeup()

        self._task = run_task(work, owner=self, on_progress=self._progress, on_result=self._plan_next,
                              on_error=self._failed, on_finished=self._finished, pool=self._pool)

    def run_now(self, job: str) -> None:
        """Run one job now (even when paused), after the run going on."""
        def work(ctx):
            scheduler = self._ensure()
            claim = scheduler.claim_now(job)
            if claim is None:
                return None
            ctx.progress(("running", claim.name))
            record = claim.run()
            ctx.progress(("finished", record))
            return scheduler.next_wakeup()

        run_task(work, owner=self, on_progress=self._progress, on_result=self._plan_next, on_error=self._failed,
                 pool=self._pool)

    def set_paused(self, paused: bool) -> None:
        def work(_ctx):
            scheduler = self._ensure(register=False)
            scheduler.set_paused(paused)
            return scheduler.next_wakeup()

        run_task(work, owner=self, on_result=self._plan_next, on_error=self._failed, pool=self._pool)

    def _progress(self, value) -> None:
        kind, payload = value
        if kind == "running":
            self.running = payload
        else:
            self.running = ""
            self.run_finished.emit(payload)
        self.changed.emit()

    def _plan_next(self, wakeup: float | None) -> None:
        self.changed.emit()
        if not self.enabled or self._stop.is_set():
            return
        wait_ms = LOOK_EVERY_MS if wakeup is None else int(max(0.0, wakeup - self.clock()) * 1000) + 500
        self._timer.start(min(LOOK_EVERY_MS, wait_ms))

    def _failed(self, exc: Exception) -> None:
        log.error("Automation: %s", exc)
        self._timer.start(LOOK_EVERY_MS)

    def _finished(self) -> None:
        self._task = None
        self.running = ""

    # ---- what the Dashboard shows ----------------------------------------------------------------
    def load_snapshot(self, on_ready: Callable[[ScheduleSnapshot], None]) -> None:
        """Read the schedule in a worker; ``on_ready(snapshot)`` on the GUI thread."""
        enabled, running = self.enabled, self.running

        def work(_ctx):
            if not enabled:
                return ScheduleSnapshot(False)
            from soulsync.core.kept_playlists import kept_playlists
            from soulsync.core.scheduler import ARTISTS_JOB, WISHLIST_JOB

            scheduler = self._ensure(register=False)
            labels = {WISHLIST_JOB: "Wishlist retries", ARTISTS_JOB: "Watched artists"}
            labels.update({k.job: f"Playlist “{k.name or k.playlist_id}”" for k in kept_playlists(self.context.store)})
            return ScheduleSnapshot(True, scheduler.paused, scheduler.jobs(), scheduler.history(limit=8), running,
                                    labels)

        run_task(work, owner=self, on_result=on_ready, on_error=self._failed)
