"""Headless commands: ``soulsync sync``, ``soulsync check``, ``soulsync inspect`` and ``soulsync sim``.

``sync`` compares playlists (Spotify ones by name or id, or CSV/M3U files)
with the library (Plex, or a music folder) and, unless ``--dry-run``,
downloads what is missing exactly as the Sync page's dialog does. Progress
goes to stderr (an updating line on a terminal, plain lines otherwise); with
``--json`` the result is one JSON object on stdout. Exit status: 0 when
nothing is missing any more, 1 when tracks are still missing or failed
(a ``--dry-run`` too: it reports what a sync would fetch), 2 when the run could not happen (usage,
configuration, or a service it needs being unreachable), in words on stderr;
3 (:data:`EXIT_BUSY`) when another SoulSync process (the app, or another
``sync``) owns the config folder: one process works on a config folder at a time.

``check`` tests the configured services. ``inspect`` checks audio files for
fakes (:mod:`soulsync.cli_inspect`). ``sim`` starts the simulated Spotify,
Plex and slskd, prints their URLs and credentials as one JSON line, and serves
until interrupted; ``--write-config DIR`` also writes a config folder pointed at
them, ready for ``soulsync sync --config-dir DIR``.
"""
from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any, Callable, TextIO

from soulsync import __version__, cli_automation, cli_inspect
from soulsync.safetext import json_for_terminal, printable

log = logging.getLogger("soulsync.cli")

EXIT_OK = 0
EXIT_INCOMPLETE = 1
EXIT_USAGE = 2
EXIT_BUSY = 3
"""Another SoulSync process owns the config folder (see :mod:`soulsync.instance`)."""


class CliError(Exception):
    """A problem that stops the command before it can do its work; printed in words, exit status 2."""


class FolderBusy(CliError):
    """The config folder belongs to another SoulSync process; exit status 3."""


# ----------------------------------------------------------------------------- arguments


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="soulsync", description="SoulSync headless commands.")
    parser.add_argument("--version", action="version", version=f"SoulSync {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sync = commands.add_parser(
        "sync", help="compare playlists with the library and download what is missing",
        description="Compare playlists with the library and download the missing tracks from Soulseek.")
    sync.add_argument("--playlist", action="append", default=[], metavar="NAME_OR_ID",
                      help="a Spotify playlist (or an imported one) by name or id; repeatable")
    sync.add_argument("--playlist-file", action="append", default=[], type=Path, metavar="FILE",
                      help="a CSV (Exportify) or M3U/M3U8 playlist file; repeatable; needs no Spotify")
    sync.add_argument("--library-folder", type=Path, metavar="DIR",
                      help="use this music folder as the library (scanned with its tags) instead of Plex")
    sync.add_argument("--dry-run", action="store_true", help="only report owned and missing tracks")
    sync.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout")
    sync.add_argument("--full-rescan", action="store_true", help="read the whole library again, not just changes")
    sync.add_argument("--m3u8", type=Path, metavar="DIR", help="also write each playlist's owned tracks as DIR/NAME.m3u8")
    sync.add_argument("--no-plex-playlist", action="store_true",
                      help="do not create or update the mirroring Plex playlist after downloading")
    _common(sync)

    check = commands.add_parser("check", help="test the connections to Spotify, Plex and slskd")
    check.add_argument("--json", action="store_true", help="print the results as one JSON object")
    _common(check)

    cli_inspect.add_parser(commands)
    cli_automation.add_parsers(commands, _common)

    sim = commands.add_parser("sim", help="run the simulated Spotify, Plex and slskd until interrupted")
    sim.add_argument("--seed", type=int, default=1, help="catalog seed (default 1)")
    sim.add_argument("--tracks", type=int, default=3000, help="catalog size (default 3000)")
    sim.add_argument("--root", type=Path, help="folder for the simulated library and downloads (default: temporary)")
    sim.add_argument("--time-scale", type=float, default=1.0,
                     help="how much faster than real time simulated transfers run (default 1)")
    sim.add_argument("--spotify-quota", choices=("development", "extended"), default="development",
                     help="answer as a development-mode Spotify app (default, as every self-hosted app runs) or "
                          "as an extended-quota one (the older field names)")
    sim.add_argument("--slskd-version", choices=("0.24.5", "0.25.1", "0.26.0"), default="0.26.0",
                     help="which slskd to behave like (default 0.26.0)")
    sim.add_argument("--slskd-host", choices=("linux", "windows"), default="linux",
                     help="the OS the simulated slskd runs on, which decides its file names (default linux)")
    sim.add_argument("--write-config", type=Path, metavar="DIR",
                     help="also write a config folder pointed at the simulations, for soulsync sync --config-dir DIR")
    sim.add_argument("--verbose", "-v", action="store_true", help="log debug detail to stderr")
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config-dir", type=Path, metavar="DIR",
                        help="keep settings, data, cache and logs under this folder")
    parser.add_argument("--verbose", "-v", action="store_true", help="log debug detail to stderr")


