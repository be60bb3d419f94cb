"""The simulated world changing at run time, as the real one does under an app left running: a new
release on Spotify that Soulseek peers share, playlists edited by their owner, a track that turns up
on a peer. Driven by spotipy and the app's own slskd client over loopback HTTP, in Python and through
the admin endpoints another process would use."""
from __future__ import annotations

import mutagen
import pytest
import requests
import spotipy

from soulsync.core.models import TransferState
from soulsync.services.slskd import SlskdClient
from soulsync.sim.base import Request
from soulsync.sim.spotify_admin import admin_control
from soulsync.sim.world import SimWorld
from tests.services.test_slskd_client import wait_for


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = SimWorld.start(seed=7, root=tmp_path_factory.mktemp("sim"), n_tracks=300, time_scale=50.0)
    yield world
    world.stop()


@pytest.fixture(scope="module")
def sp(world) -> spotipy.Spotify:
    client = spotipy.Spotify(auth=world.spotify.issue_token(), requests_timeout=5, retries=0, status_retries=0)
    client.prefix = world.spotify.api_url
    return client


@pytest.fixture(scope="module")
def slskd(world):
    client = SlskdClient(world.slskd.url, api_key=world.slskd.api_key, timeout=5)
    yield client
    client.close()


def _artist(world: SimWorld, n: int = 0):
    """A catalog artist with a release of its own."""
    return [a for a in world.catalog.artists if a.album_count][n]


def _search(slskd: SlskdClient, text: str) -> list[dict]:
    handle = slskd.start_search(text, search_timeout_ms=1500)
    return wait_for(lambda: slskd.search_responses(handle.id), what=f"responses to {text!r}")


def _download(world: SimWorld, slskd: SlskdClient, username: str, filename: str, size: int):
    [queued] = slskd.enqueue(username, [(filename, size)]).enqueued
    done = wait_for(lambda: (lambda t: t if t.state.is_finished else None)(slskd.transfer(username, queued.id)),
                    what="the download to finish")
    assert done.state is TransferState.SUCCEEDED
    [record] = [t for t in world.slskd.transfers() if t.id == queued.id]
    return record.local_path


def test_a_published_single_is_on_spotify_and_downloadable_with_tags(world, sp, slskd):
    artist = _artist(world)
    before = artist.album_count
    single = world.publish_release(artist.spotify_id, "Zebrafinch Lullaby", release_date="2031-05-02")
    [track] = single.tracks
    assert artist.album_count == before + 1 and track.isrc and len(track.isrc) == 12

    singles = sp.artist_albums(artist.spotify_id, album_type="single", limit=10)["items"]
    assert singles[0]["id"] == single.spotify_id  # newest first
    assert singles[0]["release_date"] == "2031-05-02" and singles[0]["album_type"] == "single"
    assert sp.track(track.spotify_id)["external_ids"]["isrc"] == track.isrc
    found = sp.search(f"isrc:{track.isrc}", type="track", limit=5)["tracks"]["items"]
    assert [t["id"] for t in found] == [track.spotify_id]

    responses = _search(slskd, "Zebrafinch Lullaby")
    assert len(responses) == 3
    chosen = responses[0]
    [shared] = chosen["files"]
    path = _download(world, slskd, chosen["username"], shared["filename"], shared["size"])
    tags = mutagen.File(path, easy=True)
    assert tags["title"] == ["Zebrafinch Lullaby"] and tags["artist"] == [artist.name]
    assert tags["album"] == ["Zebrafinch Lullaby"] and tags["date"] == ["2031"]
    assert abs(tags.info.length - track.duration_ms / 1000) < 1.5


def test_an_ep_has_its_tracks_in_order_and_is_a_single_to_the_api(world, sp):
    artist = _artist(world, 1)
    ep = world.publish_release(artist.spotify_id, "Quiet Engines", ["Gearbox", "Idle", "Flywheel", "Coast"],
                               kind="ep", peers=0)
    album = sp.album(ep.spotify_id)
    assert album["album_type"] == "single" and album["total_tracks"] == 4
    assert [t["name"] for t in album["tracks"]["items"]] == ["Gearbox", "Idle", "Flywheel", "Coast"]
    assert [t["track_number"] for t in album["tracks"]["items"]] == [1, 2, 3, 4]
    assert world.slskd.sharers(ep.tracks[0].spotify_id) == []  # nobody shares it yet


def test_playlist_changes_bump_the_snapshot(world, sp):
    playlist = sp.current_user_playlists(limit=3)["items"][1]
    pid, snapshot = playlist["id"], playlist["snapshot_id"]
    new = next(t.spotify_id for t in world.catalog.tracks if t.spotify_id not in world.spotify.playlist_track_ids(pid))

    added = world.add_playlist_tracks(pid, [new])
    assert added != snapshot and sp.playlist(pid)["snapshot_id"] == added
    assert world.spotify.playlist_track_ids(pid)[-1] == new
    items = sp.playlist_items(pid, limit=50, offset=world.spotify.playlist_total(pid) - 1)["items"]
    assert items[-1]["item"]["id"] == new and items[-1]["added_by"]["id"] == playlist["owner"]["id"]

    removed = world.remove_playlist_tracks(pid, [new])
    assert removed not in (snapshot, added) and new not in world.spotify.playlist_track_ids(pid)


