"""Every page usable from 1024x640 up: no button shows clipped text, the main views keep room.

Run against the demo simulations, so the pages hold what a user sees (playlists, the library,
long status lines), at the smallest size the app supports and at full HD.
"""
from __future__ import annotations

import pytest
from PyQt6.QtCore import QPoint, QRect, QSize
from PyQt6.QtWidgets import QAbstractButton, QApplication, QComboBox, QLabel

from soulsync.ui.main_window import NAV, MainWindow

SMALL, LARGE = QSize(1024, 640), QSize(1920, 1080)

# views a page is for: (attribute path, least width, least height) in pixels at any supported size
KEY_VIEWS = {
    "dashboard": [],
    "downloads": [("view", 500, 110), ("search_input", 240, 20)],
    "sync": [("playlist_view", 180, 150), ("track_view", 420, 150)],
    "artists": [("list_view", 200, 150)],
    "settings": [],
}


@pytest.fixture(scope="module")
def window(qapp, sim_world, tmp_path_factory):
    """One demo window for the module; each test first waits (through its qtbot) for the playlists."""
    from soulsync.config import AppPaths
    from soulsync.context import AppContext
    from soulsync.ui.theme import apply_theme

    style, palette, sheet = qapp.style().name(), qapp.palette(), qapp.styleSheet()
    apply_theme(qapp)  # the sizes the user gets: the app's style sheet makes controls larger
    context = AppContext.open(AppPaths.under(tmp_path_factory.mktemp("small")), secret_backend="file")
    sim_world.configure(context)
    win = MainWindow(context)
    win.show()
    win.show_page("sync")  # reads the playlists
    yield win
    win.downloads.stop()
    win.close()
    win.deleteLater()
    context.close()
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)
    qapp.setStyle(style)


@pytest.fixture
def ready(qtbot, window, sim_world):
    sync = window.pages["sync"]
    qtbot.waitUntil(lambda: sync.playlist_model.rowCount() > 3 and sync._refresh_task is None, timeout=30_000)
    qtbot.waitUntil(lambda: window.library.ready, timeout=30_000)
    downloads = window.pages["downloads"]
    if downloads.current is None:  # a search tab, its status line and results, as a user has them
        album = sim_world.catalog.albums[7]
        downloads.search_input.setText(f"{album.artist} {album.title}")
        downloads.search_now()
        qtbot.waitUntil(lambda: downloads.current.state == "done" and downloads.model.rowCount() > 0,
                        timeout=60_000)
    return window


def _settle(win: MainWindow) -> None:
    """Let the pending resize and layout requests run (posted events; nothing waits on time)."""
    for _ in range(3):
        QApplication.processEvents()
        win.centralWidget().layout().activate()


def _clipped_buttons(page) -> list[str]:
    bad = []
    for button in page.findChildren(QAbstractButton):
        if not button.isVisibleTo(page) or not button.text():
            continue
        if button.width() < button.sizeHint().width():
            bad.append(f"{button.objectName() or button.text()!r}: {button.width()} < {button.sizeHint().width()}")
    return bad


def _controls_over(page, view) -> list[str]:
    """Buttons, check boxes and combo boxes of the page drawn over ``view`` (a row laid out too low)."""
    area = QRect(view.mapTo(page, QPoint(0, 0)), view.size())
    bad = []
    for control in page.findChildren((QAbstractButton, QComboBox)):
        if not control.isVisibleTo(page) or view.isAncestorOf(control):
            continue
        if QRect(control.mapTo(page, QPoint(0, 0)), control.size()).intersects(area):
            bad.append(control.objectName() or control.text() if isinstance(control, QAbstractButton)
                       else control.objectName())
    return bad


def _tall_labels(page) -> list[str]:
    """Word-wrapped labels squeezed into a narrow, tall column (more than 5 lines)."""
    bad = []
    for label in page.findChildren(QLabel):
        if label.isVisibleTo(page) and label.wordWrap() and label.text():
            lines = label.height() / max(1, label.fontMetrics().lineSpacing())
            if lines > 5.5 and label.width() < 300:
                bad.append(f"{label.objectName() or label.text()[:40]!r}: {label.width()} px wide, {lines:.0f} lines")
    return bad


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["1024x640", "1920x1080"])
@pytest.mark.parametrize("page_id", [p for p, _l, _c in NAV])
def test_page_is_usable_at(ready, size, page_id):
    window = ready
    window.resize(size)
    page = window.show_page(page_id)
    _settle(window)
    assert window.size() == size, f"the window cannot be {size.width()}x{size.height()} ({window.size()})"
    assert _clipped_buttons(page) == []
    assert _tall_labels(page) == []
    for path, least_w, least_h in KEY_VIEWS[page_id]:
        view = getattr(page, path)
        assert view.width() >= least_w and view.height() >= least_h, \
            f"{page_id}.{path} is {view.width()}x{view.height()}"
        assert _controls_over(page, view) == [], f"controls drawn over {page_id}.{path}"


def test_the_window_may_be_made_as_small_as_1024x640(ready):
    window = ready
    least = window.minimumSize().expandedTo(window.minimumSizeHint())
    assert least.width() <= SMALL.width() and least.height() <= SMALL.height(), least
    assert least.width() >= 800 and least.height() >= 500, "a minimum size is set"
