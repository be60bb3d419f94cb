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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

from soulsync import __version__, cli_inspect
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
                               if args.command == "sync" else None)
    except FolderBusy as exc:
        return fail(str(exc), EXIT_BUSY)
    except CliError as exc:
        return fail(str(exc))
    try:
        if args.command == "check":
            return run_check(context, args)
        return run_sync(context, args)
    except StoreProblem as exc:
        return fail(f"{exc.what} {exc.todo}")
    except KeyboardInterrupt:
        return fail("interrupted; downloads that finished are kept", EXIT_INCOMPLETE)
    finally:
        context.close()


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


@dataclass
class _Selected:
    playlist: Any
    statuses: list = field(default_factory=list)


def run_sync(context, args: argparse.Namespace) -> int:
    """``soulsync sync``; see the module docstring."""
    from soulsync.core import failpoints
    from soulsync.core.playlist_import import PlaylistImportError
    from soulsync.core.store_health import backup_store
    from soulsync.services.checks import describe_error
    from soulsync.services.errors import ServiceError
    from soulsync.services.library import LibraryError

    if not args.playlist and not args.playlist_file:
        return fail("name at least one --playlist or --playlist-file")
    display = Display(quiet=False)
    try:
        backup_store(context.store)
    except (OSError, sqlite3.Error) as exc:
        display.line(f"warning: the database could not be backed up: {exc}")
    try:
        selected = [_Selected(p) for p in collect_playlists(context, args, display)]
        source = _library(context, args)
        report = source.refresh(context.store, full=args.full_rescan, progress=display.counter("Reading the library"))
        display.done()
        display.line(report.summary())
        if report.cancelled:
            raise CliError("the library read was interrupted")
        _analyse_all(context, source, selected, display)
        if args.dry_run:
            _print_result(selected, args.json, None)
            return EXIT_INCOMPLETE if _missing(selected) else EXIT_OK
        failpoints.hit("sync.analysed")
        downloads = _download(context, source, selected, args, display)
        failpoints.hit("sync.downloaded")
        _analyse_all(context, source, selected, display)
        _after_sync(context, source, selected, args, display)
        _print_result(selected, args.json, downloads)
    except (CliError, LibraryError, PlaylistImportError) as exc:
        display.done()
        return fail(str(exc))
    except ServiceError as exc:
        display.done()
        log.warning("sync stopped: %s", exc)
        return fail(describe_error(exc, exc.service)[1])
    return EXIT_OK if _missing(selected) == 0 and not downloads.cancelled else EXIT_INCOMPLETE


def _missing(selected: list[_Selected]) -> int:
    return sum(1 for s in selected for t in s.statuses if t.status.value == "missing")


def collect_playlists(context, args: argparse.Namespace, display: Display) -> list:
    """The playlists asked for, with their tracks: imported files first, then names or ids."""
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
    if args.playlist:
        out.extend(_named_playlists(context, args.playlist, display))
    return out


def _named_playlists(context, wanted: list[str], display: Display) -> list:
    """Playlists by name or id: Spotify's current list when it is connected, else the cached one."""
    from soulsync.services.checks import describe_error
    from soulsync.services.errors import PlaylistUnreadable, ServiceError

    store = context.store
    spotify = None
    if context.spotify_configured():
        display.status("Reading your Spotify playlists…")
        try:
            client = context.spotify()
            listed = client.playlists()
            listed.insert(0, client.liked_summary())
        except ServiceError as exc:
            display.done()
            display.line(f"warning: {describe_error(exc, 'Spotify')[1]} Using the playlists saved earlier.")
        else:
            spotify = client
            store.save_playlists(listed)
            display.done()
    known = store.playlists()
    out = []
    for name in wanted:
        playlist = _find_playlist(known, name, spotify is not None)
        if store.playlist_needs_fetch(playlist.id) and playlist.source in ("spotify", "liked"):
            if spotify is None:
                raise CliError(f"{playlist.name!r} is a Spotify playlist and Spotify is not connected")
            display.status(f"Reading {playlist.name}…")
            if playlist.source == "liked":
                fetched = spotify.liked_tracks()
                playlist.tracks = list(getattr(fetched, "tracks", fetched))
            else:
                try:
                    playlist.tracks = spotify.playlist_tracks(playlist.id).tracks
                except PlaylistUnreadable as exc:
                    store.mark_playlist_unreadable(playlist.id, exc.message)
                    raise CliError(f"{playlist.name!r} can't be read: {exc.message}") from None
            store.save_playlist_tracks(playlist)
            display.done()
        else:
            playlist.tracks = store.playlist_tracks(playlist.id)
        display.line(f"Playlist {playlist.name!r}: {len(playlist.tracks)} tracks")
        out.append(playlist)
    return out


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


def _analyse_all(context, source, selected: list[_Selected], display: Display) -> None:
    from soulsync.core.sync import analyse, save_analysis

    store = context.store
    index, by_key = source.index(store, progress=display.counter("Indexing the library"))
    overrides = store.overrides()
    for entry in selected:
        playlist = entry.playlist
        entry.statuses = analyse(playlist.tracks, index, overrides, library=by_key, playlist_id=playlist.id,
                                 progress=display.counter(f"Comparing {playlist.name}"))
        owned, missing = save_analysis(store, playlist.id, entry.statuses)
        display.done()
        display.line(f"{playlist.name}: {owned} owned, {missing} missing")


