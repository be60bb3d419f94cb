"""The download queue's vocabulary: item states, what a step reports, and the collaborators it drives.

:class:`QueueState` is the one list of states a queue item goes through (the
store holds their values); :class:`QueueDiff` is what every step of
:class:`~soulsync.core.downloads.DownloadQueue` returns for views that repaint
only what changed; the protocols say what the queue needs from slskd and from
post-processing. :class:`Batch` holds the working copies one step changes.
"""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

from soulsync.core.models import Track, Transfer, TransferState
from soulsync.core.slskd_files import DownloadRules
from soulsync.core.store_records import QueueItem


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
WAITING = frozenset({QueueState.QUEUED_LOCALLY, QueueState.REQUESTED, QueueState.QUEUED_REMOTELY})
"""At slskd, waiting for the peer (no bytes flow yet)."""

FROM_TRANSFER = {
    TransferState.QUEUED_LOCALLY: QueueState.QUEUED_LOCALLY,
    TransferState.REQUESTED: QueueState.REQUESTED,
    TransferState.QUEUED_REMOTELY: QueueState.QUEUED_REMOTELY,
    TransferState.INITIALIZING: QueueState.INITIALIZING,
    TransferState.IN_PROGRESS: QueueState.IN_PROGRESS,
}
"""slskd's transfer states that are still running, as the queue's states."""


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

Called without the queue's lock, on the queue's post-processing worker (see
:class:`PostWorker`) or, without one, on whichever thread runs
:meth:`DownloadQueue.process_completed`. It may be called a second time for the same file
when the app died while it ran (the item is still ``processing`` on restart), so
it must tolerate that: the file may have been tagged already, or even moved
away (then ``local_path`` no longer exists and ``on_completed`` says whether
the file reached its place, or fails). A failed result whose ``refused_source`` is True (the file
looked fake) moves the item on to its next source, and the source is remembered as bad."""

class PostWorker(Protocol):
    """Where post-processing runs when it must not hold up the queue's step
    (``soulsync.core.serial_worker.SerialWorker``): jobs run one at a time, in order, on another thread."""

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` later on the worker's thread."""


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
        """Nothing changed and nothing to say."""
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


def source_of(entry: object) -> tuple[str, str, int] | None:
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
    source = source_of(entry)
    if source is None:
        return None
    out: dict[str, Any] = {"username": source[0], "filename": source[1], "size": source[2]}
    get = entry.get if isinstance(entry, dict) else lambda key, default=None: getattr(entry, key, default)
    for key in ("score", "quality", "reason"):
        value = get(key)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            out[key] = value
    return out


def clone_item(item: QueueItem) -> QueueItem:
    """A copy whose lists can be changed without touching ``item``."""
    return dataclasses.replace(item, candidates=list(item.candidates), tried=[list(t) for t in item.tried])


# ---------------------------------------------------------------------------
# Candidates and working copies


class Batch:
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
        """The working copy of ``item`` (made on first edit; the original is kept to compare)."""
        if item.id not in self.work:
            self.original[item.id] = item
            self.work[item.id] = clone_item(item)
        return self.work[item.id]

