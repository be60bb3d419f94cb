"""Mirroring playlists on Plex (PlaylistMirror over PlexClient) against the Plex simulation, whose account
already holds playlists the user made (reference 3.6): they are never changed, and SoulSync finds its own."""
from __future__ import annotations

from pathlib import Path

import pytest
from plexapi.server import PlexServer

from soulsync.core.store import Store
from soulsync.services.errors import ServiceError
from soulsync.services.plex import PlexClient
from soulsync.services.plex_mirror import PlaylistMirror, marker


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "db.sqlite3")


@pytest.fixture
def mirror(plex_sim, store) -> PlaylistMirror:
    return PlaylistMirror(PlexClient(plex_sim.url, plex_sim.token, timeout=5.0), store)


@pytest.fixture
def keys(plex_sim) -> list[str]:
    return [t.plex_rating_key or "" for t in plex_sim.tracks()[100:112]]


def _by_title(plex_sim) -> dict[tuple[str, bool, str], tuple[str, str, list[str]]]:
    """(title, smart, type) -> (rating key, summary, item keys) of every playlist on the server."""
    return {(p.title, p.smart, p.playlist_type): (p.rating_key, p.summary, p.item_keys) for p in plex_sim.playlists()}


def test_the_users_playlist_with_the_same_title_is_left_alone(plex_sim, mirror, keys) -> None:
    before = _by_title(plex_sim)
    first = mirror.mirror("sp-rainy", "Chill — Rainy Days", keys)
    assert (first.action, first.title, first.user_playlist) == ("created", "Chill — Rainy Days (SoulSync)",
                                                               "Chill — Rainy Days")
    assert "Your own Plex playlist 'Chill — Rainy Days' (not made by SoulSync) was left untouched" in first.message
    extra = plex_sim.tracks()[200].plex_rating_key or ""
    for wanted, action in ((keys[::-1], "recreated"), (keys[::-1] + [extra], "appended")):
        again = mirror.mirror("sp-rainy", "Chill — Rainy Days", wanted)
        assert (again.action, again.title, again.user_playlist) == (action, "Chill — Rainy Days (SoulSync)",
                                                                   "Chill — Rainy Days")
    after = _by_title(plex_sim)
    for kind, state in before.items():
        assert after[kind] == state  # same rating key, summary and items
    assert plex_sim.playlist_rating_keys("Chill — Rainy Days (SoulSync)") == keys[::-1] + [extra]


def test_a_smart_playlist_with_the_same_title_is_left_alone(plex_sim, mirror, keys) -> None:
    before = _by_title(plex_sim)[("Late Night Drive", True, "audio")]
    result = mirror.mirror("sp-late", "Late Night Drive", keys)
    assert (result.action, result.title) == ("created", "Late Night Drive (SoulSync)")
    assert _by_title(plex_sim)[("Late Night Drive", True, "audio")] == before
    assert plex_sim.playlist_rating_keys("Late Night Drive (SoulSync)") == keys


def test_partial_title_matches_do_not_confuse_it(plex_sim, mirror, keys) -> None:
    """``/playlists?title=Road Trip '19`` also returns "Road Trip '19 — the long way"; that one is not a clash."""
    before = _by_title(plex_sim)
    result = mirror.mirror("sp-road", "Road Trip '19", keys)
    assert (result.action, result.title, result.user_playlist) == ("created", "Road Trip '19", None)
    assert "left untouched" not in result.message
    assert _by_title(plex_sim)[("Road Trip '19 — the long way", False, "audio")] == \
        before[("Road Trip '19 — the long way", False, "audio")]
    assert mirror.mirror("sp-road", "Road Trip '19", keys[:6]).action == "recreated"
    assert plex_sim.playlist_rating_keys("Road Trip '19") == keys[:6]


def test_its_own_playlist_is_marked_remembered_and_kept_in_step(plex_sim, mirror, store, keys) -> None:
    created = mirror.mirror("sp-fresh", "Fresh Finds Weekly", keys[:5])
    record = store.plex_playlist(plex_sim.machine_identifier, "sp-fresh")
    assert record is not None and (record.rating_key, record.title, record.marked) == (
        created.rating_key, "Fresh Finds Weekly", True)
    plex = PlexServer(plex_sim.url, plex_sim.token)
    ours = plex.fetchItem(f"/playlists/{created.rating_key}")  # what plexapi reads back
    assert marker("sp-fresh") in ours.summary and ours.smart is False and ours.playlistType == "audio"
    assert ours.guid == record.guid
    grown = mirror.mirror("sp-fresh", "Fresh Finds Weekly", keys[:8])
    assert (grown.action, grown.rating_key) == ("appended", created.rating_key)
    same = mirror.mirror("sp-fresh", "Fresh Finds Weekly", keys[:8])
    assert (same.action, same.rating_key) == ("unchanged", created.rating_key)
    reordered = mirror.mirror("sp-fresh", "Fresh Finds Weekly", keys[:8][::-1])
    assert reordered.action == "recreated" and reordered.rating_key != created.rating_key
    assert store.plex_playlist(plex_sim.machine_identifier, "sp-fresh").rating_key == reordered.rating_key
    assert plex_sim.playlist_titles().count("Fresh Finds Weekly") == 1


