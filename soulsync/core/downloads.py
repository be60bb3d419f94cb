"""The download queue: a Qt-free state machine over slskd's transfer list.

:class:`DownloadQueue` keeps every wanted download in the SQLite store and
drives slskd through a small client interface (:class:`TransferClient`). The
UI calls :meth:`DownloadQueue.tick` from a worker about once a second and
shows the returned :class:`QueueDiff`; user actions (cancel, retry, remove)
are methods too. Every method is thread-safe: they serialise on one lock, and
the slow callbacks (post-processing, searching for another source) run
outside it.

Life of an item (``QueueItem.state``)::

    queued -> submitting -> queued_locally / requested / queued_remotely / initializing / in_progress
           -> processing -> succeeded | failed ("needs attention: ...")
    any failure of the current source -> next candidate (queued, attempt + 1),
           or searching (a new search for the wanted track), or failed
    a failure slskd (0.26+) retries by itself -> queued_locally, "retrying (attempt 2 of 3)",
           until slskd's own attempts succeed or run out (see ``core/slskd_files.py``)
    cancel -> cancelled (no fallback); retry: failed / cancelled -> queued

Crash safety rests on three rules:

* every state change is written (in one transaction per step) *before* the
  action it implies: an item is ``submitting`` before slskd is asked, is
  ``cancelled`` before slskd is told, ``processing`` before post-processing;
* every slskd transfer id the queue is given is recorded, so after a crash a
  transfer is recognised as ours (adopted once) or as a retired attempt
  (cancelled if it still runs), never downloaded a second time;
* every poll reconciles: an item whose transfer slskd no longer lists is
  picked up from disk when its file is complete there, else queued again.
"""
from __future__ import annotations

import dataclasses
import enum
import functools
import logging
import os
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol, Sequence

from soulsync.core import failpoints
from soulsync.core.audiofile import AudioVerifyError, verify_audio
from soulsync.core.bad_sources import BadSources
from soulsync.core.destination import DestinationUnavailable, downloads_folder_problem
from soulsync.core.models import Track, Transfer, TransferState
from soulsync.core.slskd_files import (
    UNKNOWN_RULES, DownloadRules, LocateError, expected_local_paths, file_name, locate_download,
)
from soulsync.core.store import QUEUE_PROGRESS_FIELDS, QueueItem, QueueMeta, Store

log = logging.getLogger(__name__)


