"""The worker module: results, errors, progress, cancellation, and closed receivers."""
from __future__ import annotations

import threading
import time

import pytest
from PyQt6.QtWidgets import QWidget

from soulsync.services.errors import AuthError, ServerError, Unreachable
from soulsync.ui.workers import Cancelled, TaskContext, TaskSignals, active_tasks, run_task, with_retries


def test_result_arrives_on_gui_thread(qtbot):
    seen = {}

    def work(ctx, a, b):
        seen["worker_thread"] = threading.current_thread() is not threading.main_thread()
        return a + b

    def got(value):
        seen["value"] = value
        seen["gui_thread"] = threading.current_thread() is threading.main_thread()

    handle = run_task(work, 2, 3, on_result=got)
    qtbot.waitUntil(lambda: handle.done, timeout=3000)
    assert seen == {"worker_thread": True, "value": 5, "gui_thread": True}


def test_error_is_delivered(qtbot):
    errors = []

    def work(ctx):
        raise ValueError("boom")

    handle = run_task(work, on_error=errors.append)
    qtbot.waitUntil(lambda: handle.done, timeout=3000)
    assert len(errors) == 1 and str(errors[0]) == "boom"


def test_progress_and_cooperative_cancel(qtbot):
    progress, results = [], []
    started = threading.Event()

    def work(ctx):
        for i in range(1000):
            ctx.progress(i)
            started.set()
            if ctx.wait(0.01):
                ctx.check()
        return "finished"

    handle = run_task(work, on_progress=progress.append, on_result=results.append)
    assert started.wait(3)
    qtbot.waitUntil(lambda: len(progress) > 0, timeout=3000)
    handle.cancel()
    qtbot.waitUntil(lambda: handle.done, timeout=3000)
    assert results == []
    assert handle.cancelled


def test_callbacks_skip_deleted_owner(qtbot):
    owner = QWidget()
    calls = []
    gate = threading.Event()

    def work(ctx):
        gate.wait(3)
        return 1

    handle = run_task(work, owner=owner, on_result=lambda v: calls.append(owner.objectName()))
    owner.deleteLater()
    qtbot.waitUntil(lambda: __import__("PyQt6.sip", fromlist=["sip"]).isdeleted(owner), timeout=3000)
    gate.set()
    qtbot.waitUntil(lambda: handle.done, timeout=3000)
    assert calls == []


def test_cancelled_exception_is_silent(qtbot):
    errors = []

    def work(ctx):
        raise Cancelled()

    handle = run_task(work, on_error=errors.append)
    qtbot.waitUntil(lambda: handle.done, timeout=3000)
    assert errors == [] and active_tasks() >= 0



class Flaky:
    """Fails with ``error`` for the first ``failures`` calls, then answers "done"; records the attempts."""

    def __init__(self, error: Exception, failures: int) -> None:
        self.error, self.failures, self.attempts = error, failures, []

    def __call__(self, attempt: int) -> str:
        self.attempts.append(attempt)
        if len(self.attempts) <= self.failures:
            raise self.error
        return "done"


def test_with_retries_tries_passing_failures_again_and_says_so():
    ctx, told = TaskContext(TaskSignals()), []
    refused = Unreachable("Plex", "connection refused")
    call = Flaky(refused, failures=2)
    assert with_retries(ctx, call, attempts=3, base_s=0.01, announce=told.append) == "done"
    assert call.attempts == [0, 1, 2] and len(told) == 2 and all("Plex" in t for t in told)

    lasting = Flaky(refused, failures=5)
    with pytest.raises(Unreachable):  # still failing at the last attempt: raised
        with_retries(ctx, lasting, attempts=2, base_s=0.01, announce=told.append)
    assert lasting.attempts == [0, 1]

    retried = Flaky(ServerError("Spotify", "down", status=503), failures=1)
    with pytest.raises(ServerError):  # the client retried these already: raised at once
        with_retries(ctx, retried, attempts=3, base_s=0.01, retried_by_client=(ServerError,))
    assert retried.attempts == [0]

    wrong = Flaky(AuthError("Plex", "token refused"), failures=1)
    with pytest.raises(AuthError):  # not a passing failure: no second try
        with_retries(ctx, wrong, attempts=3, base_s=0.01)
    assert wrong.attempts == [0]


def test_with_retries_stops_waiting_when_the_task_is_cancelled():
    ctx = TaskContext(TaskSignals())
    call = Flaky(Unreachable("Spotify", "connection refused"), failures=5)
    started = time.monotonic()
    with pytest.raises(Cancelled):
        with_retries(ctx, call, attempts=3, base_s=30.0, announce=lambda _text: ctx.cancel())
    assert time.monotonic() - started < 5 and call.attempts == [0]
