"""Playlists kept in sync on a schedule: which ones, how often, whether mirrored to Plex, what the last run saw.

A kept playlist is a Spotify playlist (its snapshot id tells whether it
changed) or a CSV/M3U file re-read from its path (its mtime tells). Each one
is a scheduler job named :func:`~soulsync.core.scheduler.playlist_job`; the
sync job reads :meth:`KeptPlaylist.changed` to refresh only what changed and
calls :func:`note_synced` after a run. Stored in the ``kept_playlists`` table.
"""
from __future__ import annotations

import enum
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from soulsync.core.scheduler import JobAction, Scheduler, playlist_job
from soulsync.core.store import Store

DEFAULT_INTERVAL_S = 6 * 3600.0
"""How often a kept playlist is synced unless the user chose otherwise."""


class PlaylistKind(enum.Enum):
    """Where a kept playlist is read from (stored by value)."""

    SPOTIFY = "spotify"
    FILE = "file"
    """A CSV or M3U/M3U8 file, re-read from its path on every run."""


@dataclass(frozen=True)
class KeptPlaylist:
    """One playlist kept in sync."""

    playlist_id: str
    kind: PlaylistKind
    name: str = ""
    path: str | None = None
    """The file read on every run (kind FILE)."""
    interval_s: float = DEFAULT_INTERVAL_S
    mirror_to_plex: bool = False
    last_snapshot_id: str | None = None
    """Spotify's snapshot id when it was last synced."""
    last_file_mtime: float | None = None
    """The file's mtime when it was last synced."""
    added_at: float = 0.0

    @property
    def job(self) -> str:
        """Its scheduler job's name."""
        return playlist_job(self.playlist_id)

    def changed(self, snapshot_id: str | None = None, file_mtime: float | None = None) -> bool:
        """Whether the playlist changed since it was last synced (never synced: changed), given the snapshot id
        Spotify reports now (kind SPOTIFY) or the file's mtime now (kind FILE)."""
        if self.kind is PlaylistKind.SPOTIFY:
            return self.last_snapshot_id is None or snapshot_id != self.last_snapshot_id
        return self.last_file_mtime is None or file_mtime != self.last_file_mtime


def keep_playlist(store: Store, playlist: KeptPlaylist) -> KeptPlaylist:
    """Keep a playlist in sync, or change how (name, path, interval, mirror) when kept already: what the last
    run saw is kept unless the path changed. Returns it as stored."""
    if playlist.kind is PlaylistKind.FILE and not playlist.path:
        raise ValueError(f"the kept playlist {playlist.playlist_id!r} is a file but has no path")
    if playlist.interval_s <= 0:
        raise ValueError(f"the interval of {playlist.playlist_id!r} must be positive, not {playlist.interval_s}")
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO kept_playlists (playlist_id, name, kind, path, interval_s, mirror_to_plex, last_snapshot_id,"
            " last_file_mtime, added_at) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(playlist_id) DO UPDATE SET"
            " name = excluded.name, kind = excluded.kind, interval_s = excluded.interval_s,"
            " mirror_to_plex = excluded.mirror_to_plex,"
            " last_file_mtime = CASE WHEN path IS excluded.path THEN last_file_mtime ELSE NULL END,"
            " path = excluded.path",
            (playlist.playlist_id, playlist.name, playlist.kind.value, playlist.path, playlist.interval_s,
             int(playlist.mirror_to_plex), playlist.last_snapshot_id, playlist.last_file_mtime,
             playlist.added_at or time.time()))
    kept = kept_playlist(store, playlist.playlist_id)
    assert kept is not None  # just written
    return kept


def forget_kept_playlist(store: Store, playlist_id: str) -> bool:
    """Stop keeping a playlist in sync (the playlist itself stays); False when it was not kept."""
    with store.transaction() as conn:
        return conn.execute("DELETE FROM kept_playlists WHERE playlist_id = ?", (playlist_id,)).rowcount > 0


def kept_playlists(store: Store) -> list[KeptPlaylist]:
    """Every kept playlist, in the order they were kept."""
    return [_kept(r) for r in store.query("SELECT * FROM kept_playlists ORDER BY added_at, playlist_id")]


def kept_playlist(store: Store, playlist_id: str) -> KeptPlaylist | None:
    rows = store.query("SELECT * FROM kept_playlists WHERE playlist_id = ?", (playlist_id,))
    return _kept(rows[0]) if rows else None


def note_synced(store: Store, playlist_id: str, snapshot_id: str | None = None,
                file_mtime: float | None = None) -> None:
    """Remember what a finished run read: Spotify's snapshot id or the file's mtime (None leaves it as it was)."""
    with store.transaction() as conn:
        conn.execute("UPDATE kept_playlists SET last_snapshot_id = COALESCE(?, last_snapshot_id),"
                     " last_file_mtime = COALESCE(?, last_file_mtime) WHERE playlist_id = ?",
                     (snapshot_id, file_mtime, playlist_id))


def schedule_kept_playlists(scheduler: Scheduler, store: Store,
                            action_for: Callable[[KeptPlaylist], JobAction]) -> list[KeptPlaylist]:
    """Make the scheduler's playlist jobs match the kept playlists: each kept one a job with its interval and
    the callable ``action_for(playlist)`` gives (a newly kept one is due at once), and no job (nor its history)
    for a playlist no longer kept. Call it at start and whenever the list may have changed (``soulsync keep``
    writes the same table). Returns the kept playlists."""
    kept = kept_playlists(store)
    wanted = {k.job for k in kept}
    for name in scheduler.names(persisted=True):
        if name.startswith(playlist_job("")) and name not in wanted:
            scheduler.remove(name)
    for playlist in kept:
        scheduler.add(playlist.job, action_for(playlist), playlist.interval_s)
    return kept


def _kept(r: sqlite3.Row) -> KeptPlaylist:
    return KeptPlaylist(r["playlist_id"], PlaylistKind(r["kind"]), r["name"], r["path"], r["interval_s"],
                        bool(r["mirror_to_plex"]), r["last_snapshot_id"], r["last_file_mtime"], r["added_at"])