class QueueState(str, enum.Enum):
    """What a queue item is doing; the value is what the store holds."""

    QUEUED = "queued"
    """Waiting in SoulSync for a free download slot (not at slskd yet)."""
    SUBMITTING = "submitting"
    """Being handed to slskd; it may or may not have arrived (resolved by the next poll)."""
    QUEUED_LOCALLY = "queued_locally"
    """slskd has it in its own queue (``Queued, Locally``)."""
    REQUESTED = "requested"
    QUEUED_REMOTELY = "queued_remotely"
    INITIALIZING = "initializing"
    IN_PROGRESS = "in_progress"
    PROCESSING = "processing"
    """Downloaded; being located, verified and post-processed."""
    SEARCHING = "searching"
    """Every stored source failed; looking for another one with a new search."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        """The state in words, as the queue shows it."""
        return _QUEUE_WORDS[self]


_QUEUE_WORDS = {
    QueueState.QUEUED: "Waiting", QueueState.SUBMITTING: "Sending to slskd",
    QueueState.QUEUED_LOCALLY: "Queued (locally)", QueueState.REQUESTED: "Requested",
    QueueState.QUEUED_REMOTELY: "Queued at peer", QueueState.INITIALIZING: "Connecting",
    QueueState.IN_PROGRESS: "Downloading", QueueState.PROCESSING: "Tagging and filing",
    QueueState.SEARCHING: "Looking for another source", QueueState.SUCCEEDED: "Done",
    QueueState.FAILED: "Failed", QueueState.CANCELLED: "Cancelled",
}


def queue_state_words(state: str) -> str:
    """A stored queue state in words; one this version does not hold (a row an older or newer version
    wrote, such as slskd's own ``rejected``) is said as well as it can be."""
    if state in QueueState._value2member_map_:
        return QueueState(state).label
    if state in TransferState._value2member_map_:
        return TransferState(state).label
    return state.replace("_", " ").capitalize()


AT_SLSKD = frozenset({QueueState.SUBMITTING, QueueState.QUEUED_LOCALLY, QueueState.REQUESTED,
                      QueueState.QUEUED_REMOTELY, QueueState.INITIALIZING, QueueState.IN_PROGRESS})
"""States that occupy a download slot at slskd (what ``max_concurrent`` limits)."""
_OTHER_FIELDS = tuple(f.name for f in dataclasses.fields(QueueItem)
                      if f.name not in QUEUE_PROGRESS_FIELDS and f.name != "updated_at")
"""Fields a progress-only change leaves alone (then the store skips re-encoding them)."""
_WAITING = frozenset({QueueState.QUEUED_LOCALLY, QueueState.REQUESTED, QueueState.QUEUED_REMOTELY})
"""At slskd, waiting for the peer (no bytes flow yet)."""

_FROM_TRANSFER = {
    TransferState.QUEUED_LOCALLY: QueueState.QUEUED_LOCALLY,
    TransferState.REQUESTED: QueueState.REQUESTED,
    TransferState.QUEUED_REMOTELY: QueueState.QUEUED_REMOTELY,
    TransferState.INITIALIZING: QueueState.INITIALIZING,
    TransferState.IN_PROGRESS: QueueState.IN_PROGRESS,
}

CANCEL_RESEND_S = 10.0
"""A retired transfer that still runs at slskd is told to cancel again after this long."""
PLACE_REFRESH_S = 30.0
"""How often an item waiting in a peer's queue is asked for its place (slskd reports it only when asked)."""
PLACES_PER_STEP = 5
"""At most this many places in peers' queues are asked for per step."""
KEEP_FINISHED = 1000
"""Finished items kept in the queue (and its database); older ones are removed, failed ones last."""
PRUNE_SLACK = 50
"""Finished items allowed past :data:`KEEP_FINISHED` before a removal round, so they go in batches."""
PRUNE_BATCH = 100
"""At most this many finished items removed per step (each is also cleared at slskd), so a database
with thousands of old items is trimmed over several steps, not in one long one."""
ORPHAN_WATCH_S = 120.0
"""How long a file cancelled while it was being handed to slskd is watched for, to cancel it there too."""
SEARCHES_PER_STEP = 2
"""At most this many fallback searches per :meth:`DownloadQueue.search_pending` call."""
SEARCH_RETRY_S = 30.0
"""A fallback search that failed for a passing reason (slskd down, rate limit) is tried again after this long."""
_MAX_TEXT = 300
"""Peer-supplied text (exception messages) is cut to this many characters."""

_TRANSIENT_KINDS = frozenset({"rate_limited", "not_ready", "auth"})
"""Service error kinds after which a request certainly did not take effect."""
_REFUSED_KINDS = frozenset({"server", "not_found"})
"""Service error kinds that mean slskd refused this request (e.g. the peer is offline)."""
_HALT_KINDS = frozenset({"unreachable", "tls", "auth", "not_ready", "wrong_server", "foreign_address"})
"""Service error kinds that mean slskd itself cannot take requests now: the rest of a round waits. A
timeout, a 429 or a refusal concerns one request (one peer may be slow to reach), so the others go on."""
RULES_RETRY_S = 60.0
"""slskd's download rules (its options) are asked for again after a failure at most this often."""


# ---------------------------------------------------------------------------
# Collaborators


class TransferClient(Protocol):
    """What the queue needs from an slskd client (``soulsync.services.slskd.SlskdClient``).

    Errors are raised as ``soulsync.services.errors`` exceptions; the queue only
    looks at their ``kind`` attribute, so core stays free of the services layer.
    """

    def enqueue(self, username: str, files: list[dict]) -> Any:
        """Ask slskd to download ``files`` (``{"filename", "size"}`` dicts) from ``username``.

        The result may carry ``enqueued`` (Transfers) and ``failed`` (file names,
        or ``(filename, message)`` pairs / dicts); both are optional."""

    def downloads(self) -> list[Transfer]: ...

    def cancel(self, username: str, transfer_id: str, remove: bool = False) -> Any: ...

    def downloads_dir(self) -> str: ...

    def download_rules(self) -> DownloadRules:
        """Where slskd files finished downloads and how it retries failed ones (from its options)."""


class CompletionResult(Protocol):
    """What ``on_completed`` returns; ``postprocess.PostProcessResult`` fits."""

    @property
    def ok(self) -> bool: ...

    @property
    def final_path(self) -> Any: ...

    @property
    def reason(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Completion:
    """A plain :class:`CompletionResult` for callers that do not post-process."""

    ok: bool
    final_path: str | None = None
    reason: str = ""


OnCompleted = Callable[[QueueItem, Path], CompletionResult]
"""Post-processing hand-off: ``on_completed(item, local_path)``.

Called from whichever thread runs :meth:`DownloadQueue.process_completed`,
without the queue's lock. It may be called a second time for the same file
when the app died while it ran (the item is still ``processing`` on restart), so
it must tolerate that: the file may have been tagged already, or even moved
away (then ``local_path`` no longer exists and ``on_completed`` says whether
the file reached its place, or fails). A failed result whose ``refused_source`` is True (the file
looked fake) moves the item on to its next source, and the source is remembered as bad."""

FindCandidates = Callable[[Track], Sequence[Any]]
"""A new search for a wanted track: candidate dicts (or ``matching.Candidate``s), best first."""


@dataclass
class QueueDiff:
    """What one step changed, for a view that repaints only those rows."""

    changed: dict[str, QueueItem] = field(default_factory=dict)
    """Items added or changed in this step, by id: their state after it (copies)."""
    removed: list[str] = field(default_factory=list)
    """Ids of items deleted from the queue."""
    error: str = ""
    """A problem talking to slskd (or searching) in this step, in words; empty when none."""
    filing: str = ""
    """Why finished downloads wait instead of being filed (the library folder or the downloads folder is not
    there), in words; empty when they are filed."""

    @property
    def empty(self) -> bool:
        return not self.changed and not self.removed and not self.error and not self.filing

    def merge(self, other: "QueueDiff") -> "QueueDiff":
        """Fold a later step's diff into this one (later states win)."""
        for item_id, item in other.changed.items():
            self.changed[item_id] = item
        for item_id in other.removed:
            self.changed.pop(item_id, None)
            if item_id not in self.removed:
                self.removed.append(item_id)
        if other.error:
            self.error = other.error
        if other.filing:
            self.filing = other.filing
        return self


# ---------------------------------------------------------------------------
# Small helpers


def _clean(text: object) -> str:
    """Untrusted text (peer exception messages) as one short printable line."""
    line = "".join(ch if ch.isprintable() else " " for ch in str(text or "")).strip()
    return line if len(line) <= _MAX_TEXT else line[:_MAX_TEXT - 1] + "…"


_TRANSFER_PREFIX = re.compile(r"^Transfer (?:rejected|failed|aborted):\s*", re.IGNORECASE)
"""slskd's own prefix on transfer exceptions, dropped where our words already say it."""


def failure_reason(transfer: Transfer) -> str:
    """Why a failed transfer failed, in words."""
    detail = _TRANSFER_PREFIX.sub("", _clean(transfer.exception))
    state = transfer.state
    if state is TransferState.REJECTED:
        return "The peer rejected the download" + (f" ({detail})" if detail else "")
    if state is TransferState.TIMED_OUT:
        return "Timed out" + (f" ({detail})" if detail else "")
    if state is TransferState.ABORTED:
        return "The transfer was aborted" + (f" ({detail})" if detail else "")
    if state is TransferState.CANCELLED:
        return "Cancelled in slskd"
    return f"Transfer failed: {detail or _clean(transfer.raw_state) or 'no reason given'}"


def _retry_reason(t: Transfer, rules: DownloadRules) -> str:
    """``retrying (attempt 2 of 3) after: <why the last attempt failed>``, for a transfer slskd tries again."""
    attempt = (t.attempts or 1) + (1 if t.state.is_failure else 0)
    why = _TRANSFER_PREFIX.sub("", _clean(t.exception))
    return f"retrying (attempt {attempt} of {rules.retry_attempts})" + (f" after: {why}" if why else "")


def _attempts(n: int) -> str:
    return "1 attempt" if n == 1 else f"{n} attempts"


def _describe(exc: BaseException) -> str:
    return _clean(exc) or type(exc).__name__


def _source(entry: object) -> tuple[str, str, int] | None:
    """``(username, filename, size)`` of a candidate dict or object, or None when unusable."""
    get = entry.get if isinstance(entry, dict) else lambda key, default=None: getattr(entry, key, default)
    username, filename, size = get("username"), get("filename"), get("size", 0)
    if not isinstance(username, str) or not username or not isinstance(filename, str) or not filename:
        return None
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        size = 0
    return username, filename, size


def candidate_dict(entry: object) -> dict | None:
    """A candidate (dict or ``matching.Candidate``) as the JSON-safe dict the queue stores."""
    source = _source(entry)
    if source is None:
        return None
    out: dict[str, Any] = {"username": source[0], "filename": source[1], "size": source[2]}
    get = entry.get if isinstance(entry, dict) else lambda key, default=None: getattr(entry, key, default)
    for key in ("score", "quality", "reason"):
        value = get(key)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            out[key] = value
    return out


def _clone(item: QueueItem) -> QueueItem:
    """A copy whose lists can be changed without touching ``item``."""
    return dataclasses.replace(item, candidates=list(item.candidates), tried=[list(t) for t in item.tried])


def _failed_entries(result: object) -> list[tuple[str, str]]:
    """``(filename, message)`` of each file slskd's enqueue answer lists as failed."""
    out = []
    for entry in getattr(result, "failed", None) or ():
        if isinstance(entry, str):
            out.append((entry, ""))
        elif isinstance(entry, dict) and isinstance(entry.get("filename"), str):
            out.append((entry["filename"], _clean(entry.get("message", ""))))
        elif isinstance(entry, (tuple, list)) and entry and isinstance(entry[0], str):
            out.append((entry[0], _clean(entry[1]) if len(entry) > 1 else ""))
    return out


# ---------------------------------------------------------------------------
# The queue


class _Batch:
    """Working copies of the items one step changes, written in one transaction."""

    def __init__(self) -> None:
        self.work: dict[str, QueueItem] = {}
        self.original: dict[str, QueueItem] = {}
        self.transfer_ids: list[tuple[str, str]] = []
        self.claims: dict[tuple[str, str], str] = {}
        """(username, filename) -> item id taken by a source switch in this batch."""
        self.after: list[Callable[[], None]] = []
        """slskd actions that run once the batch is saved."""

    def edit(self, item: QueueItem) -> QueueItem:
        if item.id not in self.work:
            self.original[item.id] = item
            self.work[item.id] = _clone(item)
        return self.work[item.id]


class DownloadQueue:
    """The persistent download queue; see the module docstring for its life cycle.

    ``store``: the SQLite store holding the queue. ``client``: slskd (a
    :class:`TransferClient`). ``downloads_dir``: slskd's downloads folder as
    this machine sees it (None: ask ``client.downloads_dir()`` when first
    needed). ``on_completed(item, path)``: post-processing of a verified file;
    its result's ``ok`` decides between succeeded and failed "needs attention"
    (None: a verified file is done where it is). ``find_candidates(track)``:
    a new search when the stored candidates of a wanted track run out
    (None: no new searches). ``slskd_ready()``: False while slskd is not
    logged in to Soulseek (nothing is sent and nothing counts as stalled).
    ``max_concurrent``: items at slskd at once; the rest wait locally.
    ``stall_timeout_s``: no progress for this long moves to the next source.
    ``max_attempts``: sources tried per item. ``missing_grace_s``: how long a
    transfer may be missing from slskd's list before it counts as lost.
    ``max_requeues``: how often one source is queued again after slskd lost it.
    ``keep_finished``: finished items kept (failed ones first); older ones
    are removed as :meth:`remove` does, so a long-running queue stays bounded.
    ``clock``: wall-clock seconds (injectable for tests).
    """

    def __init__(
        self,
        store: Store,
        client: TransferClient,
        *,
        downloads_dir: str | os.PathLike | None = None,
        on_completed: OnCompleted | None = None,
        find_candidates: FindCandidates | None = None,
        slskd_ready: Callable[[], bool] | None = None,
        max_concurrent: int = 3,
        stall_timeout_s: float = 60.0,
        max_attempts: int = 5,
        missing_grace_s: float = 15.0,
        max_requeues: int = 3,
        keep_finished: int = KEEP_FINISHED,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_concurrent < 1 or max_attempts < 1 or stall_timeout_s <= 0:
            raise ValueError("max_concurrent and max_attempts must be at least 1, stall_timeout_s positive")
        self._store = store
        self._client = client
        self._downloads_dir = Path(downloads_dir) if downloads_dir is not None else None
        self._on_completed = on_completed
        self._find = find_candidates
        self._ready = slskd_ready
        self.max_concurrent = max_concurrent
        self.stall_timeout_s = stall_timeout_s
        self.max_attempts = max_attempts
        self.missing_grace_s = missing_grace_s
        self.max_requeues = max_requeues
        self.keep_finished = keep_finished
        self._clock = clock
        self._lock = threading.RLock()
        self._items: dict[str, QueueItem] = {}
        """Active (unfinished) items by id, in creation order."""
        self._active_files: dict[tuple[str, str], str] = {}
        self._known: dict[str, str] = store.queue_transfer_ids()
        """Every slskd transfer id ever given to an item -> that item's id."""
        self._progress_at: dict[str, float] = {}
        """When this process last saw each item progress (stall detection)."""
        self._missing_since: dict[str, float] = {}
        self._requeues: dict[str, int] = {}
        self._search_after: dict[str, float] = {}
        """Items whose fallback search waits after a passing failure -> when to try again."""
        self._busy: set[str] = set()
        """Items whose post-processing or search runs right now, outside the lock."""
        self._cancel_sent: dict[str, float] = {}
        self._place_asked: dict[str, float] = {}
        """When each item's place in its peer's queue was last asked for."""
        self._orphans: dict[tuple[str, str], tuple[str, float]] = {}
        """Files cancelled while being handed to slskd -> (item id, when): cancelled there if they show up."""
        self._listed: set[str] | None = None
        """Transfer ids in slskd's last list (None before the first successful poll)."""
        self._rules: DownloadRules | None = None
        """slskd's download rules once read (None: not yet, or forgotten at a reconcile)."""
        self._rules_asked_at = float("-inf")
        self._retry_seen: dict[str, tuple[tuple[str, int | None, str | None], float]] = {}
        """Items whose transfer failed with a retry to come -> (what the record said, since when)."""
        self._retrying: set[str] = set()
        """Items whose transfer waits for slskd's own next attempt (0.26+): not stalled meanwhile."""
        self._needs_reconcile = True
        self.bad_sources = BadSources(store)
        """Peers' files found to be fakes: never tried as a source again."""
        for item in store.queue_items(finished=False):
            self._index(item)

    # ---- reading -------------------------------------------------------------
    def items(self, finished: bool | None = None) -> list[QueueItem]:
        """Copies of the queue's items in creation order: active ones, finished ones (newest first), or all."""
        with self._lock:
            active = sorted((_clone(i) for i in self._items.values()), key=lambda i: i.created_at)
        if finished is False:
            return active
        done = self._store.queue_items(finished=True)
        return done if finished else sorted(active + done, key=lambda i: i.created_at)

    def get(self, item_id: str) -> QueueItem | None:
        """A copy of one item, or None."""
        with self._lock:
            item = self._items.get(item_id)
            if item is not None:
                return _clone(item)
        return self._store.get_queue_item(item_id)

    @property
    def known_downloads_dir(self) -> Path | None:
        """slskd's downloads folder as configured or as slskd reported it (None before it was asked)."""
        return self._downloads_dir

    def is_active(self, username: str, filename: str) -> bool:
        """Whether this exact remote file is queued or downloading now (for "already queued" badges).

        Lock-free (one dict lookup), so the GUI thread can ask while a step holds the lock around its
        slskd requests; the answer may be one step old."""
        return (username, filename) in self._active_files

    @property
    def needs_reconcile(self) -> bool:
        """True at start and after slskd could not be reached; :meth:`tick` then reconciles."""
        return self._needs_reconcile

    # ---- adding ----------------------------------------------------------------
    def enqueue(
        self,
        files: Iterable[tuple[str, str, int]],
        wanted: Track | None = None,
        candidates: Iterable[Any] = (),
        source: str = "manual",
        group_id: str | None = None,
        meta: QueueMeta | None = None,
    ) -> list[QueueItem]:
        """Queue ``(username, filename, size)`` files; returns the items created.

        One item per file. ``wanted`` (the track these files are meant to be)
        and ``candidates`` (ranked alternative sources, dicts with username,
        filename and size, or ``matching.Candidate``s) apply to each file; an
        item's ``candidates`` list starts with its own file. Files already
        active in the queue (or repeated in ``files``) are skipped. The items
        are saved first (one transaction), then handed to slskd as far as
        ``max_concurrent`` allows; slskd errors leave them queued for
        :meth:`tick` to retry. The items are returned as they are after that
        hand-over. ``meta`` (release facts for post-processing) applies to each
        item. Network: call from a worker.
        """
        alternatives = [c for c in (candidate_dict(c) for c in candidates) if c is not None]
        with self._lock:
            now = self._clock()
            new: list[QueueItem] = []
            taken = set(self._active_files)
            for n, entry in enumerate(files):
                try:
                    username, filename, size = entry
                except (TypeError, ValueError):
                    continue
                primary = _source({"username": username, "filename": filename, "size": size})
                if primary is None:
                    log.warning("download queue: skipped a file without user or name: %r", entry)
                    continue
                key = primary[:2]
                if key in taken:
                    log.info("download queue: %s from %s is already queued", key[1], key[0])
                    continue
                taken.add(key)
                own = {"username": primary[0], "filename": primary[1], "size": primary[2]}
                rest = [c for c in alternatives if (c["username"], c["filename"]) != key]
                new.append(QueueItem(id="", state=QueueState.QUEUED.value, username=primary[0],
                                     filename=primary[1], size=primary[2], wanted=wanted, source=source,
                                     group_id=group_id, candidates=[own, *rest], meta=meta or QueueMeta(),
                                     created_at=now + n * 1e-6))
            if not new:
                return []
            self._store.add_queue_items(new)
            for item in new:
                self._index(item)
            self.submit()
            return [item for item in (self.get(i.id) for i in new) if item is not None]

    # ---- the step the UI runs every second ------------------------------------------
    def tick(self) -> QueueDiff:
        """One round: poll (or reconcile when due), finish downloads, search, send waiting items.

        Network and disk: call from a worker, one tick at a time."""
        diff = self.reconcile() if self._needs_reconcile else self.poll()
        reachable = not diff.error
        diff.merge(self.process_completed())
        diff.merge(self.search_pending())
        if reachable:
            diff.merge(self.prune_finished())
            diff.merge(self.submit())
            diff.merge(self.refresh_queue_places())
        return diff

    def refresh_queue_places(self) -> QueueDiff:
        """Ask slskd for the place in the peer's queue of items waiting there.

        slskd reports ``placeInQueue`` only after a position request, so items
        queued remotely are asked about every :data:`PLACE_REFRESH_S` seconds,
        a few per step. Network: call from a worker."""
        ask = getattr(self._client, "place_in_queue", None)
        if ask is None:
            return QueueDiff()
        now = self._clock()
        with self._lock:
            due = [(i.id, i.username, i.slskd_id) for i in self._items.values()
                   if i.state == QueueState.QUEUED_REMOTELY.value and i.slskd_id
                   and now - self._place_asked.get(i.id, 0.0) >= PLACE_REFRESH_S][:PLACES_PER_STEP]
            for item_id, _user, _tid in due:
                self._place_asked[item_id] = now
        answers: dict[str, int] = {}
        for item_id, username, transfer_id in due:
            try:
                place = ask(username, transfer_id)
            except Exception as exc:  # a position is nice to have; the next poll goes on regardless
                log.debug("download queue: no queue position for %s: %s", item_id, exc)
                continue
            if isinstance(place, int) and place >= 0:
                answers[item_id] = place
        diff = QueueDiff()
        with self._lock:
            changed = []
            for item_id, place in answers.items():
                item = self._items.get(item_id)
                if item is not None and item.state == QueueState.QUEUED_REMOTELY.value \
                        and item.place_in_queue != place:
                    item.place_in_queue = place
                    changed.append(item)
                    diff.changed[item_id] = _clone(item)
            if changed:
                self._store.update_queue_items([], progress=changed)
        return diff

    def poll(self) -> QueueDiff:
        """Read slskd's transfer list once and bring every active item up to date.

        Maps each item to its transfer (by slskd id, else by user and file name
        for items not yet known to slskd), updates state, bytes, percent, speed
        and place in queue; failed transfers, stalls and lost transfers move to
        the next source; finished ones to ``processing``. All changes are
        saved in one transaction; the diff holds only the changed items.
        """
        with self._lock:
            diff = QueueDiff()
            try:
                transfers = [t for t in self._client.downloads() if isinstance(t, Transfer) and t.id]
            except Exception as exc:
                self._needs_reconcile = True
                diff.error = _describe(exc)
                log.info("download queue: slskd's transfer list is unavailable: %s", diff.error)
                return diff
            ready = self._is_ready()
            now = self._clock()
            batch = _Batch()
            by_id = {t.id: t for t in transfers}
            foreign: dict[tuple[str, str], list[Transfer]] = defaultdict(list)
            for t in transfers:
                if t.id not in self._known:
                    foreign[(t.username, t.filename)].append(t)
            running: list[QueueItem] = []
            moved_users: set[str] = set()
            for item in list(self._items.values()):
                if item.id in self._busy or item.state in (QueueState.PROCESSING, QueueState.SEARCHING):
                    continue
                transfer = by_id.get(item.slskd_id) if item.slskd_id else None
                if transfer is not None and (transfer.username, transfer.filename) != (item.username, item.filename):
                    transfer = None
                if transfer is None and item.slskd_id is None and item.state in (QueueState.QUEUED,
                                                                                  QueueState.SUBMITTING):
                    transfer = self._adopt(batch, item, foreign)
                if transfer is None:
                    if item.state != QueueState.QUEUED:
                        since = self._missing_since.setdefault(item.id, now)
                        if now - since >= self.missing_grace_s:
                            self._lost(batch, item)
                    continue
                self._missing_since.pop(item.id, None)
                moved = self._follow(batch, item, transfer, now, ready)
                if moved is not None:
                    running.append(item)
                    if moved:
                        moved_users.add(item.username)
            self._stalls(batch, running, moved_users, now)
            self._cancel_orphans(batch, foreign, now)
            self._listed = set(by_id)
            self._commit(batch, diff)
            self._sweep(transfers, now)
            return diff

    def reconcile(self) -> QueueDiff:
        """Poll after a start or an outage: stall and loss timers start afresh, old transfer ids are pruned.

        Everything a poll does applies (transfers that finished while we were
        away are picked up, failed ones fall back, lost ones are picked up
        from disk or queued again); on success :attr:`needs_reconcile` clears."""
        with self._lock:
            self._progress_at.clear()
            self._missing_since.clear()
            self._retry_seen.clear()
            self._rules = None  # slskd may have restarted with other settings
            diff = self.poll()
            if diff.error:
                return diff
            self._needs_reconcile = False
            current = {i.slskd_id for i in self._items.values() if i.slskd_id}
            listed = self._listed or set()
            stale = [sid for sid in self._known if sid not in listed and sid not in current]
            if stale:
                self._store.forget_queue_transfers(stale)
                for sid in stale:
                    self._known.pop(sid, None)
            self._cancel_sent = {k: v for k, v in self._cancel_sent.items() if k in listed}
            return diff

    def submit(self) -> QueueDiff:
        """Hand waiting items to slskd, oldest first, while fewer than ``max_concurrent`` are there.

        Items are marked ``submitting`` (saved) before slskd is asked. If the
        request fails in a way that may or may not have reached slskd, they
        stay ``submitting`` and the next polls find them or queue them again."""
        with self._lock:
            diff = QueueDiff()
            if not self._is_ready():
                return diff
            in_flight = sum(1 for i in self._items.values() if i.state in AT_SLSKD)
            waiting = [i for i in self._items.values() if i.state == QueueState.QUEUED and i.id not in self._busy]
            chosen = sorted(waiting, key=lambda i: i.created_at)[:max(0, self.max_concurrent - in_flight)]
            if not chosen:
                return diff
            batch = _Batch()
            for item in chosen:
                batch.edit(item).state = QueueState.SUBMITTING.value
            self._commit(batch, diff)
            groups: dict[str, list[QueueItem]] = defaultdict(list)
            for item in chosen:
                groups[item.username].append(self._items[item.id])
            batch = _Batch()
            halted = False
            for username, items in groups.items():
                if halted:
                    for item in items:
                        batch.edit(item).state = QueueState.QUEUED.value
                    continue
                files = [{"filename": i.filename, "size": i.size} for i in items]
                try:
                    result = self._client.enqueue(username, files)
                except Exception as exc:
                    halted = self._enqueue_failed(batch, items, exc, diff)
                    continue
                failpoints.hit("queue.sent")
                self._enqueued(batch, items, result)
            self._commit(batch, diff)
            return diff

    def process_completed(self) -> QueueDiff:
        """Locate, verify and hand over every downloaded item (``processing``).

        The file is looked for where slskd puts it (``_<ticks>`` variants too),
        checked (exists, size matches, opens as audio), its path saved, then
        ``on_completed`` runs outside the lock. A file that cannot be found or
        is not good audio moves to the next source; a post-processing failure
        ends the item as failed "needs attention: <reason>". Disk work: call
        from a worker."""
        diff = QueueDiff()
        with self._lock:
            todo = [_clone(i) for i in self._items.values()
                    if i.state == QueueState.PROCESSING and i.id not in self._busy]
            self._busy.update(i.id for i in todo)
        try:
            for item in todo:
                if not self._complete(item, diff):
                    break  # the destination is not there: the rest wait too (said in diff.filing)
        finally:
            with self._lock:
                self._busy.difference_update(i.id for i in todo)
        return diff

    def search_pending(self) -> QueueDiff:
        """Run ``find_candidates`` for items whose stored sources ran out (a few per call).

        New sources are added to the item's candidates and the best untried
        one is queued; when there is none the item fails with the reason."""
        diff = QueueDiff()
        if self._find is None or not self._is_ready():
            return diff
        with self._lock:
            now = self._clock()
            todo = [_clone(i) for i in self._items.values()
                    if i.state == QueueState.SEARCHING and i.id not in self._busy
                    and self._search_after.get(i.id, now) <= now][:SEARCHES_PER_STEP]
            self._busy.update(i.id for i in todo)
        try:
            for item in todo:
                self._search(item, diff)
        finally:
            with self._lock:
                self._busy.difference_update(i.id for i in todo)
        return diff

    # ---- user actions ----------------------------------------------------------------
    def cancel(self, ids: Iterable[str]) -> QueueDiff:
        """Cancel active items (no fallback). Items being post-processed cannot be cancelled.

        Saved as cancelled first, then slskd is told; if it cannot be told now,
        later polls cancel the transfer."""
        with self._lock:
            diff = QueueDiff()
            batch = _Batch()
            now = self._clock()
            for item_id in ids:
                item = self._items.get(item_id)
                if item is None or item.state == QueueState.PROCESSING:
                    continue
                work = batch.edit(item)
                work.state, work.reason, work.finished_at, work.speed = QueueState.CANCELLED.value, "Cancelled", now, 0.0
                if item.state == QueueState.SUBMITTING and not item.slskd_id:
                    self._orphans[(item.username, item.filename)] = (item.id, now)
                if item.slskd_id:
                    batch.after.append(functools.partial(self._cancel_at_slskd, item.username, item.slskd_id))
            self._commit(batch, diff)
            return diff

    def retry(self, ids: Iterable[str]) -> QueueDiff:
        """Queue failed or cancelled items again from their best source, attempts reset.

        An item whose every source is active in another item is left as it is."""
        with self._lock:
            diff = QueueDiff()
            batch = _Batch()
            for item_id in ids:
                item = self._store.get_queue_item(item_id)
                if item is None or item.state not in (QueueState.FAILED, QueueState.CANCELLED):
                    continue
                work = batch.edit(item)
                work.tried = []
                source = self._next_source(batch, work) or (
                    (work.username, work.filename, work.size) if not work.candidates else None)
                if source is None or self._taken(batch, work, source[:2]):
                    diff.error = f"{file_name(work.filename)} is already queued from every source"
                    del batch.work[item_id], batch.original[item_id]
                    continue
                self._reset_transfer(work)
                work.username, work.filename, work.size = source
                batch.claims[source[:2]] = work.id
                work.state, work.attempt, work.reason = QueueState.QUEUED.value, 1, ""
                work.finished_at = work.final_path = None
                self._requeues.pop(work.id, None)
            self._commit(batch, diff)
            if batch.work:
                diff.merge(self.submit())
            return diff

    def remove(self, ids: Iterable[str]) -> QueueDiff:
        """Delete finished items, and clear their transfers at slskd (``remove=true``).

        Active items are left alone (cancel them first). slskd answering 204
        for an id it does not know, or not answering at all, is fine."""
        with self._lock:
            diff = QueueDiff()
            doomed = [i for i in (self._store.get_queue_item(x) for x in ids) if i is not None and i.finished]
            if not doomed:
                return diff
            self._store.delete_queue_items(i.id for i in doomed)
            diff.removed.extend(i.id for i in doomed)
            cleared: set[str] = set()
            for item in doomed:
                if item.slskd_id:
                    try:
                        self._client.cancel(item.username, item.slskd_id, remove=True)
                    except Exception as exc:
                        if getattr(exc, "kind", "") in ("unreachable", "timeout", "tls"):
                            diff.error = _describe(exc)
                            break
                        log.info("download queue: slskd did not remove %s: %s", item.slskd_id, _describe(exc))
                cleared.add(item.id)
            # their transfer ids need no remembering once slskd was told (this keeps a long run bounded);
            # those of items slskd could not be told about are pruned by the next reconcile instead
            forget = [sid for sid, owner in self._known.items() if owner in cleared]
            if forget:
                self._store.forget_queue_transfers(forget)
                for sid in forget:
                    self._known.pop(sid, None)
            return diff

    def prune_finished(self) -> QueueDiff:
        """Remove the finished items past the newest :attr:`keep_finished` (with some slack, so not one by one)."""
        if self._store.count_queue(finished=True) <= self.keep_finished + PRUNE_SLACK:
            return QueueDiff()
        doomed = self._store.finished_beyond(self.keep_finished)[-PRUNE_BATCH:]  # the oldest first
        log.info("download queue: %d finished items past the %d kept are removed", len(doomed), self.keep_finished)
        return self.remove(doomed)

    def clear_finished(self) -> QueueDiff:
        """:meth:`remove` every finished item."""
        return self.remove([i.id for i in self._store.queue_items(finished=True)])

    # ---- internals: bookkeeping -----------------------------------------------------
    def _index(self, item: QueueItem) -> None:
        self._items[item.id] = item
        self._active_files[(item.username, item.filename)] = item.id

    def _replace(self, old: QueueItem, new: QueueItem) -> None:
        """Make ``new`` (saved) the queue's view of the item ``old`` was."""
        old_key, new_key = (old.username, old.filename), (new.username, new.filename)
        if new.finished_at is None:
            if old_key != new_key and self._active_files.get(old_key) == old.id:
                del self._active_files[old_key]  # (never removed and re-added: is_active reads without the lock)
            self._index(new)
            return
        if self._active_files.get(old_key) == old.id:
            del self._active_files[old_key]
        self._items.pop(new.id, None)
        for timers in (self._progress_at, self._missing_since, self._requeues, self._search_after, self._retry_seen):
            timers.pop(new.id, None)
        self._retrying.discard(new.id)

    def _commit(self, batch: _Batch, diff: QueueDiff) -> None:
        """Save the batch in one transaction, then make it the queue's state, then run its slskd actions."""
        changed = [w for item_id, w in batch.work.items() if w != batch.original[item_id]]
        if changed or batch.transfer_ids:
            full: list[QueueItem] = []
            progress: list[QueueItem] = []
            for work in changed:
                old = batch.original[work.id]
                narrow = all(getattr(work, name) == getattr(old, name) for name in _OTHER_FIELDS)
                (progress if narrow else full).append(work)
            self._store.update_queue_items(full, batch.transfer_ids, progress)
        for sid, item_id in batch.transfer_ids:
            self._known[sid] = item_id
        for work in changed:
            self._replace(batch.original[work.id], work)
            diff.changed[work.id] = _clone(work)
        for action in batch.after:
            action()

    def _is_ready(self) -> bool:
        if self._ready is None:
            return True
        try:
            return bool(self._ready())
        except Exception:
            return False

    def _download_rules(self) -> DownloadRules:
        """slskd's download rules, read once (again after a reconcile); while they cannot be read, both
        folder rules are tried and 0.26's default retries assumed (:data:`UNKNOWN_RULES`)."""
        if self._rules is not None:
            return self._rules
        now = self._clock()
        if now - self._rules_asked_at >= RULES_RETRY_S:
            self._rules_asked_at = now
            try:
                self._rules = self._client.download_rules()
                return self._rules
            except Exception as exc:
                log.info("download queue: slskd's download rules are unavailable: %s", _describe(exc))
        return UNKNOWN_RULES

    def _get_downloads_dir(self) -> Path:
        if self._downloads_dir is None:
            self._downloads_dir = Path(self._client.downloads_dir())
        return self._downloads_dir

    def _cancel_at_slskd(self, username: str, slskd_id: str) -> None:
        self._cancel_sent[slskd_id] = self._clock()
        try:
            self._client.cancel(username, slskd_id, remove=False)
        except Exception as exc:
            log.info("download queue: cancelling %s at slskd failed (retried later): %s", slskd_id, _describe(exc))

    def _sweep(self, transfers: list[Transfer], now: float) -> None:
        """Cancel transfers of retired attempts and finished items that still run at slskd."""
        current = {i.slskd_id for i in self._items.values() if i.slskd_id}
        for t in transfers:
            if (t.id in self._known and t.id not in current and t.state in _FROM_TRANSFER
                    and now - self._cancel_sent.get(t.id, float("-inf")) >= CANCEL_RESEND_S):
                self._cancel_at_slskd(t.username, t.id)

    def _cancel_orphans(self, batch: _Batch, foreign: dict[tuple[str, str], list[Transfer]], now: float) -> None:
        """Cancel transfers of files that were cancelled while slskd was being asked for them."""
        for key, (item_id, since) in list(self._orphans.items()):
            running = [t for t in foreign.get(key, ()) if t.state in _FROM_TRANSFER]
            if running or now - since > ORPHAN_WATCH_S:
                del self._orphans[key]
            for t in running:
                batch.transfer_ids.append((t.id, item_id))
                batch.after.append(functools.partial(self._cancel_at_slskd, t.username, t.id))

    def _taken(self, batch: _Batch, item: QueueItem, key: tuple[str, str]) -> bool:
        owner = batch.claims.get(key, self._active_files.get(key))
        return owner is not None and owner != item.id

    # ---- internals: following transfers ------------------------------------------------
    def _adopt(self, batch: _Batch, item: QueueItem, foreign: dict[tuple[str, str], list[Transfer]]) -> Transfer | None:
        """A transfer of this file that no item owns yet: ours from before a crash, or started in slskd itself.

        A failed one is adopted only when no other is there and slskd was being
        asked for this item (``submitting``): then it is most likely the item's
        own request, answered after the app died, and asking again would
        request the file twice. Otherwise an old failure is no news about this item."""
        found = foreign.get((item.username, item.filename), [])
        options = [t for t in found if not t.state.is_failure]
        if not options and item.state == QueueState.SUBMITTING:
            options = list(found)
        if not options:
            return None
        best = max(options, key=lambda t: (t.state == TransferState.SUCCEEDED, t.bytes_transferred))
        foreign[(item.username, item.filename)].remove(best)
        batch.edit(item).slskd_id = best.id
        batch.transfer_ids.append((best.id, item.id))
        return best

    def _follow(self, batch: _Batch, item: QueueItem, t: Transfer, now: float, ready: bool) -> bool | None:
        """Apply one transfer's news to its item: progress, success or failure.

        Returns None when the transfer has ended, else whether it moved (state,
        bytes or place in queue) since the last poll."""
        if t.state == TransferState.SUCCEEDED:
            work = batch.edit(item)
            work.state, work.reason, work.place_in_queue = QueueState.PROCESSING.value, "", None
            work.bytes_done, work.percent, work.speed = max(t.bytes_transferred, item.size), 100.0, t.average_speed
            work.last_progress_at = now
            return None
        rules = self._download_rules()
        if t.state.is_failure:
            if not self._slskd_retries(item, t, now, rules):
                # slskd may still mean to retry it (we stopped waiting): then it is told to cancel
                self._attempt_failed(batch, item, failure_reason(t), cancel=rules.will_retry(t))
                return None
            state, retrying = QueueState.QUEUED_LOCALLY, True
        else:
            self._retry_seen.pop(item.id, None)
            mapped = _FROM_TRANSFER.get(t.state)
            if mapped is not None:
                state = mapped
            else:  # a state string we do not know: keep ours, but it is at slskd
                state = (QueueState(item.state) if item.state in AT_SLSKD - {QueueState.SUBMITTING}
                         else QueueState.REQUESTED)
            retrying = t.state == TransferState.QUEUED_LOCALLY and (t.attempts or 0) > 1
        if retrying:
            self._retrying.add(item.id)
        else:
            self._retrying.discard(item.id)
        reason = _retry_reason(t, rules) if retrying else item.reason
        place = t.place_in_queue if isinstance(t.place_in_queue, int) and t.place_in_queue >= 0 else None
        done = max(0, int(t.bytes_transferred))
        moved = state != item.state or done > item.bytes_done or place != item.place_in_queue or reason != item.reason
        if moved or not ready:
            self._progress_at[item.id] = now
        percent = min(100.0, max(0.0, float(t.percent_complete)))
        speed = max(0.0, float(t.average_speed)) if state == QueueState.IN_PROGRESS else 0.0
        if (state, done, percent, speed, place, reason) != (item.state, item.bytes_done, item.percent, item.speed,
                                                            item.place_in_queue, item.reason):
            work = batch.edit(item)
            work.state, work.bytes_done, work.percent, work.speed, work.place_in_queue, work.reason = (
                state.value, done, percent, speed, place, reason)
            if moved:
                work.last_progress_at = now
        return moved

    def _slskd_retries(self, item: QueueItem, t: Transfer, now: float, rules: DownloadRules) -> bool:
        """Whether a failed transfer is not final because slskd (0.26+) will try it again: a failure it
        retries, attempts left, and the record changed within ``maxDelay`` + ``delay``."""
        if not rules.will_retry(t):
            self._retry_seen.pop(item.id, None)
            return False
        key = (t.raw_state, t.attempts, t.ended_at)
        seen = self._retry_seen.get(item.id)
        if seen is None or seen[0] != key:
            self._retry_seen[item.id] = (key, now)
            return True
        return now - seen[1] <= rules.retry_window_s

    def _stalls(self, batch: _Batch, running: list[QueueItem], moved_users: set[str], now: float) -> None:
        """Move on from transfers without progress for ``stall_timeout_s``.

        A file waiting in a peer's queue is not stalled while another of our
        files from that peer makes progress (peers upload one file at a time).
        A file waiting for slskd's own next attempt (0.26+) is given at least
        slskd's longest wait between attempts (``maxDelay`` + ``delay``)."""
        retry_patience = max(self.stall_timeout_s, self._download_rules().retry_window_s)
        for item in running:
            state = batch.work.get(item.id, item).state
            if state in _WAITING and item.username in moved_users:
                self._progress_at[item.id] = now
            since = self._progress_at.setdefault(item.id, now)
            patience = retry_patience if item.id in self._retrying else self.stall_timeout_s
            if now - since >= patience:
                self._attempt_failed(batch, item, f"Stalled: no progress for {patience:g} s", cancel=True)

    def _lost(self, batch: _Batch, item: QueueItem) -> None:
        """slskd no longer lists this item's transfer: done on disk, queued again, or (too often) failed."""
        self._missing_since.pop(item.id, None)
        try:
            path = locate_download(self._get_downloads_dir(), item.username, item.filename, item.size,
                                   self._download_rules())
            verify_audio(path, expected_size=item.size or None)
        except Exception:
            path = None
        work = batch.edit(item)
        if path is not None:
            work.state, work.reason = QueueState.PROCESSING.value, "Found complete on disk"
            work.bytes_done, work.percent, work.speed, work.local_path = max(item.size, item.bytes_done), 100.0, 0.0, None
            return
        count = self._requeues.get(item.id, 0) + 1
        if count > self.max_requeues:
            self._attempt_failed(batch, item, f"slskd lost the transfer {count - 1} times", cancel=False)
            return
        self._requeues[item.id] = count
        self._reset_transfer(work)
        work.state = QueueState.QUEUED.value
        work.reason = ("slskd did not take the request; sending it again" if item.state == QueueState.SUBMITTING
                       else "slskd lost the transfer; queued again")

    @staticmethod
    def _reset_transfer(work: QueueItem) -> None:
        work.slskd_id, work.place_in_queue, work.local_path = None, None, None
        work.bytes_done, work.percent, work.speed = 0, 0.0, 0.0

    # ---- internals: fallback ---------------------------------------------------------
    def _next_source(self, batch: _Batch, work: QueueItem) -> tuple[str, str, int] | None:
        tried = {(t[0], t[1]) for t in work.tried if len(t) >= 2}
        for candidate in work.candidates:
            source = _source(candidate)
            if source is None or source[:2] in tried or source[:2] in self.bad_sources \
                    or self._taken(batch, work, source[:2]):
                continue
            return source
        return None

    def _attempt_failed(self, batch: _Batch, item: QueueItem, why: str, cancel: bool) -> None:
        """The current source failed: record why, then the next source, a new search, or failed."""
        work = batch.edit(item)
        old_user, old_id = work.username, work.slskd_id
        work.tried.append([work.username, work.filename, why])
        self._requeues.pop(item.id, None)
        self._progress_at.pop(item.id, None)
        self._missing_since.pop(item.id, None)
        self._retry_seen.pop(item.id, None)
        self._retrying.discard(item.id)
        if cancel and old_id:
            batch.after.append(lambda: self._cancel_at_slskd(old_user, old_id))
        source = self._next_source(batch, work) if work.attempt < self.max_attempts else None
        if source is not None:
            self._switch(batch, work, source, f"Moved on from {old_user}: {why}")
        elif work.attempt < self.max_attempts and self._find is not None and work.wanted is not None:
            self._reset_transfer(work)
            work.state, work.reason = QueueState.SEARCHING.value, f"{why}; looking for another source"
        else:
            if work.attempt >= self.max_attempts and work.attempt > 1:
                why = f"{why} (gave up after {_attempts(work.attempt)})"
            elif work.attempt > 1 or len(work.candidates) > 1:
                why = f"{why} (no other source left after {_attempts(work.attempt)})"
            work.state, work.reason, work.finished_at, work.speed = QueueState.FAILED.value, why, self._clock(), 0.0

    def _switch(self, batch: _Batch, work: QueueItem, source: tuple[str, str, int], reason: str) -> None:
        self._reset_transfer(work)
        batch.claims[source[:2]] = work.id
        work.username, work.filename, work.size = source
        work.attempt += 1
        work.state, work.reason = QueueState.QUEUED.value, reason

    def _search(self, item: QueueItem, diff: QueueDiff) -> None:
        assert self._find is not None and item.wanted is not None
        try:
            found = list(self._find(item.wanted))
        except Exception as exc:
            error = _describe(exc)
            if getattr(exc, "kind", "") in ("unreachable", "timeout", "rate_limited", "not_ready", "server"):
                diff.error = error
                with self._lock:
                    self._search_after[item.id] = self._clock() + SEARCH_RETRY_S
                return
            found, failure = [], f"the search for another source failed ({error})"
        else:
            failure = "no other source found"
        with self._lock:
            current = self._items.get(item.id)
            if current is None or current.state != QueueState.SEARCHING:
                return  # cancelled meanwhile
            batch = _Batch()
            work = batch.edit(current)
            known = {(c.get("username"), c.get("filename")) for c in work.candidates if isinstance(c, dict)}
            for entry in found:
                candidate = candidate_dict(entry)
                if candidate is not None and (candidate["username"], candidate["filename"]) not in known:
                    known.add((candidate["username"], candidate["filename"]))
                    work.candidates.append(candidate)
            last = work.tried[-1] if work.tried and len(work.tried[-1]) > 2 else [work.username, "", "it failed"]
            why = last[2]
            source = self._next_source(batch, work)
            if source is not None:
                self._switch(batch, work, source, f"Moved on from {last[0]}: {why}")
            else:
                work.state, work.finished_at = QueueState.FAILED.value, self._clock()
                work.reason = f"{why}; {failure} after {_attempts(work.attempt)}"
            self._commit(batch, diff)

    # ---- internals: sending ----------------------------------------------------------
    def _enqueue_failed(self, batch: _Batch, items: list[QueueItem], exc: Exception, diff: QueueDiff) -> bool:
        """Settle one user's enqueue that raised; True when the rest of this round should wait."""
        kind = getattr(exc, "kind", "")
        message = _describe(exc)
        if kind in _REFUSED_KINDS:
            for item in items:
                self._attempt_failed(batch, item, f"slskd could not enqueue the file: {message}", cancel=False)
            return False
        diff.error = message
        if kind in _TRANSIENT_KINDS:
            for item in items:
                batch.edit(item).state = QueueState.QUEUED.value
        # otherwise the request may have reached slskd: stay submitting; polls will tell
        return kind in _HALT_KINDS

    def _enqueued(self, batch: _Batch, items: list[QueueItem], result: object) -> None:
        by_name = {i.filename: i for i in items}
        for t in getattr(result, "enqueued", None) or ():
            item = by_name.get(getattr(t, "filename", ""))
            if item is None or not isinstance(t, Transfer) or not t.id or t.id in self._known or t.state.is_failure:
                continue  # (an old failed record, as a legacy reply's lookup may return, is no news)
            work = batch.edit(item)
            work.slskd_id = t.id
            work.state = _FROM_TRANSFER.get(t.state, QueueState.QUEUED_LOCALLY).value
            batch.transfer_ids.append((t.id, item.id))
        for filename, message in _failed_entries(result):
            item = by_name.get(filename)
            if item is None or not message or "already in progress" in message.lower():
                continue  # stays submitting: polls adopt the running transfer or queue it again
            self._attempt_failed(batch, item, f"slskd refused the file: {message}", cancel=False)

    # ---- internals: completion -------------------------------------------------------
    def _complete(self, item: QueueItem, diff: QueueDiff) -> bool:
        """Locate, verify and hand over one item; False when its destination or the downloads folder is not
        there (the item keeps waiting, ``diff.filing`` says why)."""
        try:
            root = self._get_downloads_dir()
        except Exception as exc:
            diff.error = f"slskd's downloads folder is unknown: {_describe(exc)}"
            return True
        if item.local_path and not os.path.isfile(item.local_path):
            interrupted = ("post-processing was interrupted and the file is no longer at "
                           f"{item.local_path} (it may already be in the library)")
            if self._on_completed is None:
                self._settle(item, diff, ok=False, reason=f"needs attention: {interrupted}")
                return True
            # The app died after post-processing moved the file: post-processing tells whether it is in place
            # (and when it cannot find it, the words say what happened rather than "the file is gone").
            return self._hand_over(item, Path(item.local_path), diff, failure=interrupted)
        try:
            path = Path(item.local_path) if item.local_path else locate_download(
                root, item.username, item.filename, item.size, self._download_rules())
            # A file handed over before the app died was checked whole then; tagging may have changed its size since.
            verify_audio(path, expected_size=None if item.local_path else item.size or None)
        except (LocateError, AudioVerifyError) as exc:
            folder = None if item.local_path else self._downloads_folder_problem(root, item.username, item.filename)
            if folder is not None:  # not this source's fault: every download would be lost the same way
                diff.filing = folder
                return False
            why = f"The downloaded file cannot be used: {exc.reason}"
            with self._lock:
                current = self._items.get(item.id)
                if current is not None and current.state == QueueState.PROCESSING:
                    batch = _Batch()
                    self._attempt_failed(batch, current, why, cancel=False)
                    self._commit(batch, diff)
            return True
        with self._lock:
            current = self._items.get(item.id)
            if current is None or current.state != QueueState.PROCESSING:
                return True
            batch = _Batch()
            batch.edit(current).local_path = str(path)
            self._commit(batch, diff)
            item = _clone(self._items[item.id])
        if self._on_completed is None:
            self._settle(item, diff, ok=True, final_path=str(path))
            return True
        return self._hand_over(item, path, diff)

    def _downloads_folder_problem(self, root: Path, username: str, remote_filename: str) -> str | None:
        """Why the folder itself (not this source) is wrong: only when no place slskd may have used exists."""
        try:
            candidates = expected_local_paths(root, username, remote_filename, self._download_rules())
        except LocateError:
            return None
        problems = [downloads_folder_problem(root, candidate) for candidate in candidates]
        return problems[0] if problems and all(problems) else None

    def _hand_over(self, item: QueueItem, path: Path, diff: QueueDiff, failure: str | None = None) -> bool:
        """Run ``on_completed`` on the item's file and settle the item with its result (``failure``: the
        reason to give if it fails, instead of post-processing's own). False when the destination is not
        there: the item stays processing and is handed over again later."""
        assert self._on_completed is not None
        refused = False
        try:
            result = self._on_completed(item, path)
            ok, final, reason = bool(result.ok), result.final_path, str(result.reason or "")
            refused = not ok and getattr(result, "refused_source", False) is True
        except DestinationUnavailable as exc:
            diff.filing = exc.reason
            return False
        except Exception as exc:
            log.exception("download queue: post-processing of %s crashed", path)
            ok, final, reason = False, None, f"post-processing crashed: {_describe(exc)}"
        if refused:  # a fake: the next source, not "needs attention"
            self._refuse_source(item, reason or "the file is not what it claims to be", diff)
            return True
        self._settle(item, diff, ok=ok, final_path=str(final) if final else None,
                     reason=reason if ok else f"needs attention: {failure or reason or 'post-processing failed'}")
        return True

    def _refuse_source(self, item: QueueItem, why: str, diff: QueueDiff) -> None:
        """Post-processing refused the file itself (a fake): the source is remembered as bad, the
        refusal is kept in the item's ``meta.refused``, and the item moves on to its next source."""
        self.bad_sources.add(item.username, item.filename, why)
        with self._lock:
            current = self._items.get(item.id)
            if current is None or current.state != QueueState.PROCESSING:
                return
            batch = _Batch()
            work = batch.edit(current)
            refused = (*work.meta.refused, (item.username, item.filename, why))
            work.meta = dataclasses.replace(work.meta, refused=refused)
            self._attempt_failed(batch, current, why, cancel=False)
            self._commit(batch, diff)

    def _settle(self, item: QueueItem, diff: QueueDiff, ok: bool, reason: str = "",
                final_path: str | None = None) -> None:
        with self._lock:
            current = self._items.get(item.id)
            if current is None:
                return
            batch = _Batch()
            work = batch.edit(current)
            work.state = (QueueState.SUCCEEDED if ok else QueueState.FAILED).value
            work.reason, work.final_path, work.finished_at, work.speed = reason, final_path, self._clock(), 0.0
            self._commit(batch, diff)
        failpoints.hit("queue.item_done")