def _download(context, source, selected: list[_Selected], args: argparse.Namespace, display: Display):
    """Download every missing track (all playlists together); Ctrl-C stops and keeps what finished."""
    from soulsync.core.destination import library_root_problem
    from soulsync.core.sync import (
        DownloadMissing, DownloadReport, Phase, RunProgress, SearchSettings, missing_tracks,
    )
    from soulsync.services.checks import check_slskd

    wanted = [pair for entry in selected for pair in missing_tracks(entry.statuses)]
    if not wanted:
        return DownloadReport([], RunProgress())
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
    d = context.settings.downloads
    prefs = context.quality_prefs()
    limiter = context.search_limiter
    search = SearchSettings(search_timeout_ms=d.search_timeout_ms, response_limit=d.response_limit)
    cancel = threading.Event()
    queue = _download_queue(context, slskd, Path(library_dir), cancel)

    shown: dict[str, Phase] = {}

    def on_track(t) -> None:
        """A line per track when it finishes; without a terminal, also when it starts searching or downloading."""
        if t.phase is Phase.WAITING or shown.get(t.key) is t.phase:
            return
        shown[t.key] = t.phase
        if t.phase.finished or not display.tty:
            where = f" -> {t.final_path}" if t.phase is Phase.DOWNLOADED and t.final_path else ""
            display.line(f"[{t.phase.value}] {t.track.display()}{where}" + (
                f": {t.detail}" if t.phase is not Phase.DOWNLOADED and t.detail else ""))

    def on_progress(p) -> None:
        display.status(f"{p.finished}/{p.total} done · {p.downloaded} downloaded · {p.not_found} not found · "
                       f"{p.failed} failed · {p.searching} searching · {p.downloading} downloading")

    flow = DownloadMissing(wanted, client=slskd, queue=queue, store=context.store, prefs=prefs, limiter=limiter,
                           settings=search, drive_queue=True, poll_interval_s=min(1.0, d.poll_interval_s),
                           on_track=on_track, on_progress=on_progress, is_cancelled=cancel.is_set,
                           library_changed=lambda paths: display.line(
                               source.after_download(context.store, paths, cancel=cancel.is_set).summary()))
    if wanted:
        display.line(f"Looking for {flow.counts().total} missing tracks on Soulseek…")
    with _interrupts(cancel, display):
        report = flow.run()
    display.done()
    display.line("Downloads: " + report.summary())
    for warning in report.warnings:
        display.line(f"warning: {warning}")
    return report


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


def _after_sync(context, source, selected: list[_Selected], args: argparse.Namespace, display: Display) -> None:
    """Mirror the playlists on Plex (when asked) and write M3U8 files (``--m3u8``)."""
    from soulsync.core.safe_paths import sanitize_component
    from soulsync.core.sync import export_m3u8
    from soulsync.services.checks import describe_error
    from soulsync.services.errors import ServiceError

    mirror = (source.supports_playlists and context.settings.library.create_plex_playlists
              and not args.no_plex_playlist)
    for entry in selected:
        if mirror:
            try:
                display.line(source.mirror_playlist(context.store, entry.playlist, entry.statuses).message)
            except ServiceError as exc:
                display.line(f"warning: {describe_error(exc, exc.service)[1]}")
        if args.m3u8 is not None:
            target = args.m3u8.expanduser() / f"{sanitize_component(entry.playlist.name, fallback='playlist')}.m3u8"
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                n = export_m3u8(entry.statuses, target, entry.playlist.name)
            except OSError as exc:
                raise CliError(f"cannot write {target}: {exc.strerror or exc}") from exc
            display.line(f"Wrote {target} ({n} tracks)")


def _print_result(selected: list[_Selected], as_json: bool, downloads) -> None:
    from soulsync.core.sync import count_statuses

    if as_json:
        payload: dict[str, Any] = {"playlists": []}
        for entry in selected:
            owned, missing = count_statuses(entry.statuses)
            payload["playlists"].append({"name": entry.playlist.name,
                                         "tracks": [s.as_json() for s in entry.statuses],
                                         "owned": owned, "missing": missing})
        if downloads is not None:
            p = downloads.progress
            payload["downloads"] = {
                "downloaded": p.downloaded, "not_found": p.not_found, "failed": p.failed,
                "cancelled": p.cancelled, "error": downloads.error or None,
                "tracks": [{"title": t.track.title, "artists": list(t.track.artists), "status": t.phase.value,
                            "detail": t.detail, "path": t.final_path} for t in downloads.tracks]}
        sys.stdout.write(json_for_terminal(json.dumps(payload, ensure_ascii=False)) + "\n")
        sys.stdout.flush()
        return
    for entry in selected:
        owned, missing = count_statuses(entry.statuses)
        print(printable(f"{entry.playlist.name}: {owned} owned, {missing} missing"))
        for s in entry.statuses:
            if s.status.value == "owned":
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

