"""Crash reports: what an exception nobody caught leaves behind, with every secret scrubbed.

:func:`install` (called by :mod:`soulsync.app` when the app or a headless command starts, never
on import) replaces ``sys.excepthook`` and ``threading.excepthook``. An uncaught exception, on the
main thread, in a Qt slot, in a Qt worker or in a plain thread, then

* writes a report (time, version, Python, platform, thread, traceback) into the log folder,
* logs the same, and
* tells the person: on stderr by default, in a non-blocking message box in the app
  (:func:`show_in_dialogs`).

All of it goes through :func:`soulsync.logsetup.scrub` first. The app keeps running afterwards:
PyQt6 aborts the process on an exception in a slot only while ``sys.excepthook`` is Python's own.
At most :data:`MAX_REPORTS_PER_RUN` report files are written per run (an exception in a paint
handler repeats every frame; later ones are logged in one line) and :data:`KEEP_REPORTS` are kept.
"""
from __future__ import annotations

import logging
import os
import platform
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Callable

from soulsync.logsetup import current_log_dir, scrub

log = logging.getLogger("soulsync.crash")

REPORT_GLOB = "crash-*.txt"
KEEP_REPORTS = 20
"""Newest crash reports kept in the log folder; older ones are deleted when a new one is written."""
MAX_REPORTS_PER_RUN = 10


@dataclass(frozen=True)
class CrashReport:
    """One uncaught exception, scrubbed."""

    summary: str
    """``ExceptionType: message``, the traceback's last line."""
    thread: str
    text: str
    """The whole report as written."""
    path: Path | None
    """Where the report was written; None when it could not be (or the run's limit was reached)."""


Notify = Callable[[CrashReport], None]


def tell_on_stderr(report: CrashReport) -> None:
    """The headless commands' way to tell the person: two lines on stderr."""
    where = f"A crash report was written to {report.path}" if report.path else "See the log for details"
    print(f"soulsync: unexpected error in {report.thread}: {report.summary}\n{where}.", file=sys.stderr, flush=True)


