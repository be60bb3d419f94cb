"""Artists page in the demo world: the discography's owned/partial/missing states are right, and
downloading a missing release (album mode) ends with it in the library."""
from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QItemSelectionModel

from soulsync.core.discography import ReleaseState
from soulsync.core.store_records import wanted_key
from soulsync.ui.widgets.artist_views import ArtistListModel


def _release_rows(page):
    model = page.disco_view.model_
    out = []
    for g in range(model.rowCount()):
        group = model.index(g, 0)
        for r in range(model.rowCount(group)):
            out.append(model.index(r, 0, group))
    return out


def test_discography_states_and_album_download(qtbot, window, demo_context, sim_world):
    with qtbot.waitSignal(window.library.changed, timeout=60000):
        window.library.rescan()
    library_keys = {(t.artist, t.title) for t in sim_world.plex.tracks()}
    page = window.show_page("artists")
    qtbot.waitUntil(lambda: page.proxy.rowCount() > 10, timeout=20000)

    # an artist with a partially owned album in the sim's library
    catalog = sim_world.catalog
    owned_titles = {t.title.lower() for t in sim_world.plex.tracks()}
    artist = next(a for a in catalog.artists if a.name.isascii() and any(
        al.artist == a.name and al.album_type.value == "album"
        and 0 < sum(t.title.lower() in owned_titles for t in al.tracks) < len(al.tracks)
        for al in catalog.albums))
    page.filter_edit.setText(artist.name)
    qtbot.waitUntil(lambda: page.proxy.rowCount() >= 1, timeout=5000)
    page.list_view.setCurrentIndex(page.proxy.index(0, 0))
    qtbot.waitUntil(lambda: page.discography is not None and page.discography.artist.name == artist.name,
                    timeout=30000)
    disco = page.discography
    statuses = {r.status for r in disco.releases}
    assert "partial" in statuses or "missing" in statuses
    for release in disco.releases:
        owned = release.owned_count
        assert release.status == ("owned" if owned == release.total else "partial" if owned else "missing")
        for state in release.tracks:
            if state.owned:
                assert state.match is not None
    assert library_keys  # the sim library is there

    target = next(r for r in disco.releases if r.status in ("partial", "missing") and r.album.album_type.value
                  in ("album", "single"))
    missing = list(target.missing_tracks)
    index = next(i for i in _release_rows(page) if i.data(0x0100) is target)
    page.disco_view.selectionModel().select(index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                                            | QItemSelectionModel.SelectionFlag.Rows)
    assert page.download_selected_button.isEnabled()
    page.download_selected_button.click()
    dialog = page.download_dialog
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=240000)
    report = dialog.report
    assert report.progress.downloaded >= 1, report.summary()
    library = Path(sim_world.library_dir).resolve()
    for t in report.tracks:
        if t.final_path:
            assert library in Path(t.final_path).resolve().parents

    # once the library has the files, the release shows them as owned
    got = {wanted_key(t.track) for t in report.tracks if t.final_path}
    qtbot.waitUntil(lambda: page.discography is not None and any(
        isinstance(r, ReleaseState) and r.album.spotify_id == target.album.spotify_id
        and {wanted_key(s.track) for s in r.tracks if s.owned} >= got for r in page.discography.releases),
        timeout=90000)
    assert len(got) >= 1 and len(missing) >= 1


def test_artist_images_load_lazily_for_visible_rows(qtbot, window, sim_world):
    with qtbot.waitSignal(window.library.changed, timeout=60000):
        window.library.rescan()
    page = window.show_page("artists")
    qtbot.waitUntil(lambda: page.proxy.rowCount() > 10, timeout=20000)
    total = page.proxy.rowCount()
    visible = [page.proxy.index(r, 0).data(0x0101).name for r in range(total)
               if page.list_view.visualRect(page.proxy.index(r, 0)).intersects(page.list_view.viewport().rect())]
    assert 0 < len(visible) < total
    qtbot.waitUntil(lambda: all(page.images.path_for(n).exists() for n in visible[:5]), timeout=30000)
    hidden = [page.proxy.index(r, 0).data(0x0101).name for r in range(total)][-1]
    assert not page.images.path_for(hidden).exists()  # rows never shown are not fetched


def test_update_metadata_into_the_app_and_onto_plex(qtbot, window, demo_context, sim_world):
    from soulsync.core.normalize import fold

    with qtbot.waitSignal(window.library.changed, timeout=60000):
        window.library.rescan()
    page = window.show_page("artists")
    qtbot.waitUntil(lambda: page.proxy.rowCount() > 0, timeout=20000)
    artist = next(a for a in sim_world.catalog.artists if a.genres and a.name.isascii()
                  and any(t.artist == a.name for t in sim_world.plex.tracks()))
    page.show_artist(artist.name)
    page.write_plex_box.setChecked(True)
    qtbot.mouseClick(page.update_meta_button, __import__("PyQt6.QtCore", fromlist=["Qt"]).Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Written to Plex" in page.meta_label.text(), timeout=20000)
    meta = demo_context.store.artist_meta(fold(artist.name))
    assert meta["genres"] == list(artist.genres)
    assert page.images.path_for(artist.name).exists()
    plex_artist = next(a for a in sim_world.plex._artists.values() if a.name == artist.name)
    assert plex_artist.genres == list(artist.genres) and "Genres on Spotify" in plex_artist.summary
    assert demo_context.settings.library.write_artist_metadata is True


def test_a_failed_load_of_another_artist_never_shows_the_last_ones_releases(qtbot, window, sim_world):
    with qtbot.waitSignal(window.library.changed, timeout=60000):
        window.library.rescan()
    page = window.show_page("artists")
    qtbot.waitUntil(lambda: page.proxy.rowCount() > 10, timeout=20000)
    first, second = (page.proxy.index(n, 0).data(ArtistListModel.NameRole).name for n in (0, 1))
    page.show_artist(first)
    qtbot.waitUntil(lambda: page.discography is not None and page.discography.artist.name == first, timeout=30000)
    assert page.disco_view.model_.rowCount() > 0
    sim_world.spotify.faults.add("status", status=503, match="GET /v1/")  # Spotify fails from now on
    try:
        page.show_artist(second)
        assert page.discography is None and page.disco_view.model_.rowCount() == 0
        assert not page.download_all_button.isEnabled() and not page.download_selected_button.isEnabled()
        qtbot.waitUntil(lambda: "Reload discography" in page.artist_info.text(), timeout=60000)
        assert page.disco_view.model_.rowCount() == 0 and "from the last load" not in page.artist_info.text()
    finally:
        sim_world.spotify.faults.clear()
