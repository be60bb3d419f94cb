"""The state the download queue's parts share, its bookkeeping, and moving an item to its next source.

:class:`QueueBase` holds every item and timer of a
:class:`~soulsync.core.downloads.DownloadQueue` (its parameters are described
there) and the internals each part uses: saving a :class:`Batch` in one
transaction and making it the queue's view, reading slskd's rules and
downloads folder, cancelling at slskd, and the fallback from a failed source
to the next candidate, a new search, or failed.
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable

from soulsync.core.bad_sources import BadSources
from soulsync.core.models import Transfer
from soulsync.core.queue_model import (
    FROM_TRANSFER, Batch, FindCandidates, OnCompleted, PostWorker, QueueDiff, QueueState, TransferClient, clone_item,
    source_of,
)
from soulsync.core.slskd_files import UNKNOWN_RULES, DownloadRules
from soulsync.core.store import QUEUE_PROGRESS_FIELDS, Store
from soulsync.core.store_records import QueueItem
from soulsync.core.transfer_failures import attempt_count, describe_error

log = logging.getLogger("soulsync.core.downloads")

CANCEL_RESEND_S = 10.0
"""A retired transfer that still runs at slskd is told to cancel again after this long."""
KEEP_FINISHED = 1000
"""Finished items kept in the queue (and its database); older ones are removed, failed ones last."""
ORPHAN_WATCH_S = 120.0
"""How long a file cancelled while it was being handed to slskd is watched for, to cancel it there too."""
RULES_RETRY_S = 60.0
"""slskd's download rules (its options) are asked for again after a failure at most this often."""
_OTHER_FIELDS = tuple(f.name for f in dataclasses.fields(QueueItem)
                      if f.name not in QUEUE_PROGRESS_FIELDS and f.name != "updated_at")
"""Fields a progress-only change leaves alone (then the store skips re-encoding them)."""


class QueueBase:
    """What every part of the download queue shares; see :class:`~soulsync.core.downloads.DownloadQueue`."""

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
        post_worker: PostWorker | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_concurrent < 1 or max_attempts < 1 or stall_timeout_s <= 0:
            raise ValueError("max_concurrent and max_attempts must be at least 1, stall_timeout_s positive")
        self._store = store
        self._client = client
        self._downloads_dir = Path(downloads_dir) if downloads_dir is not None else None
        self._on_completed = on_completed
        self._post_worker = post_worker
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
        """Items whose post-processing, search or hand-over to slskd runs right now, outside the lock."""
        self._handed_back: set[str] = set()
        """Items the post-processing worker changed since the last step (reported by the next one)."""
        self._filing = ""
        """What the post-processing worker last said about filing (see ``QueueDiff.filing``)."""
        self._filing_error = ""
        """A problem the post-processing worker last met with slskd's downloads folder, in words."""
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

    def _commit(self, batch: Batch, diff: QueueDiff) -> None:
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
            diff.changed[work.id] = clone_item(work)
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
                log.info("download queue: slskd's download rules are unavailable: %s", describe_error(exc))
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
            log.info("download queue: cancelling %s at slskd failed (retried later): %s", slskd_id, describe_error(exc))

    def _sweep(self, transfers: list[Transfer], now: float) -> None:
        """Cancel transfers of retired attempts and finished items that still run at slskd."""
        current = {i.slskd_id for i in self._items.values() if i.slskd_id}
        for t in transfers:
            if (t.id in self._known and t.id not in current and t.state in FROM_TRANSFER
                    and now - self._cancel_sent.get(t.id, float("-inf")) >= CANCEL_RESEND_S):
                self._cancel_at_slskd(t.username, t.id)

    def _cancel_orphans(self, batch: Batch, foreign: dict[tuple[str, str], list[Transfer]], now: float) -> None:
        """Cancel transfers of files that were cancelled while slskd was being asked for them."""
        for key, (item_id, since) in list(self._orphans.items()):
            running = [t for t in foreign.get(key, ()) if t.state in FROM_TRANSFER]
            if running or now - since > ORPHAN_WATCH_S:
                del self._orphans[key]
            for t in running:
                batch.transfer_ids.append((t.id, item_id))
                batch.after.append(functools.partial(self._cancel_at_slskd, t.username, t.id))

    def _taken(self, batch: Batch, item: QueueItem, key: tuple[str, str]) -> bool:
        owner = batch.claims.get(key, self._active_files.get(key))
        return owner is not None and owner != item.id

    @staticmethod
    def _reset_transfer(work: QueueItem) -> None:
        work.slskd_id, work.place_in_queue, work.local_path = None, None, None
        work.bytes_done, work.percent, work.speed = 0, 0.0, 0.0

    # ---- internals: fallback ---------------------------------------------------------
    def _next_source(self, batch: Batch, work: QueueItem) -> tuple[str, str, int] | None:
        tried = {(t[0], t[1]) for t in work.tried if len(t) >= 2}
        for candidate in work.candidates:
            source = source_of(candidate)
            if source is None or source[:2] in tried or source[:2] in self.bad_sources \
                    or self._taken(batch, work, source[:2]):
                continue
            return source
        return None

    def _attempt_failed(self, batch: Batch, item: QueueItem, why: str, cancel: bool) -> None:
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
                why = f"{why} (gave up after {attempt_count(work.attempt)})"
            elif work.attempt > 1 or len(work.candidates) > 1:
                why = f"{why} (no other source left after {attempt_count(work.attempt)})"
            work.state, work.reason, work.finished_at, work.speed = QueueState.FAILED.value, why, self._clock(), 0.0

    def _switch(self, batch: Batch, work: QueueItem, source: tuple[str, str, int], reason: str) -> None:
        self._reset_transfer(work)
        batch.claims[source[:2]] = work.id
        work.username, work.filename, work.size = source
        work.attempt += 1
        work.state, work.reason = QueueState.QUEUED.value, reason

