"""Fetching one search result through slskd into the preview stream cache.

:class:`PreviewFetch` runs in a worker thread: it enqueues the file at slskd
(or follows a download of the same file slskd already runs), polls the
transfer, finds the file growing in slskd's incomplete folder and copies each
new byte into its own cache file (recording progress in a
:class:`~soulsync.core.preview_cache.StreamBuffer` the player reads from), and
finishes from the completed file when slskd is done. Then it hides the
transfer in slskd and deletes slskd's copy: a preview never lands in the
downloads folder, the library or the download queue.

A fetch that is stopped or fails cancels its transfer, waits (briefly) for
slskd to confirm, removes the record, deletes the partial files and its cache
file. A transfer that was not ours (borrowed) or that was handed over to the
download queue (:meth:`PreviewFetch.hand_over`) is left alone at slskd.

Waiting in the peer's queue, connecting, and a transfer that stops delivering
bytes each have a time limit (:class:`~soulsync.core.preview_cache.PreviewOptions`);
running past one fails the fetch with :class:`PreviewFailed`, whose reason is
meant for the player bar. The client is duck-typed (``SlskdClient`` fits);
its errors are judged by their ``kind`` so core stays free of the services
layer.
"""
from __future__ import annotations

import logging
import os
import re
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Protocol

from soulsync.core.downloads import failure_reason
from soulsync.core.models import SearchFile, Transfer, TransferState
from soulsync.core.preview_cache import CacheFull, PreviewOptions, StreamBuffer, StreamCache
from soulsync.core.slskd_files import UNKNOWN_RULES, DownloadRules, LocateError, incomplete_names, locate_download

log = logging.getLogger(__name__)

QUEUED = "queued"
CONNECTING = "connecting"
TRANSFERRING = "transferring"
COMPLETE = "complete"

_CHUNK = 1 << 20
_SAMPLE = 64 * 1024
_PLACE_REFRESH_S = 5.0
_SPEED_WINDOW_S = 3.0
_TRANSIENT = frozenset({"unreachable", "timeout", "tls", "rate_limited", "server", "bad_response"})
_PHASES = {
    TransferState.QUEUED_REMOTELY: QUEUED,
    TransferState.IN_PROGRESS: TRANSFERRING,
}


@dataclass(frozen=True, slots=True)
class FetchProgress:
    """One report of a running fetch."""

    phase: str
    """``queued`` (in the peer's upload queue), ``connecting``, ``transferring`` or ``complete``."""
    available: int
    """Bytes in the cache file (readable by the player)."""
    total: int
    transferred: int = 0
    """Bytes slskd says it has received."""
    place: int | None = None
    """Place in the peer's upload queue, when queued and known."""
    speed: float = 0.0
    """Bytes per second over the last few seconds (0 until measured)."""
    progressive: bool = False
    """The growing file was found, so bytes arrive in the cache while the transfer runs."""


