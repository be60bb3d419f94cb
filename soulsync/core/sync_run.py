"""The main job, once: playlists in, the library compared, what is missing downloaded, picked up and mirrored.

A :class:`SyncRun` is the one workflow every front end drives: the CLI's
``soulsync sync``, the Sync page's Analyse, the Download missing dialog, the
Artists page's discography downloads, the wishlist retry and the scheduler.
Each front end only chooses what to run (a :class:`SyncRequest` and
:class:`SyncOptions`), shows the typed :class:`SyncEvent` stream and may
cancel; none holds a workflow of its own, so whatever one can do the others
can.

The stages, in order (each one optional by request and options):

1. **Playlists**: each playlist's tracks are read through the
   :class:`PlaylistReader` (Spotify when the cached copy is stale, the file
   for an imported one, else the store); a playlist that cannot be read is
   skipped with the reason (:class:`PlaylistSkipped`), the others go on.
2. **Library**: refreshed when asked (``refresh_library``), then indexed once
   (:meth:`LibraryPort.index`; the app hands over the index it already holds).
3. **Analysis**: every playlist against the index (overrides win), saved.
4. **Downloads**: album mode first for releases (one folder per release,
   :func:`~soulsync.core.album_mode.download_releases`), then every missing
   track not downloaded yet through
   :class:`~soulsync.core.download_missing.DownloadMissing`: one run, one
   report.
5. **Pick-up**: the library picks the new files up once for the whole batch
   (:meth:`LibraryPort.pick_up`), and the index is read once again.
6. **Re-analysis and mirror**: the playlists are compared with the new index,
   mirrored on the library server (``mirror``) and exported (``m3u8_dir``).

There are no questions to ask a person in the middle of a run: what to run,
whether to mirror and where to export are chosen before it starts, and every
problem is told as an event or ends the run with a :class:`SyncError` whose
message is fit for a person. Service errors from the ports propagate (front
ends put them in words with their own describer).

Qt-free and network-free: the library, the playlist reader, slskd and the
download queue are ports passed in, so tests drive the whole job with fakes
(``tests/unit/test_sync_run.py``).
"""
from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from soulsync.core import failpoints
from soulsync.core.album_mode import download_releases
from soulsync.core.analysis import (
    Cancelled, CancelFn, ProgressFn, Status, TrackStatus, analyse, count_statuses, missing_tracks,
    save_analysis,
)
from soulsync.core.download_missing import DownloadMissing
from soulsync.core.search_run import SearchClient, SearchSettings
from soulsync.core.m3u8 import export_m3u8
from soulsync.core.library_index import LibraryIndex
from soulsync.core.models import Playlist, Track
from soulsync.core.safe_paths import sanitize_component
from soulsync.core.quality import QualityPrefs
from soulsync.core.ratelimit import SearchRateLimiter
from soulsync.core.run_progress import DownloadReport, Phase, RunProgress, TrackProgress
from soulsync.core.store_records import wanted_key

log = logging.getLogger(__name__)


class SyncError(Exception):
    """The run cannot go on (nothing to put downloads in, slskd not set up...); the message says why."""


class PlaylistSkipped(Exception):
    """Raised by a :class:`PlaylistReader`: this playlist cannot be read now (the message says why)."""


class Stage(enum.Enum):
    """The stages of a run, in order, with what a person is told while each runs."""

    PLAYLISTS = "Reading the playlists"
    LIBRARY = "Reading the library"
    INDEX = "Indexing the library"
    ANALYSIS = "Comparing with the library"
    ALBUMS = "Looking for whole releases"
    DOWNLOADS = "Downloading what is missing"
    PICKUP = "Waiting for the library to pick up the new files"
    MIRROR = "Updating the library's playlists"
    EXPORT = "Writing M3U8 files"

    @property
    def label(self) -> str:
        return self.value


# ----------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class StageStarted:
    stage: Stage


@dataclass(frozen=True, slots=True)
class Counted:
    """``done`` of ``total`` items of the current stage (``total`` 0: not known yet)."""

    stage: Stage
    done: int
    total: int
    what: str = ""
    """What is being counted, in words (a playlist's name)."""


@dataclass(frozen=True, slots=True)
class PlaylistRead:
    """A playlist's tracks were read (``playlist.tracks``)."""

    playlist: Playlist


