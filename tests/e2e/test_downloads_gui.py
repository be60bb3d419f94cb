"""Downloads page end to end against the slskd simulation: search, counters, grouping, filters,
sort, an album download followed to Finished, and files filed in the library."""
from __future__ import annotations

import pytest
from PyQt6.QtCore import QItemSelectionModel, QPoint, Qt

from soulsync.core.search import ResultAlbum
from soulsync.ui.models.search_results import ItemRole


def test_search_filter_sort_and_download_an_album(qtbot, window, sim_world, demo_context):
    page = window.show_page("downloads")
    archivist = next(p for p in sim_world.slskd.peers if p.kind == "archivist")
    shared = " ".join(f.path for f in archivist.files)
    album = next(a for a in sim_world.catalog.albums
                 if a.title in shared and 6 <= len(a.tracks) <= 14 and a.title.isascii())
    progress = []
    qtbot.keyClicks(page.search_input, f"{album.artist} {album.title}")
    qtbot.keyClick(page.search_input, Qt.Key.Key_Return)
    session = page.current
    assert session is not None
    session.progress.connect(progress.append)
    qtbot.waitUntil(lambda: session.state == "done", timeout=20000)
    assert progress and progress[-1].files > 0 and progress[-1].responses > 0
    assert "users" in page.status_label.text() and "albums" in page.status_label.text()

    model = page.model
    assert model.rowCount() > 0
    albums = [model.item_at(model.index(r, 0)) for r in range(model.rowCount())]
    assert any(isinstance(a, ResultAlbum) for a in albums)
    first_album_row = next(r for r, a in enumerate(albums) if isinstance(a, ResultAlbum))
    assert model.rowCount(model.index(first_album_row, 0)) == albums[first_album_row].track_count

    page.filters.format_boxes["FLAC"].setChecked(True)
    shown = [model.item_at(model.index(r, 0)) for r in range(model.rowCount())]
    assert shown and all(i.family == "FLAC" for i in shown)
    page.filters.format_boxes["FLAC"].setChecked(False)
    page.filters.sort_combo.setCurrentIndex(page.filters.sort_combo.findText("Size"))
    sizes = [model.item_at(model.index(r, 0)).size for r in range(model.rowCount())]
    assert sizes == sorted(sizes, reverse=True)

    peers = {p.username: p for p in sim_world.slskd.peers}

    def reliable(item) -> bool:
        peer = peers[item.username]
        return isinstance(item, ResultAlbum) and peer.kind in ("fast", "archivist")

    target_row = next(r for r in range(model.rowCount()) if reliable(model.item_at(model.index(r, 0))))
    target = model.item_at(model.index(target_row, 0))
    page.view.selectionModel().select(model.index(target_row, 0),
                                      QItemSelectionModel.SelectionFlag.ClearAndSelect
                                      | QItemSelectionModel.SelectionFlag.Rows)
    assert page.download_button.isEnabled()
    qtbot.mouseClick(page.download_button, Qt.MouseButton.LeftButton)
    panel = page.queue_panel
    qtbot.waitUntil(lambda: panel.active_model.rowCount() + panel.finished_model.rowCount() == target.track_count,
                    timeout=10000)
    assert "queued" in model.data(model.index(target_row, 7))

    qtbot.waitUntil(lambda: panel.finished_model.rowCount() == target.track_count, timeout=90000)
    states = {panel.finished_model.item(r).state for r in range(panel.finished_model.rowCount())}
    reasons = [panel.finished_model.item(r).reason for r in range(panel.finished_model.rowCount())]
    assert states == {"succeeded"}, reasons
    finals = [panel.finished_model.item(r).final_path for r in range(panel.finished_model.rowCount())]
    library = sim_world.library_dir.resolve()
    for final in finals:
        assert final and (library in __import__("pathlib").Path(final).resolve().parents)
    assert any(r["kind"] == "download" for r in demo_context.store.activity())


