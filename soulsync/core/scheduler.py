"""The one scheduler: named jobs run on an interval, driven by whoever holds it (a Qt timer, a headless loop, a test).

A job is a name (``"wishlist"``, ``"artists"``, ``"playlist:<id>"``, see
:func:`playlist_job`), an interval and a callable that does the work and
returns its summary. The scheduler owns no thread and reads no clock but the
one it is given (a callable returning epoch seconds), so a test moves time by
hand. Its rules:

* **Next runs persist** (table ``schedule_jobs``). A job first registered is
  due after ``first_run_in_s``; a job whose next run passed while the computer
  slept or the app was closed is due once, not once per missed slot: a run
  that ends sets the next one to its start plus the interval. A next run
  more than one interval away (the clock was set back) is brought forward.
* **Never two runs of one job at once.** :meth:`Scheduler.take_due` claims the
  due jobs (each claim is a :class:`PendingRun` to run in any thread); a job
  still running when it is due again is skipped, the history says so, and its
  next run moves one interval on.
* **A global pause** (persisted): nothing is due while paused; "run now"
  (:meth:`Scheduler.claim_now`) still runs a job on request.
* **History**: each run's start, end, outcome and one-line summary, the last
  :data:`HISTORY_PER_JOB` of each job. A run is written when it starts, so one
  the process did not live to finish is found on the next start and marked
  :attr:`Outcome.INTERRUPTED`; its job's next run was not moved, so it runs
  again at once. A run stopped because the scheduler is stopping
  (:meth:`Scheduler.request_stop`, SIGTERM in the headless service) is
  :attr:`Outcome.STOPPED` and is due again at the next start, too.

The callable returns a :class:`RunResult` (a summary and an outcome), or any
other object, whose ``str()`` is the summary (``None``: "done"); an exception
it raises is a failed run with the exception's text as summary.
"""
from __future__ import annotations

import enum
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from soulsync.core.store import Store

log = logging.getLogger(__name__)

Clock = Callable[[], float]
"""Returns the time in epoch seconds (``time.time`` in the app; a fake in tests)."""
JobAction = Callable[[], object]
"""A job's work: returns a :class:`RunResult` or any object whose ``str()`` is the run's summary."""

HISTORY_PER_JOB = 50
"""Runs kept in the history per job; older ones are pruned."""
SUMMARY_LIMIT = 300
"""Characters of a summary kept (the first line only)."""
IDLE_WAIT_S = 60.0
"""The longest :meth:`Scheduler.run_forever` waits between two looks (a job added or a pause lifted meanwhile)."""


class Outcome(enum.Enum):
    """How a run ended (stored by value in ``schedule_runs.outcome``)."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    """Cancelled on request (not because the scheduler is stopping): the job's next run moves on."""
    STOPPED = "stopped"
    """The scheduler was stopping: the job is due again at the next start."""
    SKIPPED = "skipped"
    """Due while its previous run was still running."""
    INTERRUPTED = "interrupted"
    """The process ended during the run."""

    @property
    def label(self) -> str:
        """The outcome in words, for the Dashboard and the status line."""
        return _LABELS[self]


_LABELS = {
    Outcome.RUNNING: "running", Outcome.SUCCEEDED: "done", Outcome.FAILED: "failed",
    Outcome.CANCELLED: "cancelled", Outcome.STOPPED: "stopped", Outcome.SKIPPED: "skipped",
    Outcome.INTERRUPTED: "interrupted",
}
_KEEPS_SLOT = {Outcome.STOPPED, Outcome.INTERRUPTED}
"""Outcomes after which the job stays due (the run did not finish its work)."""


@dataclass(frozen=True)
class RunResult:
    """What a job's callable may return: the summary in one line and how it went."""

    summary: str
    outcome: Outcome = Outcome.SUCCEEDED


@dataclass(frozen=True)
class RunRecord:
    """One run in the history."""

    id: int
    job: str
    started_at: float
    ended_at: float | None
    outcome: Outcome
    summary: str
    manual: bool
    """Started by "run now" rather than by the schedule."""


@dataclass(frozen=True)
class JobStatus:
    """A registered job as the Dashboard shows it."""

    name: str
    interval_s: float
    next_run: float
    running: bool
    last: RunRecord | None


@dataclass
class _Job:
    name: str
    action: JobAction
    interval_s: float
    next_run: float


def playlist_job(playlist_id: str) -> str:
    """The job name of a kept playlist."""
    return f"playlist:{playlist_id}"


WISHLIST_JOB = "wishlist"
"""The job name of the wishlist retry."""
ARTISTS_JOB = "artists"
"""The job name of the watched artists' check."""


