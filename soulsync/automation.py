"""Set and forget: the scheduled jobs (kept playlists, the wishlist, watched artists), each a run of the main job.

:class:`Automation` registers the jobs with the core
:class:`~soulsync.core.scheduler.Scheduler` and does their work: every job
ends in a :class:`~soulsync.core.sync_run.SyncRun`, built with the ports its
front end hands in (:class:`JobPorts`): the app's shared library and download
queue in the window, the library read directly and a queue of its own in
``soulsync run``. No Qt here, so the headless service and the app run the
same jobs.

* **Kept playlists** (``playlist:<id>``): a Spotify playlist's tracks are read
  again only when its snapshot changed, a file only when its mtime changed;
  then the run compares, downloads what is missing (not the wishlist tracks
  waiting for their next try) and mirrors it when asked.
* **Wishlist** (``wishlist``): the tracks due by their back-off
  (:mod:`soulsync.core.wishlist_policy`); those the library has meanwhile leave
  the wishlist; the others are searched, skipping sources that failed before.
* **Watched artists** (``artists``): each artist's releases are listed (Spotify
  pages of 10), classified (:func:`~soulsync.core.watched_artists.release_kind`)
  and filtered by the kinds chosen; the first check only notes what exists;
  releases found later send their missing tracks to the wishlist or download
  them at once (album mode first), as the artist's action says.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from soulsync.core.discography import compare_release
from soulsync.core.kept_playlists import KeptPlaylist, PlaylistKind, kept_playlist, note_synced, schedule_kept_playlists
from soulsync.core.notices import RunNotice
from soulsync.core.scheduler import ARTISTS_JOB, WISHLIST_JOB, Outcome, RunResult, Scheduler
from soulsync.core.sync_run import (
    DownloadTools, LibraryPort, SyncError, SyncEvent, SyncOptions, SyncRequest, SyncResult, SyncRun,
)
from soulsync.core.watched_artists import (
    FoundRelease, NewReleaseAction, WatchedArtist, note_checked, record_releases, release_kind, spotify_groups,
    watched_artists,
)
from soulsync.core.wishlist_policy import RetryPolicy, due_wishlist, waiting_keys

log = logging.getLogger(__name__)

WISHLIST_INTERVAL_S = 3600.0
"""How often the wishlist job looks for tracks due (each track has its own back-off on top)."""


@dataclass
class JobPorts:
    """What the jobs' runs use, from the front end that runs them."""

    library: Callable[[], LibraryPort]
    tools: Callable[[], DownloadTools]
    """The download stages' tools (raises :class:`SyncError` when slskd is not set up)."""
    spotify: Callable[[], Any]
    """The Spotify client, or None when Spotify is not connected."""
    refresh_library: bool = False
    """Read the library before comparing (headless: nothing keeps an index current meanwhile)."""
    is_cancelled: Callable[[], bool] = lambda: False
    wait: Callable[[float], bool] | None = None
    on_event: Callable[[SyncEvent], None] | None = None
    hold: Callable[[], Any] | None = None
    """Called before a run downloads, and ``release`` after (the app's library state holds its pick-up)."""
    release: Callable[[], Any] | None = None


