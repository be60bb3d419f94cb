"""The downloads of the slskd simulation as a world model: transfer records and their state machine.

No HTTP here: :mod:`soulsync.sim.slskd` parses the ``/transfers`` requests and calls these methods.
A download runs in simulated time, one step per tick: ``Queued, Locally`` -> ``Requested`` ->
``Queued, Remotely`` -> ``Initializing`` -> ``InProgress`` -> ``Completed, Succeeded`` (or a failed
``Completed, *``, which 0.26 retries), at the peer's speed; the file grows in the incomplete directory
and is then moved into the downloads directory where slskd would put it. Each rule names the slskd or
Soulseek.NET source it follows (``../shared/reference/service-apis.md`` 1.6).
"""
from __future__ import annotations

import logging
import random
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from soulsync.sim.audio import FileFactory
from soulsync.sim.peers import Peer
from soulsync.sim.slskd_model import (
    CANCELLED_MESSAGE, PEER_TIMEOUT_MS, RetryOptions, SimClock, SimTransfer, TransferFaults, destination_folder,
    dotnet_ticks, incomplete_folder, legacy_folder, local_file_name,
)

log = logging.getLogger(__name__)

_INCOMPLETE_IN_USE = "The process cannot access the file '{path}' because it is being used by another process."
FAILED_ATTEMPT_SHOWN_S = 0.2
"""Simulated seconds a failed attempt that 0.26 will retry shows its own ``Completed, *`` state before the
record turns ``Queued, Locally``: DownloadAsync's state handler writes ``Queued, Locally`` and then copies
the failed transfer over it again (service-apis.md 1.6), so a poller can see the failure first."""
RETRIED_STATES = ("Completed, TimedOut", "Completed, Errored")
"""Retry.Do in DownloadService.DownloadAsync retries everything but cancellation, rejection, a size
mismatch (``Aborted``) and duplicates."""


