"""Playlist analysis: which wanted tracks the library has.

Every wanted track is matched against a :class:`~soulsync.core.matching.LibraryIndex`
(built once with :func:`index_library`); the user's overrides win (a pinned
library key means owned by that track, ``None`` means missing). Cancellable,
with progress. The results (:class:`TrackStatus`) stay typed from here to the
Sync page's table, the CLI's report and the M3U8 export.
"""
from __future__ import annotations

from soulsync.core.cancellation import Cancelled

import enum
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from soulsync.core.gcutil import built_in_bulk
from soulsync.core.library_index import LibraryIndex
from soulsync.core.models import Track
from soulsync.core.store_records import wanted_key

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]

"""``progress(done, total)``; ``total`` 0 means "not known yet"."""
CancelFn = Callable[[], bool]
"""Returns True when the caller wants the work to stop."""

PROGRESS_EVERY = 100
"""Tracks analysed between two progress reports and cancel checks."""


def library_key(track: Track) -> str:
    """The key a library track has in the store's index (Plex rating key, else file path)."""
    return track.plex_rating_key or track.path or f"{track.artist}|{track.album}|{track.title}"




class Status(str, enum.Enum):
    """What the analysis found for one wanted track."""

    OWNED = "owned"
    MISSING = "missing"
    IGNORED = "ignored"

    @property
    def label(self) -> str:
        """The status in words."""
        return self.value.capitalize()


@dataclass(slots=True)
class TrackStatus:
    """The analysis of one wanted track."""

    track: Track
    status: Status
    match: Track | None = None
    """The library track it was found as (owned only)."""
    score: float | None = None
    """Match confidence in [0, 1] (1.0 for a match you set); None when missing."""
    ambiguous: bool = False
    """Another, different library track matched almost as well: worth a look."""
    runner_up: Track | None = None
    overridden: bool = False
    """The status comes from the user's manual correction."""
    reason: str = ""
    """Why, in words, when it is not a plain automatic match."""
    playlist_id: str | None = None
    position: int = 0
    """Index in the analysed list."""

    @property
    def key(self) -> str:
        """The wanted track's identity (``store.wanted_key``): overrides and the wishlist use it."""
        return wanted_key(self.track)

    @property
    def library_path(self) -> str | None:
        return self.match.path if self.match is not None else None

    @property
    def library_key(self) -> str | None:
        return library_key(self.match) if self.match is not None else None

    def as_json(self) -> dict[str, Any]:
        """The track as the CLI's JSON reports it."""
        return {"title": self.track.title, "artists": list(self.track.artists), "status": self.status.value,
                "library_path": self.library_path,
                "score": round(self.score, 4) if self.score is not None else None}


def index_library(tracks: Iterable[Track], progress: ProgressFn | None = None,
                  cancel: CancelFn | None = None) -> tuple[LibraryIndex, dict[str, Track]]:
    """A matching index over the library tracks and a key -> track map (for pinned overrides).

    Raises :class:`Cancelled` when ``cancel()`` turns True.
    """
    tracks = list(tracks)
    index = LibraryIndex()
    by_key: dict[str, Track] = {}
    total = len(tracks)
    with built_in_bulk():  # no collector pauses over a structure this size (see core.gcutil)
        for n, track in enumerate(tracks):
            if n % (PROGRESS_EVERY * 20) == 0:
                if cancel is not None and cancel():
                    raise Cancelled("library indexing cancelled")
                if progress is not None:
                    progress(n, total)
            index.add(track)
            by_key[library_key(track)] = track
    if progress is not None:
        progress(total, total)
    return index, by_key


def analyse(tracks: Sequence[Track], index: LibraryIndex, overrides: Mapping[str, str | None] | None = None, *,
            library: Mapping[str, Track] | None = None, ignored: Iterable[str] = (),
            playlist_id: str | None = None, progress: ProgressFn | None = None,
            cancel: CancelFn | None = None) -> list[TrackStatus]:
    """Owned, missing or ignored for each wanted track, in order.

    ``overrides`` (``Store.overrides()``: wanted key -> library key or None)
    win over the matcher: a pinned key found in ``library`` (key -> track, from
    :func:`index_library`) is owned by that track; ``None`` is missing. A pin
    whose track left the library falls back to automatic matching. Keys in
    ``ignored`` and tracks without a title are ignored. The same wanted track
    twice is matched once. Raises :class:`Cancelled` when ``cancel()`` turns True.
    """
    overrides = overrides or {}
    library = library or {}
    skip = set(ignored)
    total = len(tracks)
    seen: dict[str, TrackStatus] = {}
    out: list[TrackStatus] = []
    for n, track in enumerate(tracks):
        if n % PROGRESS_EVERY == 0:
            if cancel is not None and cancel():
                raise Cancelled("analysis cancelled")
            if progress is not None:
                progress(n, total)
        key = wanted_key(track)
        done = seen.get(key)
        if done is None:
            done = seen[key] = _judge(track, key, index, overrides, library, skip)
        out.append(TrackStatus(track, done.status, done.match, done.score, done.ambiguous, done.runner_up,
                               done.overridden, done.reason, playlist_id, n))
    if progress is not None:
        progress(total, total)
    return out


def _judge(track: Track, key: str, index: LibraryIndex, overrides: Mapping[str, str | None],
           library: Mapping[str, Track], ignored: set[str]) -> TrackStatus:
    if key in ignored:
        return TrackStatus(track, Status.IGNORED, reason="ignored by you")
    if not (track.title or "").strip():
        return TrackStatus(track, Status.IGNORED, reason="no title to look for")
    note = ""
    if key in overrides:
        pinned = overrides[key]
        if pinned is None:
            return TrackStatus(track, Status.MISSING, overridden=True, reason="marked as not in the library by you")
        chosen = library.get(pinned)
        if chosen is not None:
            return TrackStatus(track, Status.OWNED, chosen, 1.0, overridden=True, reason="matched by you")
        note = "the track you chose is no longer in the library; matched automatically"
    match = index.find(track)
    if match is None:
        return TrackStatus(track, Status.MISSING, reason=note)
    return TrackStatus(track, Status.OWNED, match.track, match.score, match.ambiguous, match.runner_up,
                       reason=note)


def count_statuses(statuses: Iterable[TrackStatus]) -> tuple[int, int]:
    """``(owned, missing)``; ignored tracks count in neither."""
    owned = missing = 0
    for s in statuses:
        if s.status is Status.OWNED:
            owned += 1
        elif s.status is Status.MISSING:
            missing += 1
    return owned, missing


def analysis_json(name: str, statuses: list[TrackStatus]) -> dict[str, Any]:
    """A playlist's analysis as the CLI's JSON reports it: its tracks and the owned and missing counts."""
    owned, missing = count_statuses(statuses)
    return {"name": name, "tracks": [s.as_json() for s in statuses], "owned": owned, "missing": missing}


def save_analysis(store: Any, playlist_id: str, statuses: Iterable[TrackStatus]) -> tuple[int, int]:
    """Persist a playlist's owned and missing counts (``Store.save_playlist_analysis``); returns them."""
    owned, missing = count_statuses(statuses)
    store.save_playlist_analysis(playlist_id, owned, missing)
    return owned, missing


def missing_tracks(statuses: Iterable[TrackStatus]) -> list[tuple[Track, str | None]]:
    """The ``(track, playlist id)`` pairs :class:`DownloadMissing` takes, from an analysis."""
    return [(s.track, s.playlist_id) for s in statuses if s.status is Status.MISSING]


