"""The scheduler's rules with a fake clock: due times, missed runs run once, no overlaps, pause, run now,
history, persistence across restarts, the headless loop. Nothing sleeps."""
from __future__ import annotations

import threading

import pytest

from soulsync.core.scheduler import (
    HISTORY_PER_JOB, WISHLIST_JOB, Outcome, RunResult, Scheduler, playlist_job, summarise,
)
from soulsync.core.store import Store

HOUR = 3600.0
T0 = 1_800_000_000.0


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Counter:
    """A job's callable that counts its runs and returns a summary."""

    def __init__(self, result: object = "ok") -> None:
        self.calls = 0
        self.result = result

    def __call__(self) -> object:
        self.calls += 1
        return self.result


@pytest.fixture
def db(tmp_path):
    return tmp_path / "db.sqlite3"


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def store(db):
    s = Store(db)
    yield s
    s.close()


def test_a_new_job_is_due_after_its_first_delay_then_every_interval(store, clock):
    sched = Scheduler(store, clock)
    job = Counter()
    sched.add(WISHLIST_JOB, job, interval_s=HOUR, first_run_in_s=60)
    assert sched.due() == [] and sched.next_wakeup() == T0 + 60
    clock.advance(60)
    assert sched.due() == [WISHLIST_JOB]
    [record] = sched.run_due()
    assert job.calls == 1 and record.outcome is Outcome.SUCCEEDED and record.summary == "ok"
    assert record.started_at == T0 + 60 and not record.manual
    assert sched.due() == [] and sched.next_wakeup() == T0 + 60 + HOUR
    clock.advance(HOUR - 1)
    assert sched.run_due() == []
    clock.advance(1)
    assert [r.job for r in sched.run_due()] == [WISHLIST_JOB] and job.calls == 2


def test_the_next_run_counts_from_the_start_of_the_run_not_its_end(store, clock):
    sched = Scheduler(store, clock)

    def slow() -> str:
        clock.advance(600)  # the run takes ten minutes
        return "slow"

    sched.add("slow", slow, interval_s=HOUR)
    [record] = sched.run_due()
    assert record.ended_at == T0 + 600
    assert sched.next_wakeup() == T0 + HOUR


def test_runs_missed_while_asleep_run_once_not_once_per_slot(store, clock):
    sched = Scheduler(store, clock)
    job = Counter()
    sched.add("playlist:p1", job, interval_s=HOUR)
    sched.run_due()
    clock.advance(10 * HOUR + 5)  # the computer slept through nine slots
    assert len(sched.run_due()) == 1
    assert sched.run_due() == [] and job.calls == 2
    assert sched.next_wakeup() == clock.now + HOUR


def test_runs_missed_while_the_app_was_closed_run_once_after_a_restart(db, clock):
    first = Store(db)
    sched = Scheduler(first, clock)
    sched.add("wishlist", Counter(), interval_s=HOUR)
    sched.run_due()
    first.close()

    clock.advance(30 * HOUR)  # closed for more than a day
    second = Store(db)
    sched = Scheduler(second, clock)
    job = Counter()
    sched.add("wishlist", job, interval_s=HOUR, first_run_in_s=HOUR)  # the first delay is for new jobs only
    assert sched.due() == ["wishlist"]
    sched.run_due()
    assert sched.run_due() == [] and job.calls == 1
    assert [r.outcome for r in sched.history("wishlist")] == [Outcome.SUCCEEDED, Outcome.SUCCEEDED]
    second.close()


def test_next_runs_persist_across_restarts(db, clock):
    first = Store(db)
    sched = Scheduler(first, clock)
    sched.add("a", Counter(), interval_s=HOUR)
    sched.add("b", Counter(), interval_s=6 * HOUR)
    sched.run_due()
    first.close()

    clock.advance(2 * HOUR)
    second = Store(db)
    sched = Scheduler(second, clock)
    b = Counter()
    sched.add("b", b, interval_s=6 * HOUR)
    assert sched.due() == [] and sched.next_wakeup() == T0 + 6 * HOUR  # not started afresh
    sched.add("a", Counter(), interval_s=HOUR)
    assert sched.due() == ["a"]
    second.close()


