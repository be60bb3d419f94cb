"""Playlist sync: which wanted tracks the library has, and getting the rest from Soulseek.

* **Analysis** (:func:`analyse`): every wanted track is matched against a
  :class:`~soulsync.core.matching.LibraryIndex` (built once with
  :func:`index_library`); the user's overrides win (a pinned library key means
  owned by that track, ``None`` means missing). Cancellable, with progress.
* **Download missing** (:class:`DownloadMissing`): a plain state machine the
  Sync dialog and the headless CLI both drive. For every missing track it
  searches Soulseek with a few query forms (:func:`query_forms`) within the
  search rate limit and a concurrency limit, ranks the files with
  :func:`~soulsync.core.matching.rank_search_results`, hands the best to the
  :class:`~soulsync.core.downloads.DownloadQueue` with the rest as fallback
  sources, and follows the queue item to the library. Tracks that cannot be
  found, or whose every source failed, go to the wishlist with the reason.
* **Wishlist** (:func:`retry_wishlist`) and **M3U8 export** (:func:`export_m3u8`).

Nothing here touches Qt or the network directly: the slskd client, the queue
and the store are passed in (duck-typed), so tests drive everything with fakes.
"""
from __future__ import annotations

import enum
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from soulsync.core import failpoints
from soulsync.core.downloads import QueueState
from soulsync.core.gcutil import built_in_bulk
from soulsync.core.matching import Candidate, LibraryIndex, rank_search_results
from soulsync.core.models import Track
from soulsync.core.normalize import classify_qualifier, fold
from soulsync.core.organize import atomic_write_bytes
from soulsync.core.quality import QualityPrefs
from soulsync.core.ratelimit import SearchRateLimiter
from soulsync.core.search import clean_query
from soulsync.core.search_run import (
    AHEAD_POLL_S, FINALIZE_GRACE_S, SearchCancelled, SearchFollower, count_ahead, list_searches, search_and_wait,
)
from soulsync.core.soulseek_query import UNSEARCHABLE_REASON, acronym_query, network_query
from soulsync.core.store import wanted_key

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]
"""``progress(done, total)``; ``total`` 0 means "not known yet"."""
CancelFn = Callable[[], bool]
"""Returns True when the caller wants the work to stop."""

PROGRESS_EVERY = 100
"""Tracks analysed between two progress reports and cancel checks."""
RESUME_FILED_S = 24 * 3600.0
"""A track an earlier run filed less than this long ago, whose file is still there, counts as downloaded
(the library had not picked it up yet); an older one is searched again, so a file the library never
lists does not stop the track from being fetched for ever."""


class Cancelled(Exception):
    """The caller's cancel hook asked a long job to stop."""


def library_key(track: Track) -> str:
    """The key a library track has in the store's index (Plex rating key, else file path)."""
    return track.plex_rating_key or track.path or f"{track.artist}|{track.album}|{track.title}"


# ----------------------------------------------------------------------------- analysis


class Status(str, enum.Enum):
    """What the analysis found for one wanted track."""

    OWNED = "owned"
    MISSING = "missing"
    IGNORED = "ignored"

    @property
    def label(self) -> str:
        """The status in words."""
        return self.value.capitalize()


@dataclass(slots=True)
class TrackStatus:
    """The analysis of one wanted track."""

    track: Track
    status: Status
    match: Track | None = None
    """The library track it was found as (owned only)."""
    score: float | None = None
    """Match confidence in [0, 1] (1.0 for a match you set); None when missing."""
    ambiguous: bool = False
    """Another, different library track matched almost as well: worth a look."""
    runner_up: Track | None = None
    overridden: bool = False
    """The status comes from the user's manual correction."""
    reason: str = ""
    """Why, in words, when it is not a plain automatic match."""
    playlist_id: str | None = None
    position: int = 0
    """Index in the analysed list."""

    @property
    def key(self) -> str:
        """The wanted track's identity (``store.wanted_key``): overrides and the wishlist use it."""
        return wanted_key(self.track)

    @property
    def library_path(self) -> str | None:
        return self.match.path if self.match is not None else None

    @property
    def library_key(self) -> str | None:
        return library_key(self.match) if self.match is not None else None

    def as_json(self) -> dict[str, Any]:
        """The track as the CLI's JSON reports it."""
        return {"title": self.track.title, "artists": list(self.track.artists), "status": self.status.value,
                "library_path": self.library_path,
                "score": round(self.score, 4) if self.score is not None else None}


