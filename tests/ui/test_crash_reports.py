"""Crash reports and exception text shown to people carry no secret, and the app survives.

An exception whose text holds a registered secret, an ``X-Plex-Token=`` URL and a bearer token is
raised where nobody catches it: in a Qt slot, in a Qt worker thread and in a plain thread. The
report file, the log and the message box must hold none of the three, and the app keeps running.
A subprocess starts the real app (``soulsync.app.main``) with a window whose slot raises; without
the hooks PyQt6 aborts the process on such an exception, which the control run shows.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from PyQt6.QtCore import QRunnable, QThreadPool, QTimer
from PyQt6.QtWidgets import QApplication, QMessageBox

from soulsync import __version__, crash
from soulsync.logsetup import register_secret, scrub_exception, setup_logging
from soulsync.services.checks import describe_error
from soulsync.services.errors import AuthError
from soulsync.ui.workers import run_task

SECRET = "crash-secret-9f8e7d6c5b4a3921"
PLEX_TOKEN = "plexTOKENzz8812"
BEARER = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtZSJ9.c2lnbmF0dXJl"
LEAKS = (SECRET, PLEX_TOKEN, BEARER)
MESSAGE = (f"request failed for user password {SECRET} at "
           f"http://plex.local:32400/library/sections?X-Plex-Token={PLEX_TOKEN} with Authorization: Bearer {BEARER}")
ROOT = Path(__file__).resolve().parents[2]


def leaks(text: str) -> list[str]:
    return [value for value in LEAKS if value in text]


@contextmanager
def reporting(log_dir: Path) -> Iterator[crash.CrashReporter]:
    """Logging into ``log_dir`` and a reporter with message boxes, installed for the test body only
    (pytest and pytest-qt put their own hooks in place around the test call)."""
    register_secret(SECRET)
    log_file = setup_logging(log_dir)
    reporter = crash.CrashReporter(__version__, notify=crash.show_in_dialogs())
    reporter.install()
    try:
        yield reporter
    finally:
        reporter.uninstall()
        root = logging.getLogger()
        for handler in list(root.handlers):
            if getattr(handler, "_soulsync", False):
                root.removeHandler(handler)
                handler.close()
        for box in crash_boxes():
            box.close()
    assert log_file.exists()


def crash_boxes() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, QMessageBox) and w.objectName() == "crash_dialog" and w.isVisible()]


class FailingRunnable(QRunnable):
    def run(self) -> None:
        raise RuntimeError(MESSAGE)


def raise_in_slot() -> None:
    QTimer.singleShot(0, lambda: (_ for _ in ()).throw(RuntimeError(MESSAGE)))


def raise_in_worker() -> None:
    QThreadPool.globalInstance().start(FailingRunnable())


def raise_in_thread() -> None:
    def fail() -> None:
        raise ConnectionError(MESSAGE)
    threading.Thread(target=fail, name="plain-worker").start()


@pytest.mark.qt_no_exception_capture
@pytest.mark.parametrize("raise_it,thread", [(raise_in_slot, "MainThread"), (raise_in_worker, None),
                                             (raise_in_thread, "plain-worker")],
                         ids=["qt-slot", "qt-worker", "plain-thread"])
def test_uncaught_exception_leaves_a_scrubbed_report_log_and_dialog(qtbot, tmp_path, raise_it, thread):
    log_dir = tmp_path / "logs"
    with reporting(log_dir) as reporter:
        raise_it()
        qtbot.waitUntil(lambda: bool(reporter.reports) and bool(crash_boxes()), timeout=5000)
        [report] = reporter.reports
        [box] = crash_boxes()
        dialog_text = f"{box.text()}\n{box.informativeText()}\n{box.detailedText()}"
        alive: list[bool] = []
        QTimer.singleShot(0, lambda: alive.append(True))
        qtbot.waitUntil(lambda: alive == [True], timeout=2000)  # the event loop still runs
    assert report.path is not None and report.path.parent == log_dir and report.path.name.startswith("crash-")
    if thread is not None:
        assert report.thread == thread
    text = report.path.read_text(encoding="utf-8")
    assert text == report.text and leaks(text) == []
    assert "SoulSync crash report" in text and f"Version: SoulSync {__version__}" in text
    assert "Platform: " in text and "Time: " in text and "Traceback (most recent call last)" in text
    assert "X-Plex-Token=***" in text and "Bearer ***" in text and "password ***" in text
    log_text = (log_dir / "soulsync.log").read_text(encoding="utf-8")
    assert "Unhandled exception in" in log_text and str(report.path) in log_text and leaks(log_text) == []
    assert leaks(dialog_text) == [] and str(report.path) in dialog_text
    assert report.summary in box.text() and "keeps running" in box.text()
    assert box.windowModality().name == "NonModal"


@pytest.mark.qt_no_exception_capture
def test_repeated_crashes_share_one_dialog_and_reports_are_bounded(qtbot, tmp_path):
    with reporting(tmp_path / "logs") as reporter:
        for _ in range(crash.MAX_REPORTS_PER_RUN + 3):
            raise_in_slot()
        qtbot.waitUntil(lambda: len(reporter.reports) == crash.MAX_REPORTS_PER_RUN + 3, timeout=5000)
        qtbot.waitUntil(lambda: "12 more error(s)" in "".join(b.informativeText() for b in crash_boxes()),
                        timeout=5000)
        assert len(crash_boxes()) == 1
    written = [r.path for r in reporter.reports if r.path is not None]
    assert len(written) == crash.MAX_REPORTS_PER_RUN == len(list((tmp_path / "logs").glob("crash-*.txt")))


# ---------------------------------------------------------------- the real app and the CLI

APP_SCRIPT = textwrap.dedent('''
    import sys
    from pathlib import Path
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication, QWidget
    import soulsync.ui.main_window as main_window
    from soulsync import app
    from soulsync.logsetup import register_secret

    config_dir, message, secret, out, with_hooks = sys.argv[1:6]
    register_secret(secret)

    class Window(QWidget):
        """Stands in for the main window: one slot raises, then the app reports what it shows."""

        def __init__(self, context, **kwargs):
            super().__init__()
            QTimer.singleShot(0, self.fail)
            self.look = QTimer(self)
            self.look.timeout.connect(self.report_dialog)
            self.look.start(20)
            QTimer.singleShot(20000, QApplication.instance().quit)

        def fail(self):
            raise RuntimeError(message)

        def report_dialog(self):
            boxes = [w for w in QApplication.topLevelWidgets() if w.objectName() == "crash_dialog" and w.isVisible()]
            if boxes:
                Path(out).write_text(boxes[0].text() + "\\n" + boxes[0].informativeText(), encoding="utf-8")
                QApplication.instance().quit()

    main_window.MainWindow = Window
    if with_hooks == "yes":
        sys.exit(app.main(["--config-dir", config_dir]))
    sys.exit(app.run_gui(app.build_parser().parse_args(["--config-dir", config_dir])))
''')


def run_app(tmp_path: Path, with_hooks: bool) -> tuple[subprocess.CompletedProcess, Path, Path]:
    config_dir, out = tmp_path / "config", tmp_path / "dialog.txt"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", APP_SCRIPT, str(config_dir), MESSAGE, SECRET, str(out),
                           "yes" if with_hooks else "no"], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    return done, config_dir, out


def test_the_app_survives_an_exception_in_a_slot_and_shows_a_scrubbed_report(tmp_path):
    done, config_dir, out = run_app(tmp_path, with_hooks=True)
    assert done.returncode == 0, done.stderr[-2000:]
    dialog = out.read_text(encoding="utf-8")
    [report] = list((config_dir / "logs").glob("crash-*.txt"))
    assert str(report) in dialog and "RuntimeError" in dialog and leaks(dialog) == []
    assert leaks(report.read_text(encoding="utf-8")) == []
    log_text = (config_dir / "logs" / "soulsync.log").read_text(encoding="utf-8")
    assert "Unhandled exception in MainThread" in log_text and leaks(log_text) == []
    assert leaks(done.stdout + done.stderr) == []


def test_without_the_hooks_pyqt_aborts_on_an_exception_in_a_slot(tmp_path):
    done, config_dir, out = run_app(tmp_path, with_hooks=False)
    assert done.returncode != 0 and not out.exists()  # the control: this is what the hooks prevent
    assert list((config_dir / "logs").glob("crash-*.txt")) == []


def test_hooks_are_installed_by_main_not_on_import():
    probe = ("import sys, threading\n"
             "hooks = (sys.excepthook, threading.excepthook)\n"
             "import soulsync.app, soulsync.cli, soulsync.crash\n"
             "print(sys.excepthook is hooks[0] and threading.excepthook is hooks[1])\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.stdout.strip() == "True", done.stderr


def test_a_headless_command_reports_a_crashed_thread_on_stderr(tmp_path, monkeypatch, capsys):
    import soulsync.cli
    from soulsync import app

    register_secret(SECRET)
    log_dir = tmp_path / "logs"

    def command(argv: list[str]) -> int:  # what a CLI command with a failing helper thread does
        setup_logging(log_dir)
        helper = threading.Thread(target=lambda: (_ for _ in ()).throw(ValueError(MESSAGE)), name="cli-helper")
        helper.start()
        helper.join()
        return 0

    monkeypatch.setattr(soulsync.cli, "main", command)
    try:
        assert app.main(["check"]) == 0
        reporter = crash.installed()
        assert reporter is not None and sys.excepthook == reporter.excepthook
    finally:
        crash.installed().uninstall()
        root = logging.getLogger()
        for handler in list(root.handlers):
            if getattr(handler, "_soulsync", False):
                root.removeHandler(handler)
                handler.close()
    [report] = reporter.reports
    err = capsys.readouterr().err
    assert "unexpected error in cli-helper: ValueError" in err and str(report.path) in err and leaks(err) == []
    assert report.path.parent == log_dir and leaks(report.path.read_text(encoding="utf-8")) == []


# ---------------------------------------------------------------- exception text shown to people

def test_worker_errors_reach_on_error_scrubbed_with_their_type(qtbot):
    register_secret(SECRET)
    errors: list[Exception] = []

    def fail_auth(ctx):
        raise AuthError("slskd", f"rejected {MESSAGE}", f"detail {SECRET}")

    def fail_os(ctx):
        raise FileNotFoundError(2, f"No such file ({SECRET})", f"/music/{SECRET}.flac")

    for work in (fail_auth, fail_os):
        handle = run_task(work, on_error=errors.append)
        qtbot.waitUntil(lambda: handle.done, timeout=3000)
    auth, missing = errors
    assert isinstance(auth, AuthError) and isinstance(missing, FileNotFoundError)
    for exc in errors:
        shown = " ".join([str(exc), *(str(getattr(exc, a, "")) for a in ("message", "detail", "filename"))])
        assert leaks(shown) == [] and "***" in shown
    assert leaks(describe_error(auth, "slskd")[1]) == []


def test_describe_error_scrubs_unexpected_exceptions():
    register_secret(SECRET)
    kind, text = describe_error(KeyError(MESSAGE), "Plex")
    assert kind == "error" and leaks(text) == [] and "KeyError" in text


def test_an_exception_that_builds_its_text_elsewhere_is_replaced():
    register_secret(SECRET)

    class Opaque(Exception):
        def __init__(self, parts: list[str]) -> None:
            super().__init__()
            self.parts = parts

        def __str__(self) -> str:
            return " ".join(self.parts)

    shown = scrub_exception(Opaque(["token", SECRET]))
    assert type(shown) is RuntimeError and leaks(str(shown)) == [] and "Opaque" in str(shown)
    plain = ValueError("nothing secret")
    assert scrub_exception(plain) is plain and str(plain) == "nothing secret"


def test_a_service_name_used_as_password_does_not_garble_messages():
    register_secret("slskd")  # slskd's documented default web password
    kind, text = describe_error(AuthError("slskd", "slskd rejected the login"), "slskd")
    assert text == "slskd refused the request: slskd rejected the login"