def test_a_shorter_interval_brings_the_next_run_forward(store, clock):
    sched = Scheduler(store, clock)
    sched.add("p", Counter(), interval_s=24 * HOUR)
    sched.run_due()
    assert sched.next_wakeup() == T0 + 24 * HOUR
    sched.add("p", Counter(), interval_s=HOUR)
    assert sched.next_wakeup() == T0 + HOUR
    sched.add("p", Counter(), interval_s=48 * HOUR)  # longer: the planned run stays
    assert sched.next_wakeup() == T0 + HOUR


def test_changing_a_job_while_it_runs_does_not_run_it_twice(store, clock):
    sched = Scheduler(store, clock)
    old, new = Counter("old"), Counter("new")
    sched.add("playlist:p1", old, interval_s=6 * HOUR)
    [claim] = sched.take_due()
    sched.add("playlist:p1", new, interval_s=HOUR)  # the user changed its interval meanwhile
    assert sched.due() == []
    assert claim.run().summary == "new"  # a claim runs the callable registered when it starts
    assert sched.due() == [] and sched.next_wakeup() == T0 + HOUR
    clock.advance(HOUR)
    assert [r.summary for r in sched.run_due()] == ["new"]
    assert (old.calls, new.calls) == (0, 2)


def test_a_job_still_running_when_due_is_skipped_and_says_so(store, clock):
    sched = Scheduler(store, clock)
    job = Counter()
    sched.add("playlist:p1", job, interval_s=HOUR)
    [claim] = sched.take_due()  # claimed: a worker will run it
    assert sched.due() == [] and sched.take_due() == []  # never claimed twice

    clock.advance(HOUR + 1)  # due again while the first run still goes on
    assert sched.take_due() == []
    [skipped] = sched.history("playlist:p1")
    assert skipped.outcome is Outcome.SKIPPED and "still running" in skipped.summary
    assert sched.take_due() == []  # skipped once per slot, not on every look
    assert len(sched.history("playlist:p1")) == 1

    record = claim.run()  # the long run ends
    assert record.outcome is Outcome.SUCCEEDED and job.calls == 1
    assert sched.next_wakeup() == T0 + 2 * HOUR + 1  # the skip moved it on; the late end does not bring it back
    assert sched.due() == []


def test_no_two_runs_of_one_job_at_once_across_threads(store, clock):
    sched = Scheduler(store, clock)
    inside = threading.Event()
    leave = threading.Event()

    def blocking() -> str:
        inside.set()
        assert leave.wait(10)
        return "done"

    sched.add("wishlist", blocking, interval_s=HOUR)
    [claim] = sched.take_due()
    results = []
    worker = threading.Thread(target=lambda: results.append(claim.run()))
    worker.start()
    assert inside.wait(10)
    assert sched.claim_now("wishlist") is None  # "run now" while it runs: refused, and recorded
    assert [j.running for j in sched.jobs()] == [True]
    leave.set()
    worker.join(10)
    assert results[0].outcome is Outcome.SUCCEEDED
    history = sched.history("wishlist")
    assert [r.outcome for r in history] == [Outcome.SKIPPED, Outcome.SUCCEEDED]  # newest (last started) first
    assert history[0].manual and "running already" in history[0].summary
    assert [j.running for j in sched.jobs()] == [False]


def test_pause_is_global_persisted_and_a_resume_runs_what_fell_due_once(db, clock):
    first = Store(db)
    sched = Scheduler(first, clock)
    job = Counter()
    sched.add("a", job, interval_s=HOUR)
    sched.add("b", job, interval_s=HOUR)
    sched.set_paused(True)
    assert sched.paused and sched.due() == [] and sched.take_due() == [] and sched.next_wakeup() is None
    first.close()

    clock.advance(5 * HOUR)
    second = Store(db)
    sched = Scheduler(second, clock)
    sched.add("a", job, interval_s=HOUR)
    sched.add("b", job, interval_s=HOUR)
    assert sched.paused and sched.run_due() == []
    sched.set_paused(False)
    assert len(sched.run_due()) == 2 and job.calls == 2
    assert sched.run_due() == []
    second.close()