class Scheduler:
    """Named jobs on intervals, persisted in ``store``; see the module docstring. Thread-safe."""

    def __init__(self, store: Store, clock: Clock = time.time, history_per_job: int = HISTORY_PER_JOB) -> None:
        """Open the schedule of ``store``; runs a previous process left unfinished are marked interrupted
        (one scheduler per database at a time: the config-folder lock sees to it)."""
        self._store = store
        self._clock = clock
        self._history_per_job = history_per_job
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}
        self._running: set[str] = set()
        self._stop = threading.Event()
        with store.transaction() as conn:
            conn.execute("UPDATE schedule_runs SET outcome = ?, summary = ?, ended_at = started_at"
                         " WHERE ended_at IS NULL", (Outcome.INTERRUPTED.value, "SoulSync stopped during the run"))

    # ---- jobs ---------------------------------------------------------------------------
    def add(self, name: str, action: JobAction, interval_s: float, first_run_in_s: float = 0.0) -> None:
        """Register a job, or change a registered one's callable and interval (a run in progress goes on).
        Its next run, as registered or persisted, is kept (brought forward to one interval from now when the
        interval got shorter); a job never seen before is due ``first_run_in_s`` (at most one interval)
        from now."""
        if interval_s <= 0:
            raise ValueError(f"the interval of {name!r} must be positive, not {interval_s}")
        first_run_in_s = min(first_run_in_s, interval_s)
        now = self._clock()
        rows = self._store.query("SELECT next_run FROM schedule_jobs WHERE name = ?", (name,))
        with self._lock:
            job = self._jobs.get(name)
            if job is None:
                next_run = min(rows[0]["next_run"], now + interval_s) if rows else now + first_run_in_s
                self._jobs[name] = _Job(name, action, interval_s, next_run)
            else:
                job.action, job.interval_s = action, interval_s
                job.next_run = next_run = min(job.next_run, now + interval_s)
            persisted = rows[0]["next_run"] if rows else None
        if persisted is None or next_run < persisted:
            self._save_next_run(name, next_run)

    def remove(self, name: str, forget: bool = True) -> None:
        """Unregister a job; ``forget``: also drop its next run and history (the user stopped keeping it).
        A run in progress finishes and is recorded."""
        with self._lock:
            self._jobs.pop(name, None)
        if forget:
            with self._store.transaction() as conn:
                conn.execute("DELETE FROM schedule_jobs WHERE name = ?", (name,))
                conn.execute("DELETE FROM schedule_runs WHERE job = ? AND ended_at IS NOT NULL", (name,))

    def names(self, persisted: bool = False) -> list[str]:
        """The registered jobs' names, in registration order; ``persisted``: and after them those the store
        has a next run of (registered by an earlier process; a job of a playlist no longer kept, say)."""
        with self._lock:
            names = list(self._jobs)
        if persisted:
            names += [r["name"] for r in self._store.query("SELECT name FROM schedule_jobs ORDER BY name")
                      if r["name"] not in names]
        return names

    def jobs(self) -> list[JobStatus]:
        """Every registered job with its next run, whether it runs now, and its last run; soonest first."""
        last = self._last_runs()
        with self._lock:
            statuses = [JobStatus(j.name, j.interval_s, j.next_run, j.name in self._running, last.get(j.name))
                        for j in self._jobs.values()]
        return sorted(statuses, key=lambda s: (s.next_run, s.name))

    # ---- pause --------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        """Whether automation is paused (persisted)."""
        return bool(self._store.query("SELECT paused FROM schedule_state WHERE id = 1")[0]["paused"])

    def set_paused(self, paused: bool) -> None:
        """Pause or resume every job; a run in progress goes on. Jobs that fell due meanwhile run once."""
        with self._store.transaction() as conn:
            conn.execute("UPDATE schedule_state SET paused = ? WHERE id = 1", (int(paused),))

    # ---- due and running -----------------------------------------------------------------
    def due(self) -> list[str]:
        """The jobs due now and free to run (not running), soonest first; none while paused."""
        if self.paused:
            return []
        now = self._clock()
        with self._lock:
            self._bring_forward(now)
            due = [j for j in self._jobs.values() if j.next_run <= now and j.name not in self._running]
        return [j.name for j in sorted(due, key=lambda j: (j.next_run, j.name))]

    def next_wakeup(self) -> float | None:
        """When the next job falls due (epoch seconds; in the past when one is due now); None with no jobs
        or while paused. A timer or the headless loop sleeps until then."""
        if self.paused:
            return None
        now = self._clock()
        with self._lock:
            self._bring_forward(now)
            waiting = [j.next_run for j in self._jobs.values() if j.name not in self._running]
        return min(waiting, default=None)

    def take_due(self) -> list[PendingRun]:
        """Claim every due job: each claim is a :class:`PendingRun` the caller runs (here or in a worker).
        A due job whose previous run still goes on is skipped instead (recorded; next run one interval on)."""
        if self.paused:
            return []
        now = self._clock()
        claims: list[PendingRun] = []
        skipped: list[_Job] = []
        with self._lock:
            self._bring_forward(now)
            for job in sorted(self._jobs.values(), key=lambda j: (j.next_run, j.name)):
                if job.next_run > now:
                    continue
                if job.name in self._running:
                    job.next_run = now + job.interval_s
                    skipped.append(job)
                else:
                    claims.append(self._claim(job, now, manual=False))
        for job in skipped:
            log.info("Scheduled job %s is still running: this run is skipped", job.name)
            self._record(job.name, now, now, Outcome.SKIPPED, "skipped: the previous run was still running",
                         manual=False)
        return claims

    def claim_now(self, name: str) -> PendingRun | None:
        """"Run now": claim ``name`` whatever its next run and the pause. None (and a skipped run recorded)
        when it is running already. Raises KeyError for a job not registered."""
        now = self._clock()
        with self._lock:
            job = self._jobs[name]
            if name not in self._running:
                return self._claim(job, now, manual=True)
        self._record(name, now, now, Outcome.SKIPPED, "skipped: it is running already", manual=True)
        return None

    def run_due(self) -> list[RunRecord]:
        """Run every due job now, one after the other in the calling thread (``soulsync run --once``)."""
        return [claim.run() for claim in self.take_due()]

    # ---- the headless loop ---------------------------------------------------------------
    @property
    def stopping(self) -> bool:
        """Whether :meth:`request_stop` was called: long jobs poll this to end early, keeping finished work."""
        return self._stop.is_set()

    def request_stop(self) -> None:
        """Ask :meth:`run_forever` to return and running jobs to stop (a signal handler may call this)."""
        self._stop.set()

    def run_forever(self, on_run: Callable[[RunRecord], object] | None = None,
                    wait: Callable[[float], bool] | None = None, idle_s: float = IDLE_WAIT_S) -> None:
        """Run due jobs in the calling thread until :meth:`request_stop`, waiting in between until the next
        job is due (at most ``idle_s``). ``on_run`` is told each finished run (the status line).
        ``wait(seconds)`` returns True to stop; by default it waits on the stop event, so a stop request
        ends the wait at once (tests pass one that moves their clock)."""
        waiter = wait if wait is not None else self._stop.wait
        while not self._stop.is_set():
            for claim in self.take_due():
                if self._stop.is_set():
                    claim.release()
                    continue
                record = claim.run()
                if on_run is not None:
                    on_run(record)
            if self._stop.is_set():
                return
            wakeup = self.next_wakeup()
            pause = idle_s if wakeup is None else min(idle_s, max(0.0, wakeup - self._clock()))
            if waiter(pause):
                return

    # ---- history -------------------------------------------------------------------------
    def history(self, job: str | None = None, limit: int = 100) -> list[RunRecord]:
        """The newest runs first (of ``job``, or of every job)."""
        if job is None:
            rows = self._store.query("SELECT * FROM schedule_runs ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self._store.query("SELECT * FROM schedule_runs WHERE job = ? ORDER BY id DESC LIMIT ?",
                                     (job, limit))
        return [_record(r) for r in rows]

    def _last_runs(self) -> dict[str, RunRecord]:
        rows = self._store.query("SELECT * FROM schedule_runs WHERE id IN"
                                 " (SELECT MAX(id) FROM schedule_runs GROUP BY job)")
        return {r["job"]: _record(r) for r in rows}

    def _bring_forward(self, now: float) -> None:
        """(Under the lock.) No next run lies more than one interval ahead: after the clock was set back,
        a job runs within its interval rather than when the old clock said."""
        for job in self._jobs.values():
            job.next_run = min(job.next_run, now + job.interval_s)

    # ---- claims and PendingRun ------------------------------------------------------------
    def _claim(self, job: _Job, now: float, manual: bool) -> PendingRun:
        """Mark ``job`` running (under the lock). Its next run moves one interval on in memory only, so it is
        not due again meanwhile; the store keeps the old one until the run ends (a crash leaves it due)."""
        self._running.add(job.name)
        claim = PendingRun(self, job, manual, due_at=job.next_run)
        job.next_run = now + job.interval_s
        return claim

    def _start(self, name: str, manual: bool) -> tuple[int, float]:
        started = self._clock()
        return self._record(name, started, None, Outcome.RUNNING, "", manual), started

    def _finish(self, claim: PendingRun, run_id: int, started: float, outcome: Outcome, summary: str) -> RunRecord:
        job = claim._job
        ended = self._clock()
        with self._store.transaction() as conn:
            conn.execute("UPDATE schedule_runs SET ended_at = ?, outcome = ?, summary = ? WHERE id = ?",
                         (ended, outcome.value, summary, run_id))
        if outcome in _KEEPS_SLOT:
            self._release(claim)
        else:
            self._move_on(job, started + job.interval_s)
            with self._lock:
                self._running.discard(job.name)
        log.info("Scheduled job %s: %s (%s)", job.name, outcome.label, summary)
        return _record(self._store.query("SELECT * FROM schedule_runs WHERE id = ?", (run_id,))[0])

    def _move_on(self, job: _Job, next_run: float) -> None:
        """After a run: its next run is one interval after its start, or later if a skip moved it on already."""
        with self._lock:
            if self._jobs.get(job.name) is not job:
                return  # removed meanwhile
            job.next_run = max(job.next_run, next_run)
            next_run = job.next_run
        self._save_next_run(job.name, next_run)

    def _release(self, claim: PendingRun) -> None:
        """End a claim without moving the job on: it is due when it was before the claim."""
        with self._lock:
            self._running.discard(claim.name)
            if self._jobs.get(claim.name) is claim._job:
                claim._job.next_run = min(claim._job.next_run, claim.due_at)

    def _save_next_run(self, name: str, next_run: float) -> None:
        with self._store.transaction() as conn:
            conn.execute("INSERT INTO schedule_jobs (name, next_run) VALUES (?, ?)"
                         " ON CONFLICT(name) DO UPDATE SET next_run = excluded.next_run", (name, next_run))

    def _record(self, name: str, started: float, ended: float | None, outcome: Outcome, summary: str,
                manual: bool) -> int:
        with self._store.transaction() as conn:
            cur = conn.execute("INSERT INTO schedule_runs (job, started_at, ended_at, outcome, summary, manual)"
                               " VALUES (?,?,?,?,?,?)", (name, started, ended, outcome.value, summary, int(manual)))
            conn.execute("DELETE FROM schedule_runs WHERE job = ? AND ended_at IS NOT NULL AND id NOT IN"
                         " (SELECT id FROM schedule_runs WHERE job = ? ORDER BY id DESC LIMIT ?)",
                         (name, name, self._history_per_job))
            return cur.lastrowid or 0  # always set after an INSERT


