"""Slow work off the download queue's step: post-processing on its own worker, slskd asked outside the lock.

One file whose post-processing (tagging, the move into the library) takes long
must not freeze the progress every other transfer reports, and one peer slskd
cannot reach must not hold up a cancel or a poll. The slow parts here block on
events the tests release, so nothing depends on timing.
"""
from __future__ import annotations

import logging
import threading

import pytest

from soulsync.core.downloads import Completion, QueueState
from soulsync.core.models import TransferState
from soulsync.core.serial_worker import SerialWorker
from tests.unit.test_downloads_engine import env, remote  # noqa: F401 (env: the queue engine's fixture)

WAIT_S = 10.0
"""Upper bound for a wait that a working queue ends at once (a broken one fails the test, never hangs it)."""


def test_a_slow_post_processing_does_not_delay_other_transfers(env):
    worker = SerialWorker("test-post-processing")
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []
    running = []

    def post_process(item, path):
        running.append(item.filename)
        assert len(running) == 1, "two files post-processed at once"
        calls.append(item.filename)
        if item.filename.endswith("A.mp3"):
            started.set()
            assert release.wait(WAIT_S), "file A was never released"
        running.remove(item.filename)
        return Completion(True, f"/lib/{path.name}")

    q = env.queue(on_completed=post_process, post_worker=worker)
    src_a, size_a = env.audio("A.mp3")
    src_b, size_b = env.audio("B.mp3")
    [a] = q.enqueue([("alice", remote("Album", "A.mp3"), size_a)])
    [b] = q.enqueue([("bob", remote("Album", "B.mp3"), size_b)])
    env.fake.succeed("alice", a.filename, src_a)
    diff = q.tick()
    assert diff.changed[a.id].state == QueueState.PROCESSING
    assert started.wait(WAIT_S)  # A's post-processing runs, and blocks, on the worker

    transfer_b = env.fake.of("bob", b.filename)
    for done in (size_b // 4, size_b // 2):
        env.fake.set(transfer_b, TransferState.IN_PROGRESS, bytes_transferred=done, percent_complete=50.0)
        diff = q.tick()  # returns while A is still being post-processed
        assert diff.changed[b.id].bytes_done == done and diff.changed[b.id].state == QueueState.IN_PROGRESS
        assert q.get(a.id).state == QueueState.PROCESSING and not release.is_set()
        assert env.store.get_queue_item(a.id).state == QueueState.PROCESSING  # a crash now redoes A

    env.fake.succeed("bob", b.filename, src_b)
    assert q.tick().changed[b.id].state == QueueState.PROCESSING  # B waits behind A: filing is one at a time
    assert calls == [a.filename]
    drained = threading.Event()
    worker.submit(drained.set)  # runs once A's and B's jobs have
    release.set()
    assert drained.wait(WAIT_S)
    assert calls == [a.filename, b.filename]
    diff = q.tick()  # the worker's results are reported by the next step
    assert {diff.changed[i].state for i in (a.id, b.id)} == {QueueState.SUCCEEDED}
    assert diff.changed[a.id].final_path == "/lib/A.mp3" and q.items(finished=False) == []
    assert not q.tick().changed  # reported once
    assert worker.close(WAIT_S)


def test_a_missing_library_folder_is_reported_by_every_step_while_the_worker_waits(env, tmp_path):
    """The worker's words about filing stay until it files again, so a view does not flicker between steps."""
    from soulsync.core.destination import DestinationUnavailable

    worker = SerialWorker("test-post-processing")
    library_there = threading.Event()

    def post_process(item, path):
        if not library_there.is_set():
            raise DestinationUnavailable("The library folder /nas/Music is not there")
        return Completion(True, "/nas/Music/A.mp3")

    q = env.queue(on_completed=post_process, post_worker=worker)
    src, size = env.audio("A.mp3")
    [a] = q.enqueue([("alice", remote("Album", "A.mp3"), size)])
    env.fake.succeed("alice", a.filename, src)
    q.tick()
    for _ in range(3):
        drained = threading.Event()
        worker.submit(drained.set)
        assert drained.wait(WAIT_S)
        diff = q.tick()
        assert "not there" in diff.filing and q.get(a.id).state == QueueState.PROCESSING
    library_there.set()
    drained = threading.Event()
    worker.submit(drained.set)
    assert drained.wait(WAIT_S)
    diff = q.tick()
    assert not diff.filing and diff.changed[a.id].state == QueueState.SUCCEEDED
    assert worker.close(WAIT_S)


def test_a_slow_enqueue_at_slskd_holds_up_neither_a_cancel_nor_a_poll(env):
    q = env.queue()
    [other] = q.enqueue([("alice", remote("A", "1.mp3"), 100)])
    asked, release = threading.Event(), threading.Event()

    def slow_peer(name):
        if name == "enqueue":
            asked.set()
            assert release.wait(WAIT_S), "the enqueue was never released"

    env.fake.hook = slow_peer
    sending = threading.Thread(target=q.enqueue, args=([("bob", remote("B", "2.mp3"), 200)],))
    sending.start()
    assert asked.wait(WAIT_S)
    assert q.cancel([other.id]).changed[other.id].state == QueueState.CANCELLED
    env.clock.advance(q.missing_grace_s + 1)
    q.poll()  # bob's file is being handed over: not counted as lost meanwhile
    [waiting] = q.items(finished=False)
    assert waiting.username == "bob" and waiting.state == QueueState.SUBMITTING
    assert sending.is_alive()  # all of that while slskd was still being asked
    release.set()
    sending.join(WAIT_S)
    assert not sending.is_alive()
    [sent] = q.items(finished=False)
    assert sent.state == QueueState.QUEUED_LOCALLY and sent.slskd_id
    assert env.fake.enqueue_calls[-1] == ("bob", [remote("B", "2.mp3")])


def test_a_queue_built_again_meanwhile_does_not_file_a_download_twice(env):
    """The app builds its queue again when slskd's settings change; both share the one post-processing worker."""
    worker = SerialWorker("test-post-processing")
    started, release = threading.Event(), threading.Event()
    calls = []

    def post_process(item, path):
        calls.append(path)
        started.set()
        assert release.wait(WAIT_S), "the file was never released"
        return Completion(True, "/lib/A.mp3")

    old = env.queue(on_completed=post_process, post_worker=worker)
    src, size = env.audio("A.mp3")
    [a] = old.enqueue([("alice", remote("Album", "A.mp3"), size)])
    env.fake.succeed("alice", a.filename, src)
    old.tick()
    assert started.wait(WAIT_S)
    new = env.queue(on_completed=post_process, post_worker=worker)
    assert new.tick().changed.get(a.id) is None and new.get(a.id).state == QueueState.PROCESSING
    drained = threading.Event()
    worker.submit(drained.set)
    release.set()
    assert drained.wait(WAIT_S)
    assert len(calls) == 1  # filed once, by the queue that started it
    diff = new.tick()
    assert diff.changed[a.id].state == QueueState.SUCCEEDED and new.items(finished=False) == []
    assert worker.close(WAIT_S)


def test_the_serial_worker_runs_jobs_in_order_and_goes_on_after_a_failing_one(caplog):
    worker = SerialWorker("test-serial")
    seen: list[int] = []
    done = threading.Event()
    with caplog.at_level(logging.ERROR, logger="soulsync.core.serial_worker"):
        for job in (lambda: seen.append(1), lambda: seen.append(1 // 0), lambda: seen.append(2), done.set):
            worker.submit(job)
        assert done.wait(WAIT_S)
    assert seen == [1, 2] and "test-serial: a job failed" in caplog.text
    assert worker.close(WAIT_S)
    with pytest.raises(RuntimeError, match="closed"):
        worker.submit(done.set)