@dataclass(frozen=True, slots=True)
class PlaylistAnalysed:
    playlist: Playlist
    statuses: list[TrackStatus]
    owned: int
    missing: int


@dataclass(frozen=True, slots=True)
class DownloadsPlanned:
    """The rows of the download stage (album-mode rows first), before any of them changes."""

    rows: list[TrackProgress]


@dataclass(frozen=True, slots=True)
class TrackChanged:
    progress: TrackProgress


@dataclass(frozen=True, slots=True)
class CountsChanged:
    counts: RunProgress


@dataclass(frozen=True, slots=True)
class DownloadsEnded:
    """The download stages ended (finished, cancelled or stopped by slskd trouble)."""

    report: DownloadReport


@dataclass(frozen=True, slots=True)
class Note:
    """Something to tell, in words; ``notable`` ones belong in the status bar and the activity feed too."""

    text: str
    notable: bool = False


SyncEvent = (StageStarted | Counted | PlaylistRead | PlaylistAnalysed | DownloadsPlanned | TrackChanged | CountsChanged
             | DownloadsEnded | Note)


# ----------------------------------------------------------------------------- ports


class PlaylistReader(Protocol):
    """Where a playlist's tracks come from (the app's Spotify client and store, or a fake)."""

    def tracks(self, playlist: Playlist) -> list[Track]:
        """The playlist's tracks, in order; raises :class:`PlaylistSkipped` when it cannot be read."""


class PickedUp(Protocol):
    """What :meth:`LibraryPort.refresh` and :meth:`LibraryPort.pick_up` report."""

    @property
    def cancelled(self) -> bool: ...

    def summary(self) -> str: ...


class Mirrored(Protocol):
    """What :meth:`LibraryPort.mirror_playlist` reports."""

    @property
    def message(self) -> str: ...

    @property
    def user_playlist(self) -> Any:
        """A playlist of the user's own that has the mirrored name and was left alone (None when there is none)."""


class LibraryPort(Protocol):
    """The library as a run needs it: the app's shared index, or a library source read directly."""

    @property
    def name(self) -> str: ...

    @property
    def supports_playlists(self) -> bool: ...

    def refresh(self, full: bool, progress: ProgressFn | None, cancel: CancelFn) -> PickedUp:
        """Bring the index up to date with the library (what changed, or everything when ``full``)."""

    def index(self, progress: ProgressFn | None, cancel: CancelFn) -> tuple[LibraryIndex, dict[str, Track]]:
        """The matching index over the library and its key -> track map, current as of the last refresh."""

    def pick_up(self, paths: list[str], cancel: CancelFn) -> PickedUp:
        """Make the library pick up files just placed in it, and bring the index up to date: once per batch."""

    def mirror_playlist(self, playlist: Playlist, statuses: list[TrackStatus]) -> Mirrored:
        """Create or update the server playlist mirroring ``playlist``."""


@dataclass
class DownloadTools:
    """What the download stages use: slskd, the queue and the search limits."""

    client: SearchClient
    queue: Any
    """The :class:`~soulsync.core.downloads.DownloadQueue` (its completion hook files the downloads)."""
    prefs: QualityPrefs = field(default_factory=QualityPrefs)
    limiter: SearchRateLimiter = field(default_factory=SearchRateLimiter)
    settings: SearchSettings = field(default_factory=SearchSettings)
    drive_queue: bool = True
    """Tick the queue from the run (the CLI); False when the app's download service ticks it."""
    poll_interval_s: float = 0.5
    service_patience_s: float = 120.0
    describe: Callable[[BaseException], str] = str
    """Puts a slskd failure in words."""


# ----------------------------------------------------------------------------- request and result


@dataclass
class SyncRequest:
    """What to run on."""

    playlists: list[Playlist] = field(default_factory=list)
    """Playlists to read, analyse, download for and mirror."""
    tracks: list[tuple[Track, str | None]] = field(default_factory=list)
    """Tracks wanted besides the playlists' missing ones (the wishlist, rows chosen by hand), with the
    playlist each came from (or None)."""
    releases: list[Any] = field(default_factory=list)
    """:class:`~soulsync.core.discography.ReleaseState` objects to get in album mode first."""
    skip_keys: set[str] = field(default_factory=set)
    """``wanted_key`` of tracks not to download this time (wishlist tracks waiting for their next try)."""


