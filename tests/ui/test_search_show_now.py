"""A live search in the user's hands (slskd hands its results over only when a search ends): while
files are counted, "Show now" is the page's main action and says how many; how long a search listens
after the last answer is a setting (slskd's searchTimeout)."""
from __future__ import annotations

import json

from PyQt6.QtCore import Qt

from soulsync.config import load_settings
from soulsync.core.search_run import SearchProgress
from soulsync.ui.pages.downloads import DownloadsPage
from soulsync.ui.pages.settings import SettingsPage
from soulsync.ui.search_session import SearchSession, SearchState


def _searching_tab(page: DownloadsPage) -> SearchSession:
    """A tab whose search is running (as start_search makes one, without slskd behind it)."""
    session = SearchSession("Painted Valley", page)
    page.sessions.append(session)
    page.tabs.setCurrentIndex(page.tabs.addTab(session.query))
    session.state = SearchState.SEARCHING
    return session


def test_show_now_is_the_main_action_while_files_wait(qtbot, app_context):
    app_context.settings.downloads.search_timeout_ms = 9000
    page = DownloadsPage(app_context)
    qtbot.addWidget(page)
    session = _searching_tab(page)
    page._refresh_status()
    stop, search = page.stop_button, page.search_button
    assert stop.isEnabled() and stop.text() == "Show now"
    assert not stop.property("primary") and search.property("primary")  # nothing found yet

    session.last_progress = SearchProgress("s1", responses=37, files=816, locked=0, elapsed=7.0, state="InProgress")
    page._session_progress(session, session.last_progress)
    assert stop.text() == "Show 816 files now" and stop.property("primary") and not search.property("primary")
    status = page.status_label.text()
    assert "37 users, 816 files so far (7 s)" in status
    assert "9 s after the last answer" in status and "Show now" in status

    session.last_progress = SearchProgress("s1", responses=1, files=1, locked=0, elapsed=1.0, state="InProgress")
    page._session_progress(session, session.last_progress)
    assert stop.text() == "Show 1 file now" and "1 user, 1 file so far" in page.status_label.text()

    session.state = SearchState.DONE
    page._refresh_status()
    assert not stop.isEnabled() and stop.text() == "Show now" and not stop.property("primary")
    assert search.property("primary")


def test_how_long_a_search_listens_is_a_setting(qtbot, app_context):
    app_context.settings.downloads.search_timeout_ms = 6000
    page = SettingsPage(app_context)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: page.secrets_ready, timeout=5000)
    assert page.downloads.search_listen.value() == 6 and "after the last answer" in page.downloads.search_listen.suffix()
    page.downloads.search_listen.setValue(3)
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.saved_label.text() == "Saved", timeout=5000)
    assert app_context.settings.downloads.search_timeout_ms == 3000
    assert json.loads(app_context.paths.config_file.read_text())["downloads"]["search_timeout_ms"] == 3000
    assert load_settings(app_context.paths).downloads.search_timeout_ms == 3000
