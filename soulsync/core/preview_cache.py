"""The preview stream cache and the rules for playing a file while it downloads.

A preview is fetched through slskd into its own file under the stream cache
folder (never the library, never the download queue). :class:`StreamCache`
owns that folder: it is emptied at start and exit, holds at most
``limit_bytes`` (older leftovers are evicted first; a single file above the
limit is refused), and never deletes a file that is in use.

:class:`StreamBuffer` is what the fetching thread and the player's reader
share: how many bytes of the file are on disk so far. The reader blocks until
the bytes it wants have arrived, so playback (and seeking) simply waits for
data instead of failing.

:func:`start_threshold` says when enough has arrived to start playing: a few
seconds of audio, or more when the peer is slower than the music so that
playback would otherwise catch up with the download.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

DEFAULT_LIMIT_BYTES = 512 * 1024 * 1024
"""The stream cache holds at most this much."""
HEADER_ALLOWANCE = 64 * 1024
"""Bytes counted for container headers and tags before the first audio frame."""
CD_BYTE_RATE = 176_400
"""Bytes per second of CD audio: the byte rate assumed when a file says nothing about itself."""
_SAFE_EXT = re.compile(r"^[a-z0-9]{1,5}$")


class CacheFull(Exception):
    """A file is too large for the stream cache; ``reason`` says so in words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PreviewOptions:
    """Tunables of previewing (real seconds; tests shorten them)."""

    cache_limit_bytes: int = DEFAULT_LIMIT_BYTES
    poll_s: float = 0.25
    """How often the transfer is polled and new bytes are copied into the cache."""
    connect_timeout_s: float = 45.0
    """Longest wait for the peer to accept the request and start sending."""
    queue_timeout_s: float = 90.0
    """Longest wait in the peer's upload queue."""
    stall_timeout_s: float = 30.0
    """Longest time without a new byte once the transfer runs (or slskd unreachable)."""
    prebuffer_s: float = 3.0
    """Seconds of audio on disk before playback starts (when the peer keeps up)."""
    cleanup_wait_s: float = 3.0
    """Longest wait for slskd to confirm a cancel before the record is removed."""
    message_s: float = 6.0
    """How long a failure stays in the player bar before it returns to idle."""


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


class StreamCache:
    """The preview cache folder. Thread-safe; file work happens in the caller's thread."""

    def __init__(self, root: str | os.PathLike[str], limit_bytes: int = DEFAULT_LIMIT_BYTES) -> None:
        self.root = Path(root)
        self.limit_bytes = int(limit_bytes)
        self._lock = threading.Lock()
        self._active: set[Path] = set()

    def new_path(self, extension: str) -> Path:
        """A fresh file name in the cache, marked in use (no file is created yet)."""
        ext = extension.lower().lstrip(".")
        suffix = f".{ext}" if _SAFE_EXT.match(ext) else ".bin"
        path = self.root / f"{uuid.uuid4().hex}{suffix}"
        with self._lock:
            self._active.add(path)
        return path

    def is_active(self, path: Path) -> bool:
        with self._lock:
            return Path(path) in self._active

    def reserve(self, path: Path, size: int) -> None:
        """Make room for ``size`` bytes at ``path``: evict leftovers not in use, oldest first.

        Raises :class:`CacheFull` when the file alone is larger than the cache may grow.
        """
        if size > self.limit_bytes:
            raise CacheFull(f"the file is too large to preview ({_mb(size)}; the preview cache holds "
                            f"{_mb(self.limit_bytes)})")
        self.root.mkdir(parents=True, exist_ok=True)
        files = self._files()
        used = sum(st.st_size for p, st in files if p != path)
        for p, st in sorted(files, key=lambda item: item[1].st_mtime):
            if used + size <= self.limit_bytes:
                break
            if self._unlink_unless_active(p):
                used -= st.st_size

    def release(self, path: Path) -> None:
        """Delete a file of the cache and forget it was in use."""
        path = Path(path)
        self._unlink(path)
        with self._lock:
            self._active.discard(path)

    def clean(self) -> int:
        """Delete every file not in use (done at start and at exit); returns how many were deleted."""
        return sum(1 for p, _ in self._files() if self._unlink_unless_active(p))

    def usage(self) -> int:
        """Bytes the cache folder holds now."""
        return sum(st.st_size for _, st in self._files())

    def _files(self) -> list[tuple[Path, os.stat_result]]:
        found: list[tuple[Path, os.stat_result]] = []
        try:
            with os.scandir(self.root) as entries:
                for entry in entries:
                    try:
                        if entry.is_file(follow_symlinks=False):
                            found.append((Path(entry.path), entry.stat(follow_symlinks=False)))
                    except OSError:
                        continue
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.warning("preview cache: cannot list %s: %s", self.root, exc)
        return found

    def _unlink_unless_active(self, path: Path) -> bool:
        """Delete ``path`` unless it is in use, deciding under the lock at the moment of deletion.

        A preview marks its name in use (:meth:`new_path`) before its file exists, so any file
        a listing found is either already marked or a leftover: checking the live set here,
        not a copy taken before the listing, is what keeps a preview started meanwhile alive.
        """
        with self._lock:
            return path not in self._active and self._unlink(path)

    @staticmethod
    def _unlink(path: Path) -> bool:
        try:
            path.unlink()
            return True
        except FileNotFoundError:
            return False
        except OSError as exc:
            log.warning("preview cache: cannot delete %s: %s", path.name, exc)
            return False


