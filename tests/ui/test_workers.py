"""The worker module: results, errors, progress, cancellation, and closed receivers."""
from __future__ import annotations

import threading

from PyQt6.QtWidgets import QWidget

from soulsync.ui.workers import Cancelled, active_tasks, run_task


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
