"""One background thread that runs jobs one at a time, in the order they were given.

The download queue hands post-processing (tagging, cover fetches, the move
into the library) to a :class:`SerialWorker` so that a slow file never holds up
the step that reports every other transfer's progress. One thread, not a
pool, on purpose: two files filed at once could race for the same library
path (the clash policy looks, then moves), the tagger's temp-file-and-replace
steps and the moves are simplest to reason about one at a time, and a disk is
no faster with two writers. See ``soulsync/ui/pools.py`` for every pool of the
app and why each is the size it is.

The thread is a daemon: a job the app leaves behind when it exits is redone at
the next start (the queue item stays ``processing`` until its result is
saved), exactly as after a crash, so exit never waits for a slow disk.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

log = logging.getLogger(__name__)


class SerialWorker:
    """Runs submitted jobs on one daemon thread, in order; the thread starts with the first job.

    A job's exception is logged and the next job runs. :meth:`close` lets the
    job in hand finish, drops the ones not started, and ends the thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job()`` on the worker's thread after the jobs given before it. Thread-safe."""
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.name} is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._jobs.put(job)

    def close(self, timeout: float | None = None) -> bool:
        """Take no more jobs, drop those not started, and wait up to ``timeout`` seconds (None: for ever) for
        the one in hand. True when the thread has ended (or never started)."""
        with self._lock:
            self._closed = True
            thread = self._thread
            while not self._jobs.empty():
                self._jobs.get_nowait()
            if thread is not None:
                self._jobs.put(None)
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except Exception:
                log.exception("%s: a job failed", self.name)
