"""The wishlist retried by itself, with a fake clock: backoff steps, keeps failing, failed sources not asked
again, persistence across restarts, tracks from before the policy existed."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from soulsync.core.models import Track
from soulsync.core.store import Store
from soulsync.core.wishlist_policy import (
    DAY_S, HOUR_S, KEEPS_FAILING_AFTER, WEEK_S, RetryPolicy, due_wishlist, failed_sources, record_failure,
    reset_attempts, waiting_keys, wishlist_entries, without_failed_sources,
)

T0 = 1_800_000_000.0


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "db.sqlite3")
    yield s
    s.close()


def track(title: str = "Song", sid: str = "sp1") -> Track:
    return Track(title=title, artists=["Artist"], spotify_id=sid)


def test_the_backoff_steps_are_an_hour_six_hours_a_day_then_weekly():
    policy = RetryPolicy()
    assert [policy.delay_after(n) for n in range(0, 7)] == [0, HOUR_S, 6 * HOUR_S, DAY_S, WEEK_S, WEEK_S, WEEK_S]
    assert KEEPS_FAILING_AFTER == 8
    assert not policy.keeps_failing(7) and policy.keeps_failing(8)


def test_each_failure_waits_its_step_before_the_track_is_due_again(store):
    t = track()
    now = T0
    for wait in (HOUR_S, 6 * HOUR_S, DAY_S, WEEK_S, WEEK_S):
        entry = record_failure(store, t, "not found on Soulseek", now)
        assert entry.next_attempt == now + wait and not entry.keeps_failing
        assert due_wishlist(store, now + wait - 1) == []
        assert [e.key for e in due_wishlist(store, now + wait)] == ["spotify:sp1"]
        now += wait
    assert entry.attempts == 5 and entry.reason == "not found on Soulseek" and entry.last_attempt == now - WEEK_S


def test_a_run_missed_for_weeks_tries_a_due_track_once(store):
    record_failure(store, track(), "nothing", T0)
    later = T0 + 10 * WEEK_S
    [entry] = due_wishlist(store, later)
    entry = record_failure(store, entry.track, "still nothing", later)
    assert entry.attempts == 2 and entry.next_attempt == later + 6 * HOUR_S
    assert due_wishlist(store, later + 1) == []


def test_after_n_failures_a_track_keeps_failing_and_is_no_longer_tried(store):
    t = track()
    policy = RetryPolicy(keeps_failing_after=3)
    now = T0
    for _ in range(2):
        entry = record_failure(store, t, "nothing", now, policy=policy)
        now = entry.next_attempt or now
    entry = record_failure(store, t, "the peer is offline", now, policy=policy)
    assert entry.keeps_failing and entry.next_attempt is None and entry.attempts == 3
    assert due_wishlist(store, now + 100 * WEEK_S, policy) == []
    assert waiting_keys(store, now + 100 * WEEK_S, policy) == {"spotify:sp1"}
    [shown] = wishlist_entries(store, policy)
    assert shown.keeps_failing and shown.reason == "the peer is offline"
    # with the default limit (8) the same track is retried
    assert [e.key for e in due_wishlist(store, now + DAY_S)] == ["spotify:sp1"]


def test_another_chance_makes_it_due_at_once(store):
    t = track()
    policy = RetryPolicy(keeps_failing_after=1)
    assert record_failure(store, t, "nothing", T0, policy=policy).keeps_failing
    reset_attempts(store, [t])
    [entry] = due_wishlist(store, T0, policy)
    assert entry.attempts == 0 and not entry.keeps_failing
    assert record_failure(store, t, "nothing again", T0 + 5, policy=policy).keeps_failing


def test_failed_sources_are_remembered_and_left_out(store):
    t = track()
    record_failure(store, t, "every source failed", T0,
                   failed_sources=[["alice", "Music\\a.flac", "the peer is offline"], ["bob", "b.mp3", "refused"]])
    record_failure(store, t, "every source failed", T0 + HOUR_S,
                   failed_sources=[["bob", "b.mp3", "timed out"], ["carol", "c.flac"]])
    assert failed_sources(store, t) == {("alice", "Music\\a.flac"), ("bob", "b.mp3"), ("carol", "c.flac")}
    [entry] = wishlist_entries(store)
    assert {(s.username, s.reason) for s in entry.failed_sources} == {
        ("alice", "the peer is offline"), ("bob", "timed out"), ("carol", "")}

    @dataclass
    class Found:
        username: str
        filename: str

    found = [Found("bob", "b.mp3"), Found("dave", "d.flac"), Found("alice", "Music\\a.flac"), Found("bob", "x.mp3")]
    assert without_failed_sources(found, entry.skip) == [Found("dave", "d.flac"), Found("bob", "x.mp3")]
    assert failed_sources(store, track("Other", "sp2")) == frozenset()


def test_a_track_leaving_the_wishlist_takes_its_failed_sources_along(store):
    t = track()
    record_failure(store, t, "x", T0, failed_sources=[["alice", "a.flac", "offline"]])
    store.remove_from_wishlist(t)
    assert failed_sources(store, t) == frozenset()
    assert store.query("SELECT COUNT(*) FROM wishlist_failed_sources")[0][0] == 0


def test_the_retry_state_survives_a_restart(tmp_path):
    first = Store(tmp_path / "db.sqlite3")
    record_failure(first, track(), "nothing", T0, failed_sources=[["alice", "a.flac", "offline"]])
    record_failure(first, track(), "nothing", T0 + HOUR_S)
    first.close()
    second = Store(tmp_path / "db.sqlite3")
    [entry] = wishlist_entries(second)
    assert entry.attempts == 2 and entry.next_attempt == T0 + 7 * HOUR_S and entry.skip == {("alice", "a.flac")}
    second.close()


def test_tracks_a_sync_run_put_on_the_wishlist_follow_the_same_rules(store):
    store.add_to_wishlist(track("Old", "sp-old"), "not found on Soulseek", "pl1", now=T0)
    [entry] = wishlist_entries(store)
    assert entry.attempts == 1 and entry.playlist_id == "pl1" and entry.next_attempt == T0 + HOUR_S
    assert waiting_keys(store, T0) == {"spotify:sp-old"}
    assert waiting_keys(store, T0 + HOUR_S) == set()


def test_the_longest_waiting_track_comes_first(store):
    record_failure(store, track("A", "a"), "x", T0)  # due at T0 + 1 h
    record_failure(store, track("B", "b"), "x", T0 - 2 * HOUR_S)  # due at T0 - 1 h
    record_failure(store, track("C", "c"), "x", T0 + 5 * HOUR_S)  # not due at T0 + 1 h
    assert [e.track.title for e in due_wishlist(store, T0 + HOUR_S)] == ["B", "A"]
