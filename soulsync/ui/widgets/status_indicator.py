"""A coloured dot and a service name for the status bar."""
from __future__ import annotations

import time

from PyQt6.QtWidgets import QLabel, QWidget

from soulsync.ui.theme import ACCENT, ERROR, MUTED, WARN

STATE_COLORS = {"ok": ACCENT, "error": ERROR, "checking": WARN, "unknown": MUTED, "off": MUTED}


class StatusIndicator(QLabel):
    """Shows ``● Name`` in the colour of the service's state; the tooltip says why."""

    def __init__(self, service: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.state = "unknown"
        self.message = "Not checked yet"
        self.setObjectName(f"status_{service.lower()}")
        self.set_state("unknown", "Not checked yet")

    def set_state(self, state: str, message: str, checked_at: float | None = None) -> None:
        self.state, self.message = state, message
        color = STATE_COLORS.get(state, MUTED)
        self.setText(f'<span style="color:{color}">\u25cf</span> {self.service}')
        when = f"\nChecked {time.strftime('%H:%M:%S', time.localtime(checked_at))}" if checked_at else ""
        self.setToolTip(f"{self.service}: {message}{when}")