def index_library(tracks: Iterable[Track], progress: ProgressFn | None = None,
                  cancel: CancelFn | None = None) -> tuple[LibraryIndex, dict[str, Track]]:
    """A matching index over the library tracks and a key -> track map (for pinned overrides).

    Raises :class:`Cancelled` when ``cancel()`` turns True.
    """
    tracks = list(tracks)
    index = LibraryIndex()
    by_key: dict[str, Track] = {}
    total = len(tracks)
    with built_in_bulk():  # no collector pauses over a structure this size (see core.gcutil)
        for n, track in enumerate(tracks):
            if n % (PROGRESS_EVERY * 20) == 0:
                if cancel is not None and cancel():
                    raise Cancelled("library indexing cancelled")
                if progress is not None:
                    progress(n, total)
            index.add(track)
            by_key[library_key(track)] = track
    if progress is not None:
        progress(total, total)
    return index, by_key


def analyse(tracks: Sequence[Track], index: LibraryIndex, overrides: Mapping[str, str | None] | None = None, *,
            library: Mapping[str, Track] | None = None, ignored: Iterable[str] = (),
            playlist_id: str | None = None, progress: ProgressFn | None = None,
            cancel: CancelFn | None = None) -> list[TrackStatus]:
    """Owned, missing or ignored for each wanted track, in order.

    ``overrides`` (``Store.overrides()``: wanted key -> library key or None)
    win over the matcher: a pinned key found in ``library`` (key -> track, from
    :func:`index_library`) is owned by that track; ``None`` is missing. A pin
    whose track left the library falls back to automatic matching. Keys in
    ``ignored`` and tracks without a title are ignored. The same wanted track
    twice is matched once. Raises :class:`Cancelled` when ``cancel()`` turns True.
    """
    overrides = overrides or {}
    library = library or {}
    skip = set(ignored)
    total = len(tracks)
    seen: dict[str, TrackStatus] = {}
    out: list[TrackStatus] = []
    for n, track in enumerate(tracks):
        if n % PROGRESS_EVERY == 0:
            if cancel is not None and cancel():
                raise Cancelled("analysis cancelled")
            if progress is not None:
                progress(n, total)
        key = wanted_key(track)
        done = seen.get(key)
        if done is None:
            done = seen[key] = _judge(track, key, index, overrides, library, skip)
        out.append(TrackStatus(track, done.status, done.match, done.score, done.ambiguous, done.runner_up,
                               done.overridden, done.reason, playlist_id, n))
    if progress is not None:
        progress(total, total)
    return out


def _judge(track: Track, key: str, index: LibraryIndex, overrides: Mapping[str, str | None],
           library: Mapping[str, Track], ignored: set[str]) -> TrackStatus:
    if key in ignored:
        return TrackStatus(track, Status.IGNORED, reason="ignored by you")
    if not (track.title or "").strip():
        return TrackStatus(track, Status.IGNORED, reason="no title to look for")
    note = ""
    if key in overrides:
        pinned = overrides[key]
        if pinned is None:
            return TrackStatus(track, Status.MISSING, overridden=True, reason="marked as not in the library by you")
        chosen = library.get(pinned)
        if chosen is not None:
            return TrackStatus(track, Status.OWNED, chosen, 1.0, overridden=True, reason="matched by you")
        note = "the track you chose is no longer in the library; matched automatically"
    match = index.find(track)
    if match is None:
        return TrackStatus(track, Status.MISSING, reason=note)
    return TrackStatus(track, Status.OWNED, match.track, match.score, match.ambiguous, match.runner_up,
                       reason=note)


def count_statuses(statuses: Iterable[TrackStatus]) -> tuple[int, int]:
    """``(owned, missing)``; ignored tracks count in neither."""
    owned = missing = 0
    for s in statuses:
        if s.status is Status.OWNED:
            owned += 1
        elif s.status is Status.MISSING:
            missing += 1
    return owned, missing


