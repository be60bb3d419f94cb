"""The download queue: a Qt-free state machine over slskd's transfer list.

:class:`DownloadQueue` keeps every wanted download in the SQLite store and
drives slskd through a small client interface
(:class:`~soulsync.core.queue_model.TransferClient`). The
UI calls :meth:`DownloadQueue.tick` from a worker about once a second and
shows the returned :class:`QueueDiff`; user actions (cancel, retry, remove)
are methods too. Every method is thread-safe: they serialise on one lock, and
the slow work (requests to slskd that may wait for a peer, post-processing,
searching for another source) runs outside it. Post-processing runs on the
queue's own worker when it is given one, so a slow move never holds up a step.

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

The queue is built from parts, one topic each: its vocabulary
(:mod:`~soulsync.core.queue_model`), failure words
(:mod:`~soulsync.core.transfer_failures`), shared state, bookkeeping and
fallback (:mod:`~soulsync.core.queue_base`), the rounds with slskd
(:mod:`~soulsync.core.queue_transfers`) and the hand-over of finished files
(:mod:`~soulsync.core.queue_completion`); this module puts them together
with the reading, adding, searching and user actions.
"""
from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any, Iterable

from soulsync.core.models import Track
from soulsync.core.queue_completion import Completing
from soulsync.core.queue_model import (
    AT_SLSKD, Batch, Completion, QueueDiff, QueueState, candidate_dict, clone_item, queue_state_words, source_of,
)
from soulsync.core.queue_transfers import TransferRounds
from soulsync.core.slskd_files import file_name
from soulsync.core.store_records import QueueItem, QueueMeta
from soulsync.core.transfer_failures import attempt_count, describe_error, failure_reason

__all__ = ["AT_SLSKD", "Completion", "DownloadQueue", "QueueDiff", "QueueState", "failure_reason", "queue_state_words"]
"""What callers import from here (some are defined in the queue's parts)."""

log = logging.getLogger(__name__)

PRUNE_SLACK = 50
"""Finished items allowed past :data:`KEEP_FINISHED` before a removal round, so they go in batches."""
PRUNE_BATCH = 100
"""At most this many finished items removed per step (each is also cleared at slskd), so a database
with thousands of old items is trimmed over several steps, not in one long one."""
SEARCHES_PER_STEP = 2
"""At most this many fallback searches per :meth:`DownloadQueue.search_pending` call."""
SEARCH_RETRY_S = 30.0
"""A fallback search that failed for a passing reason (slskd down, rate limit) is tried again after this long."""


class DownloadQueue(TransferRounds, Completing):
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
    ``post_worker``: where post-processing runs (a :class:`PostWorker`, one
    thread taking jobs in order); None: within :meth:`tick` itself.
    ``clock``: wall-clock seconds (injectable for tests).
    """

    # ---- reading -------------------------------------------------------------
    def items(self, finished: bool | None = None) -> list[QueueItem]:
        """Copies of the queue's items in creation order: active ones, finished ones (newest first), or all."""
        with self._lock:
            active = sorted((clone_item(i) for i in self._items.values()), key=lambda i: i.created_at)
        if finished is False:
            return active
        done = self._store.queue_items(finished=True)
        return done if finished else sorted(active + done, key=lambda i: i.created_at)

    def get(self, item_id: str) -> QueueItem | None:
        """A copy of one item, or None."""
        with self._lock:
            item = self._items.get(item_id)
            if item is not None:
                return clone_item(item)
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
        hand-over. Network: call from a worker.
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
                primary = source_of({"username": username, "filename": filename, "size": size})
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

    def search_pending(self) -> QueueDiff:
        """Run ``find_candidates`` for items whose stored sources ran out (a few per call).

        New sources are added to the item's candidates and the best untried
        one is queued; when there is none the item fails with the reason."""
        diff = QueueDiff()
        if self._find is None or not self._is_ready():
            return diff
        with self._lock:
            now = self._clock()
            todo = [clone_item(i) for i in self._items.values()
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
            batch = Batch()
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
            batch = Batch()
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
                            diff.error = describe_error(exc)
                            break
                        log.info("download queue: slskd did not remove %s: %s", item.slskd_id, describe_error(exc))
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

    def _search(self, item: QueueItem, diff: QueueDiff) -> None:
        assert self._find is not None and item.wanted is not None
        try:
            found = list(self._find(item.wanted))
        except Exception as exc:
            error = describe_error(exc)
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
            batch = Batch()
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
                work.reason = f"{why}; {failure} after {attempt_count(work.attempt)}"
            self._commit(batch, diff)

