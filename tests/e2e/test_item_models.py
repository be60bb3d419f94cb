"""Every item model of the app under Qt's model tester (``QAbstractItemModelTester``, what pytest-qt's
``qtmodeltester`` runs), filled the way the app fills it in the demo world: search results with
albums expanded, sorted, filtered and merged; the download queue's two tables while an album
downloads; the activity feed; the playlists, a playlist's tracks and their status filter; the
library artists and their sort proxy; a discography; and the dialogs' tables (matched download:
proposals and pairing; correction of a download: attempts and sources; library match; download
missing: its run). The tester is attached before the data arrives, so it checks the model after
every reset, insert, removal and change.

Each model is also asked for ``data()`` at every index (children included), in every role from 0
to ``UserRole + 20``, and for its header in every role: a model that raises there raises on a
repaint, a tooltip or an accessibility query in the app. The windows are painted too (their views
and delegates), with any exception or crash report failing the test.
"""
from __future__ import annotations

from PyQt6.QtCore import QItemSelectionModel, QModelIndex, Qt

from soulsync.core.search import ResultAlbum
from soulsync.ui.models.playlists import StatusRole
from tests.model_checks import ask_everything


def search(qtbot, page, text: str) -> None:
    qtbot.keyClicks(page.search_input, text)
    qtbot.keyClick(page.search_input, Qt.Key.Key_Return)
    session = page.current
    qtbot.waitUntil(lambda: session.state == "done", timeout=20000)


def archivist_album(sim_world):
    archivist = next(p for p in sim_world.slskd.peers if p.kind == "archivist")
    shared = " ".join(f.path for f in archivist.files)
    return next(a for a in sim_world.catalog.albums if a.title in shared and 6 <= len(a.tracks) <= 14
                and a.title.isascii())


def album_rows(model) -> list[QModelIndex]:
    return [model.index(r, 0) for r in range(model.rowCount())
            if isinstance(model.item_at(model.index(r, 0)), ResultAlbum)]


def test_search_results_model(crash_watch, qtbot, model_checks, window, sim_world):
    page = window.show_page("downloads")
    model, view = page.model, page.view
    model_checks.watch(model)
    search(qtbot, page, sim_world.catalog.albums[5].artist)
    albums = album_rows(model)
    assert len(albums) >= 4
    view.expandAll()
    model_checks.assert_clean()
    children = sum(model.rowCount(index) for index in albums)
    assert ask_everything(model) == (model.rowCount() + children) * model.columnCount()
    window.grab()  # and painted, by the views and their delegates

    for position in range(page.filters.sort_combo.count()):
        page.filters.sort_combo.setCurrentIndex(position)
    page.filters.lossless_box.setChecked(True)
    page.filters.kind_combo.setCurrentIndex(page.filters.kind_combo.findText("Albums"))
    model_checks.assert_clean()
    assert ask_everything(model) > 0
    page.filters.lossless_box.setChecked(False)
    page.filters.kind_combo.setCurrentIndex(0)
    qtbot.mouseClick(page.again_button, Qt.MouseButton.LeftButton)  # merges what is new into the rows
    qtbot.waitUntil(lambda: page.current.state == "done" and "new)" in page.status_label.text(), timeout=20000)
    view.expandAll()
    assert ask_everything(model) > 0


