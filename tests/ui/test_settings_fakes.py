"""The "Fake file" choice in Settings' download section: shown, saved, reloaded, and used by post-processing."""
from __future__ import annotations

import json

from PyQt6.QtCore import Qt

from soulsync.context import AppContext
from soulsync.ui.pages.settings import SettingsPage


def open_page(qtbot, context) -> SettingsPage:
    page = SettingsPage(context)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: page.secrets_ready, timeout=5000)
    return page


def test_fake_policy_shows_saves_and_reaches_post_processing(qtbot, app_context, tmp_path):
    page = open_page(qtbot, app_context)
    assert page.downloads.fake_policy.currentData() == "refuse"  # the default
    assert [page.downloads.fake_policy.itemData(i) for i in range(page.downloads.fake_policy.count())] == \
        ["refuse", "best_available", "keep"]
    page.downloads.fake_policy.setCurrentIndex(page.downloads.fake_policy.findData("best_available"))
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.saved_label.text() == "Saved", timeout=5000)

    assert json.loads(app_context.paths.config_file.read_text())["downloads"]["fake_policy"] == "best_available"
    reopened = AppContext.open(app_context.paths, secret_backend="file")
    assert open_page(qtbot, reopened).downloads.fake_policy.currentData() == "best_available"
    assert reopened.post_processor(tmp_path / "library").options.fake_policy == "best_available"


def test_an_unknown_saved_policy_falls_back_to_refusing(app_context, tmp_path):
    app_context.settings.downloads.fake_policy = "whatever"
    assert app_context.post_processor(tmp_path / "library").options.fake_policy == "refuse"
