"""Library sources: the Plex section (against the Plex simulation) and choosing a source from settings."""
from __future__ import annotations

from pathlib import Path

import pytest

from soulsync.core.models import Playlist, Track
from soulsync.core.store import Store
from soulsync.core.sync import analyse, index_library
from soulsync.core.tagging import write_tags
from soulsync.services.library import (
    FolderLibrarySource,
    LibraryError,
    PlexLibrarySource,
    library_source,
)
from soulsync.services.plex import PlexClient
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
    assert report.changed >= 1
    [found] = [t for t in store.library_tracks("plex") if t.title == "Downloaded"]
    assert found.path == str(path) and found.plex_rating_key


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
