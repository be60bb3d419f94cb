"""The download queue engine against an in-memory slskd: states, fallback, stalls, reconciliation, paths."""
from __future__ import annotations

import dataclasses
import os
import shutil
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from soulsync.core.downloads import DownloadQueue
from soulsync.core.queue_model import Completion, QueueDiff, QueueState
from soulsync.core.transfer_failures import failure_reason
from soulsync.core.models import Track, Transfer, TransferState
from soulsync.core.slskd_files import DownloadRules, LocateError, expected_local_paths, locate_download
from soulsync.core.store import Store
from soulsync.core.store_records import QueueMeta
from soulsync.services.errors import RateLimited, ServerError, Unreachable
from tests.audio_fixtures import make_audio

RAW = {
    TransferState.QUEUED_LOCALLY: "Queued, Locally",
    TransferState.REQUESTED: "Requested",
    TransferState.QUEUED_REMOTELY: "Queued, Remotely",
    TransferState.INITIALIZING: "Initializing",
    TransferState.IN_PROGRESS: "InProgress",
    TransferState.SUCCEEDED: "Completed, Succeeded",
    TransferState.CANCELLED: "Completed, Cancelled",
    TransferState.TIMED_OUT: "Completed, TimedOut",
    TransferState.ERRORED: "Completed, Errored",
    TransferState.REJECTED: "Completed, Rejected",
    TransferState.ABORTED: "Completed, Aborted",
}


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeSlskd:
    """slskd's transfer API in memory, with 0.24+ semantics (re-enqueue hides the old record)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.transfers: dict[str, Transfer] = {}
        self.removed: set[str] = set()
        self.enqueue_calls: list[tuple[str, list[str]]] = []
        self.cancel_calls: list[tuple[str, bool]] = []
        self.down: Exception | None = None
        self.enqueue_error: Exception | None = None
        self.enqueue_errors: dict[str, Exception] = {}
        """Errors raised for one user's enqueues only (a slow or refusing peer)."""
        self.cancel_error: Exception | None = None
        self.record_then_fail = False
        """Create the transfers, then raise ``enqueue_error`` (the answer was lost)."""
        self.report_enqueued = True
        self.hook = None
        """Called with the method name before every call (to check what was saved first)."""
        self.rules = DownloadRules()
        """What ``download_rules`` answers (default: slskd 0.24/0.25, no retries); an exception is raised."""

    # ---- the client interface ----
    def enqueue(self, username, files):
        self._hook("enqueue")
        self.enqueue_calls.append((username, [f["filename"] for f in files]))
        if username in self.enqueue_errors:
            raise self.enqueue_errors[username]
        if self.enqueue_error is not None and not self.record_then_fail:
            raise self.enqueue_error
        enqueued, failed = [], []
        for f in files:
            old = [t for t in self.transfers.values()
                   if (t.username, t.filename) == (username, f["filename"]) and t.id not in self.removed]
            if any(not t.state.is_finished for t in old):
                failed.append(f["filename"])
                continue
            self.removed.update(t.id for t in old)
            t = Transfer(id=str(uuid.uuid4()), username=username, filename=f["filename"], size=f["size"],
                         state=TransferState.QUEUED_LOCALLY, raw_state=RAW[TransferState.QUEUED_LOCALLY])
            self.transfers[t.id] = t
            enqueued.append(dataclasses.replace(t))
        if self.enqueue_error is not None:
            raise self.enqueue_error
        return SimpleNamespace(enqueued=enqueued if self.report_enqueued else [], failed=failed)

    def downloads(self):
        self._hook("downloads")
        if self.down is not None:
            raise self.down
        return [dataclasses.replace(t) for t in self.transfers.values() if t.id not in self.removed]

    def cancel(self, username, transfer_id, remove=False):
        self._hook("cancel")
        self.cancel_calls.append((transfer_id, remove))
        if self.cancel_error is not None:
            raise self.cancel_error
        t = self.transfers.get(transfer_id)
        if t is not None and not t.state.is_finished:
            self.set(t, TransferState.CANCELLED, exception="The operation was canceled.")
        if t is not None and remove and t.state.is_finished:
            self.removed.add(transfer_id)

    def downloads_dir(self):
        return str(self.root)

    def download_rules(self):
        if isinstance(self.rules, Exception):
            raise self.rules
        return self.rules

    def _hook(self, name):
        if self.hook is not None:
            self.hook(name)

    # ---- test helpers ----
    def of(self, username: str, filename: str) -> Transfer:
        [t] = [t for t in self.transfers.values()
               if (t.username, t.filename) == (username, filename) and t.id not in self.removed]
        return t

    def set(self, t: Transfer, state: TransferState, **fields) -> None:
        t.state, t.raw_state = state, RAW[state]
        for key, value in fields.items():
            setattr(t, key, value)

    def succeed(self, username: str, filename: str, source: Path) -> Path:
        """Finish a transfer the way slskd does: file moved to <downloads>/<last folder>/<name>, _<ticks> on a clash."""
        t = self.of(username, filename)
        target = expected_local_paths(self.root, username, filename, self.rules)[0]
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target = target.with_name(f"{target.stem}_{639000000000000000 + len(self.transfers)}{target.suffix}")
        shutil.copyfile(source, target)
        self.set(t, TransferState.SUCCEEDED, bytes_transferred=t.size, percent_complete=100.0)
        return target