def test_album_rows_expand_scroll_and_sort_in_the_tree_view(crash_watch, qtbot, window, sim_world):
    """What a user does with a broad search: open albums (by the arrow and by the keyboard), scroll
    through them and change the order. Every repaint asks the model for the visible rows, children
    included; an exception there, or any crash report, fails the test."""
    page = window.show_page("downloads")
    view, model = page.view, page.model
    qtbot.keyClicks(page.search_input, sim_world.catalog.albums[5].artist)
    qtbot.keyClick(page.search_input, Qt.Key.Key_Return)
    session = page.current
    qtbot.waitUntil(lambda: session.state == "done", timeout=20000)

    def album_indexes() -> list:
        return [model.index(r, 0) for r in range(model.rowCount())
                if isinstance(model.item_at(model.index(r, 0)), ResultAlbum)]

    albums = album_indexes()
    assert len(albums) >= 4
    first = albums[0]
    view.scrollTo(first)
    arrow = view.visualRect(first)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(arrow.left() - view.indentation() // 2, arrow.center().y()))
    assert view.isExpanded(first)
    for index in albums[1:4]:
        view.setCurrentIndex(index)
        qtbot.keyClick(view, Qt.Key.Key_Right)
        assert view.isExpanded(index)
    opened = {model.data(index, ItemRole).key for index in albums[:4]}
    view.scrollTo(first, view.ScrollHint.PositionAtTop)
    view.viewport().grab()  # paints every visible row now, the first album's tracks among them

    album = model.item_at(first)
    child_rows = [model.index(r, 0, first) for r in range(model.rowCount(first))]
    assert len(child_rows) == album.track_count
    for index, track in zip(child_rows, album.tracks):
        assert not view.visualRect(index).isEmpty()
        assert track.guess.title in model.data(index)

    bar = view.verticalScrollBar()
    assert bar.maximum() > 0
    for _ in range(3):
        qtbot.keyClick(view, Qt.Key.Key_PageDown)
        view.viewport().grab()
    bar.setValue(bar.maximum())
    view.viewport().grab()
    assert bar.value() == bar.maximum()

    for position in range(page.filters.sort_combo.count()):
        page.filters.sort_combo.setCurrentIndex(position)
        view.viewport().grab()
        expanded = {model.data(index, ItemRole).key for index in album_indexes() if view.isExpanded(index)}
        assert expanded == opened, page.filters.sort_combo.currentText()
        bar.setValue(0)
        view.viewport().grab()


def test_results_show_what_the_library_already_has(qtbot, window, sim_world, demo_context, gui_network_guard):
    from soulsync.core.models import Track

    owned = next(t for t in sim_world.catalog.tracks
                 if t.title.isascii() and len(t.title) > 6 and t.artist.isascii())
    demo_context.store.replace_library("plex", [Track(title=owned.title, artists=list(owned.artists),
                                                      album=owned.album, duration_ms=owned.duration_ms,
                                                      plex_rating_key="1")])
    with qtbot.waitSignal(window.library.changed, timeout=10000):
        window.library.reload()
    page = window.show_page("downloads")
    qtbot.keyClicks(page.search_input, f"{owned.artist} {owned.title}")
    qtbot.keyClick(page.search_input, Qt.Key.Key_Return)
    session = page.current
    qtbot.waitUntil(lambda: session.state == "done", timeout=20000)
    model = page.model
    statuses = [model.data(model.index(r, 7)) for r in range(model.rowCount())]
    assert any(s and "in library" in s for s in statuses), statuses


def test_search_again_merges_without_losing_selection_or_filters(qtbot, window, sim_world):
    page = window.show_page("downloads")
    album = sim_world.catalog.albums[5]
    qtbot.keyClicks(page.search_input, album.artist)
    qtbot.keyClick(page.search_input, Qt.Key.Key_Return)
    session = page.current
    qtbot.waitUntil(lambda: session.state == "done", timeout=20000)
    page.filters.lossless_box.setChecked(True)
    model = page.model
    assert model.rowCount() > 1
    keep = model.data(model.index(1, 0), ItemRole).key
    page.view.selectionModel().select(model.index(1, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
                                      | QItemSelectionModel.SelectionFlag.Rows)
    before = model.total
    qtbot.mouseClick(page.again_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.state == "done" and "new)" in page.status_label.text(), timeout=20000)
    assert model.total >= before
    assert page.filters.lossless_box.isChecked()
    assert all(model.item_at(model.index(r, 0)).lossless for r in range(model.rowCount()))
    assert [model.data(i, ItemRole).key for i in page.view.selectionModel().selectedRows()] == [keep]


def test_preview_button_plays_the_selected_result(qtbot, window, sim_world):
    from PyQt6.QtMultimedia import QMediaPlayer

    page = window.show_page("downloads")
    archivist = next(p for p in sim_world.slskd.peers if p.kind == "archivist")
    album = next(a for a in sim_world.catalog.albums
                 if a.title in " ".join(f.path for f in archivist.files) and a.title.isascii())
    qtbot.keyClicks(page.search_input, f"{album.artist} {album.title}")
    qtbot.keyClick(page.search_input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.current.state == "done", timeout=20000)
    model = page.model
    row = next(r for r in range(model.rowCount()) if model.item_at(model.index(r, 0)).username == archivist.username)
    page.view.selectionModel().select(model.index(row, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
                                      | QItemSelectionModel.SelectionFlag.Rows)
    assert page.preview_button.isEnabled()
    qtbot.mouseClick(page.preview_button, Qt.MouseButton.LeftButton)
    bar = window.player_bar
    qtbot.waitUntil(lambda: bar.player is not None
                    and bar.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState, timeout=60000)
    start = bar.player.position()
    qtbot.waitUntil(lambda: bar.player.position() > start + 200, timeout=10000)
    bar.stop()


def test_closing_a_search_tab_deletes_the_search_in_slskd(qtbot, window, sim_world, gui_network_guard):
    from soulsync.services.slskd import SlskdClient

    page = window.show_page("downloads")
    qtbot.keyClicks(page.search_input, sim_world.catalog.albums[2].artist)
    qtbot.keyClick(page.search_input, Qt.Key.Key_Return)
    session = page.current
    qtbot.waitUntil(lambda: session.state == "done", timeout=20000)
    search_id = session.search_id
    client = SlskdClient(sim_world.slskd.url, api_key=sim_world.slskd.api_key)

    def listed() -> bool:
        with gui_network_guard.allowed():
            return any(s.id == search_id for s in client.searches())

    assert listed()
    page.close_tab(page.tabs.currentIndex())
    qtbot.waitUntil(lambda: not listed(), timeout=10000)


def test_only_the_newest_search_tabs_are_kept(qtbot, window, sim_world, gui_network_guard, monkeypatch):
    from soulsync.services.slskd import SlskdClient

    monkeypatch.setattr("soulsync.ui.pages.downloads.MAX_SEARCH_TABS", 2)
    page = window.show_page("downloads")
    artists = [a.artist for a in sim_world.catalog.albums[:12]]
    queries = list(dict.fromkeys(artists))[:4]
    ids = []
    for query in queries:
        session = page.start_search(query)
        qtbot.waitUntil(lambda s=session: s.state == "done", timeout=20000)
        ids.append(session.search_id)
    assert [s.raw_query for s in page.sessions] == queries[-2:]
    assert page.tabs.count() == 2 and page.current is page.sessions[-1]
    client = SlskdClient(sim_world.slskd.url, api_key=sim_world.slskd.api_key)

    def listed() -> set[str]:
        with gui_network_guard.allowed():
            return {s.id for s in client.searches()}

    qtbot.waitUntil(lambda: not (set(ids[:2]) & listed()), timeout=10000)  # the closed tabs' searches are gone
    assert set(ids[2:]) <= listed()


def test_a_search_waits_for_slskd_and_says_so_then_shows_results(qtbot, window, sim_world):
    """slskd runs two searches at a time (shared with its web UI and other tools): a search behind
    them waits ``Queued`` and the page says so instead of counting it as running (reference 1.5)."""
    page = window.show_page("downloads")
    album = next(a for a in sim_world.catalog.albums if a.title.isascii() and len(a.tracks) >= 6)
    sim_world.slskd.max_concurrent_searches = 0  # both slots busy elsewhere
    try:
        qtbot.keyClicks(page.search_input, f"{album.artist} {album.title}")
        qtbot.keyClick(page.search_input, Qt.Key.Key_Return)
        session = page.current
        assert session is not None
        qtbot.waitUntil(lambda: "waiting for slskd" in page.status_label.text(), timeout=20000)
        assert "two searches at a time" in page.status_label.text()
    finally:
        sim_world.slskd.max_concurrent_searches = 2
    qtbot.waitUntil(lambda: session.state == "done", timeout=30000)
    assert session.results is not None and session.results.users > 0


@pytest.mark.parametrize(("typed", "searched"), [("R.E.M.", "REM"), ("光 愛", "")])
def test_one_character_words_are_rewritten_or_refused_in_words(qtbot, window, typed, searched):
    """slskd drops one-character terms and refuses a query with nothing left: the page searches what
    slskd would (acronyms joined) or says why it cannot, without sending anything."""
    page = window.show_page("downloads")
    before = len(page.sessions)
    page.search_input.setText(typed)  # QTest types ASCII only
    qtbot.keyClick(page.search_input, Qt.Key.Key_Return)
    if searched:
        assert page.current is not None and page.current.query == searched
        assert page.tabs.tabText(page.tabs.currentIndex()).startswith(searched)
    else:
        assert len(page.sessions) == before
        assert "Cannot search" in page.status_label.text() and "single character" in page.status_label.text()
