"""The user's music library, whatever holds it: one interface, a Plex and a folder implementation.

A :class:`LibrarySource` keeps the SQLite index (``library_tracks``, under
its :attr:`~LibrarySource.key`) in step with the library: :meth:`refresh`
(incremental by default, whole on demand), :meth:`after_download` (make the
library pick up new files, then refresh), and reading the indexed tracks.
Jellyfin or Navidrome would be one more subclass.

* :class:`PlexLibrarySource`: the whole music section fetched once (paged),
  then only tracks added or changed since the stored cursor; removed tracks
  are noticed by comparing the server's track count with the index's, which
  triggers a full fetch. Rating keys, file paths and durations are stored.
* :class:`FolderLibrarySource`: a music folder scanned with mutagen
  (:mod:`soulsync.services.local_library`), incrementally by mtime and size.

:func:`library_source` picks the one the settings ask for (``auto``: Plex
when it is configured, else the library folder).
"""
from __future__ import annotations

import logging
import os
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from soulsync.core.matching import LibraryIndex
from soulsync.core.models import Playlist, Track
from soulsync.core.analysis import CancelFn, Cancelled, ProgressFn, Status, TrackStatus, index_library
from soulsync.services.local_library import FolderScanner
from soulsync.services.plex_mirror import MirrorResult, PlaylistMirror
from soulsync.services.spotify_auth import Cancelled as ServiceCancelled

log = logging.getLogger(__name__)

CURSOR_OVERLAP_S = 1.0
"""Incremental Plex fetches start this much before the cursor (same-second changes are not missed)."""
MAX_SCAN_FOLDERS = 8
"""After downloads into more folders than this, Plex rescans the whole section instead of each folder."""
PICKUP_TIMEOUT_S = 300.0
"""How long :meth:`PlexLibrarySource.after_download` waits at most for Plex to list new files."""
PICKUP_POLL_S = 1.0
"""How often it looks."""
ESCALATE_AFTER_S = 60.0
"""Folder scans that show nothing this long, without a sign of the server still working, are followed by a
scan of the whole section (the server may see the library under another path than this machine)."""
PATH_TAIL = 3
"""Path components compared to recognise a file in Plex's listing (``Artist/Album/file``): the server may
mount the library elsewhere."""


class LibraryError(Exception):
    """The library cannot be used as asked (no folder, no section, no playlists); the message says why."""


@dataclass
class RefreshReport:
    """What a refresh did to the index."""

    source: str
    full: bool
    total: int = 0
    """Tracks in the index afterwards."""
    changed: int = 0
    """Tracks added or updated."""
    removed: int = 0
    skipped: int = 0
    """Files or entries that could not be read (corrupt files...)."""
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0
    not_picked_up: int = 0
    """New files the library did not list yet when waiting for them stopped (Plex)."""

    def summary(self) -> str:
        if self.cancelled:
            return f"Library refresh cancelled ({self.changed} tracks read so far were kept)"
        what = "Full library read" if self.full else "Library refreshed"
        text = f"{what}: {self.total} tracks ({self.changed} new or changed, {self.removed} removed"
        if self.skipped:
            text += f", {self.skipped} unreadable skipped"
        text += f") in {self.seconds:.1f} s"
        if self.not_picked_up:
            text += (f"; {self.not_picked_up} new file{'s' if self.not_picked_up != 1 else ''} not listed by the "
                     "library yet (it may still be scanning; the next refresh will find them)")
        return text


class LibrarySource(ABC):
    """One library the analysis compares with; see the module docstring."""

    key: str = ""
    """The ``source`` column of its tracks in the store (``plex``, ``folder``)."""

    @property
    @abstractmethod
    def name(self) -> str:
        """What to call it in messages (``Plex: Music``, ``folder ~/Music``)."""

    @property
    def supports_playlists(self) -> bool:
        """Whether :meth:`mirror_playlist` can create playlists on the server."""
        return False

    @abstractmethod
    def refresh(self, store: Any, full: bool = False, progress: ProgressFn | None = None,
                cancel: CancelFn | None = None) -> RefreshReport:
        """Bring the index up to date: what changed since the last refresh, or everything (``full``).

        The first refresh is always full. ``cancel()`` returning True stops it
        (``RefreshReport.cancelled``). Raises ``ServiceError`` (Plex) or
        :class:`LibraryError` (no folder) when the library cannot be read.
        """

    @abstractmethod
    def after_download(self, store: Any, paths: Iterable[str], cancel: CancelFn | None = None) -> RefreshReport:
        """Make the library pick up newly placed files (``paths``), then refresh the index."""

    def mirror_playlist(self, store: Any, playlist: Playlist, statuses: list[TrackStatus]) -> MirrorResult:
        """Create or update the server playlist mirroring ``playlist`` with its owned tracks, in order."""
        raise LibraryError(f"{self.name} has no playlists of its own; export an M3U8 file instead")

    def is_indexed(self, store: Any) -> bool:
        """Whether the index has been written for this library at least once."""
        return bool(store.library_meta(self.key))

    def tracks(self, store: Any) -> list[Track]:
        """The indexed tracks."""
        return store.library_tracks(self.key)

    def index(self, store: Any, progress: ProgressFn | None = None,
              cancel: CancelFn | None = None) -> tuple[LibraryIndex, dict[str, Track]]:
        """A matching index over the indexed tracks and their key -> track map (see ``sync.index_library``)."""
        return index_library(self.tracks(store), progress, cancel)