def main(argv: list[str] | None = None) -> int:
    """Run one headless command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage or the help
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command == "sim":
        return run_sim(args)
    if args.command == "inspect":
        return cli_inspect.run_inspect(args)
    from soulsync.core.store_health import StoreProblem
    try:
        context = open_context(args.config_dir, args.verbose, owner=f"soulsync {args.command}"
                               if args.command in ("sync", "run") else None)
    except FolderBusy as exc:
        return fail(str(exc), EXIT_BUSY)
    except CliError as exc:
        return fail(str(exc))
    try:
        if args.command == "check":
            return run_check(context, args)
        if args.command in ("run", "keep", "watch"):
            return _automation_command(context, args)
        return run_sync(context, args)
    except StoreProblem as exc:
        return fail(f"{exc.what} {exc.todo}")
    except KeyboardInterrupt:
        return fail("interrupted; downloads that finished are kept", EXIT_INCOMPLETE)
    finally:
        context.close()


def _automation_command(context, args: argparse.Namespace) -> int:
    """``soulsync run``, ``keep`` and ``watch`` (:mod:`soulsync.cli_automation`), their errors in words."""
    from soulsync.core.playlist_import import PlaylistImportError
    from soulsync.core.sync_run import SyncError
    from soulsync.services.checks import describe_error
    from soulsync.services.errors import ServiceError
    from soulsync.services.library import LibraryError

    def say(text: str) -> None:
        print(printable(text), flush=True)

    command = {"run": cli_automation.run_schedule, "keep": cli_automation.run_keep,
               "watch": cli_automation.run_watch}[args.command]
    try:
        return command(context, args, say)
    except (CliError, LibraryError, PlaylistImportError, SyncError) as exc:
        return fail(str(exc))
    except ServiceError as exc:
        return fail(describe_error(exc, exc.service)[1])


def fail(message: str, status: int = EXIT_USAGE) -> int:
    """Print ``message`` on stderr (control characters escaped) and return ``status``."""
    print(f"soulsync: {printable(message)}", file=sys.stderr, flush=True)
    return status


def open_context(config_dir: Path | None, verbose: bool, owner: str | None = None):
    """The app context for ``--config-dir`` (or the usual folders), with logging to its log folder.

    ``owner``: take the config folder for this command (raises :class:`FolderBusy` when another process
    has it); None for commands that only read."""
    from soulsync.config import AppPaths, ConfigError, read_settings
    from soulsync.context import AppContext
    from soulsync.instance import FolderInUse, FolderLock
    from soulsync.logsetup import setup_logging

    paths = AppPaths.under(config_dir.expanduser()) if config_dir else AppPaths.default()
    try:
        paths.prepare()
        lock = FolderLock.acquire(paths.config_dir, owner) if owner else None
        paths.ensure()
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    except FolderInUse as exc:
        raise FolderBusy(f"{exc}. Close it (or wait for it to finish) and run this again.") from None
    except OSError as exc:
        raise CliError(f"cannot use the folder {paths.config_dir}: {exc.strerror or exc}") from exc
    setup_logging(paths.log_dir, verbose)
    loaded = read_settings(paths)
    context = AppContext.open(paths, secret_backend="file" if loaded.settings.demo else "auto", loaded=loaded)
    context.folder_lock = lock
    for notice in context.notices:  # a damaged settings or secrets file: never silently unconfigured
        print(f"soulsync: warning: {printable(notice)}", file=sys.stderr, flush=True)
    return context


# ----------------------------------------------------------------------------- progress display


class Display:
    """Progress on stderr: one updating line on a terminal, plain lines otherwise."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.quiet = quiet
        self._status = ""
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        """A permanent line (above the status line on a terminal); control characters are shown escaped."""
        if self.quiet:
            return
        text = printable(text)
        with self._lock:
            if self.tty and self._status:
                self.stream.write("\r\x1b[2K")
            self.stream.write(text + "\n")
            if self.tty and self._status:
                self.stream.write(self._status)
            self.stream.flush()

    def status(self, text: str) -> None:
        """The live status line (a terminal only; plain output gets permanent lines instead)."""
        if self.quiet or not self.tty:
            return
        # one row of the terminal at most: "\r" and the erase reach back over one row only, so a wrapped
        # status would leave its first row behind, cut up by the next ones
        width = max(10, shutil.get_terminal_size().columns - 1)
        text = printable(text)
        with self._lock:
            self._status = text if len(text) <= width else text[:width - 1] + "…"
            self.stream.write("\r\x1b[2K" + self._status)
            self.stream.flush()

    def done(self) -> None:
        with self._lock:
            if self.tty and self._status and not self.quiet:
                self.stream.write("\r\x1b[2K")
                self.stream.flush()
            self._status = ""

    def counter(self, label: str) -> Callable[[int, int], None]:
        """A ``progress(done, total)`` callback showing ``label done/total``."""
        def progress(done: int, total: int) -> None:
            self.status(f"{label} {done}/{total}" if total else f"{label}…")
        return progress


