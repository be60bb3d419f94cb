"""Real mouse-wheel turns for GUI tests: the event the platform delivers when a wheel turns.

QtTest for Python has no wheel function, and a ``QWheelEvent`` sent with ``QApplication.sendEvent``
is not spontaneous: Qt hands such an event to its receiver only, never on to the widgets beneath,
so it cannot show whether a turn over a control scrolls the page. Qt's own test library turns a
wheel through ``qt_handleWheelEvent``, which QtGui exports for it (as ``qt_handleMouseEvent`` for
the mouse functions PyQt's QTest wraps); :func:`turn_wheel` calls the same entry. The event then
goes the whole way a real one does: window system queue, the widget under the pointer, focus by
wheel, event filters, and propagation of an ignored turn to the parents.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable
from pathlib import Path

import PyQt6
import pytest
from PyQt6 import sip
from PyQt6.QtCore import QEvent, QObject, QPoint, QPointF, Qt
from PyQt6.QtWidgets import QApplication, QWidget

_SYMBOL = ("_Z19qt_handleWheelEventP7QWindowRK7QPointFS3_6QPointS4_"
           "6QFlagsIN2Qt16KeyboardModifierEENS6_11ScrollPhaseE")
"""``qt_handleWheelEvent(QWindow*, const QPointF&, const QPointF&, QPoint, QPoint,
Qt::KeyboardModifiers, Qt::ScrollPhase)`` as the Itanium C++ ABI (Linux) names it."""
STEP = 120
"""One notch of a common mouse wheel, in eighths of a degree."""


class _Point(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int)]


@functools.cache
def _entry() -> Callable[..., None]:
    """``qt_handleWheelEvent`` of the QtGui library PyQt6 loaded (skips the test where it is not found)."""
    bundled = Path(PyQt6.__file__).parent / "Qt6" / "lib" / "libQt6Gui.so.6"
    path = str(bundled) if bundled.exists() else ctypes.util.find_library("Qt6Gui")
    try:
        function = getattr(ctypes.CDLL(path), _SYMBOL)
    except (OSError, TypeError, AttributeError):
        pytest.skip("QtGui's wheel entry for tests (qt_handleWheelEvent) is not reachable on this platform")
    function.restype = None
    function.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, _Point, _Point,
                         ctypes.c_int, ctypes.c_int]
    return function


class _WheelSeen(QObject):
    """Counts the wheel events any widget receives (installed on the application)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Wheel:
            self.count += 1
        return False


def turn_wheel(qtbot, widget: QWidget, notches: int, at: QPoint | None = None) -> None:
    """Turn the wheel by ``notches`` (positive: away from the user, i.e. up) with the pointer over
    ``widget`` (its centre, or ``at`` in its coordinates); returns once the turn was delivered."""
    while (popup := QApplication.activePopupWidget()) is not None:  # one left open elsewhere takes every wheel
        popup.close()
    # pending layout work (a value just changed shows or hides rows) would move the widget from under the
    # pointer after the position is taken: settle it first, so the turn lands where it is aimed
    QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest.value)
    QApplication.processEvents()
    top = widget.window()
    handle = top.windowHandle()
    assert handle is not None and widget.isVisible(), "the widget must be shown"
    local = QPointF(widget.mapTo(top, at if at is not None else widget.rect().center()))
    glob = QPointF(top.mapToGlobal(local.toPoint()))
    seen = _WheelSeen()
    app = QApplication.instance()
    app.installEventFilter(seen)
    try:
        _entry()(sip.unwrapinstance(handle), sip.unwrapinstance(local), sip.unwrapinstance(glob),
                 _Point(0, 0), _Point(0, notches * STEP), Qt.KeyboardModifier.NoModifier.value,
                 Qt.ScrollPhase.NoScrollPhase.value)
        qtbot.waitUntil(lambda: seen.count > 0, timeout=2000)
    finally:
        app.removeEventFilter(seen)