# ----------------------------------------------------------------------------- folder


class FolderLibrarySource(LibrarySource):
    """A music folder on this machine, scanned with mutagen."""

    key = "folder"

    def __init__(self, root: str | os.PathLike, reader: Callable[[Path], Track] | None = None) -> None:
        self.scanner = FolderScanner(root, reader) if reader is not None else FolderScanner(root)
        self.root = self.scanner.root

    @property
    def name(self) -> str:
        return f"the folder {self.root}"

    def refresh(self, store: Any, full: bool = False, progress: ProgressFn | None = None,
                cancel: CancelFn | None = None) -> RefreshReport:
        """Files new or changed since the index was written are read, vanished ones removed.

        Always incremental against what the index holds (so a first scan that
        was cancelled resumes where it stopped); ``full`` re-reads every file.
        """
        started = time.monotonic()
        known = {} if full else store.library_file_stats(self.key)
        unreadable = {} if full else store.library_unreadable(self.key)
        try:
            scan = self.scanner.scan(known, progress, cancel, unreadable)
        except OSError as exc:
            raise LibraryError(f"the music folder cannot be read: {exc}") from exc
        report = RefreshReport(self.key, full, changed=len(scan.changed), skipped=scan.corrupt,
                               unchanged=scan.unchanged, problems=list(scan.problems), cancelled=scan.cancelled)
        if full and not scan.cancelled:
            before = set(store.library_file_stats(self.key))
            store.replace_library(self.key, scan.changed, file_stats=scan.stats)
            report.removed = len(before - set(scan.stats))
        elif scan.changed or scan.removed or not store.library_meta(self.key):
            store.upsert_library(self.key, scan.changed, removed_keys=scan.removed, file_stats=scan.stats)
            report.removed = len(scan.removed)
        if scan.unreadable != unreadable:
            store.save_library_unreadable(self.key, scan.unreadable, replace=not scan.cancelled)
        report.total = store.count_library(self.key)
        report.seconds = time.monotonic() - started
        if scan.corrupt:
            log.info("Library folder: %d unreadable files skipped (%s)", scan.corrupt, "; ".join(scan.problems[:3]))
        return report

    def after_download(self, store: Any, paths: Iterable[str], cancel: CancelFn | None = None) -> RefreshReport:
        return self.refresh(store, cancel=cancel)


# ----------------------------------------------------------------------------- Plex


