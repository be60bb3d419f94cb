"""Library sources: the Plex section (against the Plex simulation) and choosing a source from settings."""
from __future__ import annotations

from pathlib import Path

import pytest

from soulsync.core.models import Playlist, Track
from soulsync.core.store import Store
from soulsync.core.analysis import analyse, index_library
from soulsync.core.tagging import write_tags
from soulsync.services.library import (
    FolderLibrarySource,
    LibraryError,
    PlexLibrarySource,
    library_source,
)
from soulsync.services.plex import PlexClient
from soulsync.sim.plex import PlexSim
from tests.audio_fixtures import make_audio


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "db.sqlite3")


@pytest.fixture
def source(plex_sim) -> PlexLibrarySource:
    return PlexLibrarySource(PlexClient(plex_sim.url, plex_sim.token, timeout=5.0), "music")


def add_file(plex_sim, relative: str, title: str, artist: str) -> Path:
    path = plex_sim.library_dir / relative
    make_audio(path, seconds=0.3)
    write_tags(path, Track(title=title, artists=[artist], album="Fresh", track_number=1))
    return path


def test_full_fetch_stores_rating_keys_paths_and_durations(plex_sim, source, store) -> None:
    progress: list[tuple[int, int]] = []
    report = source.refresh(store, progress=lambda done, total: progress.append((done, total)))
    assert report.full and report.total == plex_sim.track_count() == report.changed
    assert progress[-1] == (report.total, report.total)
    stored = {t.plex_rating_key: t for t in store.library_tracks("plex")}
    original = {t.plex_rating_key: t for t in plex_sim.tracks()}
    key = sorted(original)[100]
    assert stored[key].path == str(plex_sim.library_dir / original[key].path)
    assert stored[key].duration_ms == original[key].duration_ms and stored[key].title == original[key].title
    assert store.library_meta("plex")["cursor"] == max(t.updated_at for t in original.values())
    assert source.name == "Plex (Music)" and source.supports_playlists


def test_incremental_refresh_reads_only_what_changed_and_notices_removals(plex_sim, source, store) -> None:
    source.refresh(store)
    before = plex_sim.track_count()
    path = add_file(plex_sim, "New Artist/Fresh/01 - Brand New.flac", "Brand New", "New Artist")
    plex_sim.scan()
    requests = plex_sim.requests_seen
    report = source.refresh(store)
    assert not report.full and report.changed == 1 and report.total == before + 1
    assert plex_sim.requests_seen - requests <= 8  # a filtered listing and a one-track count, not the library
    assert "Brand New" in {t.title for t in store.library_tracks("plex")}
    path.unlink()
    plex_sim.scan()
    gone = source.refresh(store)
    assert gone.total == before and gone.removed == 1
    assert "Brand New" not in {t.title for t in store.library_tracks("plex")}


def test_after_download_asks_plex_to_scan_and_indexes_the_new_file(plex_sim, source, store) -> None:
    source.refresh(store)
    path = add_file(plex_sim, "Later Artist/Fresh/01 - Downloaded.flac", "Downloaded", "Later Artist")
    report = source.after_download(store, [str(path)])
    assert report.changed >= 1 and report.not_picked_up == 0
    [found] = [t for t in store.library_tracks("plex") if t.title == "Downloaded"]
    assert found.path == str(path) and found.plex_rating_key


def test_after_download_does_not_wait_for_files_an_earlier_refresh_indexed(plex_sim, store) -> None:
    """The app refreshes the index as each download is filed; the run's pick-up at the end must not wait
    (up to its timeout) for files those refreshes already listed: they are before the index's cursor."""
    fake = _FakeTime()
    client = PlexClient(plex_sim.url, plex_sim.token, timeout=5.0)
    source = PlexLibrarySource(client, "music", poll_s=5.0, pickup_timeout_s=60.0, escalate_after_s=1000.0,
                               clock=fake.clock, sleep=fake.sleep)
    source.refresh(store)
    first = add_file(plex_sim, "Early/Bird/01 - First.flac", "First", "Early")
    source.after_download(store, [str(first)])  # filed and indexed on its own
    wall = plex_sim.clock
    plex_sim.clock = lambda: wall() + 100.0  # the next file is filed later in the run
    try:
        second = add_file(plex_sim, "Early/Bird/02 - Second.flac", "Second", "Early")
        source.after_download(store, [str(second)])  # the index's cursor moves past the first file
        started = fake.now
        report = source.after_download(store, [str(first), str(second)])  # the run's pick-up at the end
    finally:
        plex_sim.clock = wall
    assert report.not_picked_up == 0 and fake.now - started < 60.0
    assert {"First", "Second"} <= {t.title for t in store.library_tracks("plex")}


def _release_scans_on_poll(plex_sim, client: PlexClient, poll: int) -> list[int]:
    """Hold the server's scans until the client has looked for changed tracks ``poll`` times (a server that
    gets round to a scan late, whatever the client's timing); returns the growing list of the client's looks."""
    looks: list[int] = []
    original = client.tracks_changed_since

    def looking(*args, **kwargs):
        looks.append(len(looks) + 1)
        if len(looks) == poll:
            plex_sim.scan_gate.set()
        return original(*args, **kwargs)

    plex_sim.scan_gate.clear()
    client.tracks_changed_since = looking  # type: ignore[method-assign]
    return looks


