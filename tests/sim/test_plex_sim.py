"""The Plex simulation driven by the real plexapi over loopback HTTP."""
from __future__ import annotations

import io
from datetime import datetime, timezone

import plexapi.exceptions
import pytest
import requests
from mutagen.flac import FLAC
from PIL import Image
from plexapi.library import MusicSection
from plexapi.server import PlexServer

from soulsync.sim.plex import SEEDED_PLAYLISTS, PlexSim, guess_from_path
from tests.audio_fixtures import make_audio


def _connect(sim: PlexSim, token: str | None = None) -> PlexServer:
    return PlexServer(sim.url, token or sim.token, timeout=5)


def _refreshing(plex: PlexServer) -> bool:
    """The section's ``refreshing`` now (plexapi caches ``library.section()``, so read the listing again)."""
    return MusicSection(plex, plex.query("/library/sections")[0]).refreshing


def _tagged_flac(path, title: str, artist: str, album: str, number: str, seconds: float = 2.0):
    make_audio(path, "flac", seconds=seconds)
    tags = FLAC(str(path))
    tags.update({"title": title, "artist": artist, "album": album, "tracknumber": number, "date": "2024"})
    tags.save()
    return path


def test_plexapi_lists_the_whole_section_through_small_pages(plex_sim):
    plex = _connect(plex_sim)
    assert plex.friendlyName == plex_sim.server_name and plex.machineIdentifier == plex_sim.machine_identifier
    section = plex.library.section("music")  # title match is case-insensitive in plexapi
    assert section.locations == [str(plex_sim.library_dir)]
    before = plex_sim.requests_seen
    tracks = section.all(libtype="track", container_size=97)
    pages = plex_sim.requests_seen - before
    assert len(tracks) == plex_sim.track_count() >= 2000
    assert len({t.ratingKey for t in tracks}) == len(tracks)
    assert pages >= len(tracks) // 97
    first = tracks[0]
    assert first.grandparentTitle and first.parentTitle and first.duration > 0 and first.index
    assert first.locations[0].startswith(str(plex_sim.library_dir))
    assert first.addedAt.year >= 2023 and first.media[0].parts[0].file == first.locations[0]


def test_container_headers_slice_and_report_total_size(plex_sim):
    resp = requests.get(f"{plex_sim.url}/library/sections/1/all", params={"type": 10},
                        headers={"X-Plex-Token": plex_sim.token, "X-Plex-Container-Start": "10",
                                 "X-Plex-Container-Size": "25"}, timeout=5)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/xml")
    assert 'size="25"' in resp.text and f'totalSize="{plex_sim.track_count()}"' in resp.text
    assert 'offset="10"' in resp.text and resp.text.count("<Track ") == 25


def test_albums_artists_children_and_metadata_reload(plex_sim):
    plex = _connect(plex_sim)
    section = plex.library.section("Music")
    artists = section.all()
    albums = section.all(libtype="album")
    assert artists and albums and albums[0].leafCount == len(albums[0].tracks())
    album = albums[0]
    assert album.artist().title == album.parentTitle
    track = album.tracks()[0]
    assert track.year is None or track.year > 1900  # absent: plexapi reloads /library/metadata/{rk}, no error
    assert plex.fetchItem(track.ratingKey).title == track.title


def test_title_filters_filter_metadata_and_hub_search(plex_sim):
    plex = _connect(plex_sim)
    section = plex.library.section("Music")
    some = plex_sim.tracks()[123]
    word = some.title.split()[0]
    hits = section.searchTracks(title=word)
    assert hits and all(word.lower() in h.title.lower() for h in hits)
    by_artist = section.searchTracks(**{"artist.title": some.album_artist})  # needs includeMeta endpoints
    assert some.plex_rating_key in {str(t.ratingKey) for t in by_artist}
    cutoff = datetime.fromtimestamp(max(t.added_at or 0 for t in plex_sim.tracks()) - 3 * 3600, timezone.utc)
    recent = section.search(libtype="track", filters={"track.addedAt>>": cutoff})
    assert 1 <= len(recent) <= 3
    found = plex.search(word, mediatype="track")
    assert found and all(word.lower() in t.title.lower() for t in found)