class PlexLibrarySource(LibrarySource):
    """One music section of a Plex server (``client``: ``soulsync.services.plex.PlexClient``).

    ``section`` is the section's title or key; empty means the server's first music library.
    ``pickup_timeout_s``, ``poll_s``, ``escalate_after_s``: how :meth:`after_download` waits for new files.
    """

    key = "plex"

    def __init__(self, client: Any, section: str = "", *, pickup_timeout_s: float = PICKUP_TIMEOUT_S,
                 poll_s: float = PICKUP_POLL_S, escalate_after_s: float = ESCALATE_AFTER_S,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self._wanted_section = section
        self._section: Any = None
        self.pickup_timeout_s = pickup_timeout_s
        self.poll_s = poll_s
        self.escalate_after_s = escalate_after_s
        self.clock = clock
        self.sleep = sleep

    @property
    def name(self) -> str:
        title = self._section.title if self._section is not None else (self._wanted_section or "music library")
        return f"Plex ({title})"

    @property
    def supports_playlists(self) -> bool:
        return True

    def section(self) -> Any:
        """The music section (looked up once)."""
        if self._section is None:
            sections = self.client.music_sections()
            if not sections:
                raise LibraryError("the Plex server has no music library")
            wanted = self._wanted_section.strip().lower()
            if not wanted:
                self._section = sections[0]
            else:
                self._section = next((s for s in sections if s.title.strip().lower() == wanted
                                      or str(s.key) == wanted), None)
                if self._section is None:
                    names = ", ".join(s.title for s in sections)
                    raise LibraryError(f"Plex has no music library called {self._wanted_section!r} (it has {names})")
        return self._section

    def refresh(self, store: Any, full: bool = False, progress: ProgressFn | None = None,
                cancel: CancelFn | None = None) -> RefreshReport:
        started = time.monotonic()
        meta = store.library_meta(self.key)
        cursor = meta.get("cursor")
        full = full or not meta.get("last_full") or cursor is None
        try:
            report = self._full(store, progress, cancel) if full else self._incremental(store, cursor, cancel)
        except (Cancelled, ServiceCancelled):
            report = RefreshReport(self.key, full, cancelled=True, total=store.count_library(self.key))
        report.seconds = time.monotonic() - started
        return report

    def _full(self, store: Any, progress: ProgressFn | None, cancel: CancelFn | None) -> RefreshReport:
        before = set(store.library_file_stats(self.key))
        tracks = self.client.fetch_all_tracks(self.section(), progress_cb=progress, cancel=cancel)
        store.replace_library(self.key, tracks, stamp=_cursor(tracks))
        removed = len(before - {t.plex_rating_key for t in tracks})
        return RefreshReport(self.key, True, total=store.count_library(self.key), changed=len(tracks),
                             removed=removed)

    def _incremental(self, store: Any, cursor: float, cancel: CancelFn | None) -> RefreshReport:
        """Changed tracks since the cursor; a track count that then disagrees with the server's means
        something was removed, and only a full fetch can say what."""
        section = self.section()
        changed = self.client.tracks_changed_since(section, max(0.0, cursor - CURSOR_OVERLAP_S), cancel=cancel)
        known = store.library_file_stats(self.key)
        really = sum(1 for t in changed if t.plex_rating_key not in known or (t.updated_at or t.added_at or 0) > cursor)
        store.upsert_library(self.key, changed, stamp=_cursor(changed, cursor))
        server_total = self._server_count(section)
        if server_total is not None and server_total != store.count_library(self.key):
            log.info("Plex lists %d tracks, the index %d: reading the whole library to find removals",
                     server_total, store.count_library(self.key))
            report = self._full(store, None, cancel)
            report.full = False
            return report
        return RefreshReport(self.key, False, total=store.count_library(self.key), changed=really)

    def _server_count(self, section: Any) -> int | None:
        """How many tracks the section lists, read from the ``totalSize`` of a one-track page.

        ``fetch_all_tracks`` reports the total through its progress callback; the
        cancel hook then stops it before a second page. None if the server did not say."""
        seen: list[int] = []
        try:
            self.client.fetch_all_tracks(section, page_size=1, progress_cb=lambda _done, total: seen.append(total),
                                         cancel=lambda: bool(seen))
        except ServiceCancelled:
            pass
        return seen[0] if seen and seen[0] > 0 else None

    def after_download(self, store: Any, paths: Iterable[str], cancel: CancelFn | None = None) -> RefreshReport:
        """Ask Plex to scan the folders that received files (or the whole section), wait until it lists
        them, then refresh the index.

        Plex answers a scan request at once and scans later; whether it ever shows ``refreshing`` is
        unknown (reference section 3.7). So this polls for the result itself, the new files among the
        tracks added or changed since the index's cursor, for at most ``pickup_timeout_s``; the
        server's busy hints only hold off the whole-section scan that follows folder scans which
        showed nothing (:data:`ESCALATE_AFTER_S`)."""
        files = list(paths)
        section = self.section()
        try:
            if store.library_meta(self.key).get("cursor") is None:  # nothing to look for changes after yet
                self.refresh(store, cancel=cancel)
            since = max(0.0, float(store.library_meta(self.key).get("cursor") or 0.0) - CURSOR_OVERLAP_S)
            folders = sorted({str(Path(p).parent) for p in files})
            whole = not folders or len(folders) > MAX_SCAN_FOLDERS
            for folder in [None] if whole else folders:
                self.client.scan_section(section, path=folder)
            # a refresh since the downloads (one per finished file in the app) may have listed some already
            indexed = {_tail(t.path) for t in self.tracks(store) if t.path}
            waiting = [p for p in files if _tail(p) not in indexed]
            pending = self._wait_for_files(section, waiting, since, whole, cancel) if waiting else 0
            report = self.refresh(store, cancel=cancel)
            report.not_picked_up = pending
            return report
        except (Cancelled, ServiceCancelled):
            return RefreshReport(self.key, False, cancelled=True, total=store.count_library(self.key))

    def _wait_for_files(self, section: Any, files: list[str], since: float, whole: bool,
                        cancel: CancelFn | None) -> int:
        """Poll until the library lists every file (by its last path components); how many it did not."""
        pending = {_tail(p) for p in files}
        started = last_busy = self.clock()
        while pending:
            if cancel is not None and cancel():
                raise Cancelled()
            for track in self.client.tracks_changed_since(section, since, cancel=cancel):
                pending.discard(_tail(track.path or ""))
            now = self.clock()
            if not pending or now - started >= self.pickup_timeout_s:
                break
            if self.client.section_busy(section):
                last_busy = now
            elif not whole and now - last_busy >= self.escalate_after_s:
                log.info("Plex lists %d of %d new files after folder scans and shows no sign of work: "
                         "scanning the whole library", len(files) - len(pending), len(files))
                self.client.scan_section(section)
                whole, last_busy = True, now
            self.sleep(self.poll_s)
        if pending:
            log.warning("Plex did not list %d new files within %.0f s", len(pending), self.pickup_timeout_s)
        return len(pending)

    def mirror_playlist(self, store: Any, playlist: Playlist, statuses: list[TrackStatus]) -> MirrorResult:
        keys = [s.match.plex_rating_key for s in statuses
                if s.status is Status.OWNED and s.match is not None and s.match.plex_rating_key]
        return PlaylistMirror(self.client, store).mirror(playlist.id, playlist.name, keys)


def _tail(path: str) -> tuple[str, ...]:
    """The last :data:`PATH_TAIL` components of a path, whatever its separators."""
    return tuple(part for part in path.replace("\\", "/").split("/") if part)[-PATH_TAIL:]


def _cursor(tracks: Iterable[Track], previous: float | None = None) -> float | None:
    """The newest ``updated_at``/``added_at`` among ``tracks`` (or ``previous`` when none is newer)."""
    stamps = [stamp for t in tracks if (stamp := t.updated_at or t.added_at)]
    newest = max(stamps) if stamps else None
    if previous is None:
        return float(newest) if newest is not None else None
    return float(max(previous, newest)) if newest is not None else previous


# ----------------------------------------------------------------------------- choosing


def library_source(context: Any, folder: str | os.PathLike | None = None) -> LibrarySource:
    """The library the settings point at, or the folder given (``--library-folder``).

    ``library.source``: ``plex``, ``folder`` (``downloads.library_dir``), or
    ``auto`` (Plex when configured, else the folder). Raises
    :class:`LibraryError` when the chosen library is not configured.
    """
    if folder is not None:
        return FolderLibrarySource(folder)
    settings = context.settings
    choice = settings.library.source
    if choice == "plex" or (choice == "auto" and context.plex_configured()):
        if not context.plex_configured():
            raise LibraryError("the library is set to Plex, but no Plex server is configured (Settings)")
        return PlexLibrarySource(context.plex(), settings.plex.music_section)
    if context.library_dir is None:
        raise LibraryError("no library: connect a Plex server or choose a music folder in Settings "
                           "(or pass --library-folder)")
    return FolderLibrarySource(context.library_dir)



class BoundLibrary:
    """A :class:`LibrarySource` and the store it indexes into, as a sync run's library
    (:class:`soulsync.core.sync_run.LibraryPort`): the CLI and headless runs read the library directly;
    the app hands its shared index over instead (``soulsync.ui.library_state``)."""

    def __init__(self, source: LibrarySource, store: Any) -> None:
        self.source, self.store = source, store

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def supports_playlists(self) -> bool:
        return self.source.supports_playlists

    def refresh(self, full: bool, progress: ProgressFn | None, cancel: CancelFn) -> RefreshReport:
        return self.source.refresh(self.store, full=full, progress=progress, cancel=cancel)

    def index(self, progress: ProgressFn | None, cancel: CancelFn) -> tuple[LibraryIndex, dict[str, Track]]:
        return self.source.index(self.store, progress, cancel)

    def pick_up(self, paths: list[str], cancel: CancelFn) -> RefreshReport:
        return self.source.after_download(self.store, paths, cancel=cancel)

    def mirror_playlist(self, playlist: Playlist, statuses: list[TrackStatus]) -> MirrorResult:
        return self.source.mirror_playlist(self.store, playlist, statuses)
