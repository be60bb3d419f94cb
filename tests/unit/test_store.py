"""The SQLite store: queue, library, playlists, overrides, wishlist, activity."""
from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest

from soulsync.core.models import Playlist, Track
from soulsync.core.store import ACTIVITY_LIMIT, Store
from soulsync.core.store_records import PlexPlaylistRecord, QueueItem, QueueMeta, wanted_key


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "db.sqlite3")
    yield s
    s.close()


def track(title="Song", artist="Artist", **kw):
    return Track(title=title, artists=[artist], **kw)


def test_queue_round_trip_and_reopen(tmp_path):
    path = tmp_path / "q.sqlite3"
    s = Store(path)
    item = s.add_queue_item(QueueItem(id="", state="queued", username="u", filename="@@a\\b\\c.flac", size=10,
                                      wanted=track(spotify_id="abc"), candidates=[{"username": "v"}],
                                      meta=QueueMeta(cover_url="http://cover.example/x.jpg", refused=(("f", "a.flac", "fake"),))))
    item.state, item.percent = "in_progress", 42.5
    s.update_queue_item(item)
    s.close()
    again = Store(path)
    [loaded] = again.queue_items(finished=False)
    assert loaded.id == item.id and loaded.state == "in_progress" and loaded.percent == 42.5
    assert loaded.wanted.spotify_id == "abc" and loaded.candidates == [{"username": "v"}]
    assert loaded.meta == item.meta
    assert again.integrity_ok()


def test_same_active_file_cannot_be_queued_twice(store):
    store.add_queue_item(QueueItem(id="", state="queued", username="u", filename="f.mp3"))
    with pytest.raises(sqlite3.IntegrityError):
        store.add_queue_item(QueueItem(id="", state="queued", username="u", filename="f.mp3"))
    assert store.count_queue(finished=False) == 1


def test_finished_items_and_clear(store):
    a = store.add_queue_item(QueueItem(id="", state="queued", username="u", filename="a.mp3"))
    a.state, a.finished_at = "succeeded", 123.0
    store.update_queue_items([a])
    store.add_queue_item(QueueItem(id="", state="queued", username="u", filename="a.mp3"))  # allowed again
    assert store.count_queue(finished=True) == 1
    assert store.count_succeeded_since(100.0) == 1
    assert store.clear_finished() == 1
    assert store.count_queue(finished=True) == 0


def test_concurrent_writers_do_not_collide(store):
    def writer(n):
        for i in range(50):
            store.add_queue_item(QueueItem(id="", state="queued", username=f"u{n}", filename=f"{i}.flac"))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count_queue(finished=False) == 200


def test_library_full_and_incremental(store):
    tracks = [track(f"T{i}", plex_rating_key=str(i), duration_ms=1000 * i) for i in range(10)]
    assert store.replace_library("plex", tracks, stamp=100.0) == 10
    store.upsert_library("plex", [track("T3 new", plex_rating_key="3")], removed_keys=["4"], stamp=200.0)
    titles = {t.title for t in store.library_tracks("plex")}
    assert "T3 new" in titles and "T4" not in titles and len(titles) == 9
    assert store.library_meta("plex")["cursor"] == 200.0
    assert store.library_tracks("plex")[0].plex_rating_key is not None


def test_playlists_snapshot_tracking(store):
    p = Playlist(id="p1", name="Mix", snapshot_id="s1", track_count=2, tracks=[track("A"), track("B")])
    store.save_playlists([p])
    assert store.playlist_needs_fetch("p1")
    store.save_playlist_tracks(p)
    assert not store.playlist_needs_fetch("p1")
    assert [t.title for t in store.playlist_tracks("p1")] == ["A", "B"]
    p.snapshot_id = "s2"
    store.save_playlists([p])
    assert store.playlist_needs_fetch("p1")
    store.save_playlists([])
    assert store.playlists() == []


def test_overrides_and_wishlist(store):
    t = track("Wanted", spotify_id="sp1")
    store.set_override(t, "rk42")
    store.set_override(track("Other", isrc="usabc"), None)
    assert store.overrides() == {"spotify:sp1": "rk42", "isrc:USABC": None}
    store.add_to_wishlist(t, "no source found")
    store.add_to_wishlist(t, "still nothing")
    [(w, reason, attempts)] = store.wishlist()
    assert w.title == "Wanted" and reason == "still nothing" and attempts == 2
    store.remove_from_wishlist(t)
    assert store.count_wishlist() == 0


def test_activity_is_bounded_and_newest_first(store):
    for i in range(ACTIVITY_LIMIT + 20):
        store.add_activity("download", f"m{i}")
    rows = store.activity(limit=3)
    assert [r["message"] for r in rows] == [f"m{ACTIVITY_LIMIT + 19}", f"m{ACTIVITY_LIMIT + 18}", f"m{ACTIVITY_LIMIT + 17}"]
    assert store.query("SELECT COUNT(*) FROM activity")[0][0] <= ACTIVITY_LIMIT