def test_run_now_runs_a_job_whatever_its_time_and_the_pause(store, clock):
    sched = Scheduler(store, clock)
    job = Counter("fetched 3 tracks")
    sched.add("artists", job, interval_s=24 * HOUR, first_run_in_s=24 * HOUR)
    sched.set_paused(True)
    clock.advance(HOUR)
    claim = sched.claim_now("artists")
    assert claim is not None and claim.manual and claim.name == "artists"
    record = claim.run()
    assert record.manual and record.summary == "fetched 3 tracks" and job.calls == 1
    assert sched.next_wakeup() is None  # still paused
    sched.set_paused(False)
    assert sched.next_wakeup() == T0 + 25 * HOUR  # the next run counts from the manual one
    with pytest.raises(KeyError):
        sched.claim_now("nobody")


def test_a_released_claim_stays_due(store, clock):
    sched = Scheduler(store, clock)
    sched.add("a", Counter(), interval_s=HOUR)
    [claim] = sched.take_due()
    claim.release()
    assert sched.due() == ["a"]


def test_outcomes_and_summaries_are_recorded(store, clock):
    sched = Scheduler(store, clock)

    def broken() -> None:
        raise RuntimeError("slskd is not answering\nTraceback detail")

    sched.add("broken", broken, interval_s=HOUR)
    sched.add("quiet", Counter(None), interval_s=HOUR)
    sched.add("report", Counter(RunResult("2 of 5 tracks found", Outcome.FAILED)), interval_s=HOUR)
    records = {r.job: r for r in sched.run_due()}
    assert records["broken"].outcome is Outcome.FAILED and records["broken"].summary == "slskd is not answering"
    assert records["quiet"].outcome is Outcome.SUCCEEDED and records["quiet"].summary == "done"
    assert records["report"].outcome is Outcome.FAILED and records["report"].summary == "2 of 5 tracks found"
    assert sched.due() == []  # a failed run waits its interval like any other
    last = {s.name: s.last for s in sched.jobs()}
    assert last["broken"] == records["broken"] and Outcome.FAILED.label == "failed"
    assert summarise("x" * 1000) == "x" * 300


def test_the_history_keeps_the_last_runs_of_each_job(store, clock):
    sched = Scheduler(store, clock, history_per_job=3)
    sched.add("busy", Counter(), interval_s=HOUR)
    sched.add("rare", Counter(), interval_s=100 * HOUR)
    for _ in range(6):
        sched.run_due()
        clock.advance(HOUR)
    assert len(sched.history("busy")) == 3 and len(sched.history("rare")) == 1
    assert [r.started_at for r in sched.history("busy")] == [T0 + 5 * HOUR, T0 + 4 * HOUR, T0 + 3 * HOUR]
    assert HISTORY_PER_JOB >= 10


def test_a_run_the_process_did_not_finish_is_interrupted_and_runs_again(tmp_path, store, clock):
    crashed = tmp_path / "crashed.sqlite3"
    sched = Scheduler(store, clock)
    sched.add("playlist:p1", Counter(), interval_s=6 * HOUR)
    sched.run_due()
    clock.advance(6 * HOUR)
    sched.add("playlist:p1", lambda: store.backup_to(crashed), interval_s=6 * HOUR)
    sched.run_due()  # the database as it was during this run: as if the process died then

    clock.advance(60)
    after = Store(crashed)
    sched = Scheduler(after, clock)
    job = Counter()
    sched.add("playlist:p1", job, interval_s=6 * HOUR)
    interrupted = sched.history("playlist:p1")[0]
    assert interrupted.outcome is Outcome.INTERRUPTED and interrupted.ended_at is not None
    assert sched.due() == ["playlist:p1"]
    sched.run_due()
    assert job.calls == 1
    after.close()


def test_a_keyboard_interrupt_is_recorded_and_raised(store, clock):
    sched = Scheduler(store, clock)

    def interrupted() -> None:
        raise KeyboardInterrupt

    sched.add("a", interrupted, interval_s=HOUR)
    with pytest.raises(KeyboardInterrupt):
        sched.run_due()
    assert sched.history("a")[0].outcome is Outcome.INTERRUPTED
    assert sched.due() == ["a"]  # not moved on: it did not finish


