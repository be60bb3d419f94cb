"""What the app knows of one playlist track, in one word: its analysis, then its download.

The Sync page's track table shows the analysis (:class:`~soulsync.core.analysis.Status`) of each track
and, while a download-missing run goes, that run's :class:`~soulsync.core.run_progress.Phase` for it. A
:class:`PlaylistTrackState` is the one value a row holds for both, with its words; front ends compare its
members and ask its properties rather than spelling states out.
"""
from __future__ import annotations

import enum

from soulsync.core.analysis import Status
from soulsync.core.run_progress import Phase


class PlaylistTrackState(str, enum.Enum):
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
    def of_status(cls, status: Status) -> PlaylistTrackState:
        """The state an analysis result starts a row in."""
        return _FROM_STATUS[status]

    @classmethod
    def of_phase(cls, phase: Phase) -> PlaylistTrackState:
        """The state a download run's phase puts a missing track's row in."""
        return _FROM_PHASE[phase]


_S = PlaylistTrackState
_WORDS = {
    _S.UNKNOWN: "Not analysed", _S.OWNED: "Owned", _S.MISSING: "Missing", _S.IGNORED: "Ignored",
    _S.SEARCHING: "Searching", _S.QUEUED: "Queued", _S.DOWNLOADING: "Downloading", _S.DOWNLOADED: "Downloaded",
    _S.FAILED: "Failed", _S.WISHLIST: "On the wishlist",
}
_WANTED = frozenset({_S.MISSING, _S.FAILED, _S.WISHLIST})
_IN_LIBRARY = frozenset({_S.OWNED, _S.DOWNLOADED})
_EXPLAINED = frozenset({_S.FAILED, _S.DOWNLOADING, _S.WISHLIST})
_FROM_STATUS = {Status.OWNED: _S.OWNED, Status.MISSING: _S.MISSING, Status.IGNORED: _S.IGNORED}
_FROM_PHASE = {
    Phase.WAITING: _S.MISSING, Phase.SEARCHING: _S.SEARCHING, Phase.QUEUED: _S.QUEUED,
    Phase.DOWNLOADING: _S.DOWNLOADING, Phase.PROCESSING: _S.DOWNLOADING, Phase.DOWNLOADED: _S.DOWNLOADED,
    Phase.NOT_FOUND: _S.WISHLIST, Phase.FAILED: _S.FAILED, Phase.CANCELLED: _S.MISSING,
}
