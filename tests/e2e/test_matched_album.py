"""Done-when tests of matched downloads and manual correction, in the demo world.

1. From a Downloads search result, a matched album download ends as a correctly
   tagged, correctly named album folder with cover art in the library folder,
   and the Plex simulation lists the new tracks after its scan.
2. A manual library-match override survives a restart (a new AppContext on the
   same folders) and changes the next analysis.
"""
from __future__ import annotations

import re
from pathlib import Path

import requests
from mutagen.flac import FLAC
from PyQt6.QtCore import QItemSelectionModel, Qt

from soulsync.context import AppContext
from soulsync.core.search import ResultAlbum
from soulsync.ui.dialogs.library_match import LibraryMatchDialog
from soulsync.ui.dialogs.matched_download import MatchedDownloadDialog
from soulsync.ui.main_window import MainWindow

SAFE_NAME = re.compile(r"^[A-Za-z0-9 '&,.!-]+$")
"""Names the library template keeps as they are (so the expected paths can be spelled out here)."""


def pick_album(world):
    """A plain studio album the archivist shares whole, in FLAC, every file the catalog's length."""
    archivist = next(p for p in world.slskd.peers if p.kind == "archivist")
    by_album: dict[str, list] = {}
    for f in archivist.files:
        if f.is_audio and f.track is not None and not f.locked:
            by_album.setdefault(f.track.spotify_album_id, []).append(f)
    for album in world.catalog.albums:
        files = by_album.get(album.spotify_id, [])
        if (album.album_type.value == "album" and album.disc_total == 1 and 5 <= len(album.tracks) <= 10
                and len(files) == len(album.tracks) and all(f.extension == "flac" for f in files)
                and all(abs(f.spec.duration_s * 1000 - f.track.duration_ms) < 1500 for f in files)
                and all(SAFE_NAME.match(x) for x in [album.artist, album.title, *(t.title for t in album.tracks)])
                and all(len(t.artists) == 1 for t in album.tracks)):
            return archivist, album, files
    raise AssertionError("the demo world has no suitable album")


def test_matched_album_download_lands_tagged_and_named_in_the_library(qtbot, window, demo_context, sim_world,
                                                                     gui_network_guard):
    archivist, album, files = pick_album(sim_world)
    page = window.show_page("downloads")
    qtbot.keyClicks(page.search_input, f"{album.artist} {album.title}")
    qtbot.keyClick(page.search_input, Qt.Key.Key_Return)
    session = page.current
    qtbot.waitUntil(lambda: session.state == "done", timeout=30000)
    model = page.model
    results = [model.item_at(model.index(r, 0)) for r in range(model.rowCount())]
    item = next(r for r in results if isinstance(r, ResultAlbum) and r.username == archivist.username
                and album.title in r.folder)
    assert item.track_count == len(album.tracks)

    dialog = MatchedDownloadDialog(demo_context, item, window.downloads, window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.pairing is not None, timeout=30000)
    assert dialog.proposal_model.rows[0].album.spotify_id == album.spotify_id
    assert dialog.pairing.complete, dialog.summary_label.text()
    with qtbot.waitSignal(dialog.queued, timeout=30000):
        qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)

    store = demo_context.store

    def matched():
        return [i for i in store.queue_items() if i.source == "matched"]

    qtbot.waitUntil(lambda: len(matched()) == len(album.tracks) and all(i.finished for i in matched()),
                    timeout=120000)
    items = matched()
    assert {i.state for i in items} == {"succeeded"}, [i.reason for i in items]

    library = sim_world.library_dir.resolve()
    folder = library / album.artist / f"{album.title} ({album.year})"
    expected = {folder / f"{t.track_number:02d} - {t.title}.flac": t for t in album.tracks}
    assert {Path(i.final_path).resolve() for i in items} == {p.resolve() for p in expected}
    cover_file = folder / "cover.jpg"
    assert cover_file.is_file()
    with gui_network_guard.allowed():
        served = requests.get(sim_world.spotify.url + album.image_url, timeout=10).content
    assert cover_file.read_bytes() == served

    for path, track in expected.items():
        audio = FLAC(path)
        tags = audio.tags
        assert tags["TITLE"] == [track.title]
        assert tags["ARTIST"] == [track.artist] and tags["ARTISTS"] == track.artists
        assert tags["ALBUM"] == [album.title] and tags["ALBUMARTIST"] == [album.artist]
        assert tags["TRACKNUMBER"] == [str(track.track_number)]
        assert tags["TRACKTOTAL"] == [str(len(album.tracks))]
        assert tags["DISCNUMBER"] == ["1"] and tags["DISCTOTAL"] == ["1"]
        assert tags["DATE"] == [album.release_date]
        assert tags["ISRC"] == [track.isrc]
        assert tags["SPOTIFY_TRACK_ID"] == [track.spotify_id]
        assert tags["SPOTIFY_ALBUM_ID"] == [album.spotify_id]
        assert tags["SPOTIFY_ARTIST_ID"] == track.spotify_artist_ids
        assert len(audio.pictures) == 1 and audio.pictures[0].data == served and audio.pictures[0].type == 3
        assert abs(audio.info.length * 1000 - track.duration_ms) < 1500

    # Plex was asked to scan: the simulation lists the new files, and so does the Plex client
    wanted_paths = {str(p.resolve()) for p in expected}

    def listed_by_sim() -> set[str]:
        # the simulation keeps paths relative to its library folder
        return {str((library / t.path).resolve()) for t in sim_world.plex.tracks() if t.path} & wanted_paths

    qtbot.waitUntil(lambda: listed_by_sim() == wanted_paths, timeout=60000)
    with gui_network_guard.allowed():
        fetched = demo_context.plex().fetch_all_tracks("Music")
    listed = {(t.title, t.album) for t in fetched if t.path and str(Path(t.path).resolve()) in wanted_paths}
    assert listed == {(t.title, album.title) for t in album.tracks}