class PendingRun:
    """A claimed run of one job: :meth:`run` it (in any thread) or :meth:`release` it, exactly once."""

    def __init__(self, scheduler: Scheduler, job: _Job, manual: bool, due_at: float) -> None:
        self._scheduler = scheduler
        self._job = job
        self.manual = manual
        """Claimed by "run now"."""
        self.due_at = due_at
        """When the job was due at the claim (it is due then again if the run does not finish)."""

    @property
    def name(self) -> str:
        return self._job.name

    def run(self) -> RunRecord:
        """Run the job's callable and record how it went; exceptions become a failed run (a BaseException
        such as KeyboardInterrupt is recorded as interrupted and raised again)."""
        scheduler = self._scheduler
        run_id, started = scheduler._start(self._job.name, self.manual)
        try:
            result = self._job.action()
        except Exception as exc:
            log.exception("Scheduled job %s failed", self._job.name)
            return scheduler._finish(self, run_id, started, Outcome.FAILED, summarise(exc) or type(exc).__name__)
        except BaseException:
            scheduler._finish(self, run_id, started, Outcome.INTERRUPTED, "interrupted")
            raise
        outcome, summary = _outcome_of(result)
        if outcome is Outcome.CANCELLED and scheduler.stopping:
            outcome = Outcome.STOPPED
        return scheduler._finish(self, run_id, started, outcome, summary)

    def release(self) -> None:
        """Give the claim back without running (the job stays due)."""
        self._scheduler._release(self)


def summarise(result: object) -> str:
    """A run's summary in one line: the first line of ``str(result)``, bounded; "done" for None."""
    if result is None:
        return "done"
    text = str(result).strip()
    return text.splitlines()[0][:SUMMARY_LIMIT] if text else ""


def _outcome_of(result: object) -> tuple[Outcome, str]:
    if isinstance(result, RunResult):
        return result.outcome, summarise(result.summary)
    return Outcome.SUCCEEDED, summarise(result)


def _record(r: sqlite3.Row) -> RunRecord:
    return RunRecord(r["id"], r["job"], r["started_at"], r["ended_at"], Outcome(r["outcome"]), r["summary"],
                     bool(r["manual"]))