def test_refresh_picks_up_real_files_and_forgets_deleted_ones(plex_sim):
    plex = _connect(plex_sim)
    section = plex.library.section("Music")
    before = plex_sim.track_count()
    folder = plex_sim.library_dir / "Nova Reyes" / "First Light (2024)"
    tagged = _tagged_flac(folder / "01 - Morning Signal.flac", "Morning Signal", "Nova Reyes", "First Light", "1/2")
    untagged = make_audio(folder / "02 - Quiet Harbour.flac", "flac", seconds=1.0)
    (folder / "03 - broken.mp3").write_bytes(b"this is not audio")
    (folder / "cover.jpg").write_bytes(b"\xff\xd8")
    section.update()
    assert plex_sim.wait_for_scan(10)
    assert plex_sim.track_count() == before + 2
    assert plex_sim.last_scan.skipped == ["Nova Reyes/First Light (2024)/03 - broken.mp3"]
    hit = section.searchTracks(title="Morning Signal")[0]
    assert (hit.grandparentTitle, hit.parentTitle, hit.index) == ("Nova Reyes", "First Light", 1)
    assert abs(hit.duration - 2000) < 50 and hit.locations == [str(tagged)]
    guessed = section.searchTracks(title="Quiet Harbour")[0]
    assert (guessed.grandparentTitle, guessed.parentTitle, guessed.index) == ("Nova Reyes", "First Light", 2)
    untagged.unlink()
    section.update()
    assert plex_sim.wait_for_scan(10)
    assert plex_sim.track_count() == before + 1 and not section.searchTracks(title="Quiet Harbour")
    assert plex_sim.last_scan.removed == 1 and plex_sim.last_scan.unchanged == 1


def test_a_real_file_replaces_the_virtual_entry_at_its_path(plex_sim):
    virtual = plex_sim.tracks()[0]
    make_audio(plex_sim.library_dir / (virtual.path or ""), "flac", seconds=1.0)
    report = plex_sim.scan()
    assert (report.added, report.updated) == (0, 1)
    replaced = next(t for t in plex_sim.tracks() if t.plex_rating_key == virtual.plex_rating_key)
    assert replaced.duration_ms == 1000 and replaced.path == virtual.path


def test_playlists_create_add_remove_move_delete(plex_sim):
    plex = _connect(plex_sim)
    tracks = plex.library.section("Music").all(libtype="track", maxresults=6)
    playlist = plex.createPlaylist("Road Trip", items=tracks[:3])
    assert playlist.playlistType == "audio" and playlist.leafCount == 3
    playlist.addItems(tracks[3:5])
    playlist.removeItems([tracks[1]])
    fetched = plex.playlist("road trip")
    assert [t.ratingKey for t in fetched.items()] == [tracks[i].ratingKey for i in (0, 2, 3, 4)]
    fetched.moveItem(fetched.items()[3])  # to the top
    assert [t.ratingKey for t in plex.playlist("Road Trip").items()][0] == tracks[4].ratingKey
    fetched.delete()
    assert "Road Trip" not in [p.title for p in plex.playlists()]
    foreign = requests.post(f"{plex_sim.url}/playlists", params={"type": "audio", "title": "x", "smart": 0,
                                                                 "uri": "server://another/library/metadata/1"},
                            headers={"X-Plex-Token": plex_sim.token}, timeout=5)
    assert foreign.status_code == 400