@pytest.fixture
def env(tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    store = Store(tmp_path / "db.sqlite3")
    fake = FakeSlskd(downloads)
    clock = Clock()
    made: list = []

    def queue(**kw) -> DownloadQueue:
        kw.setdefault("downloads_dir", downloads)
        kw.setdefault("clock", clock)
        q = DownloadQueue(store, fake, **kw)
        made.append(q)
        return q

    def audio(name: str, seconds: float = 1.0) -> tuple[Path, int]:
        path = make_audio(tmp_path / "peer" / name, seconds=seconds)
        return path, path.stat().st_size

    yield SimpleNamespace(store=store, fake=fake, clock=clock, queue=queue, audio=audio, tmp=tmp_path,
                          downloads=downloads)
    store.close()


def remote(folder: str, name: str) -> str:
    return f"@@share\\Music\\{folder}\\{name}"


def only(q: DownloadQueue):
    [item] = q.items()
    return item


WANTED = Track(title="Song", artists=["Band"], duration_ms=1000)


# ---------------------------------------------------------------------------- enqueue


def test_enqueue_saves_first_then_asks_slskd_and_records_ids(env):
    seen = []
    env.fake.hook = lambda name: seen.append([i.state for i in env.store.queue_items()]) if name == "enqueue" else None
    q = env.queue()
    files = [("alice", remote("Album", f"0{n} - T.mp3"), 1000 + n) for n in range(3)]
    items = q.enqueue(files, group_id="album-1", meta=QueueMeta(release_date="2001"))
    assert seen == [["submitting"] * 3]  # saved as submitting before slskd was asked
    assert env.fake.enqueue_calls == [("alice", [f[1] for f in files])]  # one request per user
    assert [i.state for i in items] == ["queued_locally"] * 3
    assert all(i.slskd_id for i in items) and {i.group_id for i in items} == {"album-1"}
    assert set(env.store.queue_transfer_ids()) == {i.slskd_id for i in items}
    assert items[0].candidates == [{"username": "alice", "filename": files[0][1], "size": 1000}]


def test_duplicates_of_active_files_are_refused(env):
    q = env.queue()
    f = ("alice", remote("A", "01.mp3"), 10)
    assert len(q.enqueue([f, f])) == 1
    assert q.enqueue([f]) == []
    assert q.is_active("alice", f[1])
    q.cancel([only(q).id])
    assert not q.is_active("alice", f[1])
    assert len(q.enqueue([f])) == 1  # a finished one does not block a new download


def test_malformed_files_are_skipped(env):
    q = env.queue()
    created = q.enqueue([("", "x.mp3", 1), ("bob", "", 1), ("bob",), None, ("bob", "ok.mp3", -5)])
    assert [(i.username, i.filename, i.size) for i in created] == [("bob", "ok.mp3", 0)]


def test_concurrency_limit_keeps_the_rest_waiting_locally(env):
    q = env.queue(max_concurrent=2)
    items = q.enqueue([("alice", remote("A", f"{n}.mp3"), 5) for n in range(5)])
    assert [i.state for i in items] == ["queued_locally"] * 2 + ["queued"] * 3
    assert len(env.fake.transfers) == 2
    first = env.fake.of("alice", items[0].filename)
    env.fake.set(first, TransferState.CANCELLED)  # cancelled in slskd: counts as a failure, frees the slot
    q.tick()
    states = [i.state for i in q.items(finished=False)]
    assert states.count("queued") == 2 and len(env.fake.transfers) == 3


# ---------------------------------------------------------------------------- polling


def test_poll_maps_every_state_and_reports_only_changed_items(env):
    q = env.queue(max_concurrent=5)
    a, b = q.enqueue([("alice", remote("A", "1.mp3"), 100), ("bob", remote("B", "2.mp3"), 100)])
    assert q.poll().changed == {}  # nothing moved
    ta = env.fake.of("alice", a.filename)
    expected = {
        TransferState.REQUESTED: "requested",
        TransferState.QUEUED_REMOTELY: "queued_remotely",
        TransferState.INITIALIZING: "initializing",
        TransferState.IN_PROGRESS: "in_progress",
    }
    for state, ours in expected.items():
        env.fake.set(ta, state)
        diff = q.poll()
        assert list(diff.changed) == [a.id] and diff.changed[a.id].state == ours
    env.fake.set(ta, TransferState.IN_PROGRESS, bytes_transferred=40, percent_complete=40.0, average_speed=2048.0)
    item = q.poll().changed[a.id]
    assert (item.bytes_done, item.percent, item.speed) == (40, 40.0, 2048.0)
    env.fake.set(ta, TransferState.QUEUED_REMOTELY, place_in_queue=7)
    item = q.poll().changed[a.id]
    assert item.place_in_queue == 7 and item.speed == 0.0
    assert env.store.get_queue_item(a.id).place_in_queue == 7  # saved


@pytest.mark.parametrize("state, exception, words", [
    (TransferState.REJECTED, "Transfer rejected: Queue full", "The peer rejected the download (Queue full)"),
    (TransferState.ERRORED, "Transfer failed: closed", "Transfer failed: closed"),
    (TransferState.REJECTED, None, "The peer rejected the download"),
    (TransferState.TIMED_OUT, None, "Timed out"),
    (TransferState.ERRORED, "The connection was closed unexpectedly", "Transfer failed: The connection was closed unexpectedly"),
    (TransferState.ABORTED, "size mismatch", "The transfer was aborted (size mismatch)"),
    (TransferState.CANCELLED, "The operation was canceled.", "Cancelled in slskd"),
])
def test_failures_end_with_the_reason_in_words(env, state, exception, words):
    q = env.queue()
    [item] = q.enqueue([("alice", remote("A", "1.mp3"), 100)])
    env.fake.set(env.fake.of("alice", item.filename), state, exception=exception)
    diff = q.tick()
    done = diff.changed[item.id]
    assert done.state == "failed" and done.reason == words and done.finished_at is not None
    assert done.tried == [["alice", item.filename, words]]


def test_failure_text_from_peers_is_cleaned_and_cut():
    t = Transfer(id="x", username="u", filename="f", state=TransferState.ERRORED,
                 exception="bad\x00\nthing" + "x" * 1000)
    reason = failure_reason(t)
    assert reason.startswith("Transfer failed: bad  thing") and len(reason) < 340 and "\n" not in reason


def test_unknown_state_strings_do_not_crash(env):
    q = env.queue()
    [item] = q.enqueue([("alice", remote("A", "1.mp3"), 100)])
    t = env.fake.of("alice", item.filename)
    t.state, t.raw_state = TransferState.UNKNOWN, "Frobnicating"
    q.tick()
    assert only(q).state == "queued_locally"  # ours is kept


# ---------------------------------------------------------------------------- fallback


def three_sources():
    return [("alice", remote("A", "01 - Song.mp3"), 100)], [
        {"username": "bob", "filename": remote("B", "Song.mp3"), "size": 200, "score": 0.9},
        {"username": "carol", "filename": remote("C", "Song.mp3"), "size": 300},
        {"username": "", "filename": "broken"},
    ]


def test_fallback_goes_through_candidates_in_order_then_fails(env):
    q = env.queue()
    files, cands = three_sources()
    [item] = q.enqueue(files, wanted=WANTED, candidates=cands, source="matched")
    env.fake.set(env.fake.of("alice", files[0][1]), TransferState.REJECTED, exception="Queue full")
    moved = q.tick().changed[item.id]
    assert (moved.username, moved.attempt, moved.state) == ("bob", 2, "queued_locally")
    assert moved.reason == "Moved on from alice: The peer rejected the download (Queue full)"
    assert moved.tried == [["alice", files[0][1], "The peer rejected the download (Queue full)"]]
    assert not q.is_active("alice", files[0][1]) and q.is_active("bob", cands[0]["filename"])
    env.fake.set(env.fake.of("bob", cands[0]["filename"]), TransferState.ERRORED, exception="closed")
    moved = q.tick().changed[item.id]
    assert (moved.username, moved.attempt, moved.size) == ("carol", 3, 300)
    env.fake.set(env.fake.of("carol", cands[1]["filename"]), TransferState.TIMED_OUT)
    done = q.tick().changed[item.id]
    assert done.state == "failed" and done.reason == "Timed out (no other source left after 3 attempts)"
    assert [t[0] for t in done.tried] == ["alice", "bob", "carol"]


def test_max_attempts_stops_the_fallback(env):
    q = env.queue(max_attempts=2)
    files, cands = three_sources()
    [item] = q.enqueue(files, candidates=cands)
    env.fake.set(env.fake.of("alice", files[0][1]), TransferState.REJECTED)
    q.tick()
    env.fake.set(env.fake.of("bob", cands[0]["filename"]), TransferState.REJECTED)
    done = q.tick().changed[item.id]
    assert done.state == "failed" and done.attempt == 2
    assert done.reason == "The peer rejected the download (gave up after 2 attempts)"
    assert "carol" not in {user for user, _ in env.fake.enqueue_calls}


def test_a_candidate_active_in_another_item_is_skipped(env):
    q = env.queue()
    files, cands = three_sources()
    q.enqueue([("bob", cands[0]["filename"], 200)])  # bob's file is already being downloaded
    [item] = q.enqueue(files, candidates=cands)
    env.fake.set(env.fake.of("alice", files[0][1]), TransferState.REJECTED)
    assert q.tick().changed[item.id].username == "carol"


def test_stall_by_clock_cancels_and_moves_on(env):
    q = env.queue(stall_timeout_s=60)
    files, cands = three_sources()
    [item] = q.enqueue(files, candidates=cands)
    t = env.fake.of("alice", files[0][1])
    env.fake.set(t, TransferState.IN_PROGRESS, bytes_transferred=10)
    q.tick()
    env.clock.advance(50)
    env.fake.set(t, TransferState.IN_PROGRESS, bytes_transferred=20)  # progress resets the timer
    q.tick()
    env.clock.advance(50)
    assert only(q).username == "alice"
    env.fake.set(t, TransferState.QUEUED_REMOTELY, place_in_queue=3)  # a move in the peer's queue is progress
    q.tick()
    env.clock.advance(59)
    q.tick()
    assert only(q).username == "alice" and env.fake.cancel_calls == []
    env.clock.advance(2)
    moved = q.tick().changed[item.id]
    assert moved.username == "bob" and moved.reason == "Moved on from alice: Stalled: no progress for 60 s"
    assert env.fake.cancel_calls == [(t.id, False)] and t.state is TransferState.CANCELLED


def test_waiting_behind_our_own_transfer_from_the_same_peer_is_not_a_stall(env):
    q = env.queue(stall_timeout_s=60)
    a, b = q.enqueue([("alice", remote("A", "1.mp3"), 1000), ("alice", remote("A", "2.mp3"), 1000)])
    ta, tb = env.fake.of("alice", a.filename), env.fake.of("alice", b.filename)
    env.fake.set(tb, TransferState.QUEUED_REMOTELY, place_in_queue=1)
    for n in range(1, 5):  # the peer uploads a, slowly; b waits its turn for two minutes
        env.fake.set(ta, TransferState.IN_PROGRESS, bytes_transferred=n * 100)
        q.tick()
        env.clock.advance(40)
    assert [i.state for i in q.items()] == ["in_progress", "queued_remotely"]
    q.tick()  # a made no progress in the last 40 s: neither did b
    env.clock.advance(21)
    q.tick()
    assert [i.state for i in q.items()] == ["failed", "failed"]
    assert {i.reason for i in q.items()} == {"Stalled: no progress for 60 s"}


def test_user_cancel_does_not_fall_back(env):
    seen = []
    q = env.queue()
    files, cands = three_sources()
    [item] = q.enqueue(files, candidates=cands)
    env.fake.hook = lambda name: seen.append(env.store.get_queue_item(item.id).state) if name == "cancel" else None
    done = q.cancel([item.id]).changed[item.id]
    assert seen == ["cancelled"]  # saved before slskd was told
    assert done.state == "cancelled" and done.finished_at and done.tried == []
    q.tick()
    assert q.items(finished=False) == [] and len(env.fake.enqueue_calls) == 1


def test_cancel_that_slskd_misses_is_repeated_by_later_polls(env):
    q = env.queue()
    [item] = q.enqueue([("alice", remote("A", "1.mp3"), 100)])
    t = env.fake.of("alice", item.filename)
    env.fake.set(t, TransferState.IN_PROGRESS, bytes_transferred=5)
    env.fake.cancel_error = Unreachable("slskd", "connection refused")
    q.cancel([item.id])
    env.fake.cancel_error = None
    q.tick()
    assert t.state is TransferState.IN_PROGRESS  # within the resend interval
    env.clock.advance(11)
    q.tick()
    assert t.state is TransferState.CANCELLED and len(env.fake.cancel_calls) == 2


def test_cancel_while_slskd_was_being_asked_cancels_the_transfer_when_it_shows_up(env):
    env.fake.enqueue_error = Unreachable("slskd", "read timed out")
    env.fake.record_then_fail = True  # slskd got the request, the answer was lost
    q = env.queue()
    [item] = q.enqueue([("alice", remote("A", "1.mp3"), 100)])
    q.cancel([item.id])
    env.fake.enqueue_error = None
    q.tick()
    t = env.fake.of("alice", item.filename)
    assert t.state is TransferState.CANCELLED and q.items(finished=False) == []
    assert env.store.queue_transfer_ids()[t.id] == item.id


def test_retry_resets_attempts_and_starts_from_the_best_source(env):
    q = env.queue()
    files, cands = three_sources()
    [item] = q.enqueue(files, candidates=cands)
    for user, name in (("alice", files[0][1]), ("bob", cands[0]["filename"]), ("carol", cands[1]["filename"])):
        env.fake.set(env.fake.of(user, name), TransferState.REJECTED)
        q.tick()
    assert q.get(item.id).state == "failed"
    again = q.retry([item.id]).changed[item.id]
    assert (again.username, again.attempt, again.tried, again.finished_at) == ("alice", 1, [], None)
    assert again.state == "queued_locally" and len(env.fake.enqueue_calls) == 4
    assert q.retry(["nope", item.id]).changed == {}  # active items and unknown ids are ignored


def test_remove_and_clear_finished(env):
    q = env.queue(max_concurrent=5)
    a, b, c = q.enqueue([("alice", remote("A", f"{n}.mp3"), 100) for n in range(3)])
    q.cancel([a.id, b.id])
    assert q.remove([c.id]).removed == []  # active: untouched
    diff = q.remove([a.id])
    assert diff.removed == [a.id] and env.store.get_queue_item(a.id) is None
    assert (a.slskd_id, True) in env.fake.cancel_calls and a.slskd_id in env.fake.removed
    env.fake.cancel_error = ServerError("slskd", "not found", status=404)  # old slskd answering 404
    assert q.clear_finished().removed == [b.id]
    assert [i.id for i in q.items()] == [c.id]


def test_finished_items_past_the_limit_are_removed_in_batches(env, monkeypatch):
    q = env.queue(max_concurrent=50, keep_finished=4)
    items = q.enqueue([("alice", remote("A", f"{n}.mp3"), 100) for n in range(12)])
    for item in items[:4]:
        env.clock.advance(1)
        q.cancel([item.id])
    assert q.tick().removed == [] and env.store.count_queue(finished=True) == 4
    for item in items[4:]:
        env.clock.advance(1)
        q.cancel([item.id])
    monkeypatch.setattr("soulsync.core.downloads.PRUNE_SLACK", 8)
    assert q.prune_finished().removed == []  # 12 finished: within the limit plus the slack
    monkeypatch.setattr("soulsync.core.downloads.PRUNE_SLACK", 0)
    diff = q.tick()
    assert sorted(diff.removed) == sorted(i.id for i in items[:8])  # the oldest eight go
    assert env.store.count_queue(finished=True) == 4
    assert {i.slskd_id for i in items[:8]} <= env.fake.removed  # and slskd is told to forget them
    known = env.store.queue_transfer_ids()  # their transfer ids are no longer kept, here or in memory
    assert not {i.slskd_id for i in items[:8]} & set(known) and {i.slskd_id for i in items[8:]} <= set(known)
    assert not {i.slskd_id for i in items[:8]} & set(q._known)


# ---------------------------------------------------------------------------- completion


def test_completion_locates_verifies_and_hands_over(env):
    calls = []
    q = env.queue(on_completed=lambda item, path: calls.append((item.id, path)) or Completion(True, "/lib/x.mp3", ""))
    src, size = env.audio("01 - Song.mp3")
    [item] = q.enqueue([("alice", remote("Album (2020)", "01 - Song.mp3"), size)])
    local = env.fake.succeed("alice", item.filename, src)
    assert local == env.downloads / "Album (2020)" / "01 - Song.mp3"
    diff = q.tick()
    done = diff.changed[item.id]
    assert done.state == "succeeded" and done.final_path == "/lib/x.mp3" and done.local_path == str(local)
    assert calls == [(item.id, local)] and q.items(finished=False) == []


def test_completion_picks_the_newest_ticks_variant_of_the_right_size(env, tmp_path):
    folder = env.downloads / "Album"
    folder.mkdir()
    src, size = env.audio("Song.mp3")
    (folder / "Song.mp3").write_bytes(b"old" * 10)  # an older file of another size
    older = folder / "Song_638000000000000000.mp3"
    shutil.copyfile(src, older)
    newer = folder / "Song_639000000000000000.mp3"
    shutil.copyfile(src, newer)
    os.utime(older, (1_000, 1_000))
    (folder / "Song_abc.mp3").write_bytes(b"x")  # not a ticks variant
    rules = DownloadRules()
    assert locate_download(env.downloads, "u", "@@x\\Album\\Song.mp3", size, rules) == newer
    with pytest.raises(LocateError, match="were announced"):
        locate_download(env.downloads, "u", "@@x\\Album\\Song.mp3", size + 1, rules)
    with pytest.raises(LocateError, match="does not exist"):
        locate_download(env.downloads, "u", "@@x\\Nope\\Song.mp3", size, rules)


def test_a_bad_file_moves_to_the_next_source(env):
    q = env.queue()
    src, size = env.audio("Song.mp3")
    bad = env.tmp / "peer" / "bad.mp3"
    bad.write_bytes(b"\x00" * size)  # right size, not audio
    files, cands = [("alice", remote("A", "Song.mp3"), size)], [{"username": "bob", "filename": remote("B", "Song.mp3"), "size": size}]
    [item] = q.enqueue(files, candidates=cands)
    env.fake.succeed("alice", files[0][1], bad)
    moved = q.tick().changed[item.id]
    assert moved.username == "bob" and moved.state == "queued_locally"  # sent in the same round
    assert moved.tried[0][2].startswith("The downloaded file cannot be used:")


def test_post_processing_failure_needs_attention(env):
    def boom(item, path):
        raise RuntimeError("disk full")

    for hand_over, words in ((lambda i, p: Completion(False, reason="tags could not be written"),
                              "needs attention: tags could not be written"),
                             (boom, "needs attention: post-processing crashed: disk full")):
        q = env.queue(on_completed=hand_over)
        src, size = env.audio("Song.mp3")
        name = remote(f"A{len(words)}", "Song.mp3")
        [item] = q.enqueue([("alice", name, size)])
        env.fake.succeed("alice", name, src)
        done = q.tick().changed[item.id]
        assert done.state == "failed" and done.reason == words


def test_without_a_hand_over_the_verified_file_is_done_in_place(env):
    q = env.queue()
    src, size = env.audio("Song.mp3")
    [item] = q.enqueue([("alice", remote("A", "Song.mp3"), size)])
    local = env.fake.succeed("alice", item.filename, src)
    done = q.tick().changed[item.id]
    assert done.state == "succeeded" and done.final_path == str(local)


# ---------------------------------------------------------------------------- searching


def test_new_search_when_stored_candidates_run_out(env):
    searched = []

    def find(track):
        searched.append(track.title)
        return [SimpleNamespace(username="dave", filename=remote("D", "Song.mp3"), size=7, score=0.8, quality="MP3",
                                reason="r"), {"username": "alice", "filename": remote("A", "1.mp3"), "size": 100}]

    q = env.queue(find_candidates=find)
    [item] = q.enqueue([("alice", remote("A", "1.mp3"), 100)], wanted=WANTED)
    env.fake.set(env.fake.of("alice", item.filename), TransferState.REJECTED)
    diff = q.tick()
    moved = diff.changed[item.id]
    assert searched == ["Song"] and (moved.username, moved.attempt) == ("dave", 2)
    assert moved.candidates[-1] == {"username": "dave", "filename": remote("D", "Song.mp3"), "size": 7, "score": 0.8,
                                    "quality": "MP3", "reason": "r"}
    env.fake.set(env.fake.of("dave", moved.filename), TransferState.REJECTED)
    done = q.tick().changed[item.id]
    assert done.state == "failed" and "no other source found after 2 attempts" in done.reason


def test_a_search_that_cannot_run_now_is_tried_again_later(env):
    calls = []

    def find(track):
        calls.append(env.clock.now)
        if len(calls) == 1:
            raise Unreachable("slskd", "connection refused")
        return []

    q = env.queue(find_candidates=find)
    [item] = q.enqueue([("alice", remote("A", "1.mp3"), 100)], wanted=WANTED)
    env.fake.set(env.fake.of("alice", item.filename), TransferState.REJECTED)
    assert q.tick().error == "slskd: connection refused"
    env.clock.advance(10)
    q.tick()
    assert len(calls) == 1 and only(q).state == "searching"
    env.clock.advance(25)
    done = q.tick().changed[item.id]
    assert len(calls) == 2 and done.state == "failed"
    assert done.reason == "The peer rejected the download; no other source found after 1 attempt"


def test_ranked_candidates_from_matching_are_stored_as_dicts(env):
    from soulsync.core.result_ranking import Candidate
    from soulsync.core.models import SearchFile

    ranked = Candidate(file=SearchFile(username="erin", filename=remote("E", "Song.flac"), size=99),
                       score=0.93, reason="title and length match", quality="FLAC 16/44.1")
    q = env.queue()
    [item] = q.enqueue([("alice", remote("A", "1.mp3"), 100)], wanted=WANTED, candidates=[ranked])
    assert item.candidates[1] == {"username": "erin", "filename": remote("E", "Song.flac"), "size": 99,
                                  "score": 0.93, "quality": "FLAC 16/44.1", "reason": "title and length match"}


def test_items_without_a_wanted_track_do_not_search(env):
    q = env.queue(find_candidates=lambda t: pytest.fail("searched"))
    [item] = q.enqueue([("alice", remote("A", "1.mp3"), 100)])
    env.fake.set(env.fake.of("alice", item.filename), TransferState.ERRORED, exception="x")
    assert q.tick().changed[item.id].state == "failed"


# ---------------------------------------------------------------------------- slskd trouble


def test_enqueue_refused_by_slskd_moves_on_rate_limit_waits(env):
    q = env.queue()
    files, cands = three_sources()
    env.fake.enqueue_error = ServerError("slskd", "User alice appears to be offline", status=500)
    [item] = q.enqueue(files, candidates=cands)
    assert item.username == "bob" and item.state == "queued"
    assert item.tried[0][2] == "slskd could not enqueue the file: slskd: User alice appears to be offline"
    env.fake.enqueue_error = RateLimited("slskd", "too many requests")
    diff = q.tick()
    assert diff.changed[item.id].state == "queued" and "too many requests" in diff.error
    env.fake.enqueue_error = None
    assert q.tick().changed[item.id].state == "queued_locally"


def test_outage_then_reconcile(env):
    q = env.queue(stall_timeout_s=60)
    [item] = q.enqueue([("alice", remote("A", "1.mp3"), 100)])
    q.tick()
    assert not q.needs_reconcile
    env.fake.down = Unreachable("slskd", "connection refused")
    diff = q.tick()
    assert diff.error == "slskd: connection refused" and q.needs_reconcile
    env.clock.advance(300)  # a long outage is not a stall
    env.fake.down = None
    q.tick()
    assert not q.needs_reconcile and only(q).state == "queued_locally"


def test_nothing_is_sent_or_stalled_while_slskd_is_logged_out(env):
    ready = [False]
    q = env.queue(slskd_ready=lambda: ready[0])
    [item] = q.enqueue([("alice", remote("A", "1.mp3"), 100)])
    assert item.state == "queued" and env.fake.enqueue_calls == []
    ready[0] = True
    q.tick()
    t = env.fake.of("alice", item.filename)
    env.fake.set(t, TransferState.IN_PROGRESS, bytes_transferred=3)
    q.tick()
    ready[0] = False
    env.clock.advance(500)
    q.tick()
    assert only(q).state == "in_progress"
    ready[0] = True
    q.tick()
    env.clock.advance(59)
    q.tick()
    assert only(q).state == "in_progress"  # the timer restarted when slskd came back
    env.clock.advance(2)
    assert q.tick().changed[item.id].state == "failed"


# ---------------------------------------------------------------------------- reconciliation after a crash


def test_lost_enqueue_answer_is_adopted_not_sent_twice(env):
    env.fake.enqueue_error = Unreachable("slskd", "read timed out")
    env.fake.record_then_fail = True
    q = env.queue()
    [item] = q.enqueue([("alice", remote("A", "1.mp3"), 100)])
    assert item.state == "submitting" and item.slskd_id is None
    env.fake.enqueue_error = None
    q2 = env.queue()  # the app restarts
    q2.tick()
    again = only(q2)
    assert again.state == "queued_locally" and again.slskd_id == env.fake.of("alice", item.filename).id
    assert len(env.fake.enqueue_calls) == 1


def test_enqueue_that_never_arrived_is_sent_again_after_the_grace(env):
    env.fake.enqueue_error = Unreachable("slskd", "connection reset")
    q = env.queue(missing_grace_s=15)
    [item] = q.enqueue([("alice", remote("A", "1.mp3"), 100)])
    env.fake.enqueue_error = None
    q.tick()
    env.clock.advance(10)
    q.tick()
    assert only(q).state == "submitting" and len(env.fake.enqueue_calls) == 1
    env.clock.advance(6)
    q.tick()
    assert only(q).state == "queued_locally" and len(env.fake.enqueue_calls) == 2
    assert len(env.fake.transfers) == 1


def test_finished_while_away_is_picked_up(env):
    calls = []
    src, size = env.audio("Song.mp3")
    q = env.queue()
    [item] = q.enqueue([("alice", remote("A", "Song.mp3"), size)])
    env.fake.succeed("alice", item.filename, src)
    q2 = env.queue(on_completed=lambda i, p: calls.append(p) or Completion(True, str(p)))
    assert q2.tick().changed[item.id].state == "succeeded" and len(calls) == 1


def test_failed_while_away_falls_back(env):
    files, cands = three_sources()
    q = env.queue()
    [item] = q.enqueue(files, candidates=cands)
    env.fake.set(env.fake.of("alice", files[0][1]), TransferState.REJECTED)
    q2 = env.queue()
    assert q2.tick().changed[item.id].username == "bob"


def test_vanished_transfer_is_enqueued_again_once(env):
    q = env.queue(missing_grace_s=5)
    [item] = q.enqueue([("alice", remote("A", "1.mp3"), 100)])
    old = item.slskd_id
    env.fake.transfers.clear()  # slskd restarted and forgot its list
    q.tick()
    env.clock.advance(6)
    diff = q.tick()
    again = diff.changed[item.id]
    assert again.state == "queued_locally" and again.slskd_id != old and len(env.fake.enqueue_calls) == 2
    q.tick()
    assert len(env.fake.enqueue_calls) == 2


def test_vanished_but_complete_on_disk_is_picked_up_as_done(env):
    src, size = env.audio("Song.mp3")
    q = env.queue(missing_grace_s=5)
    [item] = q.enqueue([("alice", remote("A", "Song.mp3"), size)])
    env.fake.succeed("alice", item.filename, src)
    env.fake.transfers.clear()
    q2 = env.queue(missing_grace_s=5)
    q2.tick()
    env.clock.advance(6)
    done = q2.tick().changed[item.id]
    assert done.state == "succeeded" and len(env.fake.enqueue_calls) == 1


def test_a_transfer_slskd_keeps_losing_counts_as_a_failed_attempt(env):
    q = env.queue(missing_grace_s=1, max_requeues=2)
    [item] = q.enqueue([("alice", remote("A", "1.mp3"), 100)])
    for _ in range(3):
        env.fake.transfers.clear()
        q.tick()
        env.clock.advance(2)
        q.tick()
    done = q.get(item.id)
    assert done.state == "failed" and done.reason == "slskd lost the transfer 2 times"


def test_old_failed_records_and_retired_ids_are_never_adopted(env):
    files, cands = three_sources()
    q = env.queue()
    [item] = q.enqueue(files, candidates=cands)
    alice_old = env.fake.of("alice", files[0][1])
    env.fake.set(alice_old, TransferState.REJECTED)
    q.tick()  # moved to bob
    q.cancel([item.id])
    q.retry([item.id])  # alice again: slskd hides the old record and makes a new one
    fresh = only(q)
    assert fresh.username == "alice" and fresh.slskd_id != alice_old.id
    # a foreign failed record of the same file is not news about a new item
    env.fake.set(env.fake.of("alice", files[0][1]), TransferState.ERRORED, exception="old")
    q.cancel([fresh.id])
    env.fake.enqueue_error = Unreachable("slskd", "timeout")
    [newer] = q.enqueue([files[0]])
    env.fake.enqueue_error = None
    q.tick()
    assert q.get(newer.id).state == "submitting"


def test_interrupted_post_processing(env):
    src, size = env.audio("Song.mp3")
    q = env.queue()
    [item] = q.enqueue([("alice", remote("A", "Song.mp3"), size)])
    local = env.fake.succeed("alice", item.filename, src)

    class Died(BaseException):
        pass

    def die(i, p):
        raise Died  # the process is killed while post-processing

    with pytest.raises(Died):
        env.queue(on_completed=die).tick()
    assert env.store.get_queue_item(item.id).local_path == str(local)
    calls = []
    q3 = env.queue(on_completed=lambda i, p: calls.append(p) or Completion(True, "/lib/a.mp3"))
    assert q3.tick().changed[item.id].state == "succeeded" and calls == [local]  # the file was still there: again

    [other] = q3.enqueue([("alice", remote("B", "Song.mp3"), size)])
    moved = env.fake.succeed("alice", other.filename, src)
    with pytest.raises(Died):
        env.queue(on_completed=die).tick()
    moved.unlink()  # it had already been moved into the library
    asked = []  # post-processing is asked again and says whether the file reached the library
    found = env.queue(on_completed=lambda i, p: asked.append(p) or Completion(True, "/lib/b.mp3", "already filed"))
    done = found.tick().changed[other.id]
    assert (done.state, done.final_path, asked) == ("succeeded", "/lib/b.mp3", [moved])

    [third] = found.enqueue([("alice", remote("C", "Song.mp3"), size)])
    gone = env.fake.succeed("alice", third.filename, src)
    with pytest.raises(Died):
        env.queue(on_completed=die).tick()
    gone.unlink()
    done = env.queue().tick().changed[third.id]  # nothing to ask: it cannot be told where the file went
    assert done.state == "failed" and done.reason.startswith("needs attention: post-processing was interrupted")

    [fourth] = found.enqueue([("alice", remote("D", "Song.mp3"), size)])
    lost = env.fake.succeed("alice", fourth.filename, src)
    with pytest.raises(Died):
        env.queue(on_completed=die).tick()
    lost.unlink()  # post-processing is asked but cannot find it either: the words say what happened
    done = env.queue(on_completed=lambda i, p: Completion(False, None, "the file cannot be opened")).tick()
    failed = done.changed[fourth.id]
    assert failed.state == "failed" and "post-processing was interrupted" in failed.reason


def test_diff_merge_keeps_latest_and_removals():
    a = SimpleNamespace(id="a")
    first = QueueDiff(changed={"a": a, "b": a})
    later = QueueDiff(changed={"a": "newer"}, removed=["b"], error="oops")
    merged = first.merge(later)
    assert merged.changed == {"a": "newer"} and merged.removed == ["b"] and merged.error == "oops"
    assert QueueDiff().empty and not merged.empty


# ---------------------------------------------------------------------------- hostile remote names
# (the path rules themselves: tests/unit/test_slskd_files.py)


def test_a_hostile_name_fails_the_item_with_a_reason(env):
    q = env.queue()
    [item] = q.enqueue([("mallory", "@@x\\..\\evil.mp3", 10)])
    env.fake.set(env.fake.of("mallory", item.filename), TransferState.SUCCEEDED)
    done = q.tick().changed[item.id]
    assert done.state == "failed" and "outside the downloads folder" in done.reason


def test_queue_state_values_match_the_store_vocabulary():
    assert QueueState.SUCCEEDED.value == "succeeded" and QueueState("queued") is QueueState.QUEUED


# ---------------------------------------------------------------------------- destinations not there


def _processor(library: Path, quarantine: Path, has_files: bool = False):
    from soulsync.core.postprocess import PostProcessOptions, PostProcessor

    return PostProcessor(PostProcessOptions(library_dir=library, quarantine_dir=quarantine,
                                            library_has_files=has_files))


def test_a_missing_library_folder_keeps_downloads_waiting_until_it_is_back(env):
    """An unmounted share: the library folder is never created, the file waits, and is filed once it is back."""
    library = env.tmp / "nas" / "Music"
    processor = _processor(library, env.tmp / "attention")
    q = env.queue(on_completed=lambda item, path: processor.process(path, item.wanted, expected_size=item.size))
    src, size = env.audio("Song.mp3")
    name = remote("A", "Song.mp3")
    [item] = q.enqueue([("alice", name, size)], wanted=WANTED,
                       candidates=[{"username": "bob", "filename": remote("B", "Song.mp3"), "size": size}])
    local = env.fake.succeed("alice", name, src)
    for _ in range(2):
        diff = q.tick()
        assert "library folder" in diff.filing and "not there" in diff.filing and not diff.error
        assert only(q).state == "processing" and only(q).attempt == 1 and local.exists()
        assert not (env.tmp / "nas").exists()  # never created on the wrong disk
    assert len(env.fake.enqueue_calls) == 1
    library.mkdir(parents=True)
    diff = q.tick()
    done = diff.changed[item.id]
    assert not diff.filing and done.state == "succeeded" and Path(done.final_path).is_relative_to(library)


def test_an_empty_library_folder_that_held_files_counts_as_not_there(env, tmp_path):
    from soulsync.core.destination import DestinationUnavailable

    library = tmp_path / "mnt" / "music"
    library.mkdir(parents=True)
    src, _ = env.audio("Song.mp3")
    assert _processor(library, tmp_path / "q").process(src, WANTED).ok  # a new, empty library is fine
    shutil.rmtree(library)
    library.mkdir()  # the share's mount point, left empty when it is not mounted
    src, _ = env.audio("Song2.mp3")
    with pytest.raises(DestinationUnavailable, match="is empty although files were filed there"):
        _processor(library, tmp_path / "q", has_files=True).process(src, WANTED)
    assert src.exists() and not any(library.iterdir())


def test_filed_under_knows_the_folders_downloads_went_to(env):
    from soulsync.core.store_records import QueueItem

    env.store.add_queue_item(QueueItem(id="x1", state="succeeded", username="u", filename="f",
                                       final_path=str(env.tmp / "lib_a" / "x" / "y.mp3"), finished_at=1.0))
    assert env.store.filed_under(env.tmp / "lib_a")
    assert not env.store.filed_under(env.tmp / "lib")  # a prefix of the name is another folder
    assert not env.store.filed_under(env.tmp / "lib%")


def test_a_wrong_downloads_folder_is_found_at_the_first_transfer_and_burns_no_source(env):
    wrong = env.tmp / "not-slskds-folder"
    wrong.mkdir()
    q = env.queue(downloads_dir=wrong)
    src, size = env.audio("Song.mp3")
    name = remote("A", "Song.mp3")
    [item] = q.enqueue([("alice", name, size)],
                       candidates=[{"username": f"p{n}", "filename": remote(f"B{n}", "Song.mp3"), "size": size}
                                   for n in range(5)])
    env.fake.succeed("alice", name, src)
    for _ in range(3):
        diff = q.tick()
        assert "not the folder slskd downloads into" in diff.filing and str(wrong) in diff.filing
    assert only(q).state == "processing" and only(q).attempt == 1 and not only(q).tried
    assert len(env.fake.enqueue_calls) == 1  # no second source asked for