def test_an_unavailable_track_turns_up_on_a_peer(world, slskd):
    def searchable(track) -> bool:
        return track.title.isascii() and all(len(w) > 1 for w in track.title.split()) and \
            bool(world.slskd.sharers(track.spotify_id))

    track = next(t for t in world.catalog.tracks if searchable(t))
    assert world.make_unavailable(track.spotify_id) > 0
    copies = [t for t in world.catalog.tracks if t.isrc == track.isrc]
    assert all(world.slskd.sharers(t.spotify_id) == [] for t in copies)  # no release of the recording is shared
    [username] = world.make_available(track.spotify_id)
    assert world.slskd.sharers(track.spotify_id) == [username]
    responses = _search(slskd, f"{track.title} {track.artist}")
    holders = {r["username"] for r in responses for f in r["files"]
               if f["filename"].rsplit("\\", 1)[-1].startswith(f"{track.track_number:02d} - {track.title}.")}
    assert holders == {username}

    world.make_unavailable(track.spotify_id)
    assert world.slskd.sharers(track.spotify_id) == []


def test_the_admin_endpoints_do_the_same_over_http(world, sp, slskd):
    admin = world.describe()["admin"]  # as `soulsync sim` prints them for another process
    artist = _artist(world, 2)
    reply = requests.post(admin["releases"], timeout=5, json={
        "artist_id": artist.spotify_id, "title": "Harbor Lights Tonight", "tracks": ["Harbor Lights Tonight"]})
    assert reply.status_code == 201
    album = reply.json()["album"]
    assert sp.album(album["id"])["name"] == "Harbor Lights Tonight"
    shared = requests.post(admin["shares"], timeout=5,
                           json={"tracks": reply.json()["tracks"], "peers": 2})
    assert shared.status_code == 201 and len(shared.json()["peers"]) == 2
    assert len(_search(slskd, "Harbor Lights Tonight")) == 2

    pid = sp.current_user_playlists(limit=1)["items"][0]["id"]
    track_id = album["tracks"]["items"][0]["id"]
    changed = requests.post(admin["playlist_tracks"].format(playlist_id=pid), json={"ids": [track_id]}, timeout=5)
    assert changed.json()["snapshot_id"] == sp.playlist(pid)["snapshot_id"]
    assert world.spotify.playlist_track_ids(pid)[-1] == track_id
    requests.delete(f"{world.spotify.url}/__sim/playlists/{pid}/tracks", json={"ids": [track_id]}, timeout=5)
    assert track_id not in world.spotify.playlist_track_ids(pid)

    gone = requests.delete(admin["shares"], json={"spotify_ids": [track_id]}, timeout=5)
    assert gone.json() == {"removed": 2} and world.slskd.sharers(track_id) == []


def test_a_catalog_track_is_made_unavailable_and_available_over_http(world):
    track = next(t for t in world.catalog.tracks if world.slskd.sharers(t.spotify_id))
    fields = requests.get(f"{world.spotify.url}/__sim/tracks/{track.spotify_id}", timeout=5).json()["track"]
    assert fields["isrc"] == track.isrc and fields["title"] == track.title
    shares = world.describe()["admin"]["shares"]
    assert requests.delete(shares, json={"isrcs": [track.isrc]}, timeout=5).json()["removed"] > 0
    assert world.slskd.sharers(track.spotify_id) == []
    [username] = requests.post(shares, json={"tracks": [fields], "peers": 1}, timeout=5).json()["peers"]
    assert world.slskd.sharers(track.spotify_id) == [username]
    assert requests.get(f"{world.spotify.url}/__sim/tracks/{'0' * 22}", timeout=5).status_code == 404


def test_admin_endpoints_refuse_bad_requests_and_other_machines(world):
    url = world.spotify.url
    assert requests.post(f"{url}/__sim/releases", json={"title": "No artist"}, timeout=5).status_code == 400
    assert requests.post(f"{url}/__sim/releases", json={"artist_id": "0" * 22, "title": "X"},
                         timeout=5).status_code == 404
    assert requests.post(f"{url}/__sim/playlists/{'0' * 22}/tracks", json={"ids": []}, timeout=5).status_code == 404
    remote = Request("POST", "/__sim/releases", {}, {}, b"{}", remote="192.0.2.7")
    answer = admin_control(world.spotify.world, world.spotify.render, remote)
    assert answer is not None and answer.status == 403