def test_plex_playlists_soulsync_made_are_remembered_per_server_and_playlist(tmp_path):
    store = Store(tmp_path / "db.sqlite3")
    record = PlexPlaylistRecord("server-a", "sp-1", "5001", "com.plexapp.agents.none://x", "Mix (SoulSync)",
                                marked=False)
    store.save_plex_playlist(record)
    store.save_plex_playlist(PlexPlaylistRecord("server-b", "sp-1", "77", "", "Mix"))
    store.close()
    store = Store(tmp_path / "db.sqlite3")
    assert store.plex_playlist("server-a", "sp-1") == record
    assert store.plex_playlist("server-b", "sp-1").rating_key == "77"
    store.save_plex_playlist(PlexPlaylistRecord("server-a", "sp-1", "5002", "", "Mix (SoulSync)"))
    assert store.plex_playlist("server-a", "sp-1").rating_key == "5002"
    store.forget_plex_playlist("server-a", "sp-1")
    assert store.plex_playlist("server-a", "sp-1") is None and store.plex_playlist("server-b", "sp-1") is not None


def test_wanted_key_prefers_ids():
    assert wanted_key(track(spotify_id="x", isrc="y")) == "spotify:x"
    assert wanted_key(track(isrc="gb1")) == "isrc:GB1"
    assert wanted_key(track("Song", "Art", duration_ms=200400)) == "text:art|song|200"


def test_playlist_analysis_feeds_missing_total(store):
    store.save_playlists([Playlist(id="p1", name="A"), Playlist(id="p2", name="B")])
    store.save_playlist_analysis("p1", owned=8, missing=2)
    store.save_playlist_analysis("p2", owned=1, missing=5)
    store.save_playlist_analysis("gone", owned=0, missing=99)
    assert store.missing_total() == 7
    assert store.playlist_analysis()["p1"][:2] == (8, 2)


def test_deleted_successes_still_count_for_their_day(store):
    now = time.time()
    items = []
    for n, state in enumerate(["succeeded", "succeeded", "failed"]):
        item = store.add_queue_item(QueueItem(id="", state="queued", username="u", filename=f"{n}.mp3"))
        item.state, item.finished_at = state, now
        items.append(item)
    store.update_queue_items(items)
    midnight = time.mktime(time.localtime(now)[:3] + (0, 0, 0, 0, 0, -1))
    assert store.count_succeeded_since(midnight) == 2
    assert store.delete_queue_items([items[0].id, items[2].id]) == 2
    assert store.count_succeeded_since(midnight) == 2
    assert store.clear_finished() == 1
    assert store.count_queue(finished=True) == 0
    assert store.count_succeeded_since(midnight) == 2
    assert store.count_succeeded_since(midnight + 86400) == 0


def test_finished_beyond_keeps_the_newest_and_failed_ones_first(store):
    items = []
    for n in range(6):
        item = store.add_queue_item(QueueItem(id="", state="queued", username="u", filename=f"{n}.mp3"))
        item.state, item.finished_at = ("failed" if n == 0 else "succeeded"), 1000.0 + n
        items.append(item)
    store.update_queue_items(items)
    doomed = store.finished_beyond(3)
    # kept: the failed item (oldest, but failed) and the two newest successes
    assert set(doomed) == {items[1].id, items[2].id, items[3].id}
    assert store.finished_beyond(10) == []


def test_two_processes_opening_a_new_database_at_once_both_succeed(tmp_path):
    import subprocess
    import sys

    db = tmp_path / "fresh.sqlite3"
    code = ("import sys; from soulsync.core.store import Store; s = Store(sys.argv[1]); "
            "print(s.integrity_ok()); s.close()")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    assert all(out.strip() == "True" for out, _ in outs)


def test_queue_meta_of_older_rows_still_loads(tmp_path):
    """Rows written before the meta was typed load: keys nothing reads are left out, odd values ignored."""
    s = Store(tmp_path / "q.sqlite3")
    item = s.add_queue_item(QueueItem(id="", state="failed", username="u", filename="a.flac"))
    old = {"playlists": ["pl1"], "query": "Band Song", "album_folder": "A", "cover_url": "http://c/x.jpg",
           "release_date": 2001, "refused": [["f", "b.flac", "fake"], "nonsense"], "earlier_attempts": [["g", "c.flac"]]}
    with s.transaction() as conn:
        conn.execute("UPDATE queue SET meta = ? WHERE id = ?", (json.dumps(old), item.id))
    [loaded] = s.queue_items()
    assert loaded.meta == QueueMeta(cover_url="http://c/x.jpg", refused=(("f", "b.flac", "fake"),),
                                    earlier_attempts=(("g", "c.flac", ""),))
    with s.transaction() as conn:
        conn.execute("UPDATE queue SET meta = 'not json' WHERE id = ?", (item.id,))
    assert s.queue_items()[0].meta == QueueMeta()
