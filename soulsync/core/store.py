"""SQLite persistence: download queue, library index, playlists, overrides, wishlist, activity.

One :class:`Store` per database file, safe to share between threads: a single
connection in WAL mode behind a lock, so there is one writer at a time and
every statement sees a consistent database. Schema changes go through
numbered migrations recorded in ``PRAGMA user_version``. Every multi-row
change runs in one transaction, so a crash leaves either all or none of it.
"""
from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterable

from soulsync.core.models import Playlist, Track
from soulsync.core.store_records import (
    PlexPlaylistRecord, QueueItem, QueueMeta, track_from_json, track_to_json, wanted_key,
)
from soulsync.core.store_schema import MIGRATIONS, split_sql

_COUNT_RETIRED = ("INSERT INTO download_days (day, succeeded)"
                  " SELECT date(finished_at, 'unixepoch', 'localtime') AS day, COUNT(*) FROM queue"
                  " WHERE state = 'succeeded' AND finished_at IS NOT NULL")
_ADD_RETIRED = " ON CONFLICT(day) DO UPDATE SET succeeded = succeeded + excluded.succeeded"
"""Run in the transaction that deletes queue rows: their successes are kept as per-day counts."""

ACTIVITY_LIMIT = 5000
"""Activity rows kept; older ones are pruned so the database stays bounded."""


_QUEUE_JSON = {"wanted", "candidates", "tried"}
_QUEUE_COLUMNS = [f.name for f in dataclasses.fields(QueueItem)]
QUEUE_PROGRESS_FIELDS = ("state", "bytes_done", "percent", "speed", "place_in_queue", "last_progress_at")
"""The queue columns a poll changes most of the time."""
_PROGRESS_UPDATE = ("UPDATE queue SET " + ", ".join(f"{k} = ?" for k in QUEUE_PROGRESS_FIELDS)
                    + ", updated_at = ? WHERE id = ?")