def test_playlists_lists_every_playlist_of_the_account_and_matches_titles_partially(plex_sim):
    """Reference 3.6: regular and smart playlists, every playlistType unless asked, ``title`` a partial match;
    the seeded playlists equal or contain the titles of the catalog's Spotify playlists."""
    plex = _connect(plex_sim)
    every = plex.playlists()
    assert [(p.title, p.smart, p.playlistType) for p in every] == [
        (s.title, s.smart, s.playlist_type) for s in SEEDED_PLAYLISTS]
    spotify_titles = {p.name for p in plex_sim.catalog.playlists}
    assert all(any(name in p.title for name in spotify_titles) for p in every)
    assert {p.playlistType for p in plex.playlists(playlistType="audio")} == {"audio"}
    rainy = plex.playlists(playlistType="audio", title="Rainy Days")
    assert sorted((p.title, p.smart) for p in rainy) == [("Chill — Rainy Days", False),
                                                       ("Chill — Rainy Days (smart)", True)]
    road = plex.playlists(title="road trip '19")
    assert [p.title for p in road] == ["Road Trip '19 — the long way"]
    own = plex.playlist("Chill — Rainy Days")  # plexapi keeps exact (case-insensitive) titles only
    assert (own.smart, own.playlistType, own.summary, own.leafCount) == (False, "audio", "My own rainy-day picks", 7)
    assert own.guid.startswith("com.plexapp.agents.none://") and len(own.items()) == 7
    smart = next(p for p in rainy if p.smart)
    assert smart.leafCount == len(smart.items()) == 12 and smart.content.startswith("library://")
    with pytest.raises(plexapi.exceptions.BadRequest):  # plexapi refuses client-side; the sim too
        smart.addItems(own.items()[:1])
    put = requests.put(f"{plex_sim.url}/playlists/{smart.ratingKey}/items", headers={"X-Plex-Token": plex_sim.token},
                       params={"uri": f"server://{plex_sim.machine_identifier}/com.plexapp.plugins.library/"
                                      f"library/metadata/{own.items()[0].ratingKey}"}, timeout=5)
    assert put.status_code == 400


def test_playlist_summary_and_title_edits_as_plexapi_sends_them(plex_sim):
    plex = _connect(plex_sim)
    tracks = plex.library.section("Music").all(libtype="track", maxresults=2)
    playlist = plex.createPlaylist("Mine", items=tracks)
    assert playlist.smart is False and playlist.summary == "" and playlist.guid.startswith("com.plexapp.agents.none://")
    playlist.editSummary("made by me [tag 1]")  # PUT /playlists/{rk}?summary.locked=1&summary.value=...
    assert plex.fetchItem(f"/playlists/{playlist.ratingKey}").summary == "made by me [tag 1]"
    playlist.editTitle("Mine, renamed")
    assert [p.summary for p in plex.playlists(title="Mine, renamed")] == ["made by me [tag 1]"]
    bare = requests.put(f"{plex_sim.url}/playlists/{playlist.ratingKey}", headers={"X-Plex-Token": plex_sim.token},
                        timeout=5)
    assert bare.status_code == 400


def test_a_scan_answers_first_and_shows_refreshing_only_later(plex_sim):
    """Reference 3.7: the refresh request is answered before the scan starts; ``refreshing``, the timeline's
    queue and ``/activities`` show the scan while it runs; the simulation can hold the scan (``scan_gate``)."""
    plex = _connect(plex_sim)
    section = plex.library.section("Music")
    _tagged_flac(plex_sim.library_dir / "Held" / "Back" / "01 - Later.flac", "Later", "Held", "Back", "1")
    plex_sim.scan_gate.clear()
    try:
        section.update()
        assert _refreshing(plex) is False  # answered; the scan has not started
        assert plex.activities == [] and section.timeline().updateQueueSize == 0
        assert not section.searchTracks(title="Later")
    finally:
        plex_sim.scan_gate.set()
    assert plex_sim.wait_for_scan(10)
    assert section.searchTracks(title="Later")
    assert _refreshing(plex) is False and plex.activities == []


