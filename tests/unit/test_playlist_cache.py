"""Refreshing the stored playlists: unreadable playlists and unknown counts (Spotify's development mode)."""
from __future__ import annotations

import pytest

from soulsync.core.models import Playlist, Track
from soulsync.core.playlist_cache import refresh_playlists
from soulsync.core.store import Store
from soulsync.services.errors import PlaylistUnreadable
from soulsync.services.spotify import PlaylistContents

WHY = "Spotify lets apps read only playlists you own. Copy its songs into a playlist of your own."


class FakeSpotify:
    """The two calls refresh_playlists makes, with a set of playlists Spotify refuses."""

    def __init__(self, playlists: list[Playlist], refused: set[str]) -> None:
        self.listed = playlists
        self.refused = refused

    def playlists(self) -> list[Playlist]:
        return [Playlist(p.id, p.name, p.owner, p.track_count, p.snapshot_id) for p in self.listed]

    def playlist_tracks(self, playlist_id: str) -> PlaylistContents:
        if playlist_id in self.refused:
            raise PlaylistUnreadable("Spotify", WHY, "HTTP 403: Forbidden")
        return PlaylistContents([Track(title="Song", artists=["Artist"], spotify_id="t1")], 1)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "db.sqlite3")
    yield s
    s.close()


def _listing() -> list[Playlist]:
    return [Playlist(id="mine", name="Mine", track_count=1, snapshot_id="a"),
            Playlist(id="theirs", name="Theirs", owner="Marta", track_count=None, snapshot_id="b")]


def test_an_unreadable_playlist_is_marked_with_the_reason_and_its_count_stays_unknown(store):
    report = refresh_playlists(FakeSpotify(_listing(), {"theirs"}), store, include_liked=False)
    assert report.unreadable == ["Theirs"] and [name for name, _ in report.failed] == ["Theirs"]
    stored = {p.id: p for p in store.playlists()}
    assert stored["theirs"].unreadable == WHY and stored["theirs"].track_count is None
    assert stored["mine"].unreadable == "" and stored["mine"].track_count == 1


def test_an_unreadable_playlist_loses_old_tracks_and_analysis_so_it_never_counts_as_complete(store):
    readable = FakeSpotify(_listing(), set())
    refresh_playlists(readable, store, include_liked=False)
    store.save_playlist_analysis("theirs", owned=1, missing=0)
    listing = _listing()
    listing[1].snapshot_id = "b2"  # changed: fetched again, and now refused
    refresh_playlists(FakeSpotify(listing, {"theirs"}), store, include_liked=False)
    assert store.playlist_tracks("theirs") == [] and "theirs" not in store.playlist_analysis()
    assert store.missing_total() == 0
    listing[1].snapshot_id = "b3"  # readable again (e.g. the user became a collaborator)
    refresh_playlists(FakeSpotify(listing, set()), store, include_liked=False)
    assert {p.id: p for p in store.playlists()}["theirs"].unreadable == ""
