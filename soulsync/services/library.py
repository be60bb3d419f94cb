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
from soulsync.core.sync import Cancelled, CancelFn, ProgressFn, Status, TrackStatus, index_library
from soulsync.services.local_library import FolderScanner
from soulsync.services.plex_mirror import MirrorResult, PlaylistMirror
from soulsync.services.spotify_auth import Cancelled as ServiceCancelled

log = logging.getLogger(__name__)

CURSOR_OVERLAP_S = 1.0
"""Incremental Plex fetches start this much before the cursor (same-second changes are not missed)."""
MAX_SCAN_FOLDERS = 8
"""After downloads into more folders than this, Plex rescans the whole section instead of each folder."""


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

    def summary(self) -> str:
        if self.cancelled:
            return f"Library refresh cancelled ({self.changed} tracks read so far were kept)"
        what = "Full library read" if self.full else "Library refreshed"
        text = f"{what}: {self.total} tracks ({self.changed} new or changed, {self.removed} removed"
        if self.skipped:
            text += f", {self.skipped} unreadable skipped"
        return text + f") in {self.seconds:.1f} s"


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
    """

    key = "plex"

    def __init__(self, client: Any, section: str = "") -> None:
        self.client = client
        self._wanted_section = section
        self._section: Any = None

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
        """Ask Plex to scan the folders that received files (or the whole section), wait, refresh the index."""
        section = self.section()
        folders = sorted({str(Path(p).parent) for p in paths})
        try:
            if not folders or len(folders) > MAX_SCAN_FOLDERS:
                self.client.scan_section(section, wait=True, cancel=cancel)
                return self.refresh(store, cancel=cancel)
            for folder in folders:
                self.client.scan_section(section, path=folder, wait=True, cancel=cancel)
            report = self.refresh(store, cancel=cancel)
            if report.changed == 0 and not report.cancelled:
                # the server may see the library under another path than this machine: scan it all
                self.client.scan_section(section, wait=True, cancel=cancel)
                report = self.refresh(store, cancel=cancel)
            return report
        except ServiceCancelled:
            return RefreshReport(self.key, False, cancelled=True, total=store.count_library(self.key))

    def mirror_playlist(self, store: Any, playlist: Playlist, statuses: list[TrackStatus]) -> MirrorResult:
        keys = [s.match.plex_rating_key for s in statuses
                if s.status is Status.OWNED and s.match is not None and s.match.plex_rating_key]
        return PlaylistMirror(self.client, store).mirror(playlist.id, playlist.name, keys)


def _cursor(tracks: Iterable[Track], previous: float | None = None) -> float | None:
    """The newest ``updated_at``/``added_at`` among ``tracks`` (or ``previous`` when none is newer)."""
    stamps = [t.updated_at or t.added_at for t in tracks if (t.updated_at or t.added_at)]
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