def test_the_delay_before_a_scan_starts_is_configurable_and_cancelUpdate_ends_it(tmp_path, catalog_3k):
    sim = PlexSim(catalog_3k, tmp_path / "library", refreshing_delay=3600.0).start()
    try:
        plex = _connect(sim)
        section = plex.library.section("Music")
        _tagged_flac(sim.library_dir / "Much" / "Later" / "01 - Someday.flac", "Someday", "Much", "Later", "1")
        section.update()
        assert _refreshing(plex) is False and plex.activities == [] and not sim.wait_for_scan(0)
        section.cancelUpdate()
        assert sim.wait_for_scan(10)
        assert not section.searchTracks(title="Someday") and _refreshing(plex) is False
    finally:
        sim.stop()


def test_refreshing_and_activities_while_a_scan_runs(plex_sim):
    plex = _connect(plex_sim)
    seen: dict[str, object] = {}
    original = plex_sim._scan

    def observing_scan(scope):
        seen["refreshing"] = _refreshing(plex)
        seen["activities"] = [(a.type, a.title) for a in plex.activities]
        return original(scope)

    plex_sim._scan = observing_scan
    plex.library.section("Music").update()
    assert plex_sim.wait_for_scan(10)
    assert seen == {"refreshing": True, "activities": [("library.update.section", "Scanning Music")]}


def test_a_path_scan_can_run_without_ever_showing_refreshing(tmp_path, catalog_3k):
    sim = PlexSim(catalog_3k, tmp_path / "library", path_scan_refreshing=False).start()
    try:
        plex = _connect(sim)
        seen: list[bool] = []
        original = sim._scan

        def observing_scan(scope):
            seen.append(_refreshing(plex))
            return original(scope)

        sim._scan = observing_scan
        folder = sim.library_dir / "Quiet" / "Scan"
        _tagged_flac(folder / "01 - Unseen.flac", "Unseen", "Quiet", "Scan", "1")
        plex.library.section("Music").update(path=str(folder))
        assert sim.wait_for_scan(10)
        assert seen == [False] and plex.library.section("Music").searchTracks(title="Unseen")
        plex.library.section("Music").update()  # a whole-section scan still shows it
        assert sim.wait_for_scan(10)
        assert seen == [False, True]
    finally:
        sim.stop()


def test_token_is_required_and_errors_are_html(plex_sim):
    bare = requests.get(f"{plex_sim.url}/library/sections", timeout=5)
    assert bare.status_code == 401 and "<h1>401 Unauthorized</h1>" in bare.text
    assert requests.get(f"{plex_sim.url}/identity", timeout=5).status_code == 200
    with pytest.raises(plexapi.exceptions.Unauthorized):
        _connect(plex_sim, token="wrong")
    with pytest.raises(plexapi.exceptions.NotFound):
        _connect(plex_sim).fetchItem(99)
    plex_sim.faults.add("status", status=503, match="/library/sections", count=1)
    with pytest.raises(plexapi.exceptions.BadRequest):
        _connect(plex_sim).library.section("Music")


def test_thumbnails_are_jpegs(plex_sim):
    track = _connect(plex_sim).library.section("Music").all(libtype="track", maxresults=1)[0]
    resp = requests.get(f"{plex_sim.url}{track.thumb}", headers={"X-Plex-Token": plex_sim.token}, timeout=5)
    assert resp.headers["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(resp.content)).format == "JPEG"


@pytest.mark.parametrize("rel, expected", [
    ("Artist/Album (1999)/03 - Title.flac", ("Title", "Artist", "Album", 3, None, 1999)),
    ("Artist/2011 - Album [FLAC]/2-05 - Song Name.mp3", ("Song Name", "Artist", "Album", 5, 2, 2011)),
    ("loose/Someone - Loose Song.ogg", ("Loose Song", "Someone", "loose", None, None, None)),
])
def test_path_guesses(rel, expected):
    t = guess_from_path(rel)
    assert (t.title, t.artist, t.album, t.track_number, t.disc_number, t.year) == expected