# ----------------------------------------------------------------------------- sync


def run_sync(context, args: argparse.Namespace) -> int:
    """``soulsync sync``: the main job (:class:`~soulsync.core.sync_run.SyncRun`) on the named playlists."""
    from soulsync.core.playlist_import import PlaylistImportError
    from soulsync.core.store_health import backup_store
    from soulsync.core.sync_run import SyncError, SyncOptions, SyncRequest, SyncRun
    from soulsync.services.checks import describe_error
    from soulsync.services.errors import ServiceError
    from soulsync.services.library import BoundLibrary, LibraryError
    from soulsync.services.playlist_reader import PlaylistTracks

    if not args.playlist and not args.playlist_file:
        return fail("name at least one --playlist or --playlist-file")
    display = Display(quiet=False)
    try:
        backup_store(context.store)
    except (OSError, sqlite3.Error) as exc:
        display.line(f"warning: the database could not be backed up: {exc}")
    cancel = threading.Event()
    try:
        playlists, spotify = collect_playlists(context, args, display)
        library = BoundLibrary(_library(context, args), context.store)
        options = SyncOptions(refresh_library=True, full_rescan=args.full_rescan, download=not args.dry_run,
                              mirror=not args.dry_run and context.settings.library.create_plex_playlists
                              and not args.no_plex_playlist,
                              m3u8_dir=None if args.dry_run else args.m3u8)
        run = SyncRun(SyncRequest(playlists=playlists), options, store=context.store, library=library,
                      reader=PlaylistTracks(context.store, spotify, strict=True),
                      downloads=lambda: _tools(context, args, cancel), on_event=_SyncDisplay(display),
                      is_cancelled=cancel.is_set)
        with _interrupts(cancel, display):
            result = run.run()
        display.done()
        if result.cancelled and result.downloads is None and not args.dry_run:
            raise CliError("the sync was interrupted")
        downloads = result.downloads
        if downloads is None and not args.dry_run:  # nothing was missing
            from soulsync.core.run_progress import DownloadReport, RunProgress
            downloads = DownloadReport([], RunProgress())
        _print_result(result.playlists, args.json, downloads)
    except (CliError, LibraryError, PlaylistImportError, SyncError) as exc:
        display.done()
        return fail(str(exc))
    except ServiceError as exc:
        display.done()
        log.warning("sync stopped: %s", exc)
        return fail(describe_error(exc, exc.service)[1])
    if args.dry_run:
        return EXIT_INCOMPLETE if result.missing else EXIT_OK
    complete = result.missing == 0 and not (result.downloads is not None and result.downloads.cancelled)
    return EXIT_OK if complete else EXIT_INCOMPLETE


