"""Sync page against the simulations: playlists load and cache, analysis finds owned and missing tracks."""
from __future__ import annotations

import pytest
from PyQt6.QtCore import QItemSelectionModel, Qt

from soulsync.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, demo_context):
    win = MainWindow(demo_context, check_services=False)
    qtbot.addWidget(win)
    win.show()
    return win


def _load_plex_library(context, gui_network_guard):
    with gui_network_guard.allowed():
        plex = context.plex()
        tracks = plex.fetch_all_tracks("Music")
    context.store.replace_library("plex", tracks)
    return tracks


def test_playlists_load_from_spotify_and_analysis_counts(qtbot, window, demo_context, sim_world, gui_network_guard):
    page = window.show_page("sync")
    qtbot.waitUntil(lambda: page.playlist_model.rowCount() >= 9, timeout=20000)
    names = [p.name for p in page.playlist_model.playlists]
    assert names[0] == "Liked Songs"
    assert set(names[1:]) == {p.name for p in sim_world.catalog.playlists}
    cached = demo_context.store.playlists()
    assert len(cached) == page.playlist_model.rowCount()

    library = _load_plex_library(demo_context, gui_network_guard)
    assert len(library) >= 2000
    with qtbot.waitSignal(window.library.changed, timeout=20000):
        window.library.reload()
    assert len(window.library.tracks) == len(library)

    target = next(p for p in sim_world.catalog.playlists if 20 <= len(p.tracks) <= 200)
    row = names.index(target.name)
    page.playlist_view.selectionModel().select(page.playlist_model.index(row),
                                               QItemSelectionModel.SelectionFlag.ClearAndSelect)
    qtbot.waitUntil(lambda: page.track_model.rowCount() > 0, timeout=5000)
    qtbot.mouseClick(page.analyse_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page._analysis_task is None and page.track_model.rows
                    and page.track_model.rows[0].status != "unknown", timeout=20000)
    rows = page.track_model.rows
    owned = [r for r in rows if r.status == "owned"]
    missing = [r for r in rows if r.status == "missing"]
    assert owned and missing and len(owned) + len(missing) == len(rows)
    assert 0.4 < len(owned) / len(rows) < 0.95  # the sim library holds about 70% of playlist tracks
    analysis = demo_context.store.playlist_analysis()[target.id]
    assert analysis[:2] == (len(owned), len(missing))
    assert page.download_button.isEnabled()

    page.status_combo.setCurrentIndex(1)  # Missing
    assert page.track_proxy.rowCount() == len(missing)


def test_cached_playlists_show_without_network(qtbot, demo_context, sim_world, gui_network_guard):
    from soulsync.core.models import Playlist, Track

    demo_context.store.save_playlist_tracks(Playlist(id="csv:x", name="Offline list", source="csv",
                                                     tracks=[Track(title="A", artists=["B"])]))
    demo_context.settings.spotify.client_id = ""  # not connected: nothing may be fetched
    win = MainWindow(demo_context, check_services=False)
    qtbot.addWidget(win)
    page = win.show_page("sync")
    qtbot.waitUntil(lambda: page.playlist_model.rowCount() >= 1, timeout=5000)
    assert any(p.name == "Offline list" for p in page.playlist_model.playlists)


def _select(page, names: list[str]) -> None:
    selection = page.playlist_view.selectionModel()
    selection.clearSelection()
    for name in names:
        row = [p.name for p in page.playlist_model.playlists].index(name)
        selection.select(page.playlist_model.index(row), QItemSelectionModel.SelectionFlag.Select)


def test_unreadable_playlists_say_why_and_never_count_as_complete(qtbot, window, demo_context, sim_world,
                                                                  gui_network_guard, qtmodeltester):
    """Spotify's development mode: another user's playlist (403) and Spotify's own (404) cannot be read."""
    page = window.show_page("sync")
    catalog = sim_world.catalog
    theirs = next(p for p in catalog.playlists if p.owner == "marta.k" and not p.collaborative)
    spotifys = next(p for p in catalog.playlists if p.owner == "spotify")

    def marked() -> bool:  # the refreshed list is back in the model (it is re-read from the store after the refresh)
        shown = {p.name: p for p in page.playlist_model.playlists}
        return all(name in shown and shown[name].unreadable for name in (theirs.name, spotifys.name))

    qtbot.waitUntil(lambda: page._refresh_task is None and marked(), timeout=20000)
    assert "can't be read" in page.playlist_status.text()
    qtmodeltester.check(page.playlist_model)

    _select(page, [theirs.name])
    qtbot.waitUntil(page.unreadable_notice.isVisible, timeout=5000)
    notice = page.unreadable_notice.text()
    assert f"“{theirs.name}” can't be read" in notice and "own or collaborate on" in notice
    assert "copy its songs into a playlist of your own" in notice and "Import CSV / M3U" in notice
    _select(page, [spotifys.name])
    qtbot.waitUntil(lambda: "its own playlists" in page.unreadable_notice.text(), timeout=5000)

    qtbot.mouseClick(page.analyse_button, Qt.MouseButton.LeftButton)
    assert "nothing to compare" in page.summary_label.text() and page._analysis_task is None

    _load_plex_library(demo_context, gui_network_guard)
    with qtbot.waitSignal(window.library.changed, timeout=20000):
        window.library.reload()
    readable = next(p for p in catalog.playlists if p.owner == catalog.user_id and 20 <= len(p.tracks) <= 200)
    _select(page, [readable.name, theirs.name, spotifys.name])
    with qtbot.waitSignal(page.analysis_finished, timeout=20000):
        qtbot.mouseClick(page.analyse_button, Qt.MouseButton.LeftButton)
    assert "2 playlists that can't be read were left out" in page.summary_label.text()
    analysed = demo_context.store.playlist_analysis()
    assert readable.id in analysed and theirs.id not in analysed and spotifys.id not in analysed
    rows = {p.name: row for row, p in enumerate(page.playlist_model.playlists)}
    for name in (theirs.name, spotifys.name):
        text = page.playlist_model.data(page.playlist_model.index(rows[name]))
        assert "can't be read" in text and "complete" not in text and "missing" not in text


def test_a_playlist_without_a_count_shows_it_as_unknown_not_zero(qtmodeltester):
    from soulsync.core.models import Playlist
    from soulsync.ui.models.playlists import PlaylistListModel

    model = PlaylistListModel()
    model.set_playlists([Playlist(id="a", name="Followed", owner="Marta", track_count=None),
                         Playlist(id="b", name="Empty", owner="Me", track_count=0)], {})
    qtmodeltester.check(model)
    assert model.data(model.index(0)) == "Followed\nMarta · track count unknown"
    assert model.data(model.index(1)) == "Empty\nMe · 0 tracks"
