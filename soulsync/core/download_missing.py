"""Download missing: every missing track searched, downloaded and filed, as a plain state machine.

For every missing track :class:`DownloadMissing` searches Soulseek with a few
query forms (:func:`~soulsync.core.soulseek_query.query_forms`) within the
search rate limit and a concurrency limit, ranks the files with
:func:`~soulsync.core.matching.rank_search_results`, hands the best to the
:class:`~soulsync.core.downloads.DownloadQueue` with the rest as fallback
sources, and follows the queue item to the library. Tracks that cannot be
found, or whose every source failed, go to the wishlist with the reason.

Nothing here touches Qt or the network directly: the slskd client, the queue
and the store are passed in (duck-typed), so tests drive everything with fakes.
It is one stage of the main job (:mod:`soulsync.core.sync_run`).
"""
from __future__ import annotations

from soulsync.core.analysis import CancelFn
from soulsync.core.run_progress import _QUEUE_PHASES, DownloadReport, Phase, RunProgress, TrackProgress
from soulsync.core.soulseek_query import query_forms
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from soulsync.core import failpoints
from soulsync.core.queue_model import QueueState
from soulsync.core.result_ranking import Candidate, rank_search_results
from soulsync.core.models import Track
from soulsync.core.quality import QualityPrefs
from soulsync.core.ratelimit import SearchRateLimiter
from soulsync.core.search_run import (
    SearchClient, SearchSettings,
    AHEAD_POLL_S, SearchFollower, count_ahead, list_searches,
)
from soulsync.core.soulseek_query import UNSEARCHABLE_REASON
from soulsync.core.store_records import wanted_key
from soulsync.core.wishlist_policy import failed_sources, record_failure, without_failed_sources

log = logging.getLogger(__name__)

RESUME_FILED_S = 24 * 3600.0
"""A track an earlier run filed less than this long ago, whose file is still there, counts as downloaded
(the library had not picked it up yet); an older one is searched again, so a file the library never
lists does not stop the track from being fetched for ever."""



def _search_id(handle: Any) -> str:
    return handle if isinstance(handle, str) else str(getattr(handle, "id", handle))


def _kind(exc: BaseException) -> str:
    return str(getattr(exc, "kind", ""))


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


@dataclass
class _Job:
    key: str
    track: Track
    playlist_ids: list[str]
    forms: list[str]
    form: int = 0
    phase: Phase = Phase.WAITING
    detail: str = ""
    search_id: str | None = None
    follower: SearchFollower | None = None
    item_id: str | None = None
    percent: float = 0.0
    candidates: int = 0
    final_path: str | None = None
    dirty: bool = True
    borrowed: bool = False
    """The queue item followed was started elsewhere (a matched download, the Artists page, another
    window's run): this run's Cancel leaves it alone."""

    @property
    def query(self) -> str:
        return self.forms[min(self.form, len(self.forms) - 1)] if self.forms else ""

    def set(self, phase: Phase, detail: str | None = None, percent: float | None = None) -> None:
        if phase is not self.phase or (detail is not None and detail != self.detail) or (
                percent is not None and abs(percent - self.percent) >= 0.5):
            self.phase = phase
            if detail is not None:
                self.detail = detail
            if percent is not None:
                self.percent = percent
            self.dirty = True

    def snapshot(self) -> TrackProgress:
        return TrackProgress(self.key, self.track, list(self.playlist_ids), self.phase, self.detail, self.percent,
                             self.query, self.candidates, self.item_id, self.final_path)