class Automation:
    """The scheduled jobs; see the module docstring."""

    def __init__(self, context: Any, scheduler: Scheduler, ports: JobPorts,
                 notify: Callable[[RunNotice], None] | None = None, clock: Callable[[], float] = time.time) -> None:
        self.context, self.scheduler, self.ports = context, scheduler, ports
        self.notify = notify
        self.clock = clock

    @property
    def store(self) -> Any:
        return self.context.store

    def policy(self) -> RetryPolicy:
        return RetryPolicy(keeps_failing_after=self.context.settings.automation.keeps_failing_after)

    # ---- registering ------------------------------------------------------------------------
    def register(self) -> None:
        """Make the scheduler's jobs match the settings and the kept and watched lists (call again after a change)."""
        a = self.context.settings.automation
        schedule_kept_playlists(self.scheduler, self.store, lambda kept: lambda: self.run_playlist(kept.playlist_id))
        if a.wishlist_enabled:
            self.scheduler.add(WISHLIST_JOB, self.run_wishlist, WISHLIST_INTERVAL_S, first_run_in_s=60.0)
        else:
            self.scheduler.remove(WISHLIST_JOB, forget=False)
        if watched_artists(self.store):
            self.scheduler.add(ARTISTS_JOB, self.run_artists, a.artists_interval_h * 3600.0, first_run_in_s=120.0)
        else:
            self.scheduler.remove(ARTISTS_JOB, forget=False)

    # ---- running ----------------------------------------------------------------------------
    def _run(self, job: str, request: SyncRequest, options: SyncOptions) -> SyncResult:
        p = self.ports
        run = SyncRun(request, options, store=self.store, library=p.library(), reader=self._reader(),
                      downloads=p.tools, on_event=p.on_event, is_cancelled=p.is_cancelled, wait=p.wait)
        if p.hold is not None:
            p.hold()
        try:
            result = run.run()
        finally:
            if p.release is not None:
                p.release()
        self._tell(job, result)
        return result

    def _reader(self) -> Any:
        from soulsync.services.playlist_reader import PlaylistTracks

        return PlaylistTracks(self.store, self.ports.spotify())

    def _tell(self, job: str, result: SyncResult) -> None:
        if self.notify is None:
            return
        d = result.downloads
        brought = d.progress.downloaded if d is not None else 0
        attention = (d.progress.failed if d is not None else 0) + (1 if d is not None and d.error else 0)
        attention += sum(1 for r in result.playlists if r.skipped)
        detail = d.summary() if d is not None else result.summary()
        self.notify(RunNotice(job, brought, attention, detail))

    @staticmethod
    def _result(result: SyncResult, what: str) -> RunResult:
        text = f"{what}: {result.summary()}"
        return RunResult(text, Outcome.CANCELLED if result.cancelled else Outcome.SUCCEEDED)

    def run_playlist(self, playlist_id: str) -> RunResult:
        """One kept playlist: read again what changed, compare, download what is missing, mirror."""
        kept = kept_playlist(self.store, playlist_id)
        if kept is None:
            return RunResult("no longer kept in sync")
        snapshot, mtime, playlist = self._refresh_playlist(kept)
        request = SyncRequest(playlists=[playlist], skip_keys=waiting_keys(self.store, self.clock(), self.policy()))
        options = SyncOptions(refresh_library=self.ports.refresh_library, mirror=kept.mirror_to_plex)
        result = self._run(f"“{playlist.name}”", request, options)
        if not result.cancelled:
            note_synced(self.store, playlist_id, snapshot_id=snapshot, file_mtime=mtime)
        return self._result(result, playlist.name)

    def _refresh_playlist(self, kept: KeptPlaylist) -> tuple[str | None, float | None, Any]:
        """The playlist as it is now, saved; and its snapshot id (Spotify) or file mtime (file)."""
        store = self.store
        if kept.kind is PlaylistKind.FILE:
            from soulsync.core.playlist_import import PlaylistImportError, import_playlist_file

            path = Path(kept.path or "")
            try:
                mtime = path.stat().st_mtime
            except OSError as exc:
                raise SyncError(f"the playlist file {path} cannot be read ({exc.strerror or exc})") from None
            if kept.changed(file_mtime=mtime) or not store.playlist_tracks(kept.playlist_id):
                try:
                    imported = import_playlist_file(path)
                except PlaylistImportError as exc:
                    raise SyncError(str(exc)) from None
                store.save_playlist_tracks(imported.playlist)
            playlist = self._saved(kept.playlist_id, kept.name or path.stem)
            return None, mtime, playlist
        spotify = self.ports.spotify()
        if spotify is None:
            raise SyncError("Spotify is not connected: connect it in Settings")
        listed = spotify.playlists()
        listed.insert(0, spotify.liked_summary())
        store.save_playlists(listed)
        current = next((p for p in listed if p.id == kept.playlist_id), None)
        if current is None:
            raise SyncError(f"“{kept.name or kept.playlist_id}” is no longer among your Spotify playlists")
        return current.snapshot_id or None, None, self._saved(kept.playlist_id, current.name)

    def _saved(self, playlist_id: str, name: str) -> Any:
        from soulsync.core.models import Playlist

        saved = next((p for p in self.store.playlists() if p.id == playlist_id), None)
        return saved if saved is not None else Playlist(playlist_id, name, source="csv")

    def run_wishlist(self) -> RunResult:
        """The wishlist tracks due by their back-off: searched again (sources that failed are skipped)."""
        due = due_wishlist(self.store, self.clock(), self.policy())
        if not due:
            return RunResult("nothing on the wishlist is due")
        request = SyncRequest(tracks=[(e.track, e.playlist_id) for e in due])
        result = self._run("Wishlist", request, SyncOptions(refresh_library=self.ports.refresh_library))
        return self._result(result, f"Wishlist ({len(due)} due)")

    def run_artists(self) -> RunResult:
        """Watched artists' new releases: to the wishlist, or downloaded at once."""
        spotify = self.ports.spotify()
        if spotify is None:
            raise SyncError("Spotify is not connected: connect it in Settings")
        now = self.clock()
        found: list[tuple[WatchedArtist, FoundRelease]] = []
        for artist in watched_artists(self.store):
            if self.ports.is_cancelled():
                break
            found.extend((artist, r) for r in self._new_releases(spotify, artist, now))
        if not found:
            return RunResult("no new releases")
        library = self.ports.library()
        index, _by_key = library.index(None, self.ports.is_cancelled)
        to_download = []
        wished = 0
        for artist, release in found:
            album = spotify.album(release.release_id)
            state = compare_release(album, index)
            if artist.action is NewReleaseAction.DOWNLOAD:
                to_download.append(state)
                continue
            for track in state.missing_tracks:
                self.store.add_to_wishlist(track, f"new release by {artist.name}: {album.title}")
                wished += 1
        titles = ", ".join(f"{a.name}: {r.title}" for a, r in found[:3]) + ("…" if len(found) > 3 else "")
        if not to_download:
            if self.notify is not None:
                self.notify(RunNotice("New releases", 0, 0, f"{titles} ({wished} tracks to the wishlist)"))
            return RunResult(f"{len(found)} new releases ({titles}); {wished} tracks to the wishlist")
        result = self._run("New releases", SyncRequest(releases=to_download),
                           SyncOptions(refresh_library=False, analyse=False))
        return self._result(result, f"{len(found)} new releases ({titles})")

    def _new_releases(self, spotify: Any, artist: WatchedArtist, now: float) -> list[FoundRelease]:
        """Releases of ``artist`` not seen before, of the kinds chosen; the first look only notes them."""
        albums = spotify.artist_albums(artist.spotify_id, include_groups=spotify_groups(artist.kinds),
                                       cancel=self.ports.is_cancelled)
        releases = [FoundRelease(artist.spotify_id, a.spotify_id, a.title, release_kind(a), a.release_date, now)
                    for a in albums if a.spotify_id and release_kind(a) in artist.kinds]
        new = record_releases(self.store, releases)
        newest = max((r.release_date for r in releases if r.release_date), default=None)
        note_checked(self.store, artist.spotify_id, now, newest)
        if artist.last_checked is None:  # the first look: what exists now is not new
            return []
        return new
