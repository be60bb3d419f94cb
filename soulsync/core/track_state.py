"""What the app knows of one playlist track, in one word: its analysis, then its download.

The Sync page's track table shows the analysis (:class:`~soulsync.core.sync.Status`) of each track
and, while a download-missing run goes, that run's :class:`~soulsync.core.sync.Phase` for it. A
:class:`TrackState` is the one value a row holds for both, with its words; front ends compare its
members and ask its properties rather than spelling states out.
"""
from __future__ import annotations

import enum

from soulsync.core.sync import Phase, Status


class TrackState(str, enum.Enum):
    """A playlist track's state as the track table shows it."""

    UNKNOWN = "unknown"
    """Not analysed yet."""
    OWNED = "owned"
    MISSING = "missing"
    IGNORED = "ignored"
    SEARCHING = "searching"
    QUEUED = "queued"
    DOWNLOADING = "downloading"
    DOWNLOADED = "downloaded"
    FAILED = "failed"
    WISHLIST = "wishlist"
    """Not found this time; the wishlist tries again later."""

    @property
    def label(self) -> str:
        """The state in words."""
        return _WORDS[self]

    @property
    def wanted(self) -> bool:
        """Still to download (what "Download missing" takes)."""
        return self in _WANTED

    @property
    def in_library(self) -> bool:
        """In the library now (what an M3U8 export lists)."""
        return self in _IN_LIBRARY

    @property
    def explained(self) -> bool:
        """Shown with its detail (why it failed, how far the download is)."""
        return self in _EXPLAINED

    @classmethod
    def of_status(cls, status: Status) -> TrackState:
        """The state an analysis result starts a row in."""
        return _FROM_STATUS[status]

    @classmethod
    def of_phase(cls, phase: Phase) -> TrackState:
        """The state a download run's phase puts a missing track's row in."""
        return _FROM_PHASE[phase]


_WORDS = {
    TrackState.UNKNOWN: "Not analysed", TrackState.OWNED: "Owned", TrackState.MISSING: "Missing",
    TrackState.IGNORED: "Ignored", TrackState.SEARCHING: "Searching", TrackState.QUEUED: "Queued",
    TrackState.DOWNLOADING: "Downloading", TrackState.DOWNLOADED: "Downloaded", TrackState.FAILED: "Failed",
    TrackState.WISHLIST: "On the wishlist",
}
_WANTED = frozenset({TrackState.MISSING, TrackState.FAILED, TrackState.WISHLIST})
_IN_LIBRARY = frozenset({TrackState.OWNED, TrackState.DOWNLOADED})
_EXPLAINED = frozenset({TrackState.FAILED, TrackState.DOWNLOADING, TrackState.WISHLIST})
_FROM_STATUS = {Status.OWNED: TrackState.OWNED, Status.MISSING: TrackState.MISSING, Status.IGNORED: TrackState.IGNORED}
_FROM_PHASE = {
    Phase.WAITING: TrackState.MISSING, Phase.SEARCHING: TrackState.SEARCHING, Phase.QUEUED: TrackState.QUEUED,
    Phase.DOWNLOADING: TrackState.DOWNLOADING, Phase.PROCESSING: TrackState.DOWNLOADING,
    Phase.DOWNLOADED: TrackState.DOWNLOADED, Phase.NOT_FOUND: TrackState.WISHLIST, Phase.FAILED: TrackState.FAILED,
    Phase.CANCELLED: TrackState.MISSING,
}