class Store:
    """Thread-safe access to the SoulSync database."""

    def __init__(self, path: Path | str, busy_timeout_s: float = 30.0) -> None:
        """Open (or create) the database at ``path``; opening waits at most ``busy_timeout_s`` for another
        connection's lock, later statements up to 30 s. Use :func:`soulsync.core.store_health.open_store`
        for the app's database: it says in words what is wrong when opening fails."""
        self.path = Path(path) if str(path) != ":memory:" else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None,
                                     timeout=busy_timeout_s)
        try:
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
            self._conn.execute("PRAGMA busy_timeout=30000")
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _migrate(self) -> None:
        """Apply the missing migrations, each in its own write transaction; the version is read again
        inside it, so another process opening the same database at the same moment never applies one twice."""
        for index in range(len(MIGRATIONS)):
            with self.transaction() as conn:
                if conn.execute("PRAGMA user_version").fetchone()[0] != index:
                    continue
                for statement in split_sql(MIGRATIONS[index]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version={index + 1}")

    class _Tx:
        def __init__(self, store: "Store") -> None:
            self.store = store

        def __enter__(self) -> sqlite3.Connection:
            self.store._lock.acquire()
            self.store._conn.execute("BEGIN IMMEDIATE")
            return self.store._conn

        def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
            try:
                self.store._conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
            finally:
                self.store._lock.release()

    def transaction(self) -> "Store._Tx":
        """``with store.transaction() as conn:`` — all or nothing, one writer at a time."""
        return Store._Tx(self)

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    def backup_to(self, target: Path) -> None:
        """A consistent copy of the whole database into the new file ``target`` (SQLite's online backup)."""
        copy = sqlite3.connect(str(target))
        try:
            with self._lock:
                self._conn.backup(copy)
        finally:
            copy.close()

    def integrity_ok(self) -> bool:
        return self.query("PRAGMA integrity_check")[0][0] == "ok"

    # ---- queue --------------------------------------------------------------
    def add_queue_item(self, item: QueueItem) -> QueueItem:
        now = time.time()
        item.id = item.id or uuid.uuid4().hex
        item.created_at = item.created_at or now
        item.updated_at = now
        row = self._queue_row(item)
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self.transaction() as conn:
            conn.execute(f"INSERT INTO queue ({cols}) VALUES ({marks})", list(row.values()))
        return item

    def update_queue_item(self, item: QueueItem) -> None:
        item.updated_at = time.time()
        row = self._queue_row(item)
        sets = ", ".join(f"{k} = ?" for k in row if k != "id")
        with self.transaction() as conn:
            conn.execute(f"UPDATE queue SET {sets} WHERE id = ?", [v for k, v in row.items() if k != "id"] + [item.id])

    def add_queue_items(self, items: Iterable[QueueItem]) -> list[QueueItem]:
        """Insert many items in one transaction: all of them or (on any error) none."""
        items = list(items)
        now = time.time()
        with self.transaction() as conn:
            for item in items:
                item.id = item.id or uuid.uuid4().hex
                item.created_at = item.created_at or now
                item.updated_at = now
                row = self._queue_row(item)
                conn.execute(f"INSERT INTO queue ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                             list(row.values()))
        return items

    def update_queue_items(self, items: Iterable[QueueItem],
                           transfer_ids: Iterable[tuple[str, str]] = (),
                           progress: Iterable[QueueItem] = ()) -> None:
        """Save many items in one transaction (the poller's diff).

        ``transfer_ids`` are ``(slskd_id, item_id)`` pairs the queue learnt in
        the same step; ``progress`` are items of which only the
        :data:`QUEUE_PROGRESS_FIELDS` changed (written without re-encoding the
        rest). Both are saved in the same transaction."""
        items = list(items)
        progress = list(progress)
        transfer_ids = list(transfer_ids)
        if not items and not transfer_ids and not progress:
            return
        now = time.time()
        with self.transaction() as conn:
            for item in items:
                item.updated_at = now
                row = self._queue_row(item)
                sets = ", ".join(f"{k} = ?" for k in row if k != "id")
                conn.execute(f"UPDATE queue SET {sets} WHERE id = ?",
                             [v for k, v in row.items() if k != "id"] + [item.id])
            for item in progress:
                item.updated_at = now
            conn.executemany(_PROGRESS_UPDATE, [[getattr(i, k) for k in QUEUE_PROGRESS_FIELDS] + [now, i.id]
                                                for i in progress])
            conn.executemany("INSERT OR IGNORE INTO queue_transfers (slskd_id, item_id, recorded_at) VALUES (?, ?, ?)",
                             [(sid, iid, now) for sid, iid in transfer_ids])

    def queue_transfer_ids(self) -> dict[str, str]:
        """Every recorded slskd transfer id -> the queue item it was given for."""
        return {r["slskd_id"]: r["item_id"] for r in self.query("SELECT slskd_id, item_id FROM queue_transfers")}

    def forget_queue_transfers(self, slskd_ids: Iterable[str]) -> int:
        """Drop recorded transfer ids (ones slskd no longer lists)."""
        ids = [(i,) for i in slskd_ids]
        with self.transaction() as conn:
            return conn.executemany("DELETE FROM queue_transfers WHERE slskd_id = ?", ids).rowcount

    def get_queue_item(self, item_id: str) -> QueueItem | None:
        rows = self.query("SELECT * FROM queue WHERE id = ?", (item_id,))
        return self._queue_item(rows[0]) if rows else None

    def queue_items(self, finished: bool | None = None) -> list[QueueItem]:
        if finished is None:
            rows = self.query("SELECT * FROM queue ORDER BY created_at")
        elif finished:
            rows = self.query("SELECT * FROM queue WHERE finished_at IS NOT NULL ORDER BY finished_at DESC")
        else:
            rows = self.query("SELECT * FROM queue WHERE finished_at IS NULL ORDER BY created_at")
        return [self._queue_item(r) for r in rows]

    def delete_queue_items(self, ids: Iterable[str]) -> int:
        rows = [(i,) for i in ids]
        with self.transaction() as conn:
            conn.executemany(_COUNT_RETIRED + " AND id = ? GROUP BY day" + _ADD_RETIRED, rows)
            return conn.executemany("DELETE FROM queue WHERE id = ?", rows).rowcount

    def clear_finished(self) -> int:
        with self.transaction() as conn:
            conn.execute(_COUNT_RETIRED + " GROUP BY day" + _ADD_RETIRED)
            return conn.execute("DELETE FROM queue WHERE finished_at IS NOT NULL").rowcount

    def finished_beyond(self, keep: int) -> list[str]:
        """Ids of the finished items past the newest ``keep`` (failed ones are kept before succeeded ones)."""
        rows = self.query("SELECT id FROM queue WHERE finished_at IS NOT NULL"
                          " ORDER BY state = 'failed' DESC, finished_at DESC LIMIT -1 OFFSET ?", (max(0, keep),))
        return [r[0] for r in rows]

    def count_queue(self, finished: bool) -> int:
        op = "IS NOT NULL" if finished else "IS NULL"
        return self.query(f"SELECT COUNT(*) FROM queue WHERE finished_at {op}")[0][0]

    def filed_under(self, folder: str | os.PathLike) -> bool:
        """Whether a download was filed into ``folder`` (or below it), or a file there was read by a scan of the
        library folder (Plex's paths are the server's and need not exist here)."""
        root = os.path.join(os.fspath(folder), "")
        pattern = root.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.query("SELECT 1 FROM queue WHERE state = 'succeeded' AND final_path LIKE ? ESCAPE '\\'"
                          " UNION ALL SELECT 1 FROM library_tracks WHERE source = 'folder' AND path LIKE ? ESCAPE '\\'"
                          " LIMIT 1",
                          (pattern, pattern))
        return bool(rows)

    def count_succeeded_since(self, ts: float) -> int:
        """Downloads that succeeded since ``ts`` (a local midnight): queue rows, plus deleted ones of those days."""
        listed = self.query("SELECT COUNT(*) FROM queue WHERE state = 'succeeded' AND finished_at >= ?", (ts,))[0][0]
        retired = self.query("SELECT COALESCE(SUM(succeeded), 0) FROM download_days"
                             " WHERE day >= date(?, 'unixepoch', 'localtime')", (ts,))[0][0]
        return int(listed) + int(retired)

    @staticmethod
    def _queue_row(item: QueueItem) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for name in _QUEUE_COLUMNS:
            value = getattr(item, name)
            if name == "wanted":
                value = track_to_json(value) if value is not None else None
            elif name == "meta":
                value = json.dumps(value.as_json(), ensure_ascii=False)
            elif name in _QUEUE_JSON:
                value = json.dumps(value, ensure_ascii=False)
            row[name] = value
        return row

    @staticmethod
    def _queue_item(row: sqlite3.Row) -> QueueItem:
        data = dict(row)
        data["wanted"] = track_from_json(data["wanted"])
        for name in ("candidates", "tried"):
            try:
                data[name] = json.loads(data[name] or "[]")
            except ValueError:
                data[name] = []
        try:
            data["meta"] = QueueMeta.from_json(json.loads(data["meta"] or "{}"))
        except ValueError:
            data["meta"] = QueueMeta()
        return QueueItem(**{k: data[k] for k in _QUEUE_COLUMNS})

    # ---- library index ----------------------------------------------------
    def replace_library(self, source: str, tracks: Iterable[Track], stamp: float | None = None,
                        file_stats: dict[str, tuple[float, int]] | None = None) -> int:
        """Replace the whole index of ``source`` (a full fetch) in one transaction.

        ``file_stats`` maps a track's path to (mtime, size) for folder scans."""
        stats = file_stats or {}
        rows = [self._library_row(source, t, stats.get(t.path or "")) for t in tracks]
        with self.transaction() as conn:
            conn.execute("DELETE FROM library_tracks WHERE source = ?", (source,))
            conn.executemany(_LIB_INSERT, rows)
            conn.execute("INSERT INTO library_meta (source, last_full, cursor) VALUES (?, ?, ?) "
                         "ON CONFLICT(source) DO UPDATE SET last_full = excluded.last_full, cursor = excluded.cursor",
                         (source, time.time(), stamp))
        return len(rows)

    def upsert_library(self, source: str, tracks: Iterable[Track], removed_keys: Iterable[str] = (),
                       stamp: float | None = None, file_stats: dict[str, tuple[float, int]] | None = None) -> int:
        """Apply an incremental refresh: changed tracks in, removed keys out."""
        stats = file_stats or {}
        rows = [self._library_row(source, t, stats.get(t.path or "")) for t in tracks]
        with self.transaction() as conn:
            conn.executemany(_LIB_INSERT.replace("INSERT", "INSERT OR REPLACE"), rows)
            conn.executemany("DELETE FROM library_tracks WHERE source = ? AND key = ?",
                             [(source, k) for k in removed_keys])
            conn.execute("INSERT INTO library_meta (source, last_incremental, cursor) VALUES (?, ?, ?) "
                         "ON CONFLICT(source) DO UPDATE SET last_incremental = excluded.last_incremental, "
                         "cursor = COALESCE(excluded.cursor, cursor)", (source, time.time(), stamp))
        return len(rows)

    def library_tracks(self, source: str) -> list[Track]:
        rows = self.query("SELECT * FROM library_tracks WHERE source = ?", (source,))
        return [self._library_track(r) for r in rows]

    def library_file_stats(self, source: str) -> dict[str, tuple[float | None, int | None]]:
        """key -> (mtime, size), for incremental folder scans."""
        rows = self.query("SELECT key, mtime, size FROM library_tracks WHERE source = ?", (source,))
        return {r["key"]: (r["mtime"], r["size"]) for r in rows}

    def library_meta(self, source: str) -> dict[str, Any]:
        rows = self.query("SELECT * FROM library_meta WHERE source = ?", (source,))
        return dict(rows[0]) if rows else {}

    def count_library(self, source: str | None = None) -> int:
        if source is None:
            return self.query("SELECT COUNT(*) FROM library_tracks")[0][0]
        return self.query("SELECT COUNT(*) FROM library_tracks WHERE source = ?", (source,))[0][0]

    @staticmethod
    def _library_row(source: str, t: Track, stat: tuple[float, int] | None) -> tuple:
        key = t.plex_rating_key or t.path or f"{t.artist}|{t.album}|{t.title}"
        mtime, size = stat or (None, None)
        return (source, key, t.title, json.dumps(t.artists, ensure_ascii=False), t.album, t.album_artist,
                t.duration_ms, t.track_number, t.disc_number, t.year, t.isrc, t.path,
                mtime, size, None, time.time())

    @staticmethod
    def _library_track(row: sqlite3.Row) -> Track:
        try:
            artists = json.loads(row["artists"])
        except ValueError:
            artists = [row["artists"]]
        return Track(title=row["title"], artists=artists, album=row["album"], duration_ms=row["duration_ms"],
                     isrc=row["isrc"], album_artist=row["album_artist"], track_number=row["track_number"],
                     disc_number=row["disc_number"], year=row["year"], path=row["path"],
                     plex_rating_key=row["key"] if row["source"] == "plex" else None)

    # ---- library: unreadable files (kept by the folder scan) ---------------------------
    def library_unreadable(self, source: str) -> dict[str, tuple[float, int, str]]:
        """Files of ``source`` that could not be read: key -> (mtime, size, reason)."""
        rows = self.query("SELECT key, mtime, size, reason FROM library_unreadable WHERE source = ?", (source,))
        return {r["key"]: (r["mtime"], r["size"], r["reason"]) for r in rows}

    def save_library_unreadable(self, source: str, files: dict[str, tuple[float, int, str]],
                                replace: bool = True) -> None:
        """Record the unreadable files of ``source``: all of them (``replace``), or these in addition."""
        with self.transaction() as conn:
            if replace:
                conn.execute("DELETE FROM library_unreadable WHERE source = ?", (source,))
            conn.executemany("INSERT OR REPLACE INTO library_unreadable (source, key, mtime, size, reason)"
                             " VALUES (?,?,?,?,?)", [(source, k, m, z, r) for k, (m, z, r) in files.items()])

    # ---- playlists ------------------------------------------------------------
    def save_playlists(self, playlists: list[Playlist]) -> None:
        """Store the playlist list (not their tracks), keeping fetched tracks of unchanged ones."""
        now = time.time()
        with self.transaction() as conn:
            keep = {p.id for p in playlists}
            for row in conn.execute("SELECT id, source FROM playlists").fetchall():
                if row["id"] not in keep and row["source"] in ("spotify", "liked"):
                    conn.execute("DELETE FROM playlists WHERE id = ?", (row["id"],))
            for pos, p in enumerate(playlists):
                conn.execute(
                    "INSERT INTO playlists (id, name, owner, snapshot_id, track_count, count_unknown, image_url,"
                    " source, description, collaborative, position, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
                    " ON CONFLICT(id) DO UPDATE SET"
                    " name=excluded.name, owner=excluded.owner, snapshot_id=excluded.snapshot_id,"
                    " track_count=excluded.track_count, count_unknown=excluded.count_unknown,"
                    " image_url=excluded.image_url, source=excluded.source,"
                    " description=excluded.description, collaborative=excluded.collaborative,"
                    " position=excluded.position, updated_at=excluded.updated_at",
                    (p.id, p.name, p.owner, p.snapshot_id, p.track_count or 0, int(p.track_count is None),
                     p.image_url, p.source, p.description, int(p.collaborative), pos, now))

    def save_playlist_tracks(self, playlist: Playlist) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO playlists (id, name, owner, snapshot_id, track_count, image_url, source, description,"
                " collaborative, position, updated_at) VALUES (?,?,?,?,?,?,?,?,?,"
                " COALESCE((SELECT MAX(position) + 1 FROM playlists), 0), ?) ON CONFLICT(id) DO UPDATE SET"
                " track_count=excluded.track_count, snapshot_id=excluded.snapshot_id, count_unknown=0,"
                " unreadable=''",
                (playlist.id, playlist.name, playlist.owner, playlist.snapshot_id, len(playlist.tracks),
                 playlist.image_url, playlist.source, playlist.description, int(playlist.collaborative), time.time()))
            conn.execute("DELETE FROM playlist_tracks WHERE playlist_id = ?", (playlist.id,))
            conn.executemany("INSERT INTO playlist_tracks (playlist_id, position, track) VALUES (?, ?, ?)",
                             [(playlist.id, i, track_to_json(t)) for i, t in enumerate(playlist.tracks)])
            conn.execute("UPDATE playlists SET fetched_snapshot = snapshot_id WHERE id = ?", (playlist.id,))

    def playlists(self) -> list[Playlist]:
        rows = self.query("SELECT * FROM playlists ORDER BY position")
        return [Playlist(id=r["id"], name=r["name"], owner=r["owner"],
                         track_count=None if r["count_unknown"] else r["track_count"],
                         snapshot_id=r["snapshot_id"], image_url=r["image_url"], description=r["description"],
                         collaborative=bool(r["collaborative"]), source=r["source"], unreadable=r["unreadable"])
                for r in rows]

    def mark_playlist_unreadable(self, playlist_id: str, reason: str) -> None:
        """Record that a playlist's tracks cannot be read (``reason`` in words): tracks kept from an earlier
        read and its last analysis are dropped, so it never counts as complete or as having nothing missing."""
        with self.transaction() as conn:
            conn.execute("UPDATE playlists SET unreadable = ? WHERE id = ?", (reason, playlist_id))
            conn.execute("DELETE FROM playlist_tracks WHERE playlist_id = ?", (playlist_id,))
            conn.execute("DELETE FROM playlist_analysis WHERE playlist_id = ?", (playlist_id,))

    def playlist_needs_fetch(self, playlist_id: str) -> bool:
        rows = self.query("SELECT snapshot_id, fetched_snapshot FROM playlists WHERE id = ?", (playlist_id,))
        return not rows or rows[0]["fetched_snapshot"] is None or rows[0]["fetched_snapshot"] != rows[0]["snapshot_id"]

    def playlist_tracks(self, playlist_id: str) -> list[Track]:
        rows = self.query("SELECT track FROM playlist_tracks WHERE playlist_id = ? ORDER BY position", (playlist_id,))
        return [t for t in (track_from_json(r["track"]) for r in rows) if t is not None]

    def delete_playlist(self, playlist_id: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM playlists WHERE id = ?", (playlist_id,))

    def save_playlist_analysis(self, playlist_id: str, owned: int, missing: int) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO playlist_analysis (playlist_id, owned, missing, analysed_at)"
                         " VALUES (?,?,?,?)", (playlist_id, owned, missing, time.time()))

    def playlist_analysis(self) -> dict[str, tuple[int, int, float]]:
        """playlist id -> (owned, missing, analysed_at) of its last analysis."""
        return {r["playlist_id"]: (r["owned"], r["missing"], r["analysed_at"])
                for r in self.query("SELECT * FROM playlist_analysis")}

    def missing_total(self) -> int:
        """Missing tracks across analysed playlists that still exist."""
        return self.query("SELECT COALESCE(SUM(a.missing), 0) FROM playlist_analysis a"
                          " JOIN playlists p ON p.id = a.playlist_id")[0][0]

    # ---- artist metadata ---------------------------------------------------------------
    def save_artist_meta(self, name_key: str, name: str, spotify_id: str | None, genres: list[str],
                         image_url: str | None, followers: int | None, summary: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO artist_meta (name_key, name, spotify_id, genres, image_url,"
                         " followers, summary, updated_at) VALUES (?,?,?,?,?,?,?,?)",
                         (name_key, name, spotify_id, json.dumps(genres, ensure_ascii=False), image_url, followers,
                          summary, time.time()))

    def artist_meta(self, name_key: str) -> dict | None:
        rows = self.query("SELECT * FROM artist_meta WHERE name_key = ?", (name_key,))
        if not rows:
            return None
        data = dict(rows[0])
        try:
            data["genres"] = json.loads(data["genres"])
        except ValueError:
            data["genres"] = []
        return data

    # ---- overrides ---------------------------------------------------------------
    def set_override(self, wanted: Track, library_key: str | None) -> None:
        """Pin a wanted track to a library track (``None``: "not in library")."""
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO match_overrides (wanted_key, library_key, created_at) VALUES (?,?,?)",
                         (wanted_key(wanted), library_key, time.time()))

    def clear_override(self, wanted: Track) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM match_overrides WHERE wanted_key = ?", (wanted_key(wanted),))

    def overrides(self) -> dict[str, str | None]:
        return {r["wanted_key"]: r["library_key"] for r in self.query("SELECT * FROM match_overrides")}

    # ---- wishlist ----------------------------------------------------------------
    def add_to_wishlist(self, track: Track, reason: str, playlist_id: str | None = None,
                        now: float | None = None) -> None:
        """Put a track that could not be had on the wishlist, or count one more failed attempt of a track
        already there (``reason`` replaces the last one); ``now``: the attempt's time (default: the clock's)."""
        now = time.time() if now is None else now
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO wishlist (wanted_key, track, reason, attempts, playlist_id, added_at, last_attempt)"
                " VALUES (?,?,?,1,?,?,?) ON CONFLICT(wanted_key) DO UPDATE SET reason=excluded.reason,"
                " attempts=attempts+1, last_attempt=excluded.last_attempt",
                (wanted_key(track), track_to_json(track), reason, playlist_id, now, now))

    def remove_from_wishlist(self, track: Track) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM wishlist WHERE wanted_key = ?", (wanted_key(track),))

    def wishlist(self) -> list[tuple[Track, str, int]]:
        rows = self.query("SELECT * FROM wishlist ORDER BY added_at")
        return [(t, r["reason"], r["attempts"]) for r in rows if (t := track_from_json(r["track"])) is not None]

    def count_wishlist(self) -> int:
        return self.query("SELECT COUNT(*) FROM wishlist")[0][0]

    # ---- playlists SoulSync made on Plex ------------------------------------------------
    def plex_playlist(self, server_id: str, playlist_id: str) -> PlexPlaylistRecord | None:
        """The Plex playlist SoulSync created on ``server_id`` to mirror ``playlist_id``, if it remembers one."""
        rows = self.query("SELECT * FROM plex_playlists WHERE server_id = ? AND playlist_id = ?",
                          (server_id, playlist_id))
        if not rows:
            return None
        r = rows[0]
        return PlexPlaylistRecord(r["server_id"], r["playlist_id"], r["rating_key"], r["guid"], r["title"],
                                  bool(r["marked"]))

    def save_plex_playlist(self, record: PlexPlaylistRecord) -> None:
        """Remember a Plex playlist SoulSync just created (replacing the one remembered before)."""
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO plex_playlists (server_id, playlist_id, rating_key, guid, title,"
                         " marked, created_at) VALUES (?,?,?,?,?,?,?)",
                         (record.server_id, record.playlist_id, record.rating_key, record.guid, record.title,
                          int(record.marked), time.time()))

    def forget_plex_playlist(self, server_id: str, playlist_id: str) -> None:
        """Forget the remembered Plex playlist (it was deleted, or is no longer SoulSync's)."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM plex_playlists WHERE server_id = ? AND playlist_id = ?",
                         (server_id, playlist_id))

    # ---- activity ----------------------------------------------------------------
    def add_activity(self, kind: str, message: str, target: str = "") -> int:
        with self.transaction() as conn:
            cur = conn.execute("INSERT INTO activity (ts, kind, message, target) VALUES (?,?,?,?)",
                               (time.time(), kind, message, target))
            added = cur.lastrowid or 0  # always set after an INSERT
            conn.execute("DELETE FROM activity WHERE id <= ?", (added - ACTIVITY_LIMIT,))
            return added

    def activity(self, limit: int = 200) -> list[dict]:
        return [dict(r) for r in self.query("SELECT * FROM activity ORDER BY id DESC LIMIT ?", (limit,))]


_LIB_INSERT = ("INSERT INTO library_tracks (source, key, title, artists, album, album_artist, duration_ms,"
               " track_number, disc_number, year, isrc, path, mtime, size, added_at, updated_at)"
               " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
