"""Run work off the GUI thread, the same way everywhere.

``run_task(fn, *args, owner=widget, on_result=..., on_error=...)`` wraps ``fn``
in a :class:`QRunnable` on the shared :class:`QThreadPool` (or the ``pool`` given: every pool and
why is in :mod:`soulsync.ui.pools`). ``fn`` receives a
:class:`TaskContext` as its first argument for progress reports and
cooperative cancellation. Results come back through ``pyqtSignal`` to the GUI
thread. When ``owner`` (a QObject) has been deleted by the time a signal
arrives, the callback is skipped quietly, so a page that was closed never
sees "wrapped C/C++ object has been deleted".
"""
from __future__ import annotations

import logging
import sys
import threading
from typing import Any, Callable

from PyQt6 import sip
from PyQt6.QtCore import QObject, QRunnable, QThreadPool, pyqtSignal

from soulsync.core.cancellation import Cancelled
from soulsync.logsetup import scrub_exception
from soulsync.ui.pools import shared_pool

log = logging.getLogger(__name__)

GIL_SWITCH_INTERVAL = 0.001
"""Seconds. Workers running Python code compete with the GUI thread for the GIL; a paint makes
hundreds of calls into Python models, and each may wait up to the switch interval (5 ms by
default) for a busy worker to let go. 1 ms keeps painting smooth at a small cost to workers."""
sys.setswitchinterval(GIL_SWITCH_INTERVAL)



class TaskContext:
    """Handed to every task: progress reporting and cancellation."""

    def __init__(self, signals: "TaskSignals") -> None:
        self._signals = signals
        self._cancel = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if the task was cancelled."""
        if self._cancel.is_set():
            raise Cancelled()

    def progress(self, value: Any) -> None:
        """Report progress (any object: a fraction, a (done, total) tuple, a message...)."""
        if not self._cancel.is_set():
            try:
                self._signals.progress.emit(value)
            except RuntimeError:  # the app is shutting down
                pass

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; returns True (early) if cancelled meanwhile."""
        return self._cancel.wait(seconds)


def with_retries(ctx: TaskContext, call: Callable[[int], Any], *, attempts: int, base_s: float,
                 service: str | None = None, announce: Callable[[str], Any] | None = None,
                 retried_by_client: tuple[type[BaseException], ...] = ()) -> Any:
    """``call(attempt)``, tried again after a passing service failure, ``attempts`` times at most.

    Which failures pass and how long to wait is :func:`~soulsync.services.errors.retry_delay`'s
    (doubling from ``base_s``, a ``Retry-After`` honoured); each wait is said in words through
    ``announce`` (default: the task's progress) and ends early when the task is cancelled.
    ``retried_by_client``: failures the client has retried already, raised at once."""
    from soulsync.services.checks import describe_retry
    from soulsync.services.errors import ServiceError, retry_delay

    tell = announce or ctx.progress
    for attempt in range(attempts):
        try:
            return call(attempt)
        except retried_by_client:
            raise
        except ServiceError as exc:
            delay = retry_delay(exc, attempt, base_s)
            if delay is None or attempt + 1 >= attempts:
                raise
            tell(describe_retry(exc, service or exc.service, delay, attempt, attempts))
            if ctx.wait(delay):
                ctx.check()
    raise ValueError(f"attempts must be at least 1, not {attempts}")


class TaskSignals(QObject):
    result = pyqtSignal(object)
    error = pyqtSignal(object)
    progress = pyqtSignal(object)
    finished = pyqtSignal()


_live: set["TaskHandle"] = set()
"""Keeps handles (and their signal objects) alive until their task finishes."""


class TaskHandle:
    """What :func:`run_task` returns: cancel it, or ask whether it is done."""

    def __init__(self, signals: TaskSignals, ctx: TaskContext, name: str) -> None:
        self.signals = signals
        self.context = ctx
        self.name = name
        self.done = False

    def cancel(self) -> None:
        self.context.cancel()

    @property
    def cancelled(self) -> bool:
        return self.context.cancelled


class _Runnable(QRunnable):
    def __init__(self, fn: Callable, args: tuple, kwargs: dict, ctx: TaskContext, signals: TaskSignals) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._ctx, self._signals = ctx, signals

    def run(self) -> None:
        try:
            value = self._fn(self._ctx, *self._args, **self._kwargs)
        except Cancelled as exc:
            from soulsync.services.errors import ServiceError

            if isinstance(exc, ServiceError) and not self._ctx.cancelled:  # a service call given up: told
                self._emit("error", scrub_exception(exc))
            self._emit("finished")
            return
        except Exception as exc:  # logged with its traceback (the log scrubs it), delivered to on_error scrubbed
            log.debug("task %s failed: %s", getattr(self._fn, "__name__", self._fn), exc, exc_info=True)
            if not self._ctx.cancelled:
                self._emit("error", scrub_exception(exc))
        else:
            if not self._ctx.cancelled:
                self._emit("result", value)
        self._emit("finished")

    def _emit(self, name: str, *args: Any) -> None:
        """Emit unless the signal object is gone (the app is shutting down): then stay quiet."""
        try:
            getattr(self._signals, name).emit(*args)
        except RuntimeError:
            pass


def _guarded(owner: QObject | None, callback: Callable | None) -> Callable[..., None]:
    def deliver(*args: Any) -> None:
        if callback is None:
            return
        if owner is not None and sip.isdeleted(owner):
            return
        callback(*args)
    return deliver


def run_task(
    fn: Callable[..., Any],
    *args: Any,
    owner: QObject | None = None,
    on_result: Callable[[Any], None] | None = None,
    on_error: Callable[[Exception], None] | None = None,
    on_progress: Callable[[Any], None] | None = None,
    on_finished: Callable[[], None] | None = None,
    pool: QThreadPool | None = None,
    **kwargs: Any,
) -> TaskHandle:
    """Run ``fn(ctx, *args, **kwargs)`` on the thread pool; callbacks run on the GUI thread.

    Must be called from the GUI thread. Errors raised by ``fn`` go to
    ``on_error`` (or the log, when there is none), their text scrubbed of secrets
    (:func:`~soulsync.logsetup.scrub_exception`); a cancelled task delivers
    neither result nor error, only ``on_finished``.
    """
    signals = TaskSignals()
    ctx = TaskContext(signals)
    handle = TaskHandle(signals, ctx, getattr(fn, "__name__", "task"))
    signals.result.connect(_guarded(owner, on_result))
    signals.error.connect(_guarded(owner, on_error or _log_error))
    signals.progress.connect(_guarded(owner, on_progress))

    def finished() -> None:
        handle.done = True
        _live.discard(handle)
        _guarded(owner, on_finished)()

    signals.finished.connect(finished)
    _live.add(handle)
    (pool or shared_pool()).start(_Runnable(fn, args, kwargs, ctx, signals))
    return handle


def _log_error(exc: Exception) -> None:
    log.error("Background task failed: %s", exc)


def active_tasks() -> int:
    """How many tasks started with :func:`run_task` have not finished yet."""
    return len(_live)