class TransfersMixin:
    """The download half of :class:`~soulsync.sim.slskd.SlskdSim`'s world (the simulation provides the
    lock, clock, peers, folders, options and login state this mixin uses)."""

    # provided by SlskdSim
    _lock: Any
    clock: SimClock
    factory: FileFactory
    transfer_faults: TransferFaults
    retry: RetryOptions
    version_tuple: tuple[int, ...]
    host_os: str
    downloads_dir: Path
    incomplete_dir: Path
    destination_subdirectory: str
    destination_exists: str
    _logged_in: bool
    _peers_by_name: dict[str, Peer]
    _rng: random.Random
    _synth: ThreadPoolExecutor
    _transfers: dict[str, SimTransfer]
    _sequence: int

    def transfers(self, include_removed: bool = True) -> list[SimTransfer]:
        """The transfer records, oldest first (a snapshot for tests and tools)."""
        with self._lock:
            return [t for t in sorted(self._transfers.values(), key=lambda t: t.sequence)
                    if include_removed or not t.removed]

    def _enqueue(self, username: str, files: list[tuple[str, int]]) -> tuple[list[SimTransfer], list[str]]:
        enqueued: list[SimTransfer] = []
        failed: list[str] = []
        now = self.clock.now()
        for filename, size in files:
            existing = [t for t in self._transfers.values() if t.username == username and t.filename == filename]
            if any(t.active for t in existing):
                failed.append(filename)
                continue
            for old in existing:
                old.removed = True
            self._sequence += 1
            transfer = SimTransfer(id=str(uuid.uuid4()), username=username, filename=filename, size=size,
                                   requested_at=self.clock.utc(now), sequence=self._sequence,
                                   due=now + 0.1 + (self._sequence % 5) * 0.03)
            self._transfers[transfer.id] = transfer
            enqueued.append(transfer)
        return enqueued, failed

    def _visible(self, include_removed: bool) -> list[SimTransfer]:
        return [t for t in sorted(self._transfers.values(), key=lambda t: t.sequence)
                if include_removed or not t.removed]

    def _place(self, transfer: SimTransfer) -> int:
        """1-based place in the peer's upload queue: others ahead, then our own earlier files."""
        ours_ahead = sum(1 for t in self._transfers.values()
                         if t.username == transfer.username and t.sequence < transfer.sequence and not t.complete
                         and t.state in ("Queued, Remotely", "Initializing", "InProgress"))
        return transfer.wait_places + ours_ahead + 1

    def _end(self, transfer: SimTransfer, state: str, exception: str | None) -> None:
        transfer.move(state)
        transfer.exception = exception
        transfer.ended_at = self.clock.utc()
        if (self.version_tuple >= (0, 26) and state in RETRIED_STATES and not transfer.cancel_requested
                and transfer.attempts < self.retry.attempts):
            transfer.retry_due = self.clock.now() + FAILED_ATTEMPT_SHOWN_S

    def _begin_retry(self, transfer: SimTransfer, now: float) -> None:
        """0.26 DownloadService.DownloadAsync inside Retry.Do: before attempt n the record is written
        ``Queued, Locally`` with ``attempts: n`` (the failure's ``endedAt`` and ``exception`` stay until the
        attempt's first state change), then Compute.ExponentialBackoffDelay is waited."""
        transfer.retry_due = None
        transfer.attempts += 1
        transfer.move("Queued, Locally")
        transfer.fault = None
        transfer.source = None
        transfer.due = now + self.retry.backoff_s(transfer.attempts, self._rng.random())

    def _tick_transfers(self, now: float, elapsed: float) -> None:
        with self._lock:
            active = [t for t in self._transfers.values() if t.active]
            active.sort(key=lambda t: t.sequence)
            for transfer in active:
                try:
                    self._step(transfer, now, elapsed)
                except OSError as exc:
                    log.warning("slskd sim: transfer %s failed on disk: %s", transfer.id, exc)
                    self._end(transfer, "Completed, Errored", str(exc))

    def _step(self, transfer: SimTransfer, now: float, elapsed: float) -> None:
        peer = self._peers_by_name.get(transfer.username)
        if transfer.cancel_requested:
            transfer.retry_due = None  # cancelling also ends Retry.Do's wait
            self._end(transfer, "Completed, Cancelled", CANCELLED_MESSAGE)
            return
        if transfer.retry_due is not None:
            if now >= transfer.retry_due:
                self._begin_retry(transfer, now)
            return
        if transfer.due > now:
            return
        state = transfer.state
        if state == "Queued, Locally":
            if transfer.attempts > 1:  # a retry's first state change replaces the failed attempt's details
                transfer.exception = transfer.ended_at = None
                transfer.bytes_transferred, transfer.average_speed = 0, 0.0
            if not self._logged_in:
                self._end(transfer, "Completed, Errored", "The server connection must be connected and logged in "
                                                          "to download files (currently: Disconnected)")
            elif peer is None or peer.offline:
                self._end(transfer, "Completed, Errored", f"User {transfer.username} appears to be offline")
            else:
                transfer.move("Requested")
                transfer.due = now + max(0.05, peer.latency / 2)
        elif state == "Requested":
            self._answer_request(transfer, peer, now)
        elif state == "Queued, Remotely":
            self._advance_queue(transfer, peer, now)
        elif state == "Initializing":
            self._initialize(transfer, peer, now)
        elif state == "InProgress":
            self._progress(transfer, peer, now, elapsed)

    def _answer_request(self, transfer: SimTransfer, peer: Peer | None, now: float) -> None:
        if transfer.fault is not None and transfer.fault.outcome == "timed_out":
            self._end(transfer, "Completed, TimedOut", f"The wait timed out after {PEER_TIMEOUT_MS} milliseconds")
            return
        assert peer is not None
        if peer.offline:
            self._end(transfer, "Completed, Errored", f"User {transfer.username} appears to be offline")
            return
        shared = peer.file(transfer.filename)
        fault = self.transfer_faults.take(transfer.username, transfer.filename, ("rejected", "timed_out", "aborted"))
        if fault is not None and fault.outcome == "timed_out":
            transfer.fault = fault
            transfer.due = now + PEER_TIMEOUT_MS / 1000.0
            return
        if fault is not None and fault.outcome == "rejected":
            self._end(transfer, "Completed, Rejected", f"Transfer rejected: {fault.message or 'File not shared.'}")
            return
        if peer.reject_reason:
            self._end(transfer, "Completed, Rejected", f"Transfer rejected: {peer.reject_reason}")
            return
        if shared is None or shared.locked:
            self._end(transfer, "Completed, Rejected", "Transfer rejected: File not shared.")
            return
        remote_size = self.factory.size(shared.spec) + (4096 if fault is not None and fault.outcome == "aborted" else 0)
        if remote_size != transfer.size:
            self._end(transfer, "Completed, Aborted", f"Transfer aborted: the remote size of {remote_size} does not "
                                                      f"match expected size {transfer.size}")
            return
        transfer.move("Queued, Remotely")
        transfer.enqueued_at = self.clock.utc(now)
        transfer.wait_places = 0 if peer.free_slot else peer.queue_length
        transfer.next_queue_step = now + peer.queue_seconds
        transfer.due = now

    def _advance_queue(self, transfer: SimTransfer, peer: Peer | None, now: float) -> None:
        assert peer is not None
        while transfer.wait_places > 0 and now >= transfer.next_queue_step:
            transfer.wait_places -= 1
            transfer.next_queue_step += peer.queue_seconds
        if transfer.wait_places > 0 or self._place(transfer) > 1:
            return
        if peer.offline:
            self._end(transfer, "Completed, Errored", f"User {transfer.username} appears to be offline")
            return
        shared = peer.file(transfer.filename)
        assert shared is not None
        transfer.move("Initializing")
        transfer.source = self._synth.submit(self.factory.path, shared.spec)
        transfer.due = now + 0.3

    def _initialize(self, transfer: SimTransfer, peer: Peer | None, now: float) -> None:
        assert transfer.source is not None and peer is not None
        if not transfer.source.done():
            return
        error = transfer.source.exception()
        if error is not None:
            self._end(transfer, "Completed, Errored", f"Transfer failed: {error}")
            return
        name = local_file_name(transfer.filename, self.host_os)
        incomplete = _below(self.incomplete_dir, [*incomplete_folder(transfer.username, transfer.filename,
                                                                     self.host_os, self.version_tuple), name])
        if incomplete is None:
            self._end(transfer, "Completed, Errored", f"Transfer failed: the file name {transfer.filename!r} "
                                                      f"leads outside the incomplete directory")
            return
        in_use = any(t is not transfer and t.state == "InProgress" and t.incomplete_path == incomplete
                     for t in self._transfers.values())
        if in_use:
            self._end(transfer, "Completed, Errored", _INCOMPLETE_IN_USE.format(path=incomplete))
            return
        incomplete.parent.mkdir(parents=True, exist_ok=True)
        resume = transfer.attempts > 1 and self.retry.partial == "resume" and incomplete.is_file()
        if resume:  # retry.partial "resume": the next attempt appends to what the last one wrote
            transfer.bytes_transferred = min(incomplete.stat().st_size, transfer.size)
        else:
            incomplete.write_bytes(b"")
        transfer.incomplete_path = incomplete
        transfer.move("InProgress")
        transfer.started = now
        transfer.started_at = self.clock.utc(now)

    def _progress(self, transfer: SimTransfer, peer: Peer | None, now: float, elapsed: float) -> None:
        assert peer is not None and transfer.source is not None and transfer.incomplete_path is not None
        if peer.offline:
            self._end(transfer, "Completed, Errored", "Transfer failed: The connection was closed unexpectedly")
            return
        if transfer.fault is None:
            transfer.fault = self.transfer_faults.take(transfer.username, transfer.filename, ("stall", "errored"))
        limit = transfer.size
        fault = transfer.fault
        if fault is not None and fault.outcome == "stall" and self.transfer_faults.active(fault):
            limit = int(transfer.size * fault.at)
        if peer.stall_at is not None:
            limit = min(limit, int(transfer.size * peer.stall_at))
        fail_at = None
        if fault is not None and fault.outcome == "errored":
            fail_at = int(transfer.size * fault.at)
        if peer.fail_at is not None:
            fail_at = min(fail_at if fail_at is not None else transfer.size, int(transfer.size * peer.fail_at))
        target = min(limit, transfer.bytes_transferred + int(peer.speed * elapsed))
        if fail_at is not None:
            target = min(target, fail_at)
        if target > transfer.bytes_transferred:
            self._copy(Path(transfer.source.result()), transfer.incomplete_path, transfer.bytes_transferred, target)
            transfer.bytes_transferred = target
        seconds = max(1e-6, now - transfer.started)
        transfer.average_speed = transfer.bytes_transferred / seconds
        if fail_at is not None and transfer.bytes_transferred >= fail_at and fail_at < transfer.size:
            self._end(transfer, "Completed, Errored", "Transfer failed: The connection was closed unexpectedly")
            return
        if transfer.bytes_transferred >= transfer.size:
            transfer.local_path = self._finalize(transfer)
            if transfer.local_path is None:
                self._end(transfer, "Completed, Errored", f"Transfer failed: the file name {transfer.filename!r} "
                                                          f"leads outside the downloads directory")
            else:
                self._end(transfer, "Completed, Succeeded", None)

    @staticmethod
    def _copy(source: Path, target: Path, start: int, end: int) -> None:
        with open(source, "rb") as src, open(target, "r+b") as dst:
            src.seek(start)
            dst.seek(start)
            remaining = end - start
            while remaining > 0:
                chunk = src.read(min(remaining, 1 << 20))
                if not chunk:
                    raise OSError(f"source file {source} is shorter than announced")
                dst.write(chunk)
                remaining -= len(chunk)

    def _finalize(self, transfer: SimTransfer) -> Path | None:
        """Move the finished file into the downloads directory; None when its name would leave it.

        <= 0.25: ``<last remote folder>/<name>`` (CommonExtensions.ToLocalRelativeFilename, a share root
        counts as a folder); 0.26+: the ``destination.subdirectory`` pattern with the share root stripped
        (DownloadService.DeriveDestination, FileSafety.StripPathRoot). A clash gets ``_<ticks>`` before the
        extension (FileService.MoveFile) unless 0.26's ``destination.exists`` is ``overwrite``."""
        assert transfer.incomplete_path is not None
        source = transfer.incomplete_path
        if self.version_tuple >= (0, 26):
            folder = destination_folder(self.destination_subdirectory, transfer.username, transfer.filename,
                                        self.host_os)
        else:
            folder = legacy_folder(transfer.filename, self.host_os)
        target = _below(self.downloads_dir, [*folder, source.name])
        if target is None:
            return None
        target.parent.mkdir(parents=True, exist_ok=True)
        overwrite = self.version_tuple >= (0, 26) and self.destination_exists == "overwrite"
        if target.exists() and not overwrite:
            ticks = dotnet_ticks(self.clock.utc())
            target = target.parent / f"{Path(source.name).stem}_{ticks}{Path(source.name).suffix}"
        shutil.move(str(source), str(target))
        parent = source.parent
        while parent != self.incomplete_dir and self.incomplete_dir in parent.parents:
            try:
                parent.rmdir()  # deleteSourceDirectoryIfEmptyAfterMove
            except OSError:
                break
            parent = parent.parent
        return target


def _below(root: Path, segments: list[str]) -> Path | None:
    """``root`` joined with local name segments, or None when a segment is empty, ``.`` or ``..`` (the
    simulation never writes outside its folders, whatever a peer's path says)."""
    if not segments or any(part in ("", ".", "..") for part in segments):
        return None
    return root.joinpath(*segments)
