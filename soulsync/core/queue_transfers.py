"""The download queue's rounds with slskd: reading its transfer list, following each transfer, sending.

:class:`TransferRounds` is the part of
:class:`~soulsync.core.downloads.DownloadQueue` that talks to slskd in every
step: :meth:`~TransferRounds.poll` maps slskd's transfers to the queue's items
(progress, success, failure, stalls, lost transfers, slskd's own retries),
:meth:`~TransferRounds.reconcile` does it afresh after a start or an outage,
:meth:`~TransferRounds.submit` hands waiting items to slskd and
:meth:`~TransferRounds.refresh_queue_places` asks for places in peers' queues.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from soulsync.core import failpoints
from soulsync.core.audiofile import verify_audio
from soulsync.core.models import Transfer, TransferState
from soulsync.core.queue_base import QueueBase
from soulsync.core.queue_model import AT_SLSKD, FROM_TRANSFER, WAITING, Batch, QueueDiff, QueueState, clone_item
from soulsync.core.slskd_files import DownloadRules, locate_download
from soulsync.core.store_records import QueueItem
from soulsync.core.transfer_failures import (
    HALT_KINDS, REFUSED_KINDS, TRANSIENT_KINDS, describe_error, failed_entries, failure_reason, retry_reason,
)

log = logging.getLogger("soulsync.core.downloads")

PLACE_REFRESH_S = 30.0
"""How often an item waiting in a peer's queue is asked for its place (slskd reports it only when asked)."""
PLACES_PER_STEP = 5
"""At most this many places in peers' queues are asked for per step."""


@dataclass(frozen=True, slots=True)
class _Refused:
    """slskd's enqueue request for one user raised ``error``."""

    error: Exception