@dataclass
class SyncOptions:
    """How to run."""

    refresh_library: bool = False
    """Read what changed in the library before comparing (the CLI); the app's index is kept current."""
    full_rescan: bool = False
    analyse: bool = True
    """Compare the playlists before downloading; False when ``tracks`` already says what is missing."""
    download: bool = True
    mirror: bool = False
    """Mirror the playlists on the library server afterwards (when it has playlists)."""
    m3u8_dir: Path | None = None
    """Write each playlist's owned tracks as an M3U8 file in this folder afterwards."""


@dataclass
class PlaylistResult:
    playlist: Playlist
    statuses: list[TrackStatus] = field(default_factory=list)
    skipped: str = ""
    """Why the playlist could not be read (empty when it was)."""

    @property
    def owned(self) -> int:
        return count_statuses(self.statuses)[0]

    @property
    def missing(self) -> int:
        return count_statuses(self.statuses)[1]


@dataclass
class SyncResult:
    playlists: list[PlaylistResult] = field(default_factory=list)
    downloads: DownloadReport | None = None
    """None when the run downloaded nothing (dry run, nothing missing)."""
    notes: list[str] = field(default_factory=list)
    """What the later stages did, in words (library pick-up, mirror, exports)."""
    cancelled: bool = False
    library_size: int = 0
    """Tracks in the index the analysis used."""

    @property
    def missing(self) -> int:
        """Tracks still missing from the playlists at the end."""
        return sum(r.missing for r in self.playlists)

    def summary(self) -> str:
        """One line for the activity feed, the scheduler's history and the CLI."""
        parts: list[str] = []
        if self.playlists:
            owned = sum(r.owned for r in self.playlists)
            parts.append(f"{owned} of {owned + self.missing} tracks in the library")
        if self.downloads is not None:
            parts.append(f"downloads: {self.downloads.summary()}")
        if self.cancelled:
            parts.append("cancelled")
        return "; ".join(parts) or "nothing to do"


# ----------------------------------------------------------------------------- the run


def _never() -> bool:
    return False


