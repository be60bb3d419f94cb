"""The error a downloaded file that is not whole, plausible audio raises, and the words of its reasons.

:class:`AudioVerifyError` is raised by :mod:`soulsync.core.audiofile` and by the structural
checks (:mod:`soulsync.core.audio_checks`, :mod:`soulsync.core.iff_chunks`).
"""
from __future__ import annotations

import os
from pathlib import Path


class AudioVerifyError(Exception):
    """A file is not a complete, plausible audio file; ``reason`` says why in words."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")


def _clock(ms: int) -> str:
    seconds = round(ms / 1000)
    return f"{seconds // 60}:{seconds % 60:02d}"


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
