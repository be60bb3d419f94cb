"""The download queue's hand-over of finished downloads: locate, verify, post-process, settle.

:class:`Completing` is the part of
:class:`~soulsync.core.downloads.DownloadQueue` that takes an item slskd
finished (``processing``), finds and checks its file, runs post-processing
(``on_completed``: tagging, cover, the move into the library) and settles the
item as succeeded, failed "needs attention", or moved on to its next source
when the file is unusable or a fake. Post-processing runs on the queue's
post-processing worker when it has one (see :meth:`Completing.process_completed`).
"""
from __future__ import annotations

import dataclasses

import functools
import logging
import os
from pathlib import Path

from soulsync.core import failpoints
from soulsync.core.audio_errors import AudioVerifyError
from soulsync.core.audiofile import verify_audio
from soulsync.core.destination import DestinationUnavailable, downloads_folder_problem
from soulsync.core.queue_base import QueueBase
from soulsync.core.queue_model import Batch, QueueDiff, QueueState, clone_item
from soulsync.core.slskd_files import LocateError, expected_local_paths, locate_download
from soulsync.core.store_records import QueueItem
from soulsync.core.transfer_failures import describe_error

log = logging.getLogger("soulsync.core.downloads")


class Completing(QueueBase):
    """Completion and post-processing; see the module docstring."""

    def process_completed(self) -> QueueDiff:
        """Locate, verify and hand over every downloaded item (``processing``).

        The file is looked for where slskd puts it (``_<ticks>`` variants too),
        checked (exists, size matches, opens as audio), its path saved, then
        ``on_completed`` runs outside the lock. A file that cannot be found or
        is not good audio moves to the next source; a post-processing failure
        ends the item as failed "needs attention: <reason>".

        With a post-processing worker (``post_worker``) this work is handed to
        it and the call returns at once, so one slow file never holds up the
        step that reports every other transfer's progress: the worker saves
        each result as it goes (the item stays ``processing`` until then, and
        is processed again after a crash), and the next call reports the items
        it changed and what it last said about filing. Without one the work
        runs here. Disk work: call from a worker."""
        with self._lock:
            diff = self._handed_back_news()
            todo = [clone_item(i) for i in self._items.values()
                    if i.state == QueueState.PROCESSING and i.id not in self._busy]
            self._busy.update(i.id for i in todo)
        if self._post_worker is None:
            self._complete_all(todo, diff)
        elif todo:
            self._post_worker.submit(functools.partial(self._complete_in_background, todo))
        return diff

    # ---- internals: completion -------------------------------------------------------
    def _complete_all(self, todo: list[QueueItem], diff: QueueDiff) -> None:
        """Complete ``todo`` (busy) in order, then release them; a missing destination stops the rest too."""
        try:
            for item in todo:
                if not self._complete(item, diff):
                    break  # the destination is not there: the rest wait too (said in diff.filing)
        finally:
            with self._lock:
                self._busy.difference_update(i.id for i in todo)

    def _complete_in_background(self, todo: list[QueueItem]) -> None:
        """:meth:`_complete_all` on the post-processing worker; its news waits for the next step."""
        diff = QueueDiff()
        try:
            self._complete_all(todo, diff)
        finally:
            with self._lock:
                self._handed_back.update(diff.changed)
                self._filing, self._filing_error = diff.filing, diff.error

    def _handed_back_news(self) -> QueueDiff:
        """What the post-processing worker changed since the last step (each item as it is now, so a later
        change is never undone) and what it last said about filing. Holds the lock."""
        diff = QueueDiff(error=self._filing_error, filing=self._filing)
        for item_id in sorted(self._handed_back):
            item = self._items.get(item_id)
            current = clone_item(item) if item is not None else self._store.get_queue_item(item_id)
            if current is not None:
                diff.changed[item_id] = current
        self._handed_back.clear()
        return diff

    def _as_saved(self, item: QueueItem, diff: QueueDiff) -> QueueItem | None:
        """The item as the store has it while it is still processing, else None. Another queue over the same
        database (the one the app used before its settings changed) may have settled it, or saved where its
        file is, meanwhile: this queue takes the store's word."""
        with self._lock:
            saved = self._store.get_queue_item(item.id)
            current = self._items.get(item.id)
            if saved is None or current is None:
                return None
            if (saved.state, saved.local_path) != (current.state, current.local_path):
                self._replace(current, saved)
                diff.changed[item.id] = clone_item(saved)
            return clone_item(saved) if saved.state == QueueState.PROCESSING else None

    def _complete(self, item: QueueItem, diff: QueueDiff) -> bool:
        """Locate, verify and hand over one item; False when its destination or the downloads folder is not
        there (the item keeps waiting, ``diff.filing`` says why)."""
        saved = self._as_saved(item, diff)
        if saved is None:
            return True
        item = saved
        try:
            root = self._get_downloads_dir()
        except Exception as exc:
            diff.error = f"slskd's downloads folder is unknown: {describe_error(exc)}"
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
                    batch = Batch()
                    self._attempt_failed(batch, current, why, cancel=False)
                    self._commit(batch, diff)
            return True
        with self._lock:
            current = self._items.get(item.id)
            if current is None or current.state != QueueState.PROCESSING:
                return True
            batch = Batch()
            batch.edit(current).local_path = str(path)
            self._commit(batch, diff)
            item = clone_item(self._items[item.id])
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
            ok, final, reason = False, None, f"post-processing crashed: {describe_error(exc)}"
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
            batch = Batch()
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
            batch = Batch()
            work = batch.edit(current)
            work.state = (QueueState.SUCCEEDED if ok else QueueState.FAILED).value
            work.reason, work.final_path, work.finished_at, work.speed = reason, final_path, self._clock(), 0.0
            self._commit(batch, diff)
        failpoints.hit("queue.item_done")