def test_queue_activity_and_correction_models(crash_watch, qtbot, model_checks, window, sim_world):
    page = window.show_page("downloads")
    panel = page.queue_panel
    activity = window.pages["dashboard"].activity_model
    model_checks.watch(panel.active_model, panel.finished_model, activity)
    album = archivist_album(sim_world)
    search(qtbot, page, f"{album.artist} {album.title}")
    model = page.model
    peers = {p.username: p for p in sim_world.slskd.peers}
    row = next(r for r in range(model.rowCount()) if isinstance(model.item_at(model.index(r, 0)), ResultAlbum)
               and peers[model.item_at(model.index(r, 0)).username].kind in ("fast", "archivist"))
    target = model.item_at(model.index(row, 0))
    page.view.selectionModel().select(model.index(row, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
                                      | QItemSelectionModel.SelectionFlag.Rows)
    qtbot.mouseClick(page.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.active_model.rowCount() > 0, timeout=10000)
    assert ask_everything(panel.active_model) > 0  # mid-flight: waiting, connecting, downloading rows
    window.grab()

    # "Fix…" on a download in flight: the correction dialog's attempts and sources
    row = next(r for r in range(panel.active_model.rowCount())
               if panel.active_model.item(r).state not in ("processing", "succeeded"))
    panel.tabs.setCurrentIndex(0)
    panel.active_view.selectRow(row)
    qtbot.mouseClick(panel.fix_button, Qt.MouseButton.LeftButton)
    fix = page.fix_dialog
    model_checks.watch(fix.attempt_model, fix.source_model)
    qtbot.waitUntil(lambda: "best first" in fix.status_label.text(), timeout=30000)
    assert ask_everything(fix.attempt_model) >= fix.attempt_model.columnCount()
    assert ask_everything(fix.source_model) > 0
    fix.grab()
    fix.reject()
    qtbot.waitUntil(lambda: panel.finished_model.rowCount() == target.track_count, timeout=90000)
    assert ask_everything(panel.finished_model) == target.track_count * panel.finished_model.columnCount()
    ask_everything(panel.active_model)
    qtbot.waitUntil(lambda: activity.rowCount() > 0, timeout=10000)
    assert ask_everything(activity) == activity.rowCount()
    window.grab()
    window.pages["dashboard"].activity_view.grab()


def test_matched_download_models(crash_watch, qtbot, model_checks, window, sim_world):
    page = window.show_page("downloads")
    album = archivist_album(sim_world)
    search(qtbot, page, f"{album.artist} {album.title}")
    model = page.model
    archivist = next(p for p in sim_world.slskd.peers if p.kind == "archivist")
    row = next(r for r in range(model.rowCount()) if isinstance(model.item_at(model.index(r, 0)), ResultAlbum)
               and model.item_at(model.index(r, 0)).username == archivist.username)
    page.view.selectionModel().select(model.index(row, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
                                      | QItemSelectionModel.SelectionFlag.Rows)
    qtbot.mouseClick(page.matched_button, Qt.MouseButton.LeftButton)
    dialog = page.matched_dialog
    model_checks.watch(dialog.proposal_model, dialog.pairing_model)
    qtbot.waitUntil(lambda: dialog.pairing is not None, timeout=20000)
    proposals, pairing = dialog.proposal_model, dialog.pairing_model
    qtbot.waitUntil(lambda: proposals.data(proposals.index(0, 0), Qt.ItemDataRole.DecorationRole) is not None,
                    timeout=20000)
    assert ask_everything(proposals) == proposals.rowCount() * proposals.columnCount()
    assert ask_everything(pairing) == pairing.rowCount() * pairing.columnCount()
    dialog.grab()
    assert pairing.setData(pairing.index(0, 0), Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    ask_everything(pairing)
    dialog.reject()


def test_playlist_track_library_match_and_run_models(crash_watch, qtbot, model_checks, window, sim_world):
    page = window.show_page("sync")
    model_checks.watch(page.playlist_model, page.track_model, page.track_proxy)
    qtbot.waitUntil(lambda: page.playlist_model.rowCount() >= 9, timeout=20000)
    assert ask_everything(page.playlist_model) == page.playlist_model.rowCount()
    with qtbot.waitSignal(window.library.changed, timeout=60000):
        window.library.rescan()
    names = [p.name for p in page.playlist_model.playlists]
    target = next(p for p in sim_world.catalog.playlists if 20 <= len(p.tracks) <= 200)
    page.playlist_view.selectionModel().select(page.playlist_model.index(names.index(target.name)),
                                               QItemSelectionModel.SelectionFlag.ClearAndSelect)
    qtbot.waitUntil(lambda: page.track_model.rowCount() > 0, timeout=5000)
    assert ask_everything(page.track_model) == page.track_model.rowCount() * page.track_model.columnCount()
    qtbot.mouseClick(page.analyse_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page._analysis_task is None and page.track_model.rows
                    and page.track_model.rows[0].status != "unknown", timeout=30000)
    statuses = {row.status for row in page.track_model.rows}
    assert {"owned", "missing"} <= statuses
    assert ask_everything(page.track_model) > 0
    window.grab()
    for position in range(page.status_combo.count()):
        page.status_combo.setCurrentIndex(position)
        ask_everything(page.track_proxy)
    page.status_combo.setCurrentIndex(0)
    assert ask_everything(page.playlist_model) == page.playlist_model.rowCount()

    # "Fix match…" on an owned track: the library match dialog's candidates
    owned = next(r for r in range(page.track_proxy.rowCount())
                 if page.track_proxy.data(page.track_proxy.index(r, 0), StatusRole) == "owned")
    page.track_view.selectRow(owned)
    qtbot.mouseClick(page.fix_button, Qt.MouseButton.LeftButton)
    match = page.fix_dialog
    model_checks.watch(match.track_model)
    qtbot.waitUntil(lambda: match.track_model.rowCount() > 0, timeout=20000)
    assert ask_everything(match.track_model) == match.track_model.rowCount() * match.track_model.columnCount()
    match.grab()
    match.reject()

    # Download missing for two of the missing tracks: the run's table while it runs and at its end
    missing = [(row.track, None) for row in page.track_model.rows if row.status == "missing"][:2]
    page._open_download_dialog(missing, [])
    run = page.download_dialog
    model_checks.watch(run.model)
    qtbot.waitUntil(lambda: run.model.rowCount() == len(missing), timeout=30000)
    ask_everything(run.model)
    qtbot.waitUntil(lambda: run.report is not None, timeout=120000)
    assert ask_everything(run.model) == len(missing) * run.model.columnCount()
    run.grab()


def test_artist_and_discography_models(crash_watch, qtbot, model_checks, window, sim_world):
    page = window.show_page("artists")
    disco = page.disco_view.model()
    model_checks.watch(page.list_model, page.proxy, disco)
    with qtbot.waitSignal(window.library.changed, timeout=60000):
        window.library.rescan()
    qtbot.waitUntil(lambda: page.proxy.rowCount() > 10, timeout=60000)
    assert ask_everything(page.list_model) == page.list_model.rowCount()
    for position in range(page.sort_combo.count()):
        page.sort_combo.setCurrentIndex(position)
        ask_everything(page.proxy)
        window.grab()  # the artist delegate paints avatars and counts
    artist = next(a for a in sim_world.catalog.artists if a.name.isascii()
                  and sum(al.artist == a.name for al in sim_world.catalog.albums) >= 2)
    page.filter_edit.setText(artist.name)
    qtbot.waitUntil(lambda: page.proxy.rowCount() >= 1, timeout=5000)
    page.list_view.setCurrentIndex(page.proxy.index(0, 0))
    qtbot.waitUntil(lambda: page.discography is not None and disco.rowCount() > 0, timeout=30000)
    page.disco_view.expandAll()
    releases = sum(disco.rowCount(disco.index(g, 0)) for g in range(disco.rowCount()))
    assert releases >= 2
    assert ask_everything(disco) > (disco.rowCount() + releases) * disco.columnCount()
    window.grab()
    page.appears_on.toggle()
    qtbot.waitUntil(lambda: page.reload_discography_button.isEnabled() and disco.rowCount() > 0, timeout=30000)
    ask_everything(disco)