class _SyncDisplay:
    """A sync run's events as terminal lines and a status line (see :class:`Display`)."""

    def __init__(self, display: Display) -> None:
        self.display = display
        self.shown: dict[str, Any] = {}

    def __call__(self, event) -> None:
        from soulsync.core import sync_run as s

        display = self.display
        if isinstance(event, s.Counted):
            label = f"Comparing {event.what}" if event.stage is s.Stage.ANALYSIS else event.stage.label
            display.counter(label)(event.done, event.total)
        elif isinstance(event, s.PlaylistRead):
            display.done()
            display.line(f"Playlist {event.playlist.name!r}: {len(event.playlist.tracks)} tracks")
        elif isinstance(event, s.PlaylistAnalysed):
            display.done()
            display.line(f"{event.playlist.name}: {event.owned} owned, {event.missing} missing")
        elif isinstance(event, s.DownloadsPlanned):
            if event.rows and not self.shown:
                display.line(f"Looking for {len(event.rows)} missing tracks on Soulseek…")
        elif isinstance(event, s.TrackChanged):
            self._track(event.progress)
        elif isinstance(event, s.CountsChanged):
            p = event.counts
            display.status(f"{p.finished}/{p.total} done · {p.downloaded} downloaded · {p.not_found} not found · "
                           f"{p.failed} failed · {p.searching} searching · {p.downloading} downloading")
        elif isinstance(event, s.DownloadsEnded):
            display.done()
            display.line("Downloads: " + event.report.summary())
            for warning in event.report.warnings:
                display.line(f"warning: {warning}")
        elif isinstance(event, s.Note):
            display.done()
            display.line(event.text)

    def _track(self, t) -> None:
        """A line per track when it finishes; without a terminal, also when it starts searching or downloading."""
        from soulsync.core.run_progress import Phase

        if t.phase is Phase.WAITING or self.shown.get(t.key) is t.phase:
            return
        self.shown[t.key] = t.phase
        if t.phase.finished or not self.display.tty:
            where = f" -> {t.final_path}" if t.phase is Phase.DOWNLOADED and t.final_path else ""
            self.display.line(f"[{t.phase.value}] {t.track.display()}{where}" + (
                f": {t.detail}" if t.phase is not Phase.DOWNLOADED and t.detail else ""))


def collect_playlists(context, args: argparse.Namespace, display: Display) -> tuple[list, Any]:
    """The playlists asked for (imported files first, then names or ids) and the Spotify client (or None)."""
    from soulsync.core.playlist_files import import_playlist_file

    store = context.store
    out = []
    for path in args.playlist_file:
        result = import_playlist_file(path)
        store.save_playlist_tracks(result.playlist)
        display.line(result.summary())
        for problem in result.errors[:10]:
            display.line(f"  {path.name}: {problem}")
        out.append(result.playlist)
    spotify = None
    if args.playlist:
        spotify = _spotify(context, display)
        known = store.playlists()
        out.extend(_find_playlist(known, name, spotify is not None) for name in args.playlist)
    return out, spotify


