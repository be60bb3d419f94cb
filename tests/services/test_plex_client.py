"""PlexClient against the Plex simulation over loopback HTTP."""
from __future__ import annotations

import pytest

from soulsync.services import errors
from soulsync.services.plex import PlexClient
from soulsync.sim.base import Response, SimServer
from soulsync.sim.plex import PlexSim
from tests.audio_fixtures import jpeg_bytes, make_audio


def _client(sim, **kwargs) -> PlexClient:
    return PlexClient(sim.url, sim.token, timeout=kwargs.pop("timeout", 2.0), **kwargs)


class _Impostor(SimServer):
    """Something else listening where Plex was expected."""

    name = "impostor"

    def __init__(self, body: bytes, content_type: str) -> None:
        super().__init__()
        self.route("GET", "/", lambda req: Response(200, body, content_type))


def test_server_info_and_sections(plex_sim):
    client = _client(plex_sim)
    info = client.server_info()
    assert (info.name, info.machine_identifier) == (plex_sim.server_name, plex_sim.machine_identifier)
    assert info.version.startswith("1.")
    assert [(s.key, s.title, s.locations) for s in info.music_sections] == [(1, "Music", [str(plex_sim.library_dir)])]


def test_building_a_client_makes_no_request(plex_sim):
    before = plex_sim.requests_seen
    PlexClient(plex_sim.url, plex_sim.token)
    assert plex_sim.requests_seen == before


def test_fetch_all_tracks_pages_through_the_whole_library(plex_sim):
    progress: list[tuple[int, int]] = []
    before = plex_sim.requests_seen
    tracks = _client(plex_sim).fetch_all_tracks("Music", page_size=173,
                                                progress_cb=lambda done, total: progress.append((done, total)))
    expected = {t.plex_rating_key: t for t in plex_sim.tracks()}
    assert len(tracks) == len(expected) >= 2000
    assert {t.plex_rating_key for t in tracks} == set(expected)
    assert plex_sim.requests_seen - before >= len(tracks) // 173
    assert progress[-1] == (len(tracks), len(tracks))
    sample = tracks[500]
    original = expected[sample.plex_rating_key]
    assert (sample.title, sample.album, sample.duration_ms) == (original.title, original.album, original.duration_ms)
    assert sample.path == str(plex_sim.library_dir / (original.path or ""))
    assert sample.added_at == original.added_at and sample.year == original.year
    assert sample.artists and sample.album_artist


def test_cancel_between_pages(plex_sim):
    pages = []
    with pytest.raises(errors.ServiceError) as err:
        _client(plex_sim).fetch_all_tracks("Music", page_size=100, progress_cb=lambda d, t: pages.append(d),
                                           cancel=lambda: len(pages) >= 2)
    assert err.value.kind == "cancelled" and len(pages) == 2


def test_scan_then_incremental_changes_see_a_new_flac(plex_sim):
    client = _client(plex_sim)
    stamp = max(t.updated_at or 0 for t in plex_sim.tracks())
    assert client.tracks_changed_since("Music", stamp) == []
    song = make_audio(plex_sim.library_dir / "Nova Reyes" / "Signals (2025)" / "01 - Paper Moon.flac", "flac",
                      seconds=1.5)
    client.scan_section("Music")
    assert plex_sim.wait_for_scan(10)
    changed = client.tracks_changed_since("Music", stamp)
    assert [(t.title, t.album_artist, t.album, t.path) for t in changed] == [
        ("Paper Moon", "Nova Reyes", "Signals", str(song))]
    assert abs((changed[0].duration_ms or 0) - 1500) < 50
    song.unlink()
    client.scan_section("Music", path=str(song.parent))
    assert plex_sim.wait_for_scan(10)
    assert all(t.title != "Paper Moon" for t in client.fetch_all_tracks("Music"))


def test_section_busy_hints_follow_the_scan_not_the_request(plex_sim):
    """Reference 3.7: a scan request is answered before the scan runs, so "not busy" right after it proves
    nothing; while the scan runs, ``refreshing``, the timeline or ``/activities`` say so."""
    client = _client(plex_sim)
    section = client.music_sections()[0]
    seen: list[bool] = []
    original = plex_sim._scan

    def observing_scan(scope):
        seen.append(client.section_busy(section))
        return original(scope)

    plex_sim._scan = observing_scan
    plex_sim.scan_gate.clear()
    try:
        client.scan_section(section)
        assert client.section_busy(section) is False  # requested, not started: no hint at all
    finally:
        plex_sim.scan_gate.set()
    assert plex_sim.wait_for_scan(10)
    assert seen == [True] and client.section_busy(section) is False


def test_section_busy_sees_activities_when_a_path_scan_hides_refreshing(tmp_path, catalog_3k):
    sim = PlexSim(catalog_3k, tmp_path / "library", path_scan_refreshing=False).start()
    try:
        client = _client(sim)
        seen: list[tuple[bool, bool]] = []
        original = sim._scan

        def observing_scan(scope):
            seen.append((client.sections()[0].refreshing, client.section_busy("Music")))
            return original(scope)

        sim._scan = observing_scan
        client.scan_section("Music", path=str(sim.library_dir / "Somewhere"))
        assert sim.wait_for_scan(10)
        assert seen == [(False, True)]
    finally:
        sim.stop()