class DownloadMissing:
    """Search, download and file every missing track; see the module docstring.

    ``wanted``: ``(track, playlist id or None)`` pairs (:func:`missing_tracks`).
    ``client``: slskd (:class:`SearchClient`). ``queue``: the app's
    :class:`~soulsync.core.downloads.DownloadQueue` (its ``on_completed`` does
    the post-processing). ``store``: for the wishlist. ``drive_queue``: call
    ``queue.tick()`` in every step (the CLI); False when something else ticks
    it already (the app's download service). ``library_changed(paths)``: called
    once at the end with the library files the run added, so the library can
    rescan. ``on_track(TrackProgress)`` and ``on_progress(RunProgress)`` report
    changes from the thread that runs :meth:`step`/:meth:`run`.
    ``is_cancelled()``: polled like :meth:`cancel`. ``service_patience_s``: how
    long slskd may fail without a break before the run stops with an error;
    meanwhile the rows and ``RunProgress.trouble`` say what fails, in the words
    of ``describe(exc)`` (default: the exception's text).
    """

    def __init__(
        self,
        wanted: Iterable[tuple[Track, str | None]],
        *,
        client: SearchClient,
        queue: Any,
        store: Any,
        prefs: QualityPrefs | None = None,
        limiter: SearchRateLimiter | None = None,
        settings: SearchSettings | None = None,
        drive_queue: bool = True,
        poll_interval_s: float = 0.5,
        service_patience_s: float = 120.0,
        on_track: Callable[[TrackProgress], None] | None = None,
        on_progress: Callable[[RunProgress], None] | None = None,
        library_changed: Callable[[list[str]], object] | None = None,
        is_cancelled: CancelFn | None = None,
        describe: Callable[[BaseException], str] = _describe,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.queue = queue
        self.store = store
        self.prefs = prefs or QualityPrefs()
        self.limiter = limiter if limiter is not None else SearchRateLimiter()
        self.settings = settings or SearchSettings()
        self.drive_queue = drive_queue
        self.poll_interval_s = poll_interval_s
        self.service_patience_s = service_patience_s
        self.run_id = uuid.uuid4().hex
        self._on_track = on_track
        self._on_progress = on_progress
        self._library_changed = library_changed
        self._is_cancelled = is_cancelled
        self._describe_trouble = describe
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock
        """Epoch seconds for the wishlist's attempts (the scheduler's clock, when a schedule runs this)."""
        self._cancel_requested = False
        self._cancel_done = False
        self._resumed = False
        self._trouble_since: float | None = None
        self._retry_at = 0.0
        self._backoff = 0.0
        self._last_trouble = ""
        self._notice = ""
        """The trouble ``RunProgress.trouble`` reports (cleared once told and slskd answers again)."""
        self._error = ""
        self._paths: list[str] = []
        self._warnings: list[str] = []
        self._last_counts: RunProgress | None = None
        self._jobs: list[_Job] = []
        by_key: dict[str, _Job] = {}
        for track, playlist_id in wanted:
            key = wanted_key(track)
            job = by_key.get(key)
            if job is None:
                job = by_key[key] = _Job(key, track, [], query_forms(track))
                self._jobs.append(job)
            if playlist_id and playlist_id not in job.playlist_ids:
                job.playlist_ids.append(playlist_id)
        self._ahead_checked = float("-inf")
        for job in self._jobs:
            if not job.forms:
                reason = f"cannot be searched on Soulseek: {UNSEARCHABLE_REASON}" if (job.track.title or "").strip() \
                    else "nothing to search for (no title)"
                self._finish(job, Phase.NOT_FOUND, reason)

    # ---- driving ------------------------------------------------------------------------
    def run(self) -> DownloadReport:
        """Step until every track has finished (or the run was cancelled); then tell the library."""
        self._emit()
        while self.step():
            self._sleep(self.poll_interval_s)
        if self._library_changed is not None and self._paths:
            try:
                self._library_changed(list(self._paths))
            except Exception as exc:  # the downloads are in place; a failed rescan is only a warning
                log.warning("Library rescan after downloads failed: %s", exc)
                self._warnings.append(f"the library could not be rescanned: {_describe(exc)}")
        return self.report()

    def step(self) -> bool:
        """One round: searches polled and started, the queue ticked (if driven) and followed.

        Returns True while work remains. Network: call from a worker, one step at a time."""
        if self._cancel_requested or (self._is_cancelled is not None and self._is_cancelled()):
            self._cancel_requested = True
            self._cancel_all()
        elif not self._resumed:
            self._resumed = True
            self._resume()
        now = self._clock()
        if self._trouble_since is not None and now - self._trouble_since >= self.service_patience_s:
            self._give_up()
        if not self._cancel_requested:
            self._poll_searches(now)
            self._start_searches(now)
        if self.drive_queue:
            try:
                diff = self.queue.tick()
            except Exception as exc:  # the queue reports slskd trouble in diff.error; anything else is ours
                log.exception("Download queue step failed")
                diff = None
                self._trouble(exc, now)
            problem = getattr(diff, "error", None) or getattr(diff, "filing", None)
            if problem:
                self._trouble(problem, now)  # slskd, or the library folder not there
            elif diff is not None:
                self._ok()
        self._follow_queue()
        self._emit()
        return not all(job.phase.finished for job in self._jobs)

    def cancel(self) -> None:
        """Stop: no new searches, running searches and queued downloads cancelled; finished work is kept.

        Thread-safe (it only sets a flag the next :meth:`step` acts on)."""
        self._cancel_requested = True

    def tracks(self) -> list[TrackProgress]:
        """Every track's current state, in input order (duplicates merged)."""
        return [job.snapshot() for job in self._jobs]

    def counts(self) -> RunProgress:
        counts = RunProgress(total=len(self._jobs), trouble=self._notice)
        for job in self._jobs:
            phase = job.phase
            if phase is Phase.WAITING:
                counts.waiting += 1
            elif phase is Phase.SEARCHING:
                counts.searching += 1
            elif phase in (Phase.QUEUED, Phase.DOWNLOADING, Phase.PROCESSING):
                counts.downloading += 1
            elif phase is Phase.DOWNLOADED:
                counts.downloaded += 1
            elif phase is Phase.NOT_FOUND:
                counts.not_found += 1
            elif phase is Phase.FAILED:
                counts.failed += 1
            else:
                counts.cancelled += 1
        return counts

    def report(self) -> DownloadReport:
        return DownloadReport(self.tracks(), self.counts(), list(self._paths), self._cancel_requested,
                              self._error, list(self._warnings))

    # ---- resuming -----------------------------------------------------------------------
    def _resume(self) -> None:
        """Take over what earlier runs left in the queue for these tracks, instead of searching again.

        A run that was killed (or the app's own queue) may hold a live item for
        a wanted track: it is followed. An item that succeeded and whose file is
        still where it was filed means the library had not picked the file up
        yet (the run died before telling it): the track counts as downloaded
        and the file goes to ``library_changed``. Anything else is searched."""
        jobs = {job.key: job for job in self._jobs if not job.phase.finished}
        if not jobs:
            return
        try:
            items = self.queue.items()
        except Exception as exc:
            log.warning("Could not read the download queue to resume: %s", exc)
            return
        live: dict[str, Any] = {}
        filed: dict[str, Any] = {}
        for item in items:  # oldest first: the newest item of a track wins
            key = wanted_key(item.wanted) if item.wanted is not None else None
            if key not in jobs:
                continue
            if not item.finished:
                live[key] = item
            elif (item.state == QueueState.SUCCEEDED.value and item.final_path
                  and time.time() - (item.finished_at or 0) < RESUME_FILED_S and os.path.isfile(item.final_path)):
                filed[key] = item
        for key, item in live.items():
            job = jobs[key]
            job.item_id = item.id
            job.borrowed = item.source != "sync"
            job.set(Phase.QUEUED, f"already in the download queue (from {item.username})")
        for key, item in filed.items():
            if key in live:
                continue
            job = jobs[key]
            job.item_id, job.final_path = item.id, item.final_path
            self._paths.append(item.final_path)
            try:
                self.store.remove_from_wishlist(job.track)
            except Exception as exc:
                log.warning("Could not update the wishlist: %s", exc)
            self._finish(job, Phase.DOWNLOADED, f"downloaded before, to {item.final_path}")

    # ---- searching ----------------------------------------------------------------------
    def _poll_searches(self, now: float) -> None:
        polled: list[tuple[_Job, Any]] = []
        for job in self._jobs:
            if job.phase is not Phase.SEARCHING or job.search_id is None or job.follower is None:
                continue
            try:
                state = self.client.search_state(job.search_id)
            except Exception as exc:
                self._trouble(exc, now)
                if _kind(exc) == "not_found":  # slskd forgot it (restarted): search again, after a poll
                    job.search_id = job.follower = None
                    job.set(Phase.WAITING, f"{self._last_trouble}; searching again")
                    self._retry_at = max(self._retry_at, now + self.poll_interval_s)
                else:
                    job.set(Phase.SEARCHING, f"{self._last_trouble}; asking slskd again")
                continue
            self._ok()
            job.follower.observe(state)
            polled.append((job, state))
        self._tell_queued(polled, now)
        for job, _state in polled:
            follower = job.follower
            assert follower is not None and job.search_id is not None
            if follower.ready:
                self._collect(job, now)
            elif follower.should_stop:
                follower.stopped()
                try:
                    self.client.stop_search(job.search_id)
                except Exception as exc:
                    log.info("Stopping search %s failed: %s", job.search_id, exc)

    def _tell_queued(self, polled: list[tuple[_Job, Any]], now: float) -> None:
        """Running searches say so; searches slskd keeps queued say how many are ahead of them
        (slskd runs two at a time, shared with its web UI and other tools)."""
        queued = [(job, state) for job, state in polled if job.follower is not None and job.follower.queued]
        states = None
        if queued and now - self._ahead_checked >= AHEAD_POLL_S:
            self._ahead_checked = now
            states = list_searches(self.client)
        for job, state in polled:
            if job.follower is not None and not job.follower.queued:
                job.set(Phase.SEARCHING, f"searching {job.query!r}")
            elif states is not None:
                ahead = count_ahead(states, job.search_id or "", getattr(state, "started_at", None))
                waiting = (f"{ahead} search{'es' if ahead != 1 else ''} ahead" if ahead else "searches ahead")
                job.set(Phase.SEARCHING, f"waiting for slskd ({waiting}) to search {job.query!r}")
            elif not job.detail.startswith("waiting for slskd"):
                job.set(Phase.SEARCHING, f"waiting for slskd (searches ahead) to search {job.query!r}")

    def _collect(self, job: _Job, now: float) -> None:
        search_id = job.search_id
        assert search_id is not None
        try:
            responses = self.client.search_responses(search_id)
        except Exception as exc:
            if _kind(exc) != "not_found":
                self._trouble(exc, now)
                return
            responses = []
        self._ok()
        try:
            self.client.delete_search(search_id)
        except Exception as exc:
            log.info("Deleting search %s failed: %s", search_id, exc)
        job.search_id = job.follower = None
        candidates = rank_search_results(job.track, responses, self.prefs)
        if candidates:
            job.candidates = len(candidates)
            self._enqueue(job, candidates[:self.settings.max_candidates])
            return
        self._next_form(job, "nothing suitable for")

    def _next_form(self, job: _Job, why: str) -> None:
        """The current query form is done with (nothing found, or slskd refused it): try the next."""
        tried = job.query
        job.form += 1
        if job.form < len(job.forms):
            job.set(Phase.WAITING, f"{why} {tried!r}; next: {job.query!r}")
        else:
            self._finish(job, Phase.NOT_FOUND,
                         f"not found on Soulseek (tried {', '.join(repr(f) for f in job.forms)})", wishlist=True)

    def _start_searches(self, now: float) -> None:
        s = self.settings
        if now < self._retry_at:
            return
        running = sum(1 for job in self._jobs if job.phase is Phase.SEARCHING and job.search_id is not None)
        for job in self._jobs:
            if running >= s.max_searches:
                return
            if job.phase is not Phase.WAITING:
                continue
            if not self.limiter.try_acquire():
                wait = self.limiter.time_until_free()
                job.set(Phase.WAITING, f"waiting for a search slot (Soulseek allows "
                                       f"{self.limiter.limit} per {self.limiter.window:.0f} s; next in {wait:.0f} s)")
                return
            query = job.query
            try:
                handle = self.client.start_search(query, search_timeout_ms=s.search_timeout_ms,
                                                  response_limit=s.response_limit)
            except Exception as exc:
                if _kind(exc) == "refused":  # this text can never be searched: the next form, at once
                    log.info("slskd refused the search %r: %s", query, exc)
                    self._next_form(job, "slskd refused the search")
                    continue
                self._trouble(exc, now)
                told = getattr(exc, "retry_after", None)  # slskd said how long (429 with Retry-After)
                if isinstance(told, (int, float)) and 0 <= told <= 30.0:
                    wait = float(told)
                else:
                    self._backoff = wait = min(30.0, max(2.0, self._backoff * 2))
                self._retry_at = now + wait
                after = f"{wait:.1f} s" if wait < 1 else f"{wait:.0f} s"
                job.set(Phase.WAITING, f"the search could not start ({self._last_trouble}); trying again in {after}")
                return
            self._ok()
            self._backoff = 0.0
            job.search_id = _search_id(handle)
            job.follower = SearchFollower(s.hard_limit_s, s.finalize_grace_s, s.stop_grace_s, clock=self._clock)
            job.follower.observe(handle)
            job.set(Phase.SEARCHING, f"waiting for slskd to search {query!r}" if job.follower.queued
                    else f"searching {query!r}")
            running += 1
            failpoints.hit("search.started")

    # ---- downloading --------------------------------------------------------------------
    def _enqueue(self, job: _Job, candidates: list[Candidate]) -> None:
        try:
            candidates = without_failed_sources(candidates, failed_sources(self.store, job.track))
        except Exception as exc:  # the record of failed sources is advice; without it every source is tried
            log.warning("Could not read the sources that failed before: %s", exc)
        if not candidates:
            self._finish(job, Phase.NOT_FOUND, "found only on sources that failed before", wishlist=True)
            return
        best = candidates[0]
        try:
            items = self.queue.enqueue([(best.username, best.filename, best.size)], wanted=job.track,
                                       candidates=candidates, source="sync", group_id=self.run_id)
        except Exception as exc:
            log.exception("Could not queue %s", best.filename)
            self._finish(job, Phase.FAILED, f"could not be queued: {_describe(exc)}", wishlist=True)
            return
        if items:
            job.item_id = items[0].id
        else:  # that file is already being downloaded (another playlist or the Downloads page): follow it
            job.item_id = next((i.id for i in self.queue.items(finished=False)
                                if (i.username, i.filename) == (best.username, best.filename)), None)
        if job.item_id is None:
            self._finish(job, Phase.FAILED, "the download queue did not take the file", wishlist=True)
            return
        job.set(Phase.QUEUED, f"{best.quality} from {best.username} ({len(candidates)} source"
                              f"{'s' if len(candidates) != 1 else ''})")

    def _follow_queue(self) -> None:
        for job in self._jobs:
            if job.item_id is None or job.phase.finished:
                continue
            item = self.queue.get(job.item_id)
            if item is None:
                self._finish(job, Phase.CANCELLED, "removed from the download queue")
                continue
            try:
                state = QueueState(item.state)
            except ValueError:
                continue
            phase = _QUEUE_PHASES[state]
            if phase is Phase.DOWNLOADED:
                job.final_path = item.final_path
                if item.final_path:
                    self._paths.append(item.final_path)
                try:
                    self.store.remove_from_wishlist(job.track)
                except Exception as exc:
                    log.warning("Could not update the wishlist: %s", exc)
                self._finish(job, Phase.DOWNLOADED, item.reason or "in the library")
            elif phase is Phase.FAILED:
                self._finish(job, Phase.FAILED, item.reason or "the download failed", wishlist=True)
            elif phase is Phase.CANCELLED:
                self._finish(job, Phase.CANCELLED, item.reason or "cancelled")
            else:
                detail = item.reason if phase is Phase.SEARCHING else _queue_detail(item, phase)
                job.set(phase, detail, float(item.percent or 0.0))

    def _finish(self, job: _Job, phase: Phase, detail: str, wishlist: bool = False) -> None:
        job.set(phase, detail)
        if wishlist:
            try:
                item = self.queue.get(job.item_id) if job.item_id else None
                record_failure(self.store, job.track, detail, self._wall_clock(),
                               failed_sources=list(getattr(item, "tried", None) or ()),
                               playlist_id=job.playlist_ids[0] if job.playlist_ids else None)
            except Exception as exc:
                log.warning("Could not add %s to the wishlist: %s", job.track.display(), exc)

    # ---- cancelling and trouble --------------------------------------------------------------
    def _cancel_all(self) -> None:
        if self._cancel_done:
            return
        self._cancel_done = True
        to_cancel: list[str] = []
        for job in self._jobs:
            if job.phase.finished:
                continue
            if job.search_id is not None:
                job.follower = None
                for action in (self.client.stop_search, self.client.delete_search):
                    try:
                        action(job.search_id)
                    except Exception as exc:
                        log.info("Cancelling search %s: %s", job.search_id, exc)
                job.search_id = None
            if job.item_id is None:
                job.set(Phase.CANCELLED, "cancelled before it was found")
            elif job.borrowed:
                job.set(Phase.CANCELLED, "no longer followed; its download, started elsewhere, goes on")
            elif job.phase is not Phase.PROCESSING:
                to_cancel.append(job.item_id)
        if to_cancel:
            try:
                self.queue.cancel(to_cancel)
            except Exception as exc:
                self._warnings.append(f"some downloads could not be cancelled: {_describe(exc)}")

    def _ok(self) -> None:
        self._trouble_since = None

    def _trouble(self, problem: BaseException | str, now: float) -> None:
        """slskd failed; after ``service_patience_s`` of nothing but failures the run stops (see :meth:`step`)."""
        text = problem if isinstance(problem, str) else self._describe_trouble(problem)
        self._last_trouble = self._notice = text
        if self._trouble_since is None:
            self._trouble_since = now
            log.warning("slskd trouble during sync: %s", text)

    def _give_up(self) -> None:
        text = self._last_trouble
        self._error = f"stopped: {text}"
        for job in self._jobs:
            if not job.phase.finished and job.item_id is None:
                job.search_id = job.follower = None
                job.set(Phase.FAILED, f"not searched: {text}")
            elif not job.phase.finished:
                job.set(Phase.FAILED, f"left in the download queue: {text}")

    def _emit(self) -> None:
        if self._on_track is not None:
            for job in self._jobs:
                if job.dirty:
                    job.dirty = False
                    self._on_track(job.snapshot())
        else:
            for job in self._jobs:
                job.dirty = False
        counts = self.counts()
        if self._on_progress is not None and counts != self._last_counts:
            self._on_progress(counts)
        self._last_counts = counts
        if self._trouble_since is None:
            self._notice = ""  # told; slskd answers again


def _queue_detail(item: Any, phase: Phase) -> str:
    if phase is Phase.DOWNLOADING:
        return f"downloading from {item.username}: {float(item.percent or 0):.0f}%"
    if phase is Phase.PROCESSING:
        return "tagging and filing into the library"
    if item.place_in_queue:
        return f"queued at {item.username} (place {item.place_in_queue})"
    return item.reason or f"queued at {item.username}"


