"""The store's schema: its numbered migrations, applied in order and recorded in ``PRAGMA user_version``.

A migration is never edited once released (a database that ran it would not run it again); a change is a new
migration appended at the end, with a comment saying what it does and why.
"""
from __future__ import annotations

from collections.abc import Iterator

MIGRATIONS: list[str] = [
    # 1: initial schema
    """
    CREATE TABLE queue (
        id TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        finished_at REAL,
        state TEXT NOT NULL,
        wanted TEXT,                -- JSON Track we want (None for a plain download)
        username TEXT NOT NULL,
        filename TEXT NOT NULL,
        size INTEGER NOT NULL DEFAULT 0,
        slskd_id TEXT,
        attempt INTEGER NOT NULL DEFAULT 1,
        reason TEXT NOT NULL DEFAULT '',
        bytes_done INTEGER NOT NULL DEFAULT 0,
        percent REAL NOT NULL DEFAULT 0,
        speed REAL NOT NULL DEFAULT 0,
        place_in_queue INTEGER,
        last_progress_at REAL,
        local_path TEXT,
        final_path TEXT,
        source TEXT NOT NULL DEFAULT 'manual',
        group_id TEXT,
        candidates TEXT NOT NULL DEFAULT '[]',   -- JSON list of fallback candidates
        tried TEXT NOT NULL DEFAULT '[]',        -- JSON list of [username, filename, why]
        meta TEXT NOT NULL DEFAULT '{}'          -- JSON: matched metadata, album info, post-processing notes
    );
    CREATE INDEX queue_state ON queue(state);
    CREATE UNIQUE INDEX queue_active_file ON queue(username, filename) WHERE finished_at IS NULL;

    CREATE TABLE library_tracks (
        source TEXT NOT NULL,
        key TEXT NOT NULL,
        title TEXT NOT NULL,
        artists TEXT NOT NULL,
        album TEXT NOT NULL DEFAULT '',
        album_artist TEXT NOT NULL DEFAULT '',
        duration_ms INTEGER,
        track_number INTEGER,
        disc_number INTEGER,
        year INTEGER,
        isrc TEXT,
        path TEXT,
        mtime REAL,
        size INTEGER,
        added_at REAL,
        updated_at REAL,
        PRIMARY KEY (source, key)
    );
    CREATE TABLE library_meta (
        source TEXT PRIMARY KEY,
        last_full REAL,
        last_incremental REAL,
        cursor REAL
    );

    CREATE TABLE playlists (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        owner TEXT NOT NULL DEFAULT '',
        snapshot_id TEXT NOT NULL DEFAULT '',
        track_count INTEGER NOT NULL DEFAULT 0,
        image_url TEXT,
        source TEXT NOT NULL DEFAULT 'spotify',
        description TEXT NOT NULL DEFAULT '',
        collaborative INTEGER NOT NULL DEFAULT 0,
        position INTEGER NOT NULL DEFAULT 0,
        fetched_snapshot TEXT,
        updated_at REAL NOT NULL
    );
    CREATE TABLE playlist_tracks (
        playlist_id TEXT NOT NULL REFERENCES playlists(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        track TEXT NOT NULL,
        PRIMARY KEY (playlist_id, position)
    );

    CREATE TABLE match_overrides (
        wanted_key TEXT PRIMARY KEY,
        library_key TEXT,           -- NULL: "not in library"
        created_at REAL NOT NULL
    );

    CREATE TABLE wishlist (
        wanted_key TEXT PRIMARY KEY,
        track TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        attempts INTEGER NOT NULL DEFAULT 0,
        playlist_id TEXT,
        added_at REAL NOT NULL,
        last_attempt REAL
    );

    CREATE TABLE activity (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts REAL NOT NULL,
        kind TEXT NOT NULL,
        message TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX activity_ts ON activity(ts);
    """,
    # 2: the last analysis of each playlist (for the dashboard's missing count)
    """
    CREATE TABLE playlist_analysis (
        playlist_id TEXT PRIMARY KEY,
        owned INTEGER NOT NULL,
        missing INTEGER NOT NULL,
        analysed_at REAL NOT NULL
    );
    """,
    # 3: every slskd transfer id the download queue was given, so a transfer is never adopted twice
    """
    CREATE TABLE queue_transfers (
        slskd_id TEXT PRIMARY KEY,
        item_id TEXT NOT NULL,
        recorded_at REAL NOT NULL
    );
    """,
    # 4: library files that could not be read, so an unchanged one is not read again on every scan
    """
    CREATE TABLE library_unreadable (
        source TEXT NOT NULL,
        key TEXT NOT NULL,
        mtime REAL NOT NULL,
        size INTEGER NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (source, key)
    );
    """,
    # 5: artist facts fetched from Spotify ("Update metadata" on the Artists page)
    """
    CREATE TABLE artist_meta (
        name_key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        spotify_id TEXT,
        genres TEXT NOT NULL DEFAULT '[]',
        image_url TEXT,
        followers INTEGER,
        summary TEXT NOT NULL DEFAULT '',
        updated_at REAL NOT NULL
    );
    """,
    # 6: succeeded downloads whose queue rows were deleted (Clear finished, Remove, the retention limit),
    #    counted by local day, so "downloaded today" survives the deletion
    """
    CREATE TABLE download_days (
        day TEXT PRIMARY KEY,
        succeeded INTEGER NOT NULL DEFAULT 0
    );
    """,
    # 7: playlists whose entry count the service did not give, and those whose tracks it will not hand over
    #    (Spotify's development mode), with the reason in words
    """
    ALTER TABLE playlists ADD COLUMN count_unknown INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE playlists ADD COLUMN unreadable TEXT NOT NULL DEFAULT '';
    """,
    # 8: the playlists SoulSync created on a Plex server (its own; never the user's), per mirrored playlist
    """
    CREATE TABLE plex_playlists (
        server_id TEXT NOT NULL,    -- the server's machineIdentifier
        playlist_id TEXT NOT NULL,  -- the mirrored playlist (playlists.id)
        rating_key TEXT NOT NULL,
        guid TEXT NOT NULL DEFAULT '',
        title TEXT NOT NULL,
        marked INTEGER NOT NULL DEFAULT 1,  -- the server kept SoulSync's marker in the summary
        created_at REAL NOT NULL,
        PRIMARY KEY (server_id, playlist_id)
    );
    """,
    # 9: the scheduler (soulsync.core.scheduler): each job's next run, the global pause, the runs it made
    """
    CREATE TABLE schedule_jobs (
        name TEXT PRIMARY KEY,      -- "wishlist", "artists", "playlist:<id>"
        next_run REAL NOT NULL      -- epoch seconds
    );
    CREATE TABLE schedule_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        paused INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO schedule_state (id, paused) VALUES (1, 0);
    CREATE TABLE schedule_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job TEXT NOT NULL,
        started_at REAL NOT NULL,
        ended_at REAL,              -- NULL while it runs (or when the app stopped during it)
        outcome TEXT NOT NULL,
        summary TEXT NOT NULL DEFAULT '',
        manual INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX schedule_runs_job ON schedule_runs(job, id);
    """,
    # 10: playlists kept in sync on a schedule (soulsync.core.kept_playlists)
    """
    CREATE TABLE kept_playlists (
        playlist_id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL,         -- "spotify" or "file"
        path TEXT,                  -- the CSV/M3U file re-read on every run (kind "file")
        interval_s REAL NOT NULL,
        mirror_to_plex INTEGER NOT NULL DEFAULT 0,
        last_snapshot_id TEXT,      -- Spotify's snapshot id at the last run
        last_file_mtime REAL,       -- the file's mtime at the last run
        added_at REAL NOT NULL
    );
    """,
    # 11: artists watched for new releases, and the releases found (soulsync.core.watched_artists)
    """
    CREATE TABLE watched_artists (
        spotify_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kinds TEXT NOT NULL,        -- JSON list of release kinds to include
        action TEXT NOT NULL,       -- "wishlist" or "download"
        last_checked REAL,
        last_release_date TEXT,     -- the newest release date seen, as Spotify gives it
        added_at REAL NOT NULL
    );
    CREATE TABLE watched_releases (
        artist_id TEXT NOT NULL REFERENCES watched_artists(spotify_id) ON DELETE CASCADE,
        release_id TEXT NOT NULL,
        title TEXT NOT NULL,
        kind TEXT NOT NULL,
        release_date TEXT NOT NULL DEFAULT '',
        found_at REAL NOT NULL,
        PRIMARY KEY (artist_id, release_id)
    );
    """,
    # 12: the sources (peer and file) that failed for a wishlist track, never asked again for it
    #     (soulsync.core.wishlist_policy)
    """
    CREATE TABLE wishlist_failed_sources (
        wanted_key TEXT NOT NULL REFERENCES wishlist(wanted_key) ON DELETE CASCADE,
        username TEXT NOT NULL,
        filename TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        failed_at REAL NOT NULL,
        PRIMARY KEY (wanted_key, username, filename)
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def split_sql(script: str) -> Iterator[str]:
    """Split a migration script into statements (no semicolons inside our statements' strings)."""
    for part in script.split(";"):
        lines = [ln.split("--", 1)[0] for ln in part.strip().splitlines()]
        statement = "\n".join(lines).strip()
        if statement:
            yield statement