def save_analysis(store: Any, playlist_id: str, statuses: Iterable[TrackStatus]) -> tuple[int, int]:
    """Persist a playlist's owned and missing counts (``Store.save_playlist_analysis``); returns them."""
    owned, missing = count_statuses(statuses)
    store.save_playlist_analysis(playlist_id, owned, missing)
    return owned, missing


def missing_tracks(statuses: Iterable[TrackStatus]) -> list[tuple[Track, str | None]]:
    """The ``(track, playlist id)`` pairs :class:`DownloadMissing` takes, from an analysis."""
    return [(s.track, s.playlist_id) for s in statuses if s.status is Status.MISSING]


# ----------------------------------------------------------------------------- exports


def export_m3u8(statuses: Iterable[TrackStatus], destination: str | os.PathLike, name: str = "") -> int:
    """Write the owned tracks, in order, as an extended M3U8 playlist; returns how many entries.

    Paths are written relative to the playlist file's folder when they can be
    (absolute otherwise, e.g. another drive). Written atomically.
    """
    destination = Path(destination)
    folder = destination.parent.resolve()
    lines = ["#EXTM3U"]
    if name:
        lines.append(f"#PLAYLIST:{_one_line(name)}")
    written = 0
    seen: set[str] = set()
    for s in statuses:
        path = s.library_path
        if s.status is not Status.OWNED or not path or path in seen:
            continue
        seen.add(path)
        track = s.match or s.track
        seconds = round(track.duration_ms / 1000) if track.duration_ms else -1
        lines.append(f"#EXTINF:{seconds},{_one_line(track.display())}")
        lines.append(_relative(path, folder))
        written += 1
    atomic_write_bytes(destination, ("\n".join(lines) + "\n").encode("utf-8"), overwrite=True)
    return written


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _relative(path: str, folder: Path) -> str:
    try:
        return Path(os.path.relpath(path, folder)).as_posix()
    except ValueError:  # another drive on Windows
        return path


# ----------------------------------------------------------------------------- search queries

_BRACKETS = re.compile(r"\s*[(\[{][^)\]}]*[)\]}]")
_FEATURING = re.compile(r"\s+(?:feat\.?|ft\.?|featuring)\s+.*$", re.IGNORECASE)


def _plain(text: str) -> str:
    """A title or album without bracketed parts, ``feat.`` credits and qualifier tails (`` - Remastered 2011``)."""
    plain = _FEATURING.sub("", _BRACKETS.sub("", text)).strip()
    head, sep, tail = plain.rpartition(" - ")
    if sep and head.strip() and not classify_qualifier(tail).unknown:
        plain = head.strip()
    return plain or text.strip()


def query_forms(track: Track) -> list[str]:
    """The searches to try for a wanted track, best first, without duplicates.

    Artist + title; title + album; the first without accents; the first with
    its acronyms joined (``R.E.M.`` -> ``REM``). Qualifiers (``(Remastered)``,
    ``- Radio Edit``, ``feat. X``) are left out so peers' differently named
    files still match; the ranking sorts versions out. Every form is what
    slskd will really search (:func:`~soulsync.core.soulseek_query.network_query`:
    cleaned, one-character terms dropped); a form with nothing searchable left
    is left out, so a track may have no form at all (see :data:`UNSEARCHABLE_REASON`).
    """
    title = _plain(track.title or "")
    album = _plain(track.album or "")
    forms: list[str] = []

    def add(query: str | None) -> None:
        if query and query.lower() not in (f.lower() for f in forms):
            forms.append(query)

    artist_title = f"{track.artist} {title}"
    add(network_query(artist_title))
    if clean_query(album) and fold(clean_query(album)) != fold(clean_query(title)):
        add(network_query(f"{title} {album}"))
    add(network_query(fold(artist_title)))
    add(acronym_query(artist_title))
    if not track.artist:
        add(network_query(title))
    return forms


# ----------------------------------------------------------------------------- download missing


