"""Where a sync run reads a playlist's tracks: Spotify when the saved copy is stale, else the store.

:class:`PlaylistTracks` is the app's :class:`soulsync.core.sync_run.PlaylistReader`.
Spotify playlists (and Liked Songs) whose saved tracks are older than their
snapshot are fetched again and saved (without a Spotify client, the saved
copy is used); every other playlist (imported files, fresh copies) is read
from the store. A playlist Spotify refuses to hand over
is marked unreadable in the store and skipped with the reason.
"""
from __future__ import annotations

import logging
from typing import Any

from soulsync.core.models import Playlist, Track
from soulsync.core.sync_run import PlaylistSkipped, SyncError
from soulsync.services.errors import PlaylistUnreadable

log = logging.getLogger(__name__)


class PlaylistTracks:
    """Reads playlists for a run; ``spotify`` is the client (None when Spotify is not connected).

    ``strict``: a playlist that cannot be read stops the run (:class:`SyncError`: the CLI, where the user named
    it) instead of being skipped (:class:`PlaylistSkipped`: the app and scheduled runs)."""

    def __init__(self, store: Any, spotify: Any = None, strict: bool = False) -> None:
        self.store, self.spotify, self.strict = store, spotify, strict

    def _skip(self, text: str) -> Exception:
        return SyncError(text) if self.strict else PlaylistSkipped(text)

    def tracks(self, playlist: Playlist) -> list[Track]:
        store = self.store
        if playlist.source not in ("spotify", "liked") or not store.playlist_needs_fetch(playlist.id):
            return store.playlist_tracks(playlist.id)
        if self.spotify is None:
            if self.strict:
                raise SyncError(f"{playlist.name!r} is a Spotify playlist and Spotify is not connected")
            return store.playlist_tracks(playlist.id)  # the saved copy is the best there is
        if playlist.source == "liked":
            fetched = self.spotify.liked_tracks()
            playlist.tracks = list(getattr(fetched, "tracks", fetched))
        else:
            try:
                playlist.tracks = self.spotify.playlist_tracks(playlist.id).tracks
            except PlaylistUnreadable as exc:
                store.mark_playlist_unreadable(playlist.id, exc.message)
                raise self._skip(f"{playlist.name!r} can't be read: {exc.message}") from None
        store.save_playlist_tracks(playlist)
        return list(playlist.tracks)
