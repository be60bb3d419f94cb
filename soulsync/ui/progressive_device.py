"""A QIODevice that lets QMediaPlayer play a file while it is still downloading.

The preview fetch copies bytes into a cache file and records its progress in a
:class:`~soulsync.core.preview_cache.StreamBuffer`. :class:`ProgressiveDevice`
reads that file for FFmpeg (through ``QMediaPlayer.setSourceDevice``) and
blocks a read until its bytes have arrived, so playback and seeking wait for
data instead of hitting a premature end. Reads happen on FFmpeg's threads;
:meth:`ProgressiveDevice.abort` (GUI thread) wakes any blocked read so the
player can be stopped or switched without hanging.

Two details keep playback early and seeks working while the file grows:

* while the player is still probing the media (before ``LoadedMedia``), a
  read far beyond what has arrived is answered with end-of-file instead of a
  wait: FFmpeg probes the end of some formats (Ogg's last page for the
  duration, MP3's ID3v1/APE tags) and copes with not finding it; waiting
  there would delay playback until the download completes;
* once playing, :meth:`size` reports the bytes that have arrived, so FFmpeg's
  seek search (which looks for the last timestamp at the end of the file)
  stays within the downloaded part; reads past it still wait.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import BinaryIO

from PyQt6.QtCore import QIODevice, QObject, pyqtSignal

from soulsync.core.preview_cache import StreamBuffer

log = logging.getLogger(__name__)

STARVED_AFTER_S = 0.15
"""A read waiting longer than this reports the player as starved (buffering)."""
PROBE_REACH = 1 << 20
"""While probing, reads within this many bytes past the downloaded part wait; farther ones get end-of-file."""


class ProgressiveDevice(QIODevice):
    """Read-only, random-access view of a cache file that a preview fetch is still writing."""

    starved = pyqtSignal(int)
    """A read is waiting for the byte at this position (playback is buffering)."""
    fed = pyqtSignal()
    """Reads are served again after a wait."""

    def __init__(self, path: str | Path, buffer: StreamBuffer, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.buffer = buffer
        self._file: BinaryIO | None = None
        self._lock = threading.Lock()
        self._aborted = False
        self._probing = True
        self._starving = False

    # ---- control (GUI thread) -------------------------------------------------
    def open_for_playback(self) -> bool:
        """Open read-only and unbuffered (every read goes straight to :meth:`readData`)."""
        return self.open(QIODevice.OpenModeFlag.ReadOnly | QIODevice.OpenModeFlag.Unbuffered)

    def set_probing(self, probing: bool) -> None:
        """The player is (no longer) probing the media; see the module notes."""
        self._probing = probing

    def abort(self) -> None:
        """End every pending and future read at once (before the player is stopped or switched)."""
        self._aborted = True
        self.buffer.wake()

    @property
    def aborted(self) -> bool:
        return self._aborted

    def close(self) -> None:
        self.abort()
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
        super().close()

    # ---- QIODevice (FFmpeg's threads) ---------------------------------------------
    def isSequential(self) -> bool:
        return False

    def size(self) -> int:
        buffer = self.buffer
        if self._probing or buffer.complete:
            return buffer.total
        return buffer.available

    def atEnd(self) -> bool:
        position = self.pos()
        return self._aborted or position >= self.buffer.total or self._is_probe(position)

    def bytesAvailable(self) -> int:
        return max(0, self.buffer.available - self.pos())

    def _is_probe(self, position: int) -> bool:
        if not self._probing:
            return False
        buffer = self.buffer
        reach = max(PROBE_REACH, buffer.total // 50)
        return not buffer.complete and position > buffer.available + reach

    def readData(self, maxlen: int) -> bytes | None:  # type: ignore[override]
        position = self.pos()
        if self._aborted or self._is_probe(position):
            return b""  # end of file: atEnd() now says so too
        count = self.buffer.readable(position, STARVED_AFTER_S, self._is_aborted)
        if count is None:
            if not self._starving:
                self._starving = True
                self.starved.emit(position)
            count = self.buffer.readable(position, None, self._is_aborted)
        if self._aborted:
            return b""
        if count is None or count < 0:
            return None
        if self._starving:
            self._starving = False
            self.fed.emit()
        if count == 0:
            return b""
        try:
            with self._lock:
                if self._file is None:
                    self._file = open(self.path, "rb")
                self._file.seek(position)
                return self._file.read(min(maxlen, count))
        except OSError as exc:
            log.warning("preview: reading %s failed: %s", self.path.name, exc)
            return None

    def _is_aborted(self) -> bool:
        return self._aborted

    def writeData(self, data: bytes) -> int:  # type: ignore[override]
        return -1
