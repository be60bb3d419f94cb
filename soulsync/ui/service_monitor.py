"""Keeps an eye on Spotify, Plex and slskd: checks each in a worker, now and then."""
from __future__ import annotations

import time
from typing import Callable

from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from soulsync.context import AppContext
from soulsync.services import checks
from soulsync.ui.workers import run_task

SERVICES = ("Spotify", "Plex", "slskd")


class ServiceMonitor(QObject):
    """Emits ``status_changed(service, state, message, checked_at)``; state is ok/error/checking/off."""

    status_changed = pyqtSignal(str, str, str, float)

    def __init__(self, context: AppContext, interval_s: float = 120.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.last: dict[str, tuple[str, str, float]] = {}
        self._running: dict[str, object] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(int(interval_s * 1000))
        self._timer.timeout.connect(self.check_all)

    def start(self) -> None:
        self._timer.start()
        QTimer.singleShot(0, self.check_all)

    def stop(self) -> None:
        self._timer.stop()
        for handle in self._running.values():
            handle.cancel()

    def _plan(self, service: str) -> tuple[bool, Callable[[], checks.CheckResult]]:
        ctx = self.context
        if service == "Spotify":
            return ctx.spotify_configured(), lambda: checks.check_spotify(ctx.spotify())
        if service == "Plex":
            return ctx.plex_configured(), lambda: checks.check_plex(ctx.plex())
        return ctx.slskd_configured(), lambda: checks.check_slskd(ctx.slskd())

    def check_all(self) -> None:
        for service in SERVICES:
            self.check(service)

    def check(self, service: str) -> None:
        if service in self._running:
            return
        configured, probe = self._plan(service)
        if not configured:
            self._publish(service, "off", "Not configured (see Settings)")
            return
        self._publish(service, "checking", "Checking…")
        self._running[service] = run_task(
            lambda ctx: probe(), owner=self,
            on_result=lambda res, s=service: self._publish(s, "ok" if res.ok else "error", res.summary),
            on_error=lambda exc, s=service: self._publish(s, "error", checks.describe_error(exc, s)[1]),
            on_finished=lambda s=service: self._running.pop(s, None),
        )

    def _publish(self, service: str, state: str, message: str) -> None:
        now = time.time()
        self.last[service] = (state, message, now)
        self.status_changed.emit(service, state, message, now)
