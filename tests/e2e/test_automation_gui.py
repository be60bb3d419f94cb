"""Set and forget in the window, as a person does it: turn automation on in Settings, keep a playlist in sync
on the Sync page, watch an artist, then see the schedule on the Dashboard and run a job now."""
from __future__ import annotations

from PyQt6.QtCore import Qt

from tests.e2e.conftest import select_playlist

PLAYLIST = "Chill — Rainy Days"


def schedule_rows(panel) -> list[str]:
    model = panel.model
    return [model.data(model.index(r, 0)) for r in range(model.rowCount())]


def test_automation_on_keep_a_playlist_and_run_it_now_from_the_dashboard(qtbot, window, demo_context, sim_world):
    demo_context.settings.downloads.stall_timeout_s = 20.0
    settings = window.show_page("settings")
    qtbot.waitUntil(lambda: settings.secrets_ready, timeout=10000)
    settings.automation.enabled.setChecked(True)
    with qtbot.waitSignal(settings.settings_saved, timeout=30000):
        qtbot.mouseClick(settings.save_button, Qt.MouseButton.LeftButton)
    assert demo_context.settings.automation.enabled

    sync = window.show_page("sync")
    select_playlist(qtbot, sync, PLAYLIST)
    qtbot.waitUntil(sync.keep_button.isEnabled, timeout=10000)
    assert sync.keep_button.text() == "Keep in sync"
    qtbot.mouseClick(sync.keep_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: sync.keep_button.text() == "Kept in sync ✓", timeout=10000)
    assert "will be kept in sync every 6 h" in sync.summary_label.text()

    dashboard = window.show_page("dashboard")
    panel = dashboard.schedule
    qtbot.waitUntil(lambda: f"Playlist “{PLAYLIST}”" in schedule_rows(panel), timeout=30000)
    assert panel.view.isVisible() and "Wishlist retries" in schedule_rows(panel)
    # the playlist, due at once, runs by itself; then "Run now" runs it again on request
    qtbot.waitUntil(lambda: f"Playlist “{PLAYLIST}”: done." in panel.history.text(), timeout=300000)
    row = schedule_rows(panel).index(f"Playlist “{PLAYLIST}”")
    panel.view.selectRow(row)
    with qtbot.waitSignal(window.automation.run_finished, timeout=300000) as finished:
        qtbot.mouseClick(panel.run_now_button, Qt.MouseButton.LeftButton)
    record = finished.args[0]
    assert record.manual and record.summary.startswith(f"{PLAYLIST}: ")
    def next_run() -> str:
        index = next(r for r, name in enumerate(schedule_rows(panel)) if name == f"Playlist “{PLAYLIST}”")
        return panel.model.data(panel.model.index(index, 1))

    qtbot.waitUntil(lambda: next_run().startswith(("in 5 h", "in 6 h")), timeout=10000)

    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.status.text().startswith("Paused"), timeout=10000)
    assert panel.pause_button.text() == "Resume"
