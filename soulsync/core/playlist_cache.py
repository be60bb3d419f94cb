"""Keep the SQLite copy of the user's Spotify playlists current.

The playlist list is fetched whole (cheap); a playlist's tracks are fetched
only when its snapshot id changed since the last fetch. Liked Songs has no
snapshot id, so its track count stands in for one.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from soulsync.core.models import Playlist

log = logging.getLogger(__name__)


@dataclass
class RefreshReport:
    playlists: int = 0
    fetched: list[str] = field(default_factory=list)
    """Names of playlists whose tracks were (re)fetched."""
    skipped_entries: int = 0
    """Local files, removed tracks and episodes left out."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(playlist name, reason) for playlists that could not be read."""
    unreadable: list[str] = field(default_factory=list)
    """Names of the failed playlists whose tracks the service will not hand over at all."""


UNREADABLE_KIND = "playlist_unreadable"
"""The ``kind`` of a service error saying the playlist's tracks will never be handed over."""


def refresh_playlists(spotify: Any, store: Any, include_liked: bool = True,
                      progress: Callable[[str, int, int], None] | None = None,
                      cancelled: Callable[[], bool] = lambda: False,
                      abort_on: Callable[[Exception], bool] = lambda exc: False,
                      describe: Callable[[Exception], str] = str) -> RefreshReport:
    """Fetch the playlist list, store it, and re-fetch the tracks of changed playlists.

    A playlist that fails is reported and skipped; the others go on. One
    whose tracks the service will not hand over (Spotify's development mode:
    another user's playlist, or Spotify's own) is also marked unreadable in
    the store, with the reason, so that it never shows as complete. A failure for which
    ``abort_on(exc)`` is true is raised instead, so that the caller can try the
    whole refresh again (the playlists stored so far are not fetched twice).
    A playlist's tracks are stored only once every page of them has arrived.
    ``describe(exc)`` puts a failure in words (the caller's: core knows no service errors).
    """
    report = RefreshReport()
    playlists: list[Playlist] = spotify.playlists()
    if include_liked:
        liked = spotify.liked_summary()
        liked.snapshot_id = f"count:{liked.track_count}"
        playlists.insert(0, liked)
    store.save_playlists(playlists)
    report.playlists = len(playlists)
    stale = [p for p in playlists if store.playlist_needs_fetch(p.id)]
    for done, playlist in enumerate(stale):
        if cancelled():
            break
        if progress:
            progress(playlist.name, done, len(stale))
        try:
            if playlist.source == "liked":
                tracks, skipped = spotify.liked_tracks(), 0
            else:
                contents = spotify.playlist_tracks(playlist.id)
                tracks, skipped = contents.tracks, contents.skipped
        except Exception as exc:
            if abort_on(exc):
                raise
            reason = describe(exc)
            log.warning("Could not read playlist %s: %s", playlist.name, reason)
            report.failed.append((playlist.name, reason))
            if getattr(exc, "kind", "") == UNREADABLE_KIND:
                store.mark_playlist_unreadable(playlist.id, str(getattr(exc, "message", "") or exc))
                report.unreadable.append(playlist.name)
            continue
        playlist.tracks = tracks
        report.skipped_entries += skipped
        store.save_playlist_tracks(playlist)
        report.fetched.append(playlist.name)
    if progress:
        progress("", len(stale), len(stale))
    return report