def test_playlists_lists_smart_and_every_type_and_the_title_filter_is_partial(plex_sim):
    client = _client(plex_sim)
    every = client.playlists()
    assert len(every) == len(plex_sim.playlists()) >= 5
    assert any(p.smart for p in every) and {p.playlist_type for p in every} == {"audio", "video"}
    rainy = client.playlists(title="Chill — Rainy Days")
    assert sorted((p.title, p.smart, p.playlist_type) for p in rainy) == [
        ("Chill — Rainy Days", False, "audio"), ("Chill — Rainy Days", False, "video"),
        ("Chill — Rainy Days (smart)", True, "audio")]
    own = next(p for p in rainy if not p.smart and p.playlist_type == "audio")
    assert (own.summary, own.leaf_count) == ("My own rainy-day picks", 7) and own.guid
    assert client.playlist(own.rating_key) == own
    assert client.playlist_items(own.rating_key) == plex_sim.playlist_rating_keys("Chill — Rainy Days")
    assert client.playlist("999999") is None


def test_created_playlists_hold_the_keys_in_order_and_take_a_summary(plex_sim):
    client = _client(plex_sim)
    keys = [t.plex_rating_key or "" for t in plex_sim.tracks()[:450]]
    created = client.create_playlist("Everything I Love", keys[::-1])  # more than one request's worth
    assert (created.title, created.smart, created.playlist_type) == ("Everything I Love", False, "audio")
    assert client.playlist_items(created.rating_key) == keys[::-1]
    client.append_to_playlist(created.rating_key, keys[:1])
    assert plex_sim.playlist_rating_keys("Everything I Love") == keys[::-1] + keys[:1]
    client.edit_playlist_summary(created.rating_key, "Kept by SoulSync [soulsync-mirror x]")
    assert client.playlist(created.rating_key).summary == "Kept by SoulSync [soulsync-mirror x]"
    client.delete_playlist(created.rating_key)
    assert client.playlist(created.rating_key) is None
    with pytest.raises(ValueError):
        client.create_playlist("Nothing", [])


def test_thumbs(plex_sim):
    client = _client(plex_sim)
    track = client.fetch_all_tracks("Music", page_size=5000)[0]
    image = client.thumb(f"/library/metadata/{track.plex_rating_key}/thumb/1")
    assert image[:2] == jpeg_bytes()[:2] == b"\xff\xd8"
    with pytest.raises(errors.NotFound):
        client.thumb("/library/metadata/1/thumb/1")


def test_unknown_section_is_not_found(plex_sim):
    with pytest.raises(errors.NotFound, match="no music library"):
        _client(plex_sim).fetch_all_tracks("Podcasts")


@pytest.mark.parametrize("kind, params, expected", [
    ("latency", {"seconds": 1.5}, errors.ServiceTimeout),
    ("status", {"status": 503}, errors.ServerError),
    ("status", {"status": 401}, errors.AuthError),
    ("reset", {}, errors.Unreachable),
    ("truncate", {}, errors.BadResponse),
    ("malformed", {}, errors.BadResponse),
])
def test_faults_become_project_exceptions(plex_sim, kind, params, expected):
    client = _client(plex_sim, timeout=0.5)
    plex_sim.faults.add(kind, match="/library/sections", count=1, **params)
    with pytest.raises(expected) as err:
        client.music_sections()
    assert type(err.value) is expected


def test_rate_limit_keeps_retry_after(plex_sim):
    plex_sim.faults.add("status", status=429, retry_after=2, match="/library/sections", count=1)
    with pytest.raises(errors.RateLimited) as err:
        _client(plex_sim).music_sections()
    assert err.value.retry_after == 2


def test_wrong_token_unreachable_tls_and_wrong_servers(plex_sim, spotify_sim):
    with pytest.raises(errors.AuthError):
        PlexClient(plex_sim.url, "wrong-token", timeout=2).server_info()
    with pytest.raises(errors.TLSFailure):
        PlexClient(plex_sim.url.replace("http://", "https://"), plex_sim.token, timeout=2).server_info()
    with pytest.raises(errors.WrongServer):  # the Spotify sim: a JSON 404 at "/"
        PlexClient(spotify_sim.url, "token", timeout=2).server_info()
    for body, content_type in ((b'{"version": "0.24.1"}', "application/json"),
                               (b"<!doctype html><html><body><p>Router login<br></body></html>", "text/html")):
        impostor = _Impostor(body, content_type).start()
        try:
            with pytest.raises(errors.WrongServer):
                PlexClient(impostor.url, "token", timeout=2).server_info()
        finally:
            impostor.stop()
    url = plex_sim.url
    plex_sim.stop()
    with pytest.raises(errors.Unreachable):
        PlexClient(url, plex_sim.token, timeout=2).server_info()