class TransferRounds(QueueBase):
    """Polling, reconciling and sending; see the module docstring."""

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
                    diff.changed[item_id] = clone_item(item)
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
                diff.error = describe_error(exc)
                log.info("download queue: slskd's transfer list is unavailable: %s", diff.error)
                return diff
            ready = self._is_ready()
            now = self._clock()
            batch = Batch()
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

        Items are marked ``submitting`` (saved) before slskd is asked. slskd is
        asked outside the lock: a request for a peer it cannot reach may take
        its whole timeout, and meanwhile polls, cancels and the GUI's questions
        go on. While asked, the items are busy, so no poll counts them lost and
        no other submit sends them again; one cancelled meanwhile is cancelled at
        slskd when its transfer shows up. If a request fails in a way that may or
        may not have reached slskd, the items stay ``submitting`` and the next
        polls find them or queue them again."""
        diff = QueueDiff()
        with self._lock:
            if not self._is_ready():
                return diff
            in_flight = sum(1 for i in self._items.values() if i.state in AT_SLSKD)
            waiting = [i for i in self._items.values() if i.state == QueueState.QUEUED and i.id not in self._busy]
            chosen = sorted(waiting, key=lambda i: i.created_at)[:max(0, self.max_concurrent - in_flight)]
            if not chosen:
                return diff
            batch = Batch()
            for item in chosen:
                batch.edit(item).state = QueueState.SUBMITTING.value
            self._commit(batch, diff)
            groups: dict[str, list[QueueItem]] = defaultdict(list)
            for item in chosen:
                groups[item.username].append(clone_item(self._items[item.id]))
            self._busy.update(i.id for i in chosen)
        try:
            answers = self._ask_slskd(groups)
        except BaseException:  # (interrupted) they stay submitting: polls find them or queue them again
            with self._lock:
                self._busy.difference_update(i.id for i in chosen)
            raise
        with self._lock:
            self._busy.difference_update(i.id for i in chosen)
            self._settle_sent(groups, answers, diff)
        return diff

    def _ask_slskd(self, groups: dict[str, list[QueueItem]]) -> dict[str, object]:
        """slskd's answer to one enqueue request per user (or a :class:`_Refused`), without the lock; once
        slskd itself cannot take requests, the remaining users are not asked."""
        answers: dict[str, object] = {}
        for username, items in groups.items():
            try:
                answers[username] = self._client.enqueue(username, [{"filename": i.filename, "size": i.size}
                                                                    for i in items])
            except Exception as exc:
                answers[username] = _Refused(exc)
                if getattr(exc, "kind", "") in HALT_KINDS:
                    break  # slskd itself cannot take requests now: the other users' files wait
                continue
            failpoints.hit("queue.sent")
        return answers

    def _settle_sent(self, groups: dict[str, list[QueueItem]], answers: dict[str, object], diff: QueueDiff) -> None:
        """Apply slskd's answers to the items still being handed over (cancelled ones are left alone); the
        items of users not asked go back to waiting. Holds the lock."""
        batch = Batch()
        for username, sent in groups.items():
            items = [current for i in sent
                     if (current := self._items.get(i.id)) is not None and current.state == QueueState.SUBMITTING]
            answer = answers.get(username)
            if isinstance(answer, _Refused):
                self._enqueue_failed(batch, items, answer.error, diff)
            elif username in answers:
                self._enqueued(batch, items, answer)
            else:
                for item in items:
                    batch.edit(item).state = QueueState.QUEUED.value
        self._commit(batch, diff)

    # ---- internals: following transfers ------------------------------------------------
    def _adopt(self, batch: Batch, item: QueueItem, foreign: dict[tuple[str, str], list[Transfer]]) -> Transfer | None:
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

    def _follow(self, batch: Batch, item: QueueItem, t: Transfer, now: float, ready: bool) -> bool | None:
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
            mapped = FROM_TRANSFER.get(t.state)
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
        reason = retry_reason(t, rules) if retrying else item.reason
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

    def _stalls(self, batch: Batch, running: list[QueueItem], moved_users: set[str], now: float) -> None:
        """Move on from transfers without progress for ``stall_timeout_s``.

        A file waiting in a peer's queue is not stalled while another of our
        files from that peer makes progress (peers upload one file at a time).
        A file waiting for slskd's own next attempt (0.26+) is given at least
        slskd's longest wait between attempts (``maxDelay`` + ``delay``)."""
        retry_patience = max(self.stall_timeout_s, self._download_rules().retry_window_s)
        for item in running:
            state = batch.work.get(item.id, item).state
            if state in WAITING and item.username in moved_users:
                self._progress_at[item.id] = now
            since = self._progress_at.setdefault(item.id, now)
            patience = retry_patience if item.id in self._retrying else self.stall_timeout_s
            if now - since >= patience:
                self._attempt_failed(batch, item, f"Stalled: no progress for {patience:g} s", cancel=True)

    def _lost(self, batch: Batch, item: QueueItem) -> None:
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

    # ---- internals: sending ----------------------------------------------------------
    def _enqueue_failed(self, batch: Batch, items: list[QueueItem], exc: Exception, diff: QueueDiff) -> None:
        """Settle one user's enqueue that raised."""
        kind = getattr(exc, "kind", "")
        message = describe_error(exc)
        if kind in REFUSED_KINDS:
            for item in items:
                self._attempt_failed(batch, item, f"slskd could not enqueue the file: {message}", cancel=False)
            return
        diff.error = message
        if kind in TRANSIENT_KINDS:
            for item in items:
                batch.edit(item).state = QueueState.QUEUED.value
        # otherwise the request may have reached slskd: stay submitting; polls will tell

    def _enqueued(self, batch: Batch, items: list[QueueItem], result: object) -> None:
        by_name = {i.filename: i for i in items}
        for t in getattr(result, "enqueued", None) or ():
            item = by_name.get(getattr(t, "filename", ""))
            if item is None or not isinstance(t, Transfer) or not t.id or t.id in self._known or t.state.is_failure:
                continue  # (an old failed record, as a legacy reply's lookup may return, is no news)
            work = batch.edit(item)
            work.slskd_id = t.id
            work.state = FROM_TRANSFER.get(t.state, QueueState.QUEUED_LOCALLY).value
            batch.transfer_ids.append((t.id, item.id))
        for filename, message in failed_entries(result):
            item = by_name.get(filename)
            if item is None or not message or "already in progress" in message.lower():
                continue  # stays submitting: polls adopt the running transfer or queue it again
            self._attempt_failed(batch, item, f"slskd refused the file: {message}", cancel=False)

