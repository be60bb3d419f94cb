"""Dashboard numbers come from the database and update live; the feed is persisted and clickable."""
from __future__ import annotations

import time

import pytest
from PyQt6.QtCore import Qt

from soulsync.core.models import Playlist, Track
from soulsync.core.store_records import QueueItem
from soulsync.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, app_context):
    win = MainWindow(app_context, check_services=False)
    qtbot.addWidget(win)
    win.show()
    return win


def test_cards_match_database_and_update_live(qtbot, window, app_context):
    store = app_context.store
    dash = window.pages["dashboard"]
    qtbot.waitUntil(lambda: dash.cards["playlists"].value_label.text() == "0", timeout=3000)
    store.save_playlists([Playlist(id="a", name="A"), Playlist(id="b", name="B")])
    store.save_playlist_analysis("a", owned=3, missing=4)
    store.replace_library("plex", [Track(title=f"t{i}", artists=["x"], plex_rating_key=str(i)) for i in range(7)])
    store.add_to_wishlist(Track(title="w", artists=["y"]), "not found")
    done = store.add_queue_item(QueueItem(id="", state="queued", username="u", filename="a.flac"))
    done.state, done.finished_at = "succeeded", time.time()
    store.update_queue_item(done)
    store.add_queue_item(QueueItem(id="", state="queued", username="u", filename="b.flac"))
    dash.refresh_stats()
    expected = {"playlists": "2", "library_tracks": "7", "missing": "4", "wishlist": "1",
                "active_downloads": "1", "downloaded_today": "1"}
    qtbot.waitUntil(lambda: {k: c.value_label.text() for k, c in dash.cards.items()} == expected, timeout=5000)


def test_activity_feed_is_live_persisted_and_navigates(qtbot, window, app_context):
    dash = window.pages["dashboard"]
    window.activity.add("download", "Downloaded Song by Band", "downloads")
    qtbot.waitUntil(lambda: dash.activity_model.rowCount() == 1, timeout=3000)
    window.activity.add("sync", "Synced Road Trip", "sync")
    qtbot.waitUntil(lambda: dash.activity_model.rowCount() == 2, timeout=3000)
    first = dash.activity_model.index(0)
    assert "Synced Road Trip" in dash.activity_model.data(first)
    assert [r["message"] for r in app_context.store.activity()] == ["Synced Road Trip", "Downloaded Song by Band"]
    dash._open_activity(first)
    assert window.current_page_id == "sync"


def test_settings_save_is_recorded(qtbot, window, app_context):
    settings = window.pages["settings"]
    window.show_page("settings")
    settings.plex.url.setText("http://plex.example:32400")
    qtbot.mouseClick(settings.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(r["kind"] == "settings" for r in app_context.store.activity()), timeout=3000)
    assert app_context.settings.plex.url == "http://plex.example:32400"


def test_clicking_a_card_opens_its_page(qtbot, window):
    dash = window.pages["dashboard"]
    for key, _label, target in dash.CARDS:
        window.show_page("dashboard")
        card = dash.cards[key]
        qtbot.waitExposed(card)
        qtbot.mouseClick(card, Qt.MouseButton.LeftButton, pos=card.rect().center())
        assert window.current_page_id == target, key


@pytest.mark.parametrize("key", ["sync_all", "retry_wishlist", "rescan_library"])
def test_a_quick_action_runs_on_the_sync_page(qtbot, window, monkeypatch, key):
    sync = window.pages["sync"]
    ran: list[str] = []
    monkeypatch.setattr(sync, key, lambda: ran.append(key))
    window.show_page("dashboard")
    qtbot.mouseClick(window.pages["dashboard"].action_buttons[key], Qt.MouseButton.LeftButton)
    assert ran == [key] and window.current_page_id == "sync"


def test_the_wishlist_quick_action_on_an_empty_wishlist_says_so(qtbot, window):
    window.show_page("dashboard")
    qtbot.mouseClick(window.pages["dashboard"].action_buttons["retry_wishlist"], Qt.MouseButton.LeftButton)
    sync = window.pages["sync"]
    qtbot.waitUntil(lambda: sync.summary_label.text() == "The wishlist is empty.", timeout=5000)


def test_double_clicking_an_activity_opens_its_page(qtbot, window):
    dash = window.pages["dashboard"]
    window.activity.add("download", "Downloaded Song by Band", "downloads")
    qtbot.waitUntil(lambda: dash.activity_model.rowCount() == 1 and dash.activity_view.isVisible(), timeout=3000)
    view = dash.activity_view
    pos = view.visualRect(dash.activity_model.index(0)).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert window.current_page_id == "downloads"
