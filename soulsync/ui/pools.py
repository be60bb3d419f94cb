"""Every thread pool of the app in one place: its size, and which work runs in parallel and which in turn.

The GUI thread only paints and reacts; everything else runs on one of these.
:func:`~soulsync.ui.workers.run_task` takes a ``pool`` (default: the shared one).

Qt pools (made here, nowhere else):

* :func:`shared_pool`: Qt's global pool, one thread per core (Qt's
  ``idealThreadCount``). Short work in parallel: network calls, library
  scans, searches, the download queue's ticks, page loads. Nothing that lasts
  minutes or waits for other work of this pool, or it would starve the rest.
* :func:`long_run_pool` (1 thread, one pool per owner): a job that lasts
  minutes and waits for the download queue, whose ticks run on the shared
  pool (the Download missing run): it must never hold one of the shared
  pool's few threads. One thread: an owner runs one such job at a time. The
  automation service has one too: scheduled runs go one after another, so two
  jobs never search and download at once.
* :func:`preview_pool` (3 threads, the player bar's): a preview's fetch can
  stream for minutes, so it keeps off the shared pool; beside the fetch in
  hand, the previous preview's clean-up at slskd and the stream cache's
  clean-up run at the same time, so starting a new preview never waits for
  either.

Work serialised on purpose, outside these pools:

* Post-processing (tagging, cover fetches, moves into the library): one
  thread for the whole app (:class:`soulsync.core.serial_worker.SerialWorker`,
  :attr:`soulsync.context.AppContext.post_worker`), off the download queue's
  tick. One at a time because two files filed at once could race for the same
  library path, and tagging's temp-copy-and-replace and the moves are kept
  simple to reason about after a crash; a disk is no faster with two writers.
* The download queue's ticks: one at a time (the download service keeps one
  tick task); user actions run beside them and meet on the queue's lock,
  which no request to slskd holds while it waits for a peer.
* SQLite writes: one connection behind a lock (:class:`soulsync.core.store.Store`),
  so one writer at a time; readers wait for the lock, never for a pool.
* slskd searches: any worker may search, but every search takes a slot of
  the app's one :class:`~soulsync.core.ratelimit.SearchRateLimiter`
  (:attr:`soulsync.context.AppContext.search_limiter`): Soulseek's limit of
  about 34 searches in 220 s is per account.
"""
from __future__ import annotations

from PyQt6.QtCore import QObject, QThreadPool

LONG_RUN_THREADS = 1
"""Threads of a :func:`long_run_pool`."""
PREVIEW_THREADS = 3
"""Threads of the :func:`preview_pool`: a fetch, the previous preview's clean-up, the cache clean-up."""


def shared_pool() -> QThreadPool:
    """The shared pool (Qt's global one): short work, in parallel."""
    pool = QThreadPool.globalInstance()
    assert pool is not None  # Qt makes it with the application
    return pool


def long_run_pool(owner: QObject) -> QThreadPool:
    """A pool of its own for ``owner``'s job that lasts minutes and waits for the shared pool's work."""
    return _pool(owner, LONG_RUN_THREADS)


def preview_pool(owner: QObject) -> QThreadPool:
    """The player bar's pool: preview fetches and their clean-ups, off the shared pool."""
    return _pool(owner, PREVIEW_THREADS)


def _pool(owner: QObject, threads: int) -> QThreadPool:
    pool = QThreadPool(owner)
    pool.setMaxThreadCount(threads)
    return pool