class StreamBuffer:
    """How much of a file being fetched is on disk: written by the fetcher, waited on by readers.

    ``available`` only grows; ``complete`` once all ``total`` bytes are there;
    ``closed`` (with a reason) when the fetch stopped or failed, which wakes
    every waiting reader.
    """

    def __init__(self, total: int) -> None:
        if total < 0:
            raise ValueError("total must not be negative")
        self.total = int(total)
        self._available = 0
        self._closed: str | None = None
        self._cond = threading.Condition()

    @property
    def available(self) -> int:
        with self._cond:
            return self._available

    @property
    def complete(self) -> bool:
        with self._cond:
            return self._available >= self.total

    @property
    def closed(self) -> str | None:
        """Why the buffer was closed, or None while it is open."""
        with self._cond:
            return self._closed

    def advance(self, available: int) -> None:
        """Record that the first ``available`` bytes are on disk (never goes back)."""
        with self._cond:
            value = min(self.total, int(available))
            if value > self._available:
                self._available = value
                self._cond.notify_all()

    def close(self, reason: str) -> None:
        """No more bytes will come: wake every reader (they get no more data than is there)."""
        with self._cond:
            if self._closed is None:
                self._closed = reason
            self._cond.notify_all()

    def wake(self) -> None:
        """Wake every waiting reader so it re-checks its own ``stop`` condition."""
        with self._cond:
            self._cond.notify_all()

    def readable(self, position: int, timeout: float | None,
                 stop: Callable[[], bool] | None = None) -> int | None:
        """Bytes readable at ``position``, waiting up to ``timeout`` seconds for the first one.

        Returns a positive count, 0 at the end of the file, -1 when the buffer was
        closed (or ``stop()`` turned true, see :meth:`wake`) before the byte
        arrived, or None when the wait timed out.
        """
        def stopped() -> bool:
            return self._closed is not None or (stop is not None and stop())

        with self._cond:
            if position >= self.total:
                return 0
            if self._available <= position and not stopped():
                self._cond.wait_for(lambda: self._available > position or stopped(), timeout)
            if self._available > position:
                return self._available - position
            return -1 if stopped() else None


def byte_rate(total: int, length_s: float | None, bitrate_kbps: int | None) -> float:
    """Bytes per second of playback, from the announced length, else the bitrate, else CD audio."""
    if length_s and length_s > 0 and total > 0:
        return total / float(length_s)
    if bitrate_kbps and bitrate_kbps > 0:
        return bitrate_kbps * 125.0
    return float(CD_BYTE_RATE)


def start_threshold(total: int, length_s: float | None, bitrate_kbps: int | None, speed: float,
                    prebuffer_s: float) -> int:
    """Bytes that must be on disk before playback starts.

    ``prebuffer_s`` seconds of audio after the headers; when the download
    (``speed`` bytes/s, 0 if unknown) is slower than playback, enough more
    that the rest arrives before playback reaches it (with a 10 % margin).
    """
    rate = byte_rate(total, length_s, bitrate_kbps)
    need = HEADER_ALLOWANCE + rate * prebuffer_s
    if 0 < speed < rate:
        duration = total / rate
        need = max(need, total - speed * duration * 0.9)
    return int(min(total, need))


def byte_for_position(total: int, duration_ms: int, position_ms: int) -> int:
    """Where in the file playback at ``position_ms`` needs data from, with a safety margin.

    Audio is treated as spread evenly over the file; the margin (2 % of the
    file plus the header allowance) covers headers, VBR and seek look-ahead.
    """
    if duration_ms <= 0 or total <= 0:
        return total
    fraction = min(1.0, max(0.0, position_ms / duration_ms))
    return int(min(total, total * fraction + total * 0.02 + HEADER_ALLOWANCE))