class Phase(str, enum.Enum):
    """Where one missing track is in the download-missing workflow."""

    WAITING = "waiting"
    """Not searched yet (or waiting for a search slot)."""
    SEARCHING = "searching"
    QUEUED = "queued"
    """Handed to the download queue, not transferring yet."""
    DOWNLOADING = "downloading"
    PROCESSING = "processing"
    """Downloaded; being verified, tagged and filed."""
    DOWNLOADED = "downloaded"
    NOT_FOUND = "not_found"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in _FINISHED_PHASES

    @property
    def label(self) -> str:
        """The phase in words."""
        return _PHASE_WORDS[self]


_FINISHED_PHASES = frozenset({Phase.DOWNLOADED, Phase.NOT_FOUND, Phase.FAILED, Phase.CANCELLED})
_PHASE_WORDS = {
    Phase.WAITING: "Waiting", Phase.SEARCHING: "Searching", Phase.QUEUED: "Queued", Phase.DOWNLOADING: "Downloading",
    Phase.PROCESSING: "Tagging and filing", Phase.DOWNLOADED: "Downloaded", Phase.NOT_FOUND: "Not found",
    Phase.FAILED: "Failed", Phase.CANCELLED: "Cancelled",
}
_QUEUE_PHASES = {
    QueueState.QUEUED: Phase.QUEUED, QueueState.SUBMITTING: Phase.QUEUED, QueueState.QUEUED_LOCALLY: Phase.QUEUED,
    QueueState.REQUESTED: Phase.QUEUED, QueueState.QUEUED_REMOTELY: Phase.QUEUED,
    QueueState.INITIALIZING: Phase.QUEUED, QueueState.IN_PROGRESS: Phase.DOWNLOADING,
    QueueState.PROCESSING: Phase.PROCESSING, QueueState.SEARCHING: Phase.SEARCHING,
    QueueState.SUCCEEDED: Phase.DOWNLOADED, QueueState.FAILED: Phase.FAILED, QueueState.CANCELLED: Phase.CANCELLED,
}


@dataclass(slots=True)
class TrackProgress:
    """The live state of one missing track (a copy: safe to hand to another thread)."""

    key: str
    """``store.wanted_key`` of the track: the same track in several playlists is one entry."""
    track: Track
    playlist_ids: list[str]
    phase: Phase
    detail: str = ""
    """What is happening or why it ended, in words."""
    percent: float = 0.0
    query: str = ""
    """The search that found it (or is running)."""
    candidates: int = 0
    """Acceptable files the search found."""
    queue_item_id: str | None = None
    final_path: str | None = None


@dataclass(slots=True)
class RunProgress:
    """Counts over every track of a run."""

    total: int = 0
    waiting: int = 0
    searching: int = 0
    downloading: int = 0
    """Queued, transferring or being processed."""
    downloaded: int = 0
    not_found: int = 0
    failed: int = 0
    cancelled: int = 0
    trouble: str = ""
    """What slskd is failing with right now, in words (reported at least once, then for as long as it
    lasts); empty while it answers."""

    @property
    def finished(self) -> int:
        return self.downloaded + self.not_found + self.failed + self.cancelled

    @property
    def fraction(self) -> float:
        return self.finished / self.total if self.total else 1.0