# ----------------------------------------------------------------------------- overrides


def analyse(qtbot, win, playlist_id: str):
    page = win.show_page("sync")
    qtbot.waitUntil(lambda: any(p.id == playlist_id for p in page.playlist_model.playlists), timeout=30000)
    row = next(n for n, p in enumerate(page.playlist_model.playlists) if p.id == playlist_id)
    page.playlist_view.selectionModel().select(page.playlist_model.index(row),
                                               QItemSelectionModel.SelectionFlag.ClearAndSelect)
    qtbot.waitUntil(lambda: page.track_model.rowCount() > 0, timeout=10000)
    qtbot.waitUntil(lambda: page.analyse_button.isEnabled(), timeout=30000)
    qtbot.mouseClick(page.analyse_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page._analysis_task is None and page.track_model.rows
                    and all(r.status != "unknown" for r in page.track_model.rows), timeout=60000)
    return {r.track.spotify_id: r for r in page.track_model.rows}


def close_window(win) -> None:
    win.downloads.stop()
    win.close()


def test_library_match_override_survives_a_restart_and_changes_the_analysis(qtbot, demo_context, sim_world,
                                                                            gui_network_guard):
    with gui_network_guard.allowed():
        library = demo_context.plex().fetch_all_tracks("Music")
    demo_context.store.replace_library("plex", library)
    playlist = next(p for p in sim_world.catalog.playlists if 20 <= len(p.tracks) <= 120)

    first = MainWindow(demo_context, check_services=False)
    qtbot.addWidget(first)
    first.show()
    rows = analyse(qtbot, first, playlist.id)
    owned = next(r for r in rows.values() if r.status == "owned")
    missing = next(r for r in rows.values() if r.status == "missing")
    by_key = {t.plex_rating_key: t for t in library}
    # a library track the matcher would never give the missing one: another artist's song
    stand_in = next(t for t in library if t.artist != missing.track.artist and t.title != missing.track.title
                    and t.artist.isascii() and t.title.isascii())

    dialog = LibraryMatchDialog(demo_context, owned.track, owned.library_track, "plex", first)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.track_model.rowCount() > 0, timeout=30000)
    with qtbot.waitSignal(dialog.override_saved, timeout=10000):
        qtbot.mouseClick(dialog.not_in_library_button, Qt.MouseButton.LeftButton)

    dialog = LibraryMatchDialog(demo_context, missing.track, None, "plex", first)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.track_model.rowCount() > 0, timeout=30000)
    dialog.query_input.clear()
    qtbot.keyClicks(dialog.query_input, f"{stand_in.artist} - {stand_in.title}")
    qtbot.waitUntil(lambda: dialog.track_model.rows
                    and dialog.track_model.rows[0][0].plex_rating_key == stand_in.plex_rating_key, timeout=30000)
    dialog.results_view.selectRow(0)
    with qtbot.waitSignal(dialog.override_saved, timeout=10000):
        qtbot.mouseClick(dialog.choose_button, Qt.MouseButton.LeftButton)
    close_window(first)
    paths = demo_context.paths
    demo_context.close()

    restarted = AppContext.open(paths, secret_backend="file")
    try:
        restarted.demo_world = sim_world
        second = MainWindow(restarted, check_services=False)
        qtbot.addWidget(second)
        second.show()
        after = analyse(qtbot, second, playlist.id)
        assert after[owned.track.spotify_id].status == "missing"
        assert after[owned.track.spotify_id].library_track is None
        changed = after[missing.track.spotify_id]
        assert changed.status == "owned"
        assert changed.library_track.plex_rating_key == stand_in.plex_rating_key
        assert by_key[changed.library_track.plex_rating_key].title == stand_in.title
        untouched = [k for k in rows if k not in (owned.track.spotify_id, missing.track.spotify_id)]
        assert all(after[k].status == rows[k].status for k in untouched)
        close_window(second)
    finally:
        restarted.close()