class SyncRun:
    """One run of the main job; see the module docstring. Call :meth:`run` from a worker thread."""

    def __init__(self, request: SyncRequest, options: SyncOptions, *, store: Any, library: LibraryPort,
                 reader: PlaylistReader | None = None,
                 downloads: DownloadTools | Callable[[], DownloadTools] | None = None,
                 on_event: Callable[[SyncEvent], None] | None = None, is_cancelled: CancelFn = _never,
                 wait: Callable[[float], bool] | None = None, clock: Callable[[], float] = time.time) -> None:
        self.request, self.options = request, options
        self.clock = clock
        """Epoch seconds (the scheduler's clock when a schedule runs this): the wishlist's attempts are dated by it."""
        self.store, self.library, self.reader, self.tools = store, library, reader, downloads
        self._emit_to = on_event
        self._is_cancelled = is_cancelled
        self._wait = wait or self._sleep
        self.result = SyncResult()
        self._index: tuple[LibraryIndex, dict[str, Track]] | None = None

    # ---- driving ------------------------------------------------------------------------
    def run(self) -> SyncResult:
        """Every stage in turn; returns what happened (``cancelled`` when stopped early)."""
        try:
            self._read_playlists()
            if self.options.refresh_library:
                self._refresh_library()
            if self.options.analyse and self._readable():
                self._analyse(self._current_index())
            if self.options.download:
                failpoints.hit("sync.analysed")
                self._download()
                failpoints.hit("sync.downloaded")
            self._after()
        except Cancelled:
            self.result.cancelled = True
        return self.result

    def cancelled(self) -> bool:
        return self._is_cancelled()

    def _check(self) -> None:
        if self._is_cancelled():
            raise Cancelled("sync run cancelled")

    def _emit(self, event: SyncEvent) -> None:
        if self._emit_to is not None:
            self._emit_to(event)

    def _note(self, text: str, notable: bool = False) -> None:
        self.result.notes.append(text)
        self._emit(Note(text, notable))

    def _sleep(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._is_cancelled():
                return True
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
        return self._is_cancelled()

    def _counter(self, stage: Stage, what: str = "") -> ProgressFn:
        def progress(done: int, total: int) -> None:
            self._emit(Counted(stage, done, total, what))
        return progress

    # ---- stages -------------------------------------------------------------------------
    def _read_playlists(self) -> None:
        if not self.request.playlists:
            return
        self._emit(StageStarted(Stage.PLAYLISTS))
        for n, playlist in enumerate(self.request.playlists):
            self._check()
            self._emit(Counted(Stage.PLAYLISTS, n, len(self.request.playlists), playlist.name))
            entry = PlaylistResult(playlist)
            if self.reader is not None:
                try:
                    playlist.tracks = self.reader.tracks(playlist)
                except PlaylistSkipped as exc:
                    entry.skipped = str(exc)
                    self._note(f"{playlist.name!r} left out: {exc}", notable=True)
                else:
                    self._emit(PlaylistRead(playlist))
            self.result.playlists.append(entry)

    def _readable(self) -> list[PlaylistResult]:
        return [r for r in self.result.playlists if not r.skipped]

    def _refresh_library(self) -> None:
        self._emit(StageStarted(Stage.LIBRARY))
        report = self.library.refresh(self.options.full_rescan, self._counter(Stage.LIBRARY), self._is_cancelled)
        self._note(report.summary())
        if report.cancelled:
            raise Cancelled("library read cancelled")
        self._index = None

    def _current_index(self) -> tuple[LibraryIndex, dict[str, Track]]:
        if self._index is None:
            self._emit(StageStarted(Stage.INDEX))
            self._index = self.library.index(self._counter(Stage.INDEX), self._is_cancelled)
            self.result.library_size = len(self._index[1])
        return self._index

    def _analyse(self, index: tuple[LibraryIndex, dict[str, Track]]) -> None:
        self._emit(StageStarted(Stage.ANALYSIS))
        library_index, by_key = index
        overrides = self.store.overrides()
        for entry in self._readable():
            self._check()
            playlist = entry.playlist
            entry.statuses = analyse(playlist.tracks, library_index, overrides, library=by_key,
                                     playlist_id=playlist.id, progress=self._counter(Stage.ANALYSIS, playlist.name),
                                     cancel=self._is_cancelled)
            owned, missing = save_analysis(self.store, playlist.id, entry.statuses)
            self._emit(PlaylistAnalysed(playlist, entry.statuses, owned, missing))

    def _wanted(self) -> list[tuple[Track, str | None]]:
        """The playlists' missing tracks and the tracks asked for (those in the library already left out when
        the run analyses), without the tracks to skip."""
        wanted: list[tuple[Track, str | None]] = []
        for entry in self._readable():
            wanted.extend(missing_tracks(entry.statuses))
        wanted.extend(self._not_owned(self.request.tracks) if self.options.analyse else self.request.tracks)
        skip = self.request.skip_keys
        if skip:
            kept = [(t, pid) for t, pid in wanted if wanted_key(t) not in skip]
            if len(kept) < len(wanted):
                self._emit(Note(f"{len(wanted) - len(kept)} missing tracks wait for their next wishlist try"))
            wanted = kept
        return wanted

    def _not_owned(self, tracks: list[tuple[Track, str | None]]) -> list[tuple[Track, str | None]]:
        """``tracks`` without those the library has (they leave the wishlist)."""
        if not tracks:
            return []
        library_index, by_key = self._current_index()
        statuses = analyse([t for t, _pid in tracks], library_index, self.store.overrides(), library=by_key)
        owned = [s.track for s in statuses if s.status is Status.OWNED]
        for track in owned:
            self.store.remove_from_wishlist(track)
        if owned:
            self._note(f"{len(owned)} wanted track{'s are' if len(owned) != 1 else ' is'} in the library already")
        return [pair for pair, s in zip(tracks, statuses) if s.status is not Status.OWNED]

    def _download(self) -> None:
        wanted, releases = self._wanted(), self.request.releases
        if not wanted and not any(r.missing_tracks for r in releases):
            return
        tools = self.tools() if callable(self.tools) else self.tools
        if tools is None:
            raise SyncError("slskd is not set up: add its URL and API key in Settings.")
        album_rows: list[TrackProgress] = []
        if releases:
            self._emit(StageStarted(Stage.ALBUMS))
            s = tools.settings
            album_rows = download_releases(
                releases, client=tools.client, queue=tools.queue, prefs=tools.prefs, limiter=tools.limiter,
                timeout_ms=s.search_timeout_ms, response_limit=s.response_limit,
                on_rows=lambda rows: self._emit(DownloadsPlanned(rows)),
                on_track=lambda row: self._emit(TrackChanged(row)),
                on_note=lambda text: self._emit(Note(text)), cancelled=self._is_cancelled, wait=self._wait)
        done = [row for row in album_rows if row.phase is Phase.DOWNLOADED]
        done_keys = {row.key for row in done}
        rest: list[tuple[Track, str | None]] = [(row.track, None) for row in album_rows
                                                if row.phase is not Phase.DOWNLOADED]
        planned = {row.key for row in album_rows}
        rest += [(track, None) for release in releases for track in release.missing_tracks
                 if wanted_key(track) not in planned]  # no folder covered them: single tracks fill the gaps
        rest += [(track, pid) for track, pid in wanted if wanted_key(track) not in done_keys]
        self._emit(StageStarted(Stage.DOWNLOADS))
        flow = DownloadMissing(
            rest, client=tools.client, queue=tools.queue, store=self.store, prefs=tools.prefs,
            limiter=tools.limiter, settings=tools.settings, drive_queue=tools.drive_queue,
            poll_interval_s=tools.poll_interval_s, service_patience_s=tools.service_patience_s,
            on_track=lambda p: self._emit(TrackChanged(p)), on_progress=lambda c: self._emit(CountsChanged(c)),
            is_cancelled=self._is_cancelled, describe=tools.describe, sleep=self._pause, wall_clock=self.clock)
        self._emit(DownloadsPlanned(done + flow.tracks()))
        report = flow.run()
        report.tracks[:0] = done
        report.paths[:0] = [row.final_path for row in done if row.final_path]
        report.progress.total += len(done)
        report.progress.downloaded += len(done)
        self._emit(CountsChanged(report.progress))
        self._emit(DownloadsEnded(report))
        self.result.downloads = report
        if report.cancelled:
            self.result.cancelled = True

    def _pause(self, seconds: float) -> None:
        self._wait(seconds)

    def _after(self) -> None:
        """Pick-up, re-analysis, mirror and exports; a cancelled run still picks up what it filed."""
        report = self.result.downloads
        if report is not None and report.paths:
            self._emit(StageStarted(Stage.PICKUP))
            try:
                self._note(self.library.pick_up(list(report.paths), _never).summary())
            except Exception as exc:  # the files are in place; the next library refresh finds them
                log.warning("Library pick-up after downloads failed: %s", exc)
                report.warnings.append(f"the library could not pick up the new files: {exc}")
                self._note(f"The library could not pick up the new files yet: {exc}", notable=True)
            self._index = None
            if self.result.playlists and not self.result.cancelled:
                self._analyse(self._current_index())
        elif self.result.playlists and not self.options.analyse:
            self._analyse(self._current_index())
        if self.result.cancelled:
            return
        if self.options.mirror and self.library.supports_playlists:
            self._mirror()
        if self.options.m3u8_dir is not None:
            self._export(self.options.m3u8_dir)

    def _mirror(self) -> None:
        self._emit(StageStarted(Stage.MIRROR))
        for entry in self._readable():
            try:
                mirrored = self.library.mirror_playlist(entry.playlist, entry.statuses)
            except Exception as exc:  # one playlist failing must not hide the others
                log.warning("Mirroring %s failed: %s", entry.playlist.name, exc)
                self._note(f"Plex playlist {entry.playlist.name!r} not updated: {exc}", notable=True)
                continue
            self._note(mirrored.message, notable=mirrored.user_playlist is not None)

    def _export(self, folder: Path) -> None:
        self._emit(StageStarted(Stage.EXPORT))
        for entry in self._readable():
            target = folder.expanduser() / f"{sanitize_component(entry.playlist.name, fallback='playlist')}.m3u8"
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                n = export_m3u8(entry.statuses, target, entry.playlist.name)
            except OSError as exc:
                raise SyncError(f"cannot write {target}: {exc.strerror or exc}") from exc
            self._note(f"Wrote {target} ({n} tracks)")