class CrashReporter:
    """Turns uncaught exceptions into scrubbed reports; :meth:`install` makes it the process's hooks.

    ``log_dir`` is where reports go; by default the folder of the log file in use (see
    :func:`soulsync.logsetup.current_log_dir`), else the platform's log folder. ``notify`` is called
    with each report (from the thread that failed); it must not block.
    """

    def __init__(self, version: str, notify: Notify | None = tell_on_stderr, log_dir: Path | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.version = version
        self.notify = notify
        self._log_dir = log_dir
        self._clock = clock
        self._lock = threading.Lock()
        self._written = 0
        self._previous: tuple[object, object] | None = None
        self.reports: list[CrashReport] = []
        """This run's reports, oldest first."""

    # ------------------------------------------------------------ hooks
    def install(self) -> None:
        """Become ``sys.excepthook`` and ``threading.excepthook`` (:meth:`uninstall` restores the old ones)."""
        if self._previous is None:
            self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self.excepthook
        threading.excepthook = self.thread_excepthook

    def uninstall(self) -> None:
        if self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous  # type: ignore[assignment]
            self._previous = None

    def excepthook(self, exc_type: type[BaseException], exc: BaseException,
                   tb: TracebackType | None) -> None:
        """``sys.excepthook``: the main thread, Qt slots and Qt worker threads end up here."""
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        self.report(exc_type, exc, tb, threading.current_thread().name)

    def thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        """``threading.excepthook``: exceptions that end a :class:`threading.Thread`."""
        if issubclass(args.exc_type, SystemExit):
            return
        name = args.thread.name if args.thread is not None else threading.current_thread().name
        self.report(args.exc_type, args.exc_value, args.exc_traceback, name)

    # ------------------------------------------------------------ reports
    def report(self, exc_type: type[BaseException], exc: BaseException | None, tb: TracebackType | None,
               thread: str) -> CrashReport:
        """Write, log and tell one uncaught exception; never raises."""
        try:
            details = scrub("".join(traceback.format_exception(exc_type, exc, tb)))
        except Exception:  # a broken __str__ or traceback: keep what is certain
            details = f"{exc_type.__name__} (its text could not be read)\n"
        summary = details.rstrip().splitlines()[-1] if details.strip() else exc_type.__name__
        text = self._text(thread, details)
        with self._lock:
            path = self._write(text) if self._written < MAX_REPORTS_PER_RUN else None
            if path is not None:
                self._written += 1
            report = CrashReport(summary, thread, text, path)
            self.reports.append(report)
        try:
            if path is not None:
                log.critical("Unhandled exception in %s (crash report %s)\n%s", thread, path, details.rstrip())
            else:
                log.critical("Unhandled exception in %s: %s", thread, summary)
        except Exception:  # logging itself failed: the person is still told below
            pass
        if self.notify is not None:
            try:
                self.notify(report)
            except Exception:
                log.exception("Could not show the crash report")
        return report

    def _text(self, thread: str, details: str) -> str:
        moment = datetime.fromtimestamp(self._clock(), timezone.utc).astimezone()
        head = [
            "SoulSync crash report",
            f"Time: {moment.isoformat(timespec='seconds')}",
            f"Version: SoulSync {self.version}",
            f"Python: {platform.python_version()} ({platform.python_implementation()})",
            f"Platform: {platform.platform()}",
            f"Process: {os.getpid()}",
            f"Thread: {thread}",
        ]
        return scrub("\n".join(head)) + "\n\n" + details

    def log_dir(self) -> Path:
        """Where reports are written."""
        if self._log_dir is not None:
            return self._log_dir
        current = current_log_dir()
        if current is not None:
            return current
        from soulsync.config import AppPaths

        return AppPaths.default().log_dir

    def _write(self, text: str) -> Path | None:
        folder = self.log_dir()
        stamp = datetime.fromtimestamp(self._clock()).strftime("%Y%m%d-%H%M%S")
        path = folder / f"crash-{stamp}-{os.getpid()}-{self._written + 1}.txt"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            reports = sorted(folder.glob(REPORT_GLOB), key=lambda p: p.stat().st_mtime)
            for old in reports[:max(0, len(reports) - KEEP_REPORTS)]:
                old.unlink(missing_ok=True)
        except OSError as exc:
            log.error("Could not write a crash report into %s: %s", folder, exc)
            return None
        return path


_installed: CrashReporter | None = None


def install(version: str, notify: Notify | None = tell_on_stderr, log_dir: Path | None = None) -> CrashReporter:
    """Make a new :class:`CrashReporter` the process's exception hooks (replacing one installed before)."""
    global _installed
    if _installed is not None:
        _installed.uninstall()
    _installed = CrashReporter(version, notify, log_dir)
    _installed.install()
    return _installed


def installed() -> CrashReporter | None:
    """The reporter :func:`install` put in place, if any."""
    return _installed


def show_in_dialogs(parent=None) -> Notify:
    """A ``notify`` for the app: a non-modal message box on the GUI thread with the summary and the
    report's path. Call on the GUI thread once the QApplication exists; the returned callable may be
    called from any thread. While a box is open, later reports update it instead of opening more."""
    from PyQt6 import sip
    from PyQt6.QtCore import QObject, Qt, pyqtSignal
    from PyQt6.QtWidgets import QMessageBox

    class CrashDialogs(QObject):
        reported = pyqtSignal(object)

        def __init__(self) -> None:
            super().__init__()
            self.box: QMessageBox | None = None
            self.more = 0
            self.reported.connect(self.show_report)  # queued to the GUI thread when emitted elsewhere

        def __call__(self, report: CrashReport) -> None:
            self.reported.emit(report)

        def show_report(self, report: CrashReport) -> None:
            try:
                self._show(report)
            except Exception:  # the dialog must never raise into the hook again
                log.exception("Could not show the crash dialog")

        def _show(self, report: CrashReport) -> None:
            where = f"A report was written to:\n{report.path}" if report.path else "Details are in the log."
            if self.box is not None and not sip.isdeleted(self.box) and self.box.isVisible():
                self.more += 1
                self.box.setInformativeText(f"{where}\n\n{self.more} more error(s) since; see the log folder.")
                return
            self.more = 0
            box = QMessageBox(QMessageBox.Icon.Critical, "SoulSync: unexpected error",
                              f"Something went wrong in {report.thread}; SoulSync keeps running.\n\n"
                              f"{report.summary}", QMessageBox.StandardButton.Ok, parent)
            box.setObjectName("crash_dialog")
            box.setInformativeText(where)
            box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            box.setWindowModality(Qt.WindowModality.NonModal)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self.box = box
            box.show()

    return CrashDialogs()
