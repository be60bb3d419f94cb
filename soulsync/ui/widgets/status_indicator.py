"""A coloured dot and a service name for the status bar."""
from __future__ import annotations

import time

from PyQt6.QtWidgets import QLabel, QWidget

from soulsync.ui.theme import ACCENT, ERROR, MUTED, WARN

STATE_COLORS = {"ok": ACCENT, "error": ERROR, "checking": WARN, "unknown": MUTED, "off": MUTED}
TLS_OFF_NOTE = "TLS certificate not checked"
"""Part of a service's status message while its certificate checks are turned off in Settings."""


def with_tls_note(message: str) -> str:
    """``message`` with the note that the service's TLS certificate is not checked."""
    return f"{message} ({TLS_OFF_NOTE}: turned off in Settings)"


class StatusIndicator(QLabel):
    """Shows ``● Name`` in the colour of the service's state; the tooltip says why. A message carrying
    :data:`TLS_OFF_NOTE` (see :func:`with_tls_note`) adds a warning after the name."""

    def __init__(self, service: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.state = "unknown"
        self.message = "Not checked yet"
        self.tls_unchecked = False
        self.setObjectName(f"status_{service.lower()}")
        self.set_state("unknown", "Not checked yet")

    def set_state(self, state: str, message: str, checked_at: float | None = None) -> None:
        self.state, self.message = state, message
        self.tls_unchecked = TLS_OFF_NOTE in message
        color = STATE_COLORS.get(state, MUTED)
        warning = f' <span style="color:{WARN}">\u26a0 certificate not checked</span>' if self.tls_unchecked else ""
        self.setText(f'<span style="color:{color}">\u25cf</span> {self.service}{warning}')
        when = f"\nChecked {time.strftime('%H:%M:%S', time.localtime(checked_at))}" if checked_at else ""
        self.setToolTip(f"{self.service}: {message}{when}")
