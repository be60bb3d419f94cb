"""Settings page: turning the mouse wheel over a combo box or spin box scrolls the page and leaves the
value alone, unless the control has focus (then the wheel changes it, as people expect).

The turns are real wheel events (see :mod:`tests.wheel_input`): delivered by the window system to
the widget under the pointer and passed on to its parents as Qt does with a turn nobody took."""
from __future__ import annotations

import pytest
from PyQt6.QtWidgets import QAbstractSpinBox, QComboBox, QScrollArea, QWidget

from soulsync.ui.pages.settings import SettingsPage
from tests.wheel_input import turn_wheel


@pytest.fixture
def page(qtbot, app_context) -> SettingsPage:
    """The page in a window too short for its form, so the form scrolls; the window active."""
    page = SettingsPage(app_context)
    qtbot.addWidget(page)
    page.resize(1100, 420)
    page.show()
    qtbot.waitUntil(lambda: page.secrets_ready, timeout=5000)
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow, timeout=5000)
    page.plex.section.addItems(["Music", "Audiobooks", "Podcasts"])  # as a connection test fills it
    return page


def controls(page: SettingsPage) -> list[QWidget]:
    found = [*page.findChildren(QComboBox), *page.findChildren(QAbstractSpinBox)]
    assert len(found) >= 10
    return found


def value(control: QWidget) -> object:
    return control.currentIndex() if isinstance(control, QComboBox) else control.value()


def prepare(control: QWidget, notches: int) -> None:
    """A value the wheel can move in the direction of ``notches`` (so a change would show)."""
    if isinstance(control, QComboBox):
        assert control.count() >= 2, control.objectName()
        control.setCurrentIndex(control.count() - 1 if notches > 0 else 0)
    else:
        middle = (control.minimum() + control.maximum()) / 2
        control.setValue(type(control.value())(middle))


def scroll_area(page: SettingsPage) -> QScrollArea:
    (area,) = page.findChildren(QScrollArea)
    return area


def test_the_wheel_over_an_unfocused_control_scrolls_the_page_and_keeps_the_value(qtbot, page):
    area = scroll_area(page)
    bar = area.verticalScrollBar()
    assert bar.maximum() > 0, "the form must scroll in this window"
    for control in controls(page):
        area.ensureWidgetVisible(control, 0, 60)
        notches = -1 if bar.value() < bar.maximum() else 1  # down while the page can go down
        prepare(control, notches)
        page.save_button.setFocus()
        before, top = value(control), bar.value()
        turn_wheel(qtbot, control, notches)
        assert value(control) == before, f"{type(control).__name__} {control.objectName()!r} changed"
        assert bar.value() != top, f"the page did not scroll over {type(control).__name__}"
        assert not control.hasFocus()


def test_the_wheel_changes_a_focused_control_and_not_the_page(qtbot, page):
    area = scroll_area(page)
    bar = area.verticalScrollBar()
    for control in controls(page):
        area.ensureWidgetVisible(control, 0, 60)
        prepare(control, -1)
        control.setFocus()
        qtbot.waitUntil(control.hasFocus, timeout=2000)
        before, top = value(control), bar.value()
        turn_wheel(qtbot, control, -1)
        assert value(control) != before, f"{type(control).__name__} {control.objectName()!r} ignored the wheel"
        assert bar.value() == top


def test_slskd_sign_in_method_survives_scrolling_past_it(qtbot, page):
    """The case a user met: scrolling over "Sign in with" flipped API key to password."""
    area = scroll_area(page)
    area.ensureWidgetVisible(page.slskd.auth, 0, 60)
    assert page.slskd.auth.currentData() == "api_key"
    turn_wheel(qtbot, page.slskd.auth, -1)
    turn_wheel(qtbot, page.slskd.auth, -1)
    assert page.slskd.auth.currentData() == "api_key"
    assert page.slskd.api_key.isVisible() and not page.slskd.password.isVisible()