def test_a_run_cancelled_by_a_stop_is_due_again_one_cancelled_by_hand_is_not(store, clock):
    sched = Scheduler(store, clock)
    sched.add("a", Counter(RunResult("cancelled after 2 tracks", Outcome.CANCELLED)), interval_s=HOUR)
    [record] = sched.run_due()
    assert record.outcome is Outcome.CANCELLED and sched.due() == []
    clock.advance(HOUR)
    sched.request_stop()
    assert sched.stopping
    [record] = sched.run_due()
    assert record.outcome is Outcome.STOPPED and sched.due() == ["a"]


def test_removing_a_job_forgets_its_schedule_and_history(db, clock):
    store = Store(db)
    sched = Scheduler(store, clock)
    name = playlist_job("p9")
    assert name == "playlist:p9"
    sched.add(name, Counter(), interval_s=HOUR)
    sched.add("wishlist", Counter(), interval_s=HOUR)
    sched.run_due()
    sched.remove(name)
    assert sched.names() == ["wishlist"] and sched.history(name) == []
    sched.add(name, Counter(), interval_s=HOUR, first_run_in_s=HOUR)
    assert sched.jobs()[-1].next_run == T0 + HOUR  # kept again: a new job
    store.close()


def test_a_job_removed_while_running_is_not_scheduled_again(store, clock):
    sched = Scheduler(store, clock)
    sched.add("a", Counter(), interval_s=HOUR)
    [claim] = sched.take_due()
    sched.remove("a")
    claim.run()
    assert sched.names() == [] and store.query("SELECT * FROM schedule_jobs") == []


def test_the_interval_must_be_positive(store, clock):
    with pytest.raises(ValueError):
        Scheduler(store, clock).add("a", Counter(), interval_s=0)


def test_the_headless_loop_runs_due_jobs_and_waits_until_the_next_one(store, clock):
    sched = Scheduler(store, clock)
    a, b = Counter("a done"), Counter("b done")
    sched.add("a", a, interval_s=HOUR)
    sched.add("b", b, interval_s=3 * HOUR, first_run_in_s=HOUR / 2)
    waits: list[float] = []
    told: list[str] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        clock.advance(seconds)
        return clock.now >= T0 + 3 * HOUR

    sched.run_forever(on_run=lambda r: told.append(r.summary), wait=wait, idle_s=2 * HOUR)
    assert waits == [HOUR / 2, HOUR / 2, HOUR, HOUR]
    assert told == ["a done", "b done", "a done", "a done"]
    assert (a.calls, b.calls) == (3, 1)


def test_the_headless_loop_waits_no_longer_than_idle_and_stops_on_request(store, clock):
    sched = Scheduler(store, clock)
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        if len(waits) == 3:
            sched.request_stop()
        return False

    sched.run_forever(wait=wait, idle_s=60)  # no jobs: it looks again every minute until stopped
    assert waits == [60, 60, 60]


def test_the_headless_loop_stops_between_jobs_leaving_the_rest_due(store, clock):
    sched = Scheduler(store, clock)
    later = Counter()

    def first() -> str:
        sched.request_stop()  # SIGTERM during the first job
        return "first done"

    sched.add("1", first, interval_s=HOUR)
    sched.add("2", later, interval_s=HOUR)
    sched.run_forever(wait=lambda s: pytest.fail("it should not wait"))
    assert later.calls == 0 and sched.due() == ["2"]


def test_the_default_wait_ends_at_once_on_a_stop_request(store, clock):
    sched = Scheduler(store, clock)
    sched.add("a", sched.request_stop, interval_s=HOUR)
    sched.run_forever(idle_s=3600)  # returns at once rather than waiting an hour on its stop event
    assert sched.history("a")[0].outcome is Outcome.SUCCEEDED


def test_a_clock_set_back_delays_a_job_by_at_most_its_interval(store, clock):
    sched = Scheduler(store, clock)
    job = Counter()
    sched.add("a", job, interval_s=HOUR, first_run_in_s=10 * HOUR)  # a first delay is at most one interval
    assert sched.next_wakeup() == T0 + HOUR
    clock.advance(HOUR)
    sched.run_due()
    clock.advance(-30 * 24 * HOUR)  # the clock goes back a month
    assert sched.next_wakeup() == clock.now + HOUR
    clock.advance(HOUR)
    assert len(sched.run_due()) == 1 and job.calls == 2
