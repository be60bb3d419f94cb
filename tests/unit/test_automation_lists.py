"""The lists automation keeps: kept playlists and watched artists (and the releases found); a database from
before them gains their tables and keeps its data."""
from __future__ import annotations

import sqlite3

import pytest

from soulsync.core.kept_playlists import (
    DEFAULT_INTERVAL_S, KeptPlaylist, PlaylistKind, forget_kept_playlist, keep_playlist, kept_playlist,
    kept_playlists, note_synced, schedule_kept_playlists,
)
from soulsync.core.models import Track
from soulsync.core.scheduler import Scheduler
from soulsync.core.store import Store
from soulsync.core.store_schema import MIGRATIONS, SCHEMA_VERSION, split_sql
from soulsync.core.watched_artists import (
    DEFAULT_KINDS, FoundRelease, NewReleaseAction, ReleaseKind, WatchedArtist, found_releases, note_checked,
    record_releases, unwatch_artist, watch_artist, watched_artist, watched_artists,
)
from soulsync.core.wishlist_policy import wishlist_entries

T0 = 1_800_000_000.0


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "db.sqlite3")
    yield s
    s.close()


# ---- kept playlists -------------------------------------------------------------------------


def test_kept_playlists_are_added_listed_changed_and_forgotten(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    spotify = keep_playlist(store, KeptPlaylist("sp1", PlaylistKind.SPOTIFY, name="Road trip", added_at=T0))
    assert spotify.interval_s == DEFAULT_INTERVAL_S == 6 * 3600 and not spotify.mirror_to_plex
    assert spotify.job == "playlist:sp1"
    keep_playlist(store, KeptPlaylist("csv:x", PlaylistKind.FILE, name="Export", path="/music/x.csv",
                                      interval_s=3600, mirror_to_plex=True, added_at=T0 + 1))
    store.close()
    store = Store(tmp_path / "db.sqlite3")
    assert [(k.playlist_id, k.kind, k.path) for k in kept_playlists(store)] == [
        ("sp1", PlaylistKind.SPOTIFY, None), ("csv:x", PlaylistKind.FILE, "/music/x.csv")]
    assert forget_kept_playlist(store, "sp1") and not forget_kept_playlist(store, "sp1")
    assert kept_playlist(store, "sp1") is None and [k.playlist_id for k in kept_playlists(store)] == ["csv:x"]
    store.close()


def test_a_run_refreshes_only_what_changed(store):
    keep_playlist(store, KeptPlaylist("sp1", PlaylistKind.SPOTIFY))
    keep_playlist(store, KeptPlaylist("m3u:y", PlaylistKind.FILE, path="/y.m3u"))
    sp, m3u = kept_playlist(store, "sp1"), kept_playlist(store, "m3u:y")
    assert sp is not None and m3u is not None
    assert sp.changed(snapshot_id="s1") and m3u.changed(file_mtime=100.0)  # never synced
    note_synced(store, "sp1", snapshot_id="s1")
    note_synced(store, "m3u:y", file_mtime=100.0)
    sp, m3u = kept_playlist(store, "sp1"), kept_playlist(store, "m3u:y")
    assert sp is not None and m3u is not None
    assert not sp.changed(snapshot_id="s1") and sp.changed(snapshot_id="s2")
    assert not m3u.changed(file_mtime=100.0) and m3u.changed(file_mtime=101.5)


def test_changing_a_kept_playlist_keeps_what_its_last_run_saw_unless_the_file_moved(store):
    keep_playlist(store, KeptPlaylist("f", PlaylistKind.FILE, path="/a.csv", added_at=T0))
    note_synced(store, "f", file_mtime=50.0)
    changed = keep_playlist(store, KeptPlaylist("f", PlaylistKind.FILE, path="/a.csv", interval_s=600,
                                                mirror_to_plex=True))
    assert (changed.interval_s, changed.mirror_to_plex, changed.last_file_mtime) == (600, True, 50.0)
    assert changed.added_at == T0
    moved = keep_playlist(store, KeptPlaylist("f", PlaylistKind.FILE, path="/b.csv"))
    assert moved.path == "/b.csv" and moved.last_file_mtime is None and moved.changed(file_mtime=50.0)


def test_a_kept_file_needs_a_path_and_a_positive_interval(store):
    with pytest.raises(ValueError):
        keep_playlist(store, KeptPlaylist("f", PlaylistKind.FILE))
    with pytest.raises(ValueError):
        keep_playlist(store, KeptPlaylist("sp", PlaylistKind.SPOTIFY, interval_s=0))
    assert kept_playlists(store) == []


# ---- watched artists ------------------------------------------------------------------------


def test_watched_artists_are_added_listed_changed_and_removed(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    plain = watch_artist(store, WatchedArtist("a1", "Zola Jesus"))
    assert plain.kinds == DEFAULT_KINDS == {ReleaseKind.ALBUM, ReleaseKind.EP, ReleaseKind.SINGLE}
    assert plain.action is NewReleaseAction.WISHLIST and plain.last_checked is None and plain.added_at > 0
    watch_artist(store, WatchedArtist("a2", "ABBA", frozenset({ReleaseKind.ALBUM, ReleaseKind.LIVE}),
                                      NewReleaseAction.DOWNLOAD))
    store.close()
    store = Store(tmp_path / "db.sqlite3")
    assert [a.name for a in watched_artists(store)] == ["ABBA", "Zola Jesus"]
    abba = watched_artist(store, "a2")
    assert abba is not None and abba.kinds == {ReleaseKind.ALBUM, ReleaseKind.LIVE}
    assert abba.action is NewReleaseAction.DOWNLOAD
    changed = watch_artist(store, WatchedArtist("a2", "ABBA", DEFAULT_KINDS | {ReleaseKind.COMPILATION}))
    assert ReleaseKind.COMPILATION in changed.kinds and changed.action is NewReleaseAction.WISHLIST
    assert unwatch_artist(store, "a2") and not unwatch_artist(store, "a2")
    assert [a.spotify_id for a in watched_artists(store)] == ["a1"]
    store.close()


def test_a_check_remembers_its_time_and_the_newest_release_date(store):
    watch_artist(store, WatchedArtist("a1", "Artist"))
    note_checked(store, "a1", T0, "2026-03-01")
    note_checked(store, "a1", T0 + 10, "2025-12-31")  # older: the newest stays
    note_checked(store, "a1", T0 + 20)  # nothing found
    artist = watched_artist(store, "a1")
    assert artist is not None and (artist.last_checked, artist.last_release_date) == (T0 + 20, "2026-03-01")
    note_checked(store, "a1", T0 + 30, "2026-03-14")
    artist = watched_artist(store, "a1")
    assert artist is not None and artist.last_release_date == "2026-03-14"
    watch_artist(store, WatchedArtist("a1", "Artist renamed"))  # changing it keeps what the checks saw
    artist = watched_artist(store, "a1")
    assert artist is not None and artist.last_release_date == "2026-03-14" and artist.name == "Artist renamed"


def test_releases_found_are_recorded_once_and_go_with_their_artist(store):
    watch_artist(store, WatchedArtist("a1", "Artist"))
    single = FoundRelease("a1", "r1", "New Single", ReleaseKind.SINGLE, "2026-03-14", T0)
    album = FoundRelease("a1", "r2", "New Album", ReleaseKind.ALBUM, "2026-03-14", T0)
    stranger = FoundRelease("nobody", "r3", "Other", ReleaseKind.ALBUM, "2026-03-14", T0)
    assert record_releases(store, [single, stranger]) == [single]
    assert record_releases(store, [single, album]) == [album]  # the same release is new only once
    assert {r.release_id for r in found_releases(store, "a1")} == {"r1", "r2"}
    assert found_releases(store)[0].kind in (ReleaseKind.SINGLE, ReleaseKind.ALBUM)
    unwatch_artist(store, "a1")
    assert found_releases(store) == []


# ---- migrations ----------------------------------------------------------------------------


def test_a_database_from_before_automation_gains_its_tables_and_keeps_its_data(tmp_path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:8]:
        for statement in split_sql(script):
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 8")
    conn.execute("INSERT INTO wishlist (wanted_key, track, reason, attempts, added_at, last_attempt)"
                 " VALUES ('spotify:x', ?, 'not found', 3, ?, ?)",
                 ('{"title": "Old", "artists": ["Someone"], "spotify_id": "x"}', T0, T0 + 60))
    conn.commit()
    conn.close()

    store = Store(path)
    assert store.query("PRAGMA user_version")[0][0] == SCHEMA_VERSION == 12
    [entry] = wishlist_entries(store)
    assert (entry.track, entry.attempts, entry.reason) == (Track("Old", ["Someone"], spotify_id="x"), 3, "not found")
    assert entry.next_attempt == T0 + 60 + 24 * 3600 and entry.failed_sources == ()
    assert kept_playlists(store) == [] and watched_artists(store) == []
    assert store.query("SELECT paused FROM schedule_state")[0][0] == 0
    store.close()


def test_the_scheduler_gets_a_job_per_kept_playlist_and_none_for_one_no_longer_kept(tmp_path):
    clock = [T0]
    store = Store(tmp_path / "db.sqlite3")
    sched = Scheduler(store, lambda: clock[0])
    ran: list[str] = []

    def action_for(kept: KeptPlaylist):
        return lambda: ran.append(kept.playlist_id)

    sched.add("wishlist", lambda: "wishlist done", interval_s=3600)
    keep_playlist(store, KeptPlaylist("a", PlaylistKind.SPOTIFY, interval_s=3600))
    keep_playlist(store, KeptPlaylist("b", PlaylistKind.SPOTIFY, interval_s=7200))
    schedule_kept_playlists(sched, store, action_for)
    assert sched.names() == ["wishlist", "playlist:a", "playlist:b"]
    sched.run_due()  # newly kept playlists are synced at once
    assert sorted(ran) == ["a", "b"]
    store.close()

    store = Store(tmp_path / "db.sqlite3")  # "soulsync keep remove b" while the app was closed
    forget_kept_playlist(store, "b")
    sched = Scheduler(store, lambda: clock[0])
    sched.add("wishlist", lambda: "wishlist done", interval_s=3600)
    schedule_kept_playlists(sched, store, action_for)
    assert sched.names(persisted=True) == ["wishlist", "playlist:a"]
    assert sched.history("playlist:b") == [] and len(sched.history("playlist:a")) == 1
    assert [j.interval_s for j in sched.jobs() if j.name == "playlist:a"] == [3600]
    store.close()
