"""Application bootstrap: command line, logging, demo wiring, QApplication.

``soulsync`` opens the app; ``soulsync --demo`` opens it against the built-in
simulations with a throwaway config; ``soulsync sim``, ``sync``, ``check``, ``inspect``, ``run``, ``keep`` and ``watch``
are headless commands (see :mod:`soulsync.cli`); ``--install-desktop-entry`` and
``--uninstall-desktop-entry`` add SoulSync to (or remove it from) the Linux
desktop's launcher for this user (see :mod:`soulsync.desktop_entry`).
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, cast

from soulsync import __version__

if TYPE_CHECKING:
    from soulsync.core.store_health import StoreProblem

log = logging.getLogger("soulsync")

EXIT_BUSY = 3
"""The config folder is owned by a running app that did not answer (the same status as ``soulsync sync``'s)."""
EXIT_STORE = 4
"""The database could not be opened (the window said why)."""


HEADLESS_COMMANDS = {
    "sync": "compare playlists with the library and download what is missing, without a window",
    "check": "test the connections to Spotify, Plex and slskd",
    "inspect": "check audio files for fakes (lossy audio sold as lossless)",
    "sim": "run the simulated Spotify, Plex and slskd (--write-config DIR: a config for sync)",
    "run": "run the schedule without a window (kept playlists, wishlist, new releases); --once for cron",
    "keep": "keep playlists in sync on a schedule: keep add|remove|list PLAYLIST",
    "watch": "watch artists for new releases: watch add|remove|list ARTIST",
}
"""``soulsync COMMAND``: run without a window (:mod:`soulsync.cli`); ``soulsync COMMAND --help`` tells more."""


def build_parser() -> argparse.ArgumentParser:
    commands = "\n".join(f"  {name:<9}{what}" for name, what in HEADLESS_COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="soulsync",
        usage="%(prog)s [options]  |  %(prog)s {" + ",".join(HEADLESS_COMMANDS) + "} ...",
        description="Keep your music library complete: Spotify playlists, Plex, and Soulseek via slskd.\n"
                    "Without a command it opens the app's window.",
        epilog=f"commands (no window; soulsync COMMAND --help for their options):\n{commands}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"SoulSync {__version__}")
    parser.add_argument("--config-dir", type=Path, help="keep settings, data, cache and logs under this folder")
    parser.add_argument("--demo", action="store_true",
                        help="run against built-in simulated Spotify, Plex and slskd with a throwaway config")
    parser.add_argument("--verbose", "-v", action="store_true", help="log debug detail, also to the terminal")
    entry = parser.add_mutually_exclusive_group()
    entry.add_argument("--install-desktop-entry", action="store_true",
                       help="add SoulSync to this user's application launcher (Linux), then exit")
    entry.add_argument("--uninstall-desktop-entry", action="store_true",
                       help="remove SoulSync from this user's application launcher (Linux), then exit")
    parser.add_argument("--demo-speed", type=float, default=1.0, metavar="N",
                        help="with --demo, the automation schedule's clock runs N times faster (3600: an hour a "
                             "second), so kept playlists, wishlist retries and new releases come round in minutes")
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--screenshot", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--page", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Start the app, or a headless command; exceptions nobody catches become crash reports."""
    from soulsync import crash

    crash.install(__version__)
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in HEADLESS_COMMANDS:
        from soulsync.cli import main as cli_main

        return cli_main(argv)
    args = build_parser().parse_args(argv)
    if args.install_desktop_entry or args.uninstall_desktop_entry:
        return desktop_entry_command(install=args.install_desktop_entry)
    return run_gui(args)


def desktop_entry_command(install: bool) -> int:
    """``--install-desktop-entry`` / ``--uninstall-desktop-entry``: say what was written or removed."""
    from soulsync import desktop_entry

    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        print("The launcher entry is for Linux (freedesktop) desktops; see the README's Install section "
              "for macOS and Windows.", file=sys.stderr)
        return 2
    if install:
        written = desktop_entry.install()
        print(f"Added SoulSync to the application launcher ({len(written)} files):")
        for path in written:
            print(f"  {path}")
        print(f"It starts: {desktop_entry.exec_line(desktop_entry.launch_command())}")
        return 0
    removed = desktop_entry.uninstall()
    print("Removed SoulSync from the application launcher:" if removed else "No SoulSync launcher entry found.")
    for path in removed:
        print(f"  {path}")
    return 0


def run_gui(args: argparse.Namespace) -> int:
    from soulsync import crash
    from soulsync.config import AppPaths, ConfigError
    from soulsync.context import AppContext
    from soulsync.core.store_health import StoreProblem, backup_store
    from soulsync.desktop_entry import APP_ID
    from soulsync.instance import FolderInUse, FolderLock, ShowRequests, bring_to_front
    from soulsync.logsetup import setup_logging

    throwaway: Path | None = None
    if args.demo and not args.config_dir:
        throwaway = Path(tempfile.mkdtemp(prefix="soulsync-demo-"))
        args.config_dir = throwaway
    paths = AppPaths.under(args.config_dir) if args.config_dir else AppPaths.default()
    try:
        paths.prepare()
        lock = FolderLock.acquire(paths.config_dir, "the SoulSync app")
        paths.ensure()
    except FolderInUse as exc:
        return _second_start(paths.config_dir, exc)
    except (ConfigError, OSError) as exc:  # told here: a crash report would land outside the folder asked for
        print(f"soulsync: {exc}", file=sys.stderr, flush=True)
        return 2
    log_file = setup_logging(paths.log_dir, args.verbose)
    log.info("SoulSync %s starting (config %s)", __version__, paths.config_dir)
    context = AppContext.open(paths, secret_backend="file" if args.demo else "auto")
    context.folder_lock = lock
    try:
        _ = context.store  # opened now, so that a database problem is told in a window, not as a crash
    except StoreProblem as problem:
        return _tell_store_problem(problem)

    world = None
    if args.demo:
        from soulsync.sim.world import start_demo

        world = start_demo(context, seed=args.seed)
        log.info("Demo mode: simulations running (%s)", world.describe())

    # QtMultimedia probes optional audio back ends and reports each one it lacks; not worth a user's time
    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.symbolsresolver=false")
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    from soulsync.ui.main_window import MainWindow
    from soulsync.ui.theme import apply_theme

    app = cast(QApplication, QApplication.instance()) or QApplication(sys.argv[:1])
    app.setApplicationName("SoulSync")
    app.setOrganizationName("SoulSync")
    app.setDesktopFileName(APP_ID)  # Wayland matches the window to the launcher entry
    apply_theme(app)
    window = MainWindow(context, clock=_demo_clock(args.demo_speed) if args.demo else None)
    show_requests = ShowRequests(paths.config_dir, lambda: bring_to_front(window))
    reporter = crash.installed()
    if reporter is not None:  # the GUI tells crashes in a message box (and keeps running)
        reporter.notify = crash.show_in_dialogs(window)
    if args.page:
        window.show_page(args.page)
    window.show()
    if args.screenshot:
        def grab() -> None:
            window.grab().save(str(args.screenshot))
            window.close()
        QTimer.singleShot(2500, grab)
    print(f"SoulSync is running. Log: {log_file}", flush=True)
    from soulsync.ui.workers import run_task

    run_task(lambda ctx: backup_store(context.store), owner=window)  # the rolling backup, once a day
    try:
        return app.exec()
    finally:
        show_requests.close()
        if world is not None:
            world.stop()
        if throwaway is not None:
            shutil.rmtree(throwaway, ignore_errors=True)


def _demo_clock(speed: float):
    """The schedule's clock in demo mode: real time, ``speed`` times faster from now on (1: real time)."""
    import time

    if speed <= 1.0:
        return None
    start = time.time()
    return lambda: start + (time.time() - start) * speed


def _second_start(config_dir: Path, busy: Exception) -> int:
    """A second start on a config folder: the running app shows its window, this one exits."""
    from PyQt6.QtCore import QCoreApplication

    from soulsync.instance import ask_to_show

    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])  # the local socket needs one
    app.setApplicationName("SoulSync")
    if ask_to_show(config_dir):
        print("SoulSync is already running with this config folder: its window was brought to the front.",
              flush=True)
        return 0
    print(f"soulsync: {busy}, which did not answer. Close it and start SoulSync again.", file=sys.stderr, flush=True)
    return EXIT_BUSY


def _tell_store_problem(problem: "StoreProblem") -> int:
    """A window saying what is wrong with the database and what to do; the app does not start."""
    from PyQt6.QtWidgets import QApplication, QMessageBox

    log.error("Database problem at start-up (%s): %s", problem.kind, problem)
    app = cast(QApplication, QApplication.instance()) or QApplication(sys.argv[:1])
    app.setApplicationName("SoulSync")
    box = QMessageBox(QMessageBox.Icon.Critical, "SoulSync cannot open its database", problem.what,
                      QMessageBox.StandardButton.Close)
    box.setInformativeText(problem.todo)
    box.exec()
    return EXIT_STORE
