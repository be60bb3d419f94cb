"""Artists watched for new releases: which ones, which kinds of release, what to do with them, what was found.

The ``"artists"`` scheduler job (:data:`~soulsync.core.scheduler.ARTISTS_JOB`)
looks at each watched artist's releases newer than the last seen one, keeps the
kinds the user chose, and sends their tracks to the wishlist or downloads them
at once (:class:`NewReleaseAction`). This module holds the lists (tables
``watched_artists`` and ``watched_releases``), not the looking.
"""
from __future__ import annotations

import enum
import re
import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass

from soulsync.core.models import Album, AlbumType
from soulsync.core.store import Store


class ReleaseKind(enum.Enum):
    """A kind of release (stored by value)."""

    ALBUM = "album"
    EP = "ep"
    SINGLE = "single"
    LIVE = "live"
    COMPILATION = "compilation"
    APPEARS_ON = "appears_on"
    """Another artist's release the watched artist appears on."""


DEFAULT_KINDS = frozenset({ReleaseKind.ALBUM, ReleaseKind.EP, ReleaseKind.SINGLE})
"""Kinds included unless chosen otherwise: live records, compilations and appearances are opt-in."""


class NewReleaseAction(enum.Enum):
    """What happens to a new release's tracks (stored by value)."""

    WISHLIST = "wishlist"
    DOWNLOAD = "download"


@dataclass(frozen=True)
class WatchedArtist:
    """One artist watched for new releases."""

    spotify_id: str
    name: str
    kinds: frozenset[ReleaseKind] = DEFAULT_KINDS
    action: NewReleaseAction = NewReleaseAction.WISHLIST
    last_checked: float | None = None
    last_release_date: str | None = None
    """The newest release date seen, as Spotify gives it (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``)."""
    added_at: float = 0.0


@dataclass(frozen=True)
class FoundRelease:
    """A release of a watched artist, as it was found."""

    artist_id: str
    release_id: str
    title: str
    kind: ReleaseKind
    release_date: str = ""
    found_at: float = 0.0


def watch_artist(store: Store, artist: WatchedArtist) -> WatchedArtist:
    """Watch an artist, or change how (name, kinds, action) when watched already; what the last check saw is
    kept. Returns it as stored."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO watched_artists (spotify_id, name, kinds, action, last_checked, last_release_date, added_at)"
            " VALUES (?,?,?,?,?,?,?) ON CONFLICT(spotify_id) DO UPDATE SET name = excluded.name,"
            " kinds = excluded.kinds, action = excluded.action",
            (artist.spotify_id, artist.name, json.dumps(sorted(k.value for k in artist.kinds)), artist.action.value,
             artist.last_checked, artist.last_release_date, artist.added_at or time.time()))
    watched = watched_artist(store, artist.spotify_id)
    assert watched is not None  # just written
    return watched


def unwatch_artist(store: Store, spotify_id: str) -> bool:
    """Stop watching an artist (and forget the releases found for it); False when it was not watched."""
    with store.transaction() as conn:
        return conn.execute("DELETE FROM watched_artists WHERE spotify_id = ?", (spotify_id,)).rowcount > 0


def watched_artists(store: Store) -> list[WatchedArtist]:
    """Every watched artist, by name."""
    return [_artist(r) for r in store.query("SELECT * FROM watched_artists ORDER BY name COLLATE NOCASE, spotify_id")]


def watched_artist(store: Store, spotify_id: str) -> WatchedArtist | None:
    rows = store.query("SELECT * FROM watched_artists WHERE spotify_id = ?", (spotify_id,))
    return _artist(rows[0]) if rows else None


def note_checked(store: Store, spotify_id: str, checked_at: float, newest_release_date: str | None = None) -> None:
    """Remember a finished check: its time, and the newest release date seen (an older one changes nothing)."""
    with store.transaction() as conn:
        conn.execute("UPDATE watched_artists SET last_checked = ?, last_release_date = CASE"
                     " WHEN ? IS NOT NULL AND (last_release_date IS NULL OR ? > last_release_date) THEN ?"
                     " ELSE last_release_date END WHERE spotify_id = ?",
                     (checked_at, newest_release_date, newest_release_date, newest_release_date, spotify_id))


def record_releases(store: Store, releases: Iterable[FoundRelease]) -> list[FoundRelease]:
    """Remember releases found for watched artists; returns those not found before (the new ones to act on).
    Releases of an artist no longer watched are ignored."""
    new: list[FoundRelease] = []
    with store.transaction() as conn:
        for r in releases:
            cur = conn.execute("INSERT OR IGNORE INTO watched_releases (artist_id, release_id, title, kind,"
                               " release_date, found_at) SELECT ?,?,?,?,?,? WHERE EXISTS"
                               " (SELECT 1 FROM watched_artists WHERE spotify_id = ?)",
                               (r.artist_id, r.release_id, r.title, r.kind.value, r.release_date, r.found_at,
                                r.artist_id))
            if cur.rowcount > 0:
                new.append(r)
    return new


def found_releases(store: Store, artist_id: str | None = None, limit: int = 200) -> list[FoundRelease]:
    """The releases found (of one artist, or of all), the newest found first: what the Artists page shows."""
    where, params = ("WHERE artist_id = ?", (artist_id, limit)) if artist_id is not None else ("", (limit,))
    rows = store.query(f"SELECT * FROM watched_releases {where} ORDER BY found_at DESC, release_date DESC LIMIT ?",
                       params)
    return [FoundRelease(r["artist_id"], r["release_id"], r["title"], ReleaseKind(r["kind"]), r["release_date"],
                         r["found_at"]) for r in rows]


def _artist(r: sqlite3.Row) -> WatchedArtist:
    try:
        kinds = frozenset(ReleaseKind(k) for k in json.loads(r["kinds"]))
    except (ValueError, TypeError):
        kinds = DEFAULT_KINDS
    return WatchedArtist(r["spotify_id"], r["name"], kinds, NewReleaseAction(r["action"]), r["last_checked"],
                         r["last_release_date"], r["added_at"])


_LIVE = re.compile(r"(?:[(\[\-–—:]\s*|^)live\b|\blive (?:at|in|from|on)\b", re.IGNORECASE)
EP_TRACKS = range(4, 7)
"""Spotify lists EPs as singles; one of 4 to 6 tracks (or titled "EP") counts as an EP."""


def release_kind(album: Album) -> ReleaseKind:
    """What kind of release ``album`` is, for the watched artist's filter (live records by their title)."""
    if album.album_type is AlbumType.APPEARS_ON:
        return ReleaseKind.APPEARS_ON
    if album.album_type is AlbumType.COMPILATION:
        return ReleaseKind.COMPILATION
    if _LIVE.search(album.title):
        return ReleaseKind.LIVE
    if album.album_type is AlbumType.SINGLE:
        if album.total_tracks in EP_TRACKS or re.search(r"\bE\.?P\.?\b", album.title):
            return ReleaseKind.EP
        return ReleaseKind.SINGLE
    return ReleaseKind.ALBUM


def spotify_groups(kinds: Iterable[ReleaseKind]) -> tuple[str, ...]:
    """The ``include_groups`` of Spotify's artist-albums request that can hold releases of ``kinds``."""
    groups = {"album", "single"}
    kinds = set(kinds)
    if ReleaseKind.COMPILATION in kinds:
        groups.add("compilation")
    if ReleaseKind.APPEARS_ON in kinds:
        groups.add("appears_on")
    return tuple(g for g in ("album", "single", "compilation", "appears_on") if g in groups)