@dataclass
class DownloadReport:
    """How a run ended."""

    tracks: list[TrackProgress]
    progress: RunProgress
    paths: list[str] = field(default_factory=list)
    """Library files the run added."""
    cancelled: bool = False
    error: str = ""
    """A problem that stopped the run early (slskd unreachable...), in words; empty otherwise."""
    warnings: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every track was downloaded."""
        return self.progress.downloaded == self.progress.total

    def summary(self) -> str:
        p = self.progress
        parts = [f"{p.downloaded} of {p.total} downloaded"]
        if p.not_found:
            parts.append(f"{p.not_found} not found")
        if p.failed:
            parts.append(f"{p.failed} failed")
        if p.cancelled:
            parts.append(f"{p.cancelled} cancelled")
        text = ", ".join(parts)
        return f"{text} ({self.error})" if self.error else text


class SearchClient(Protocol):
    """What the workflow needs from slskd (``soulsync.services.slskd.SlskdClient``)."""

    def start_search(self, text: str, search_timeout_ms: int = ..., response_limit: int = ...) -> Any: ...

    def search_state(self, search_id: str) -> Any: ...

    def search_responses(self, search_id: str) -> list[dict]: ...

    def stop_search(self, search_id: str) -> None: ...

    def delete_search(self, search_id: str) -> None: ...


@dataclass
class SearchSettings:
    """How searches run: slskd's search options and our own limits."""

    search_timeout_ms: int = 6000
    response_limit: int = 250
    max_searches: int = 2
    """Searches running at once."""
    hard_limit_s: float = 60.0
    """A search still running after this long (counted from ``InProgress``, not from the request:
    slskd may keep it queued behind other searches first) is stopped and its results taken."""
    stop_grace_s: float = 10.0
    """After stopping a search, how long to wait for slskd to complete it before giving up on it."""
    finalize_grace_s: float = FINALIZE_GRACE_S
    """After ``Completed``, how long to wait for ``endedAt`` (the stored responses) before reading them anyway."""
    max_candidates: int = 25
    """Sources handed to the queue per track (the best first, the rest as fallbacks)."""


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
                self.store.add_to_wishlist(job.track, detail, job.playlist_ids[0] if job.playlist_ids else None)
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


# ----------------------------------------------------------------------------- blocking search


class TrackFinder:
    """A blocking search for one wanted track: the download queue's ``find_candidates``.

    Tries :func:`query_forms` in order within the rate limit and returns the
    ranked candidates of the first form that finds any (empty when none does).
    Service errors propagate (the queue retries later).
    """

    def __init__(self, client: SearchClient, prefs: QualityPrefs | None = None,
                 limiter: SearchRateLimiter | None = None, settings: SearchSettings | None = None,
                 is_cancelled: CancelFn | None = None, poll_interval_s: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.prefs = prefs or QualityPrefs()
        self.limiter = limiter if limiter is not None else SearchRateLimiter()
        self.settings = settings or SearchSettings()
        self._is_cancelled = is_cancelled
        self._poll = poll_interval_s
        self._sleep = sleep

    def __call__(self, track: Track) -> list[Candidate]:
        for query in query_forms(track):
            responses = self._search(query)
            if responses is None:
                return []
            candidates = rank_search_results(track, responses, self.prefs)
            if candidates:
                return candidates[:self.settings.max_candidates]
        return []

    def _cancelled(self) -> bool:
        return self._is_cancelled is not None and self._is_cancelled()

    def _search(self, query: str) -> list[dict] | None:
        """The responses of one search (run with :func:`~soulsync.core.search_run.search_and_wait`); None when cancelled."""
        while not self.limiter.try_acquire():
            if self._cancelled():
                return None
            self._sleep(min(max(self.limiter.time_until_free(), self._poll), 5.0))
        s = self.settings

        def wait(seconds: float) -> bool:
            self._sleep(seconds)
            return self._cancelled()

        try:
            return search_and_wait(self.client, query, s.search_timeout_ms, s.response_limit,
                                   cancelled=self._cancelled, wait=wait, poll_s=self._poll,
                                   hard_limit_s=s.hard_limit_s, finalize_grace_s=s.finalize_grace_s, forget=True)
        except SearchCancelled:
            return None
        except Exception as exc:
            if _kind(exc) == "refused":  # this form can never be searched; the next one may
                log.info("slskd refused the search %r: %s", query, exc)
                return []
            raise


# ----------------------------------------------------------------------------- wishlist


def retry_wishlist(store: Any, **options: Any) -> DownloadReport:
    """Run :class:`DownloadMissing` over every wishlist track (by hand or on a schedule).

    ``options`` are :class:`DownloadMissing`'s keyword arguments (``client``,
    ``queue``, ``drive_queue``, callbacks...). Tracks found this time leave the
    wishlist; the others stay with the new reason and one more attempt counted.
    """
    wanted = [(track, None) for track, _reason, _attempts in store.wishlist()]
    return DownloadMissing(wanted, store=store, **options).run()