class PreviewFailed(Exception):
    """A preview could not be fetched; ``reason`` says why, for the player bar."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PreviewClient(Protocol):
    """What a fetch needs from slskd (``soulsync.services.slskd.SlskdClient`` fits)."""

    def options(self) -> dict: ...

    def download_rules(self) -> DownloadRules: ...

    def enqueue(self, username: str, files: list[SearchFile]) -> Any:
        """Returns an object with ``enqueued`` (Transfers) and ``failed`` (file names)."""

    def transfer(self, username: str, transfer_id: str) -> Transfer: ...

    def downloads(self) -> list[Transfer]: ...

    def place_in_queue(self, username: str, transfer_id: str) -> int: ...

    def cancel(self, username: str, transfer_id: str, remove: bool = False) -> Any: ...


def _split(path: str) -> list[str]:
    return [p for p in re.split(r"[\\/]", path.strip()) if p]


def map_incomplete_dir(reported_incomplete: str | None, reported_downloads: str | None,
                       local_downloads: str | os.PathLike[str] | None) -> Path | None:
    """slskd's incomplete folder as this machine sees it.

    slskd reports its own paths; when its downloads folder is known here under
    another path (slskd in a container), an incomplete folder next to it is
    assumed next to the local downloads folder too.
    """
    if not reported_incomplete:
        return None
    if not local_downloads or not reported_downloads:
        return Path(reported_incomplete)
    reported_parts, incomplete_parts = _split(reported_downloads), _split(reported_incomplete)
    if Path(local_downloads) == Path(reported_downloads) or not reported_parts or not incomplete_parts:
        return Path(reported_incomplete)
    if incomplete_parts[:-1] == reported_parts[:-1]:
        return Path(local_downloads).parent / incomplete_parts[-1]
    return Path(reported_incomplete)


def incomplete_candidates(incomplete_dir: str | os.PathLike[str], username: str, remote_filename: str) -> list[Path]:
    """Where slskd may be writing ``remote_filename`` while it downloads, most likely first
    (:func:`~soulsync.core.slskd_files.incomplete_names`: the layouts of each version, either host's
    file-name rules). Peer paths are untrusted: a candidate that would leave the incomplete folder is dropped.
    """
    root = os.path.realpath(incomplete_dir)
    found: list[Path] = []
    for parts in incomplete_names(username, remote_filename):
        if any(p in ("", ".", "..") for p in parts):
            continue
        target = os.path.realpath(os.path.join(root, *parts))
        if os.path.commonpath([target, root]) == root and target != root and Path(target) not in found:
            found.append(Path(target))
    return found


class PreviewFetch:
    """One preview download, run by :meth:`run` in a worker thread.

    ``target`` is the cache file (a name from :meth:`StreamCache.new_path`),
    ``buffer`` records its progress for the reader. ``downloads_dir`` is slskd's
    downloads folder as this machine sees it (None: what slskd reports).
    ``clock`` and ``sleep`` are injectable for tests.
    """

    def __init__(self, client: PreviewClient, file: SearchFile, target: Path, buffer: StreamBuffer,
                 cache: StreamCache, options: PreviewOptions | None = None,
                 downloads_dir: str | os.PathLike[str] | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        if buffer.total != file.size:
            raise ValueError("the buffer must be sized like the file")
        self.client = client
        self.file = file
        self.target = Path(target)
        self.buffer = buffer
        self.cache = cache
        self.options = options or PreviewOptions()
        self._downloads_dir = Path(downloads_dir) if downloads_dir else None
        self._clock = clock
        self._sleep = sleep
        self.transfer_id: str | None = None
        self.borrowed = False
        """The transfer was already running at slskd (not started by this preview)."""
        self._handed_over = False
        self._out: BinaryIO | None = None
        self._source: BinaryIO | None = None
        self._source_path: Path | None = None
        self._incomplete_dir: Path | None = None
        self._rules = UNKNOWN_RULES
        self._copied = 0
        self._started_wall = time.time()
        self._last_state: TransferState | None = None

    # ---- control (any thread) ------------------------------------------------
    def hand_over(self) -> None:
        """The transfer now belongs to the download queue: never cancel it or delete its file."""
        self._handed_over = True

    @property
    def handed_over(self) -> bool:
        return self._handed_over

    @property
    def _ours(self) -> bool:
        return not self.borrowed and not self._handed_over

    # ---- the run ---------------------------------------------------------------
    def run(self, wait: Callable[[float], bool], report: Callable[[FetchProgress], None]) -> bool:
        """Fetch until the whole file is in the cache (True) or ``wait`` says stop (False).

        ``wait(seconds)`` sleeps and returns True when the fetch should stop.
        Raises :class:`PreviewFailed`. On stop or failure everything is cleaned
        up; on success the cache file stays for the player.
        """
        completed = False
        try:
            if self.file.size <= 0:
                raise PreviewFailed("the peer did not say how large the file is, so it cannot be previewed")
            try:
                self.cache.reserve(self.target, self.file.size)
                self._out = open(self.target, "wb")
            except CacheFull as exc:
                raise PreviewFailed(exc.reason) from None
            except OSError as exc:
                raise PreviewFailed(f"the preview cache cannot be written ({exc.strerror or exc})") from None
            self._resolve_dirs()
            report(FetchProgress(CONNECTING, 0, self.file.size))
            if self._enqueue(wait):
                completed = self._follow(wait, report)
            return completed
        finally:
            self._close_files()
            if not completed:
                self.buffer.close("stopped")
                self._cleanup()
                self.cache.release(self.target)

    def _resolve_dirs(self) -> None:
        try:
            directories = self.client.options().get("directories")
        except Exception as exc:
            log.info("preview: slskd options unavailable (%s); playing once the download completes", exc)
            directories = None
        directories = directories if isinstance(directories, dict) else {}
        incomplete, downloads = directories.get("incomplete"), directories.get("downloads")
        incomplete = incomplete if isinstance(incomplete, str) else None
        downloads = downloads if isinstance(downloads, str) else None
        if self._downloads_dir is None and downloads:
            self._downloads_dir = Path(downloads)
        self._incomplete_dir = map_incomplete_dir(incomplete, downloads, self._downloads_dir)
        try:
            self._rules = self.client.download_rules()
        except Exception as exc:
            log.info("preview: slskd's download rules unavailable (%s); looking in every place it may use", exc)

    def _enqueue(self, wait: Callable[[float], bool]) -> bool:
        """Start the transfer, or follow the one slskd already runs for this file; False when told to stop.

        slskd refuses a file it is downloading already. That may be a previous
        preview of the same file still being cancelled: give it a moment to end
        and ask again before following it.
        """
        deadline = self._clock() + self.options.connect_timeout_s
        retried = False
        while True:
            try:
                result = self.client.enqueue(self.file.username, [self.file])
            except Exception as exc:
                if getattr(exc, "kind", "") not in _TRANSIENT or self._clock() >= deadline:
                    raise PreviewFailed(f"slskd could not start the download: {_describe(exc)}") from None
                if wait(self.options.poll_s * 4):
                    return False
                continue
            for transfer in getattr(result, "enqueued", None) or []:
                if isinstance(transfer, Transfer) and transfer.filename == self.file.filename:
                    self.transfer_id = transfer.id
                    return True
            running = self._running_transfer()
            settle_until = self._clock() + self.options.cleanup_wait_s
            while running is not None and self._clock() < settle_until:
                if wait(0.1):
                    return False
                running = self._running_transfer()
            if running is not None:
                self.transfer_id = running.id
                self.borrowed = True
                log.info("preview: following the download of %s that slskd already runs", self.file.filename[-60:])
                return True
            if retried:
                raise PreviewFailed("slskd did not accept the download (the peer may be offline)")
            retried = True
            if wait(0.1):
                return False

    def _running_transfer(self) -> Transfer | None:
        try:
            transfers = self.client.downloads()
        except Exception as exc:
            raise PreviewFailed(f"slskd did not accept the download: {_describe(exc)}") from None
        for transfer in transfers:
            if (transfer.username == self.file.username and transfer.filename == self.file.filename
                    and not transfer.state.is_finished):
                return transfer
        return None

    def _follow(self, wait: Callable[[float], bool], report: Callable[[FetchProgress], None]) -> bool:
        opts = self.options
        now = self._clock()
        phase, phase_since, answered_at, bytes_at = CONNECTING, now, now, now
        transferred, place, place_asked = -1, None, 0.0
        samples: deque[tuple[float, int]] = deque()
        while not wait(opts.poll_s):
            now = self._clock()
            transfer = self._poll()
            if transfer is None:
                if now - answered_at > opts.stall_timeout_s:
                    raise PreviewFailed(f"slskd stopped answering for {opts.stall_timeout_s:.0f} s")
                continue
            answered_at = now
            retrying = self._rules.will_retry(transfer)  # slskd 0.26+ tries it again: still connecting
            # (a retry is still running at slskd: stopping must cancel it, so it does not count as finished)
            self._last_state = None if retrying else transfer.state
            if transfer.state.is_failure and not retrying:
                raise PreviewFailed(failure_reason(transfer))
            if transfer.state is TransferState.SUCCEEDED:
                if self._finish():
                    report(FetchProgress(COMPLETE, self.file.size, self.file.size, self.file.size,
                                         progressive=self._source_path is not None))
                    return True
                if now - bytes_at > opts.stall_timeout_s:
                    raise PreviewFailed("the finished download could not be found in slskd's downloads folder")
                continue
            state_phase = _PHASES.get(transfer.state, CONNECTING)
            if state_phase != phase:
                phase, phase_since = state_phase, now
            if transfer.bytes_transferred != transferred:
                transferred, bytes_at = transfer.bytes_transferred, now
            speed = _speed(samples, now, max(0, transfer.bytes_transferred))
            if phase == TRANSFERRING:
                self._copy_growing(transfer.bytes_transferred)
            if phase == QUEUED:
                place = transfer.place_in_queue if transfer.place_in_queue is not None else place
                if now - place_asked >= _PLACE_REFRESH_S:
                    place_asked = now
                    place = self._ask_place() or place
                if now - phase_since > opts.queue_timeout_s:
                    where = f" (place {place})" if place else ""
                    raise PreviewFailed(f"still waiting in the peer's upload queue{where} after "
                                        f"{opts.queue_timeout_s:.0f} s")
            elif phase == CONNECTING and now - phase_since > opts.connect_timeout_s:
                raise PreviewFailed(f"the peer did not start sending within {opts.connect_timeout_s:.0f} s")
            elif phase == TRANSFERRING and now - bytes_at > opts.stall_timeout_s:
                raise PreviewFailed(f"the transfer stalled: no data for {opts.stall_timeout_s:.0f} s")
            report(FetchProgress(phase, self._copied, self.file.size, max(0, transfer.bytes_transferred),
                                 place if phase == QUEUED else None, speed, self._source_path is not None))
        return False

    def _poll(self) -> Transfer | None:
        assert self.transfer_id is not None
        try:
            return self.client.transfer(self.file.username, self.transfer_id)
        except Exception as exc:
            kind = getattr(exc, "kind", "")
            if kind == "not_found":
                raise PreviewFailed("slskd no longer knows the download (was it restarted or cleared?)") from None
            if kind in _TRANSIENT:
                log.debug("preview: polling slskd failed, retrying: %s", exc)
                return None
            raise PreviewFailed(f"slskd failed while following the download: {_describe(exc)}") from None

    def _ask_place(self) -> int | None:
        assert self.transfer_id is not None
        try:
            place = self.client.place_in_queue(self.file.username, self.transfer_id)
        except Exception as exc:
            log.debug("preview: place in queue unavailable: %s", exc)
            return None
        return place if isinstance(place, int) and place > 0 else None

    # ---- bytes -----------------------------------------------------------------------
    def _open_source(self) -> BinaryIO | None:
        if self._source is not None:
            return self._source
        if self._incomplete_dir is None:
            return None
        for path in incomplete_candidates(self._incomplete_dir, self.file.username, self.file.filename):
            try:
                handle = open(path, "rb")
            except OSError:
                continue
            if os.fstat(handle.fileno()).st_size > self.file.size:
                handle.close()
                continue
            self._source, self._source_path = handle, path
            log.debug("preview: reading the growing file %s", path)
            return handle
        return None

    def _copy_growing(self, limit: int) -> None:
        source = self._open_source()
        if source is None:
            return
        self._copy(source, min(self.file.size, limit))

    def _copy(self, source: BinaryIO, limit: int) -> None:
        assert self._out is not None
        end = min(limit, os.fstat(source.fileno()).st_size)
        if end <= self._copied:
            return
        source.seek(self._copied)
        while self._copied < end:
            chunk = source.read(min(_CHUNK, end - self._copied))
            if not chunk:
                break
            self._out.write(chunk)
            self._copied += len(chunk)
            self._out.flush()
            self.buffer.advance(self._copied)

    def _final_file(self) -> Path | None:
        if self._downloads_dir is None:
            return None
        try:
            return locate_download(self._downloads_dir, self.file.username, self.file.filename, self.file.size,
                                   self._rules)
        except LocateError as exc:
            log.debug("preview: finished file not found yet: %s", exc.reason)
            return None

    def _finish(self) -> bool:
        """Copy what is missing once slskd is done; True when the cache file is complete."""
        source = self._open_source()
        if source is not None:
            self._copy(source, self.file.size)
        final = None
        if self._copied < self.file.size or self._ours:
            final = self._final_file()
        if self._copied < self.file.size:
            if final is None:
                return False
            try:
                with open(final, "rb") as handle:
                    self._copy(handle, self.file.size)
            except OSError as exc:
                raise PreviewFailed(f"the finished download cannot be read ({exc.strerror or exc})") from None
            if self._copied < self.file.size:
                raise PreviewFailed("the finished download is shorter than announced")
        self._close_files()
        if self._ours:
            self._remove_record()
            if final is not None and self._is_our_copy(final):
                _delete(final, self._downloads_dir)
        return True

    def _is_our_copy(self, path: Path) -> bool:
        """Whether slskd's finished file is the one this preview fetched: same size, written since
        the preview started, and the same bytes where the cache file has them."""
        try:
            stat = path.stat()
            if stat.st_size != self.file.size or stat.st_mtime < self._started_wall - 2:
                return False
            with open(path, "rb") as theirs, open(self.target, "rb") as mine:
                for offset in sorted({0, max(0, self._copied - _SAMPLE)}):
                    length = min(_SAMPLE, self._copied - offset)
                    if length <= 0:
                        continue
                    theirs.seek(offset)
                    mine.seek(offset)
                    if theirs.read(length) != mine.read(length):
                        return False
            return True
        except OSError:
            return False

    def _close_files(self) -> None:
        for handle in (self._out, self._source):
            if handle is not None:
                try:
                    handle.close()
                except OSError:
                    pass
        self._out = self._source = None

    # ---- cleanup --------------------------------------------------------------------------
    def _remove_record(self) -> None:
        assert self.transfer_id is not None
        try:
            self.client.cancel(self.file.username, self.transfer_id, remove=True)
        except Exception as exc:
            log.info("preview: removing the transfer record at slskd failed: %s", _describe(exc))

    def _cleanup(self) -> None:
        """Cancel our transfer, wait for slskd to confirm, remove it and delete its partial file."""
        if self.transfer_id is None or not self._ours:
            return
        state = self._last_state
        try:
            if state is None or not state.is_finished:
                self.client.cancel(self.file.username, self.transfer_id)
                deadline = self._clock() + self.options.cleanup_wait_s
                while self._clock() < deadline:
                    state = self.client.transfer(self.file.username, self.transfer_id).state
                    if state.is_finished:
                        break
                    self._sleep(0.05)
        except Exception as exc:
            log.info("preview: cancelling the transfer at slskd failed: %s", _describe(exc))
        self._remove_record()
        if state is not None and state.is_finished:
            if self._source_path is not None and self._incomplete_dir is not None:
                _delete(self._source_path, self._incomplete_dir)
            if state is TransferState.SUCCEEDED:
                final = self._final_file()
                if final is not None and self._is_our_copy(final):
                    _delete(final, self._downloads_dir)


def _speed(samples: deque[tuple[float, int]], now: float, transferred: int) -> float:
    """Bytes per second over the last ``_SPEED_WINDOW_S`` seconds of (time, bytes) samples.

    Measured here rather than taken from slskd: only the rate in real seconds
    tells whether the download keeps ahead of playback.
    """
    samples.append((now, transferred))
    while len(samples) > 2 and now - samples[1][0] >= _SPEED_WINDOW_S:
        samples.popleft()
    first_time, first_bytes = samples[0]
    if now - first_time <= 0:
        return 0.0
    return max(0.0, (transferred - first_bytes) / (now - first_time))


def _delete(path: Path, root: Path | None) -> None:
    """Delete a file slskd wrote for a preview, and its folder when that is left empty (never ``root``)."""
    try:
        path.unlink()
    except FileNotFoundError:
        return
    except OSError as exc:
        log.info("preview: cannot delete %s: %s", path, exc)
        return
    parent = path.parent
    if root is not None and os.path.realpath(parent) != os.path.realpath(root):
        try:
            parent.rmdir()
        except OSError:
            pass


def _describe(exc: BaseException) -> str:
    return str(getattr(exc, "message", "") or exc or type(exc).__name__)