def test_a_lost_store_finds_its_playlist_by_the_marker(plex_sim, mirror, tmp_path, keys) -> None:
    created = mirror.mirror("sp-fresh", "Fresh Finds Weekly", keys)
    fresh_store = Store(tmp_path / "new.sqlite3")
    again = PlaylistMirror(mirror.client, fresh_store).mirror("sp-fresh", "Fresh Finds Weekly", keys)
    assert (again.action, again.rating_key, again.title) == ("unchanged", created.rating_key, "Fresh Finds Weekly")
    assert fresh_store.plex_playlist(plex_sim.machine_identifier, "sp-fresh").rating_key == created.rating_key


def test_a_playlist_the_user_took_over_is_no_longer_touched(plex_sim, mirror, store, keys) -> None:
    """Renamed by the user, or its marker removed: it is the user's now; SoulSync makes a new one."""
    created = mirror.mirror("sp-fresh", "Fresh Finds Weekly", keys)
    plex = PlexServer(plex_sim.url, plex_sim.token)
    plex.fetchItem(f"/playlists/{created.rating_key}").editSummary("mine now")
    taken = mirror.mirror("sp-fresh", "Fresh Finds Weekly", keys[:3])
    assert (taken.action, taken.title, taken.user_playlist) == ("created", "Fresh Finds Weekly (SoulSync)",
                                                               "Fresh Finds Weekly")
    kept = next(p for p in plex_sim.playlists() if p.rating_key == created.rating_key)
    assert (kept.summary, kept.item_keys) == ("mine now", keys)
    plex.fetchItem(f"/playlists/{taken.rating_key}").editTitle("Renamed by me")
    third = mirror.mirror("sp-fresh", "Fresh Finds Weekly", keys[:2])
    assert third.title == "Fresh Finds Weekly (SoulSync)" and third.rating_key != taken.rating_key
    assert plex_sim.playlist_rating_keys("Renamed by me") == keys[:3]


def test_a_deleted_own_playlist_is_created_again(plex_sim, mirror, keys) -> None:
    created = mirror.mirror("sp-fresh", "Fresh Finds Weekly", keys)
    PlexServer(plex_sim.url, plex_sim.token).fetchItem(f"/playlists/{created.rating_key}").delete()
    again = mirror.mirror("sp-fresh", "Fresh Finds Weekly", keys)
    assert again.action == "created" and again.title == "Fresh Finds Weekly"


def test_a_server_that_drops_the_summary_still_knows_its_playlist_by_key(plex_sim, mirror, store, keys) -> None:
    """Whether PMS keeps a playlist's summary is unverified (reference 3.6): if it does not, the stored rating key
    and guid (with the title and kind) still identify SoulSync's playlist, and nothing is duplicated."""
    plex_sim.faults.add("status", status=200, match=r"^PUT /playlists/\d+$")  # answered, not stored
    created = mirror.mirror("sp-fresh", "Fresh Finds Weekly", keys)
    assert store.plex_playlist(plex_sim.machine_identifier, "sp-fresh").marked is False
    again = mirror.mirror("sp-fresh", "Fresh Finds Weekly", keys[:4])
    assert (again.action, again.title) == ("recreated", "Fresh Finds Weekly")
    assert plex_sim.playlist_titles().count("Fresh Finds Weekly") == 1 and created.rating_key != again.rating_key


def test_an_unmarkable_new_playlist_is_removed_again(plex_sim, mirror, store, keys) -> None:
    plex_sim.faults.add("status", status=500, match=r"^PUT /playlists/\d+$", count=1)
    with pytest.raises(ServiceError):
        mirror.mirror("sp-fresh", "Fresh Finds Weekly", keys)
    assert "Fresh Finds Weekly" not in plex_sim.playlist_titles()
    assert store.plex_playlist(plex_sim.machine_identifier, "sp-fresh") is None


def test_nothing_owned_changes_nothing(plex_sim, mirror) -> None:
    before = plex_sim.playlists()
    result = mirror.mirror("sp-rainy", "Chill — Rainy Days", [])
    assert result.action == "empty" and "not created" in result.message and plex_sim.playlists() == before


class _Stopped(Exception):
    """Stands for the process dying at a failpoint."""


def test_a_run_stopped_before_marking_knows_its_playlist_next_time(plex_sim, mirror, store, keys,
                                                                   monkeypatch) -> None:
    def die(name: str) -> None:
        if name == "plex.playlist_created":
            raise _Stopped(name)

    users_own = plex_sim.playlist_rating_keys("Chill — Rainy Days")
    monkeypatch.setattr("soulsync.services.plex_mirror.failpoints.hit", die)
    with pytest.raises(_Stopped):
        mirror.mirror("sp-rainy", "Chill — Rainy Days", keys)
    monkeypatch.undo()
    record = store.plex_playlist(plex_sim.machine_identifier, "sp-rainy")
    assert record is not None and not record.marked
    again = mirror.mirror("sp-rainy", "Chill — Rainy Days", keys)
    assert (again.action, again.rating_key, again.title) == ("unchanged", record.rating_key,
                                                             "Chill — Rainy Days (SoulSync)")
    assert store.plex_playlist(plex_sim.machine_identifier, "sp-rainy").marked
    mirrors = [p for p in plex_sim.playlists() if marker("sp-rainy") in p.summary]
    assert [p.rating_key for p in mirrors] == [record.rating_key]
    assert plex_sim.playlist_rating_keys("Chill — Rainy Days") == users_own
