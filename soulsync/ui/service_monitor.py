"""Keeps an eye on Spotify, Plex and slskd: checks each in a worker, now and then."""
from __future__ import annotations

import functools
import time
from typing import Callable

from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from soulsync.context import AppContext
from soulsync.services import checks
from soulsync.ui.widgets.status_indicator import with_tls_note
from soulsync.ui.workers import TaskHandle, run_task

SERVICES = ("Spotify", "Plex", "slskd")
NOT_CONFIGURED = "Not configured (see Settings)"


class ServiceMonitor(QObject):
    """Emits ``status_changed(service, state, message, checked_at)``; state is ok/error/checking/off.

    Whether a service is configured depends on its stored secrets, so that is decided in the worker
    too: a slow keyring never holds up the GUI thread. While a service's TLS certificate checks are
    turned off in Settings, every message about it says so (:func:`with_tls_note`)."""

    status_changed = pyqtSignal(str, str, str, float)

    def __init__(self, context: AppContext, interval_s: float = 120.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.last: dict[str, tuple[str, str, float]] = {}
        self._running: dict[str, TaskHandle] = {}
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

    def _probe(self, service: str) -> Callable[[], checks.CheckResult | None]:
        """The check of ``service`` to run in a worker: None when the service is not configured."""
        ctx = self.context
        if service == "Spotify":
            return lambda: checks.check_spotify(ctx.spotify()) if ctx.spotify_configured() else None
        if service == "Plex":
            return lambda: checks.check_plex(ctx.plex()) if ctx.plex_configured() else None
        return lambda: checks.check_slskd(ctx.slskd()) if ctx.slskd_configured() else None

    def tls_unchecked(self, service: str) -> bool:
        """True when the user turned off the TLS certificate check of ``service``."""
        settings = self.context.settings
        return {"Plex": not settings.plex.verify_tls, "slskd": not settings.slskd.verify_tls}.get(service, False)

    def check_all(self) -> None:
        """Check every service; the stored secrets are read again first (in a worker), so a token
        another process renewed, or a keyring unlocked since, is picked up."""
        for service in SERVICES:
            if service not in self._running:
                self._publish(service, "checking", "Checking…")
        run_task(lambda ctx: self.context.secrets.reload(), owner=self, on_finished=self._check_each)

    def _check_each(self) -> None:
        for service in SERVICES:
            self.check(service)

    def check(self, service: str) -> None:
        if service in self._running:
            return
        probe = self._probe(service)
        self._publish(service, "checking", "Checking…")
        self._running[service] = run_task(
            lambda ctx: probe(), owner=self,
            on_result=functools.partial(self._publish_result, service),
            on_error=functools.partial(self._publish_error, service),
            on_finished=functools.partial(self._forget, service),
        )

    def _forget(self, service: str) -> None:
        self._running.pop(service, None)

    def _publish_error(self, service: str, exc: BaseException) -> None:
        self._publish(service, "error", checks.describe_error(exc, service)[1])

    def _publish_result(self, service: str, result: checks.CheckResult | None) -> None:
        if result is None:
            self._publish(service, "off", NOT_CONFIGURED)
        else:
            self._publish(service, "ok" if result.ok else "error", result.summary)

    def _publish(self, service: str, state: str, message: str) -> None:
        if state != "off" and self.tls_unchecked(service):
            message = with_tls_note(message)
        now = time.time()
        self.last[service] = (state, message, now)
        self.status_changed.emit(service, state, message, now)