def test_after_download_waits_for_the_file_when_a_path_scan_never_shows_refreshing(tmp_path, catalog_3k,
                                                                                    store) -> None:
    """Reference 3.7: a path scan may never set ``refreshing`` and may start late. The pick-up polls for the
    new track itself instead of taking "no refreshing seen" for "done"."""
    sim = PlexSim(catalog_3k, tmp_path / "library", path_scan_refreshing=False).start()
    try:
        client = PlexClient(sim.url, sim.token, timeout=5.0)
        source = PlexLibrarySource(client, "music", poll_s=0.02, pickup_timeout_s=120.0)
        source.refresh(store)
        path = add_file(sim, "Late Server/Fresh/01 - Slow Pickup.flac", "Slow Pickup", "Late Server")
        looks = _release_scans_on_poll(sim, client, poll=3)
        report = source.after_download(store, [str(path)])
        assert len(looks) > 3 and report.not_picked_up == 0
        [found] = [t for t in store.library_tracks("plex") if t.title == "Slow Pickup"]
        assert found.path == str(path)
    finally:
        sim.scan_gate.set()
        sim.stop()


class _FakeTime:
    """A clock that moves only when the code under test sleeps (no real waiting, no timing in the test)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_after_download_gives_up_after_its_timeout_and_says_so(plex_sim, store) -> None:
    fake = _FakeTime()
    client = PlexClient(plex_sim.url, plex_sim.token, timeout=5.0)
    source = PlexLibrarySource(client, "music", poll_s=5.0, pickup_timeout_s=60.0, escalate_after_s=1000.0,
                               clock=fake.clock, sleep=fake.sleep)
    source.refresh(store)
    path = add_file(plex_sim, "Never/Scanned/01 - Stuck.flac", "Stuck", "Never")
    plex_sim.scan_gate.clear()  # the server never gets round to the scan
    try:
        report = source.after_download(store, [str(path)])
    finally:
        plex_sim.scan_gate.set()
    assert report.not_picked_up == 1 and fake.now - 1000.0 == 60.0
    assert "1 new file not listed by the library yet" in report.summary()


def test_after_download_scans_the_whole_section_when_folder_scans_find_nothing(plex_sim, store) -> None:
    """The server may see the library under another path: folder scans of this machine's paths find nothing,
    the server shows no sign of work, so the whole section is scanned and the file recognised by its tail."""
    fake = _FakeTime()
    client = PlexClient(plex_sim.url, plex_sim.token, timeout=5.0)
    source = PlexLibrarySource(client, "music", poll_s=5.0, pickup_timeout_s=600.0, escalate_after_s=30.0,
                               clock=fake.clock, sleep=fake.sleep)
    source.refresh(store)
    add_file(plex_sim, "Other Mount/Fresh/01 - Elsewhere.flac", "Elsewhere", "Other Mount")
    seen_here = "/mnt/this-machine/music/Other Mount/Fresh/01 - Elsewhere.flac"
    scans: list[str | None] = []
    original = client.scan_section
    client.scan_section = lambda section, path=None: (scans.append(path), original(section, path))  # type: ignore
    report = source.after_download(store, [seen_here])
    assert scans == ["/mnt/this-machine/music/Other Mount/Fresh", None] and report.not_picked_up == 0
    assert "Elsewhere" in {t.title for t in store.library_tracks("plex")}


def test_mirror_playlist_is_ordered_owned_only_and_idempotent(plex_sim, source, store) -> None:
    source.refresh(store)
    index_tracks = store.library_tracks("plex")
    index, by_key = index_library(index_tracks)
    wanted = [index_tracks[5], Track("Not In Library At All", ["Nobody"]), index_tracks[2], index_tracks[9]]
    statuses = analyse([Track(t.title, t.artists, album=t.album, duration_ms=t.duration_ms) for t in wanted],
                       index, {}, library=by_key)
    owned_keys = [s.match.plex_rating_key for s in statuses if s.match is not None]
    assert len(owned_keys) == 3
    playlist = Playlist("sp-road", "Road Trip")
    assert source.mirror_playlist(store, playlist, statuses).action == "created"
    assert plex_sim.playlist_rating_keys("Road Trip") == owned_keys
    assert "already up to date" in source.mirror_playlist(store, playlist, statuses).message
    assert plex_sim.playlist_titles().count("Road Trip") == 1


def test_unknown_section_is_a_clear_error(plex_sim, store) -> None:
    source = PlexLibrarySource(PlexClient(plex_sim.url, plex_sim.token, timeout=5.0), "Podcasts")
    with pytest.raises(LibraryError, match="no music library called 'Podcasts'.*Music"):
        source.refresh(store)


def test_choosing_the_source_from_settings(app_context, plex_sim, tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="no library"):
        library_source(app_context)
    app_context.settings.downloads.library_dir = str(tmp_path / "Music")
    assert isinstance(library_source(app_context), FolderLibrarySource)
    assert library_source(app_context, folder=tmp_path / "Other").root == (tmp_path / "Other").resolve()
    app_context.settings.library.source = "plex"
    with pytest.raises(LibraryError, match="no Plex server"):
        library_source(app_context)
    app_context.settings.plex.url = plex_sim.url
    app_context.secrets.set("plex_token", plex_sim.token)
    app_context.settings.library.source = "auto"
    assert isinstance(library_source(app_context), PlexLibrarySource)
    app_context.settings.library.source = "folder"
    assert isinstance(library_source(app_context), FolderLibrarySource)
    with pytest.raises(LibraryError, match="no playlists"):
        library_source(app_context).mirror_playlist(app_context.store, Playlist("x", "x"), [])
