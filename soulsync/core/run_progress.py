"""The state vocabulary of a download-missing run: each track's :class:`Phase`, its live
:class:`TrackProgress`, the run's counts (:class:`RunProgress`) and how it ended (:class:`DownloadReport`).
"""
from __future__ import annotations

from typing import Any

import enum
import logging
from dataclasses import dataclass, field

from soulsync.core.downloads import QueueState
from soulsync.core.models import Track

log = logging.getLogger(__name__)


class Phase(str, enum.Enum):
    """Where one missing track is in the download-missing workflow."""

    WAITING = "waiting"
    """Not searched yet (or waiting for a search slot)."""
    SEARCHING = "searching"
    QUEUED = "queued"
    """Handed to the download queue, not transferring yet."""
    DOWNLOADING = "downloading"
    PROCESSING = "processing"
    """Downloaded; being verified, tagged and filed."""
    DOWNLOADED = "downloaded"
    NOT_FOUND = "not_found"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in _FINISHED_PHASES

    @property
    def label(self) -> str:
        """The phase in words."""
        return _PHASE_WORDS[self]


_FINISHED_PHASES = frozenset({Phase.DOWNLOADED, Phase.NOT_FOUND, Phase.FAILED, Phase.CANCELLED})
_PHASE_WORDS = {
    Phase.WAITING: "Waiting", Phase.SEARCHING: "Searching", Phase.QUEUED: "Queued", Phase.DOWNLOADING: "Downloading",
    Phase.PROCESSING: "Tagging and filing", Phase.DOWNLOADED: "Downloaded", Phase.NOT_FOUND: "Not found",
    Phase.FAILED: "Failed", Phase.CANCELLED: "Cancelled",
}
_QUEUE_PHASES = {
    QueueState.QUEUED: Phase.QUEUED, QueueState.SUBMITTING: Phase.QUEUED, QueueState.QUEUED_LOCALLY: Phase.QUEUED,
    QueueState.REQUESTED: Phase.QUEUED, QueueState.QUEUED_REMOTELY: Phase.QUEUED,
    QueueState.INITIALIZING: Phase.QUEUED, QueueState.IN_PROGRESS: Phase.DOWNLOADING,
    QueueState.PROCESSING: Phase.PROCESSING, QueueState.SEARCHING: Phase.SEARCHING,
    QueueState.SUCCEEDED: Phase.DOWNLOADED, QueueState.FAILED: Phase.FAILED, QueueState.CANCELLED: Phase.CANCELLED,
}


@dataclass(slots=True)
class TrackProgress:
    """The live state of one missing track (a copy: safe to hand to another thread)."""

    key: str
    """``store.wanted_key`` of the track: the same track in several playlists is one entry."""
    track: Track
    playlist_ids: list[str]
    phase: Phase
    detail: str = ""
    """What is happening or why it ended, in words."""
    percent: float = 0.0
    query: str = ""
    """The search that found it (or is running)."""
    candidates: int = 0
    """Acceptable files the search found."""
    queue_item_id: str | None = None
    final_path: str | None = None


@dataclass(slots=True)
class RunProgress:
    """Counts over every track of a run."""

    total: int = 0
    waiting: int = 0
    searching: int = 0
    downloading: int = 0
    """Queued, transferring or being processed."""
    downloaded: int = 0
    not_found: int = 0
    failed: int = 0
    cancelled: int = 0
    trouble: str = ""
    """What slskd is failing with right now, in words (reported at least once, then for as long as it
    lasts); empty while it answers."""

    @property
    def finished(self) -> int:
        return self.downloaded + self.not_found + self.failed + self.cancelled

    @property
    def fraction(self) -> float:
        return self.finished / self.total if self.total else 1.0


@dataclass
class DownloadReport:
    """How a run ended."""

    tracks: list[TrackProgress]
    progress: RunProgress
    paths: list[str] = field(default_factory=list)
    """Library files the run added."""
    cancelled: bool = False
    error: str = ""
    """A problem that stopped the run early (slskd unreachable...), in words; empty otherwise."""
    warnings: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every track was downloaded."""
        return self.progress.downloaded == self.progress.total

    def as_json(self) -> dict[str, Any]:
        """The run as the CLI's JSON reports it: the counts and each track's phase."""
        p = self.progress
        return {"downloaded": p.downloaded, "not_found": p.not_found, "failed": p.failed,
                "cancelled": p.cancelled, "error": self.error or None,
                "tracks": [{"title": t.track.title, "artists": list(t.track.artists), "status": t.phase.value,
                            "detail": t.detail, "path": t.final_path} for t in self.tracks]}

    def summary(self) -> str:
        p = self.progress
        parts = [f"{p.downloaded} of {p.total} downloaded"]
        if p.not_found:
            parts.append(f"{p.not_found} not found")
        if p.failed:
            parts.append(f"{p.failed} failed")
        if p.cancelled:
            parts.append(f"{p.cancelled} cancelled")
        text = ", ".join(parts)
        return f"{text} ({self.error})" if self.error else text

