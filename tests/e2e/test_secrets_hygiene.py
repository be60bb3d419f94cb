"""A full session (connect, status checks, playlists, analysis, search, download) with debug
logging on; afterwards no secret appears in the config folder's plain files or in the logs."""
from __future__ import annotations

import logging

import pytest
from PyQt6.QtCore import QItemSelectionModel, Qt

from soulsync.logsetup import setup_logging
from soulsync.ui.main_window import MainWindow


@pytest.fixture
def logged_window(qtbot, demo_context):
    log_file = setup_logging(demo_context.paths.log_dir, verbose=True)
    win = MainWindow(demo_context, check_services=True)
    qtbot.addWidget(win)
    win.show()
    yield win, log_file
    win.close()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_soulsync", False):
            root.removeHandler(handler)
            handler.close()


def test_no_secret_in_config_or_logs_after_a_full_session(qtbot, logged_window, demo_context, sim_world,
                                                           gui_network_guard):
    win, log_file = logged_window
    settings = win.pages["settings"]
    win.show_page("settings")
    demo_context.secrets.delete("spotify_refresh_token")
    qtbot.mouseClick(settings.spotify.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: settings.spotify.result.state == "ok", timeout=20000)
    qtbot.waitUntil(lambda: all(i.state in ("ok", "error") for i in win.indicators.values()), timeout=20000)

    sync = win.show_page("sync")
    qtbot.waitUntil(lambda: sync.playlist_model.rowCount() > 3 and sync._refresh_task is None, timeout=20000)
    with gui_network_guard.allowed():
        demo_context.store.replace_library("plex", demo_context.plex().fetch_all_tracks("Music"))
    with qtbot.waitSignal(win.library.changed, timeout=20000):
        win.library.reload()
    sync.playlist_view.selectionModel().select(sync.playlist_model.index(2),
                                               QItemSelectionModel.SelectionFlag.ClearAndSelect)
    qtbot.waitUntil(lambda: sync.track_model.rowCount() > 0, timeout=5000)
    with qtbot.waitSignal(sync.analysis_finished, timeout=30000):
        qtbot.mouseClick(sync.analyse_button, Qt.MouseButton.LeftButton)

    downloads = win.show_page("downloads")
    qtbot.keyClicks(downloads.search_input, sim_world.catalog.albums[0].artist)
    qtbot.keyClick(downloads.search_input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: downloads.current.state == "done", timeout=20000)

    for handler in logging.getLogger().handlers:
        handler.flush()
    secrets = {name: demo_context.secrets.get(name) for name in
               ("spotify_client_secret", "spotify_refresh_token", "spotify_access_token", "plex_token",
                "slskd_api_key")}
    assert all(secrets.values()), [k for k, v in secrets.items() if not v]
    log_text = log_file.read_text(encoding="utf-8")
    assert "SoulSync" in log_text or len(log_text) > 0
    plain_files = [p for p in demo_context.paths.config_dir.rglob("*")
                   if p.is_file() and p.name != "secrets.json" and "sim" not in p.parts
                   and p.suffix in (".json", ".log", ".txt", ".ini", "")]
    plain_files.append(log_file)
    leaks = [(name, str(path)) for path in plain_files for name, value in secrets.items()
             if value in path.read_text(encoding="utf-8", errors="replace")]
    assert leaks == []
    assert demo_context.paths.config_file in plain_files