def _spotify(context, display: Display):
    """The Spotify client with the user's playlist list saved afresh, or None (not connected, or failing)."""
    from soulsync.services.checks import describe_error
    from soulsync.services.errors import ServiceError

    if not context.spotify_configured():
        return None
    display.status("Reading your Spotify playlists…")
    try:
        client = context.spotify()
        listed = client.playlists()
        listed.insert(0, client.liked_summary())
    except ServiceError as exc:
        display.done()
        display.line(f"warning: {describe_error(exc, 'Spotify')[1]} Using the playlists saved earlier.")
        return None
    context.store.save_playlists(listed)
    display.done()
    return client


def _find_playlist(known: list, name: str, spotify_connected: bool):
    by_id = [p for p in known if p.id == name]
    if by_id:
        return by_id[0]
    folded = name.strip().casefold()
    matches = [p for p in known if p.name.strip().casefold() == folded]
    if len(matches) == 1:
        return matches[0]
    if matches:
        ids = ", ".join(p.id for p in matches)
        raise CliError(f"{len(matches)} playlists are called {name!r}; name one by its id ({ids})")
    hint = "" if spotify_connected else " (Spotify is not connected: connect it in the app, or use --playlist-file)"
    raise CliError(f"no playlist called {name!r}{hint}")


def _library(context, args: argparse.Namespace):
    from soulsync.services.library import library_source

    folder = args.library_folder
    if folder is not None and not folder.expanduser().is_dir():
        raise CliError(f"the library folder {folder} does not exist")
    return library_source(context, folder)


def _tools(context, args: argparse.Namespace, cancel: threading.Event):
    """The download stages' tools, built when something is missing: slskd checked, the queue filing into the
    library folder. Raises :class:`CliError` when downloads cannot go anywhere."""
    from soulsync.core.destination import library_root_problem
    from soulsync.services.checks import check_slskd

    if not context.slskd_configured():
        raise CliError("slskd is not set up: add its URL and API key in the app's Settings (or use --dry-run)")
    library_dir = args.library_folder.expanduser() if args.library_folder else context.library_dir
    if library_dir is None:
        raise CliError("no library folder to put downloads in: choose one in Settings or pass --library-folder")
    problem = library_root_problem(Path(library_dir), context.store.filed_under(library_dir))
    if problem is not None:
        raise CliError(problem)
    slskd = context.slskd()
    check = check_slskd(slskd)
    if not check.ok:
        raise CliError(check.summary)
    queue = _download_queue(context, slskd, Path(library_dir), cancel)
    return context.download_tools(queue, drive_queue=True,
                                  poll_interval_s=min(1.0, context.settings.downloads.poll_interval_s))


def _download_queue(context, slskd, library_dir: Path, cancel: threading.Event):
    """The download queue as the app builds it, post-processing into ``library_dir``."""
    from soulsync.context import process_download

    try:
        processor = context.post_processor(library_dir)
    except ValueError as exc:
        raise CliError(f"post-processing settings: {exc}") from exc
    from soulsync.core.downloads import DownloadQueue

    def completed(item, path):
        return process_download(processor, item, path, queue.bad_sources)

    queue: DownloadQueue = context.download_queue(slskd, on_completed=completed, cancelled=cancel.is_set)
    return queue


