"""Mouse-wheel input over value controls (combo boxes, spin boxes) in forms that scroll.

Turning the wheel to scroll a form must not change the combo box or spin box that happens to pass
under the pointer. :func:`guard_wheel` makes those controls take wheel input only while they have
focus (a click or Tab gives it); otherwise the turn goes on to the widgets beneath them, and the
form's scroll area scrolls.
"""
from __future__ import annotations

from PyQt6.QtCore import QEvent, QObject, Qt
from PyQt6.QtWidgets import QAbstractSpinBox, QComboBox, QWidget


class WheelGuard(QObject):
    """Event filter: a wheel event reaching a control without focus is passed on to its parents."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Stop the control from seeing a wheel turn unless it has focus; Qt then offers the (ignored)
        turn to the parent widgets, up to the scroll area."""
        if event.type() != QEvent.Type.Wheel or not isinstance(watched, QWidget) or watched.hasFocus():
            return False
        event.ignore()
        return True


def guard_wheel(root: QWidget) -> WheelGuard:
    """Guard every combo box and spin box under ``root`` (call once the form is built): the wheel no
    longer gives them focus (their default focus policy lets it), and they take wheel input only while
    focused. Returns the guard, a child of ``root``."""
    guard = WheelGuard(root)
    for control in (*root.findChildren(QComboBox), *root.findChildren(QAbstractSpinBox)):
        control.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        control.installEventFilter(guard)
    return guard