class _interrupts:
    """While active, the first Ctrl-C (or SIGTERM) cancels gracefully; a second one stops at once."""

    def __init__(self, cancel: threading.Event, display: Display) -> None:
        self.cancel = cancel
        self.display = display
        self._old: dict[int, Any] = {}

    def _handle(self, signum, frame) -> None:
        if self.cancel.is_set():
            raise KeyboardInterrupt
        self.cancel.set()
        self.display.line("Stopping: finished downloads are kept (press Ctrl-C again to quit at once)…")

    def __enter__(self) -> "_interrupts":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def _print_result(selected: list, as_json: bool, downloads) -> None:
    """The playlists' analysis (:class:`~soulsync.core.sync_run.PlaylistResult`) and the downloads, on stdout."""
    from soulsync.core.analysis import Status, analysis_json, count_statuses

    if as_json:
        payload: dict[str, Any] = {"playlists": []}
        payload["playlists"] = [analysis_json(entry.playlist.name, entry.statuses) for entry in selected]
        if downloads is not None:
            payload["downloads"] = downloads.as_json()
        sys.stdout.write(json_for_terminal(json.dumps(payload, ensure_ascii=False)) + "\n")
        sys.stdout.flush()
        return
    for entry in selected:
        owned, missing = count_statuses(entry.statuses)
        print(printable(f"{entry.playlist.name}: {owned} owned, {missing} missing"))
        for s in entry.statuses:
            if s.status is Status.OWNED:
                flag = " (ambiguous)" if s.ambiguous else ""
                print(printable(f"  owned    {s.track.display()}  [{s.score:.2f}{flag}] {s.library_path or ''}"))
            else:
                print(printable(f"  {s.status.value:<8} {s.track.display()}"))
    sys.stdout.flush()


# ----------------------------------------------------------------------------- check


def run_check(context, args: argparse.Namespace) -> int:
    """``soulsync check``: one line per configured service; 1 if any failed, 2 if none is configured."""
    from soulsync.services.checks import check_plex, check_slskd, check_spotify

    checks = []
    if context.spotify_configured():
        checks.append(check_spotify(context.spotify()))
    if context.plex_configured():
        checks.append(check_plex(context.plex()))
    if context.slskd_configured():
        checks.append(check_slskd(context.slskd()))
    if args.json:
        print(json_for_terminal(json.dumps({"services": [
            {"service": c.service, "ok": c.ok, "kind": c.kind, "summary": c.summary} for c in checks]},
            ensure_ascii=False)))
    else:
        for c in checks:
            print(printable(f"{c.service:<8} {'ok' if c.ok else 'FAILED':<7} {c.summary}"))
    if not checks:
        return fail("no service is configured yet: set them up in the app's Settings")
    return EXIT_OK if all(c.ok for c in checks) else EXIT_INCOMPLETE


# ----------------------------------------------------------------------------- sim


def write_sim_config(world, folder: Path) -> Path:
    """Settings and secrets in ``folder`` pointed at ``world`` (Spotify connected), as demo mode sets them up."""
    from soulsync.config import AppPaths, ConfigError
    from soulsync.context import AppContext

    paths = AppPaths.under(folder.expanduser().resolve())
    try:
        paths.prepare()
        paths.ensure()
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot write the config folder {paths.config_dir}: {exc.strerror or exc}") from exc
    context = AppContext.open(paths, secret_backend="file")
    try:
        world.configure(context)
    finally:
        context.close()
    return paths.config_dir


def run_sim(args: argparse.Namespace) -> int:
    """``soulsync sim``: start the simulations, print their JSON description on one line, serve until stopped."""
    from soulsync.sim.world import SimWorld

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda signum, frame: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            world = SimWorld.start(seed=args.seed, root=args.root, time_scale=args.time_scale, n_tracks=args.tracks,
                                   hard_cases=True, spotify_quota=args.spotify_quota,
                                   slskd_version=args.slskd_version, slskd_host_os=args.slskd_host)
        except OSError as exc:
            return fail(f"the simulations could not start: {exc.strerror or exc}")
        try:
            described = world.describe()
            if args.write_config is not None:
                try:
                    described["config_dir"] = str(write_sim_config(world, args.write_config))
                except CliError as exc:
                    return fail(str(exc))
            sys.stdout.write(json.dumps(described) + "\n")
            sys.stdout.flush()
            if args.write_config is not None:
                print(f"soulsync: a config for these simulations is in {described['config_dir']}; while this runs, try\n"
                      f"  soulsync sync --config-dir {described['config_dir']} --playlist \"Road Trip '19\" --dry-run",
                      file=sys.stderr, flush=True)
            while not stop.wait(0.5):
                pass
        finally:
            world.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_OK

