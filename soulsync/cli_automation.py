"""Set and forget without a screen: ``soulsync run``, ``soulsync keep`` and ``soulsync watch``.

* ``soulsync run`` runs the same scheduler and jobs as the app
  (:mod:`soulsync.automation`) until SIGTERM or Ctrl-C: a status line per run
  on stdout, logs in the usual log folder, the config folder taken (not
  while the app or another ``soulsync run`` or ``sync`` has it). A stop
  cancels the running run gracefully: what finished is kept, and the job is due
  again at the next start. ``--once`` runs every due job once and exits (for
  cron); exit status 1 when a run failed.
* ``soulsync keep add|remove|list PLAYLIST`` and ``soulsync watch
  add|remove|list ARTIST`` manage what the schedule keeps in sync and watches;
  the app and a running ``soulsync run`` pick the change up at their next look.
"""
from __future__ import annotations

import argparse
import signal
import threading
import time
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1


def add_parsers(commands: argparse._SubParsersAction, common: Any) -> None:
    """Add ``run``, ``keep`` and ``watch`` to the CLI's subcommands (``common`` adds --config-dir, -v)."""
    run = commands.add_parser(
        "run", help="run the schedule headless (kept playlists, wishlist retries, watched artists)",
        description="Run SoulSync's schedule without a window, for a home server: kept playlists, wishlist "
                    "retries and watched artists' new releases, each when it is due. SIGTERM or Ctrl-C stops "
                    "gracefully; finished work is kept.")
    run.add_argument("--once", action="store_true", help="run every due job once and exit (for cron)")
    run.add_argument("--library-folder", type=Path, metavar="DIR",
                     help="use this music folder as the library instead of the configured one")
    run.add_argument("--time-scale", type=float, default=1.0, metavar="N",
                     help="run the schedule's clock N times faster (demos and tests: 3600 makes an hour a second)")
    common(run)

    keep = commands.add_parser("keep", help="playlists kept in sync on a schedule",
                               description="Mark playlists to keep in sync on a schedule.")
    keep_do = keep.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = keep_do.add_parser("add", help="keep a playlist in sync (a name or id, or a CSV/M3U file)")
    add.add_argument("playlist", metavar="PLAYLIST")
    add.add_argument("--every", type=float, metavar="HOURS", help="how often (default: the setting, 6 h)")
    add.add_argument("--mirror", action="store_true", help="also mirror it as a Plex playlist")
    remove = keep_do.add_parser("remove", help="stop keeping a playlist in sync")
    remove.add_argument("playlist", metavar="PLAYLIST")
    klist = keep_do.add_parser("list", help="the playlists kept in sync")
    for p in (add, remove, klist):
        common(p)

    watch = commands.add_parser("watch", help="artists watched for new releases",
                                description="Watch artists for new releases (checked on a schedule).")
    watch_do = watch.add_subparsers(dest="action", required=True, metavar="ACTION")
    wadd = watch_do.add_parser("add", help="watch an artist (by name or Spotify id)")
    wadd.add_argument("artist", metavar="ARTIST")
    wadd.add_argument("--download", action="store_true",
                      help="download new releases at once (default: put their tracks on the wishlist)")
    wadd.add_argument("--kinds", default="album,ep,single", metavar="KINDS",
                      help="comma-separated: album, ep, single, live, compilation, appears_on (default "
                           "album,ep,single)")
    wremove = watch_do.add_parser("remove", help="stop watching an artist")
    wremove.add_argument("artist", metavar="ARTIST")
    wlist = watch_do.add_parser("list", help="the artists watched")
    for p in (wadd, wremove, wlist):
        common(p)


# ----------------------------------------------------------------------------- run


def run_schedule(context: Any, args: argparse.Namespace, say: Any) -> int:
    """``soulsync run [--once]``."""
    from soulsync.automation import Automation, JobPorts
    from soulsync.cli import _library
    from soulsync.core.scheduler import Outcome, RunRecord, Scheduler
    from soulsync.services.library import BoundLibrary

    stop = threading.Event()
    scale = max(1.0, args.time_scale)
    started = time.time()

    def clock() -> float:
        return started + (time.time() - started) * scale

    def wait(seconds: float) -> bool:
        """Wait ``seconds`` of the schedule's clock for the next due job (a stop request ends it at once);
        the kept and watched lists are read again first (``soulsync keep``/``watch`` may have changed them)."""
        automation.register()
        return stop.wait(seconds / scale)

    scheduler = Scheduler(context.store, clock=clock)
    queue_box: list[Any] = []

    def tools():
        """The download tools, built at the first run that needs them and kept (one queue per process)."""
        from soulsync.cli import _tools

        if not queue_box:
            queue_box.append(_tools(context, args, stop))
        return queue_box[0]

    ports = JobPorts(library=lambda: BoundLibrary(_library(context, args), context.store), tools=tools,
                     spotify=lambda: context.spotify() if context.spotify_configured() else None,
                     refresh_library=True, is_cancelled=stop.is_set, wait=stop.wait)
    automation = Automation(context, scheduler, ports, clock=clock)
    automation.register()

    def line(record: RunRecord) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.started_at))
        say(f"{stamp} {record.job}: {record.outcome.label}: {record.summary}")

    def handle(signum, frame) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        scheduler.request_stop()
        say("Stopping: the running job ends gracefully, finished downloads are kept (again to quit at once)…")

    old = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if args.once:
            records = scheduler.run_due()
            for record in records:
                line(record)
            if not records:
                say("Nothing is due.")
            return EXIT_FAILED if any(r.outcome is Outcome.FAILED for r in records) else EXIT_OK
        jobs = scheduler.jobs()
        say(f"SoulSync runs {len(jobs)} scheduled job{'s' if len(jobs) != 1 else ''}; Ctrl-C or SIGTERM stops.")
        scheduler.run_forever(on_run=line, wait=wait)
        return EXIT_OK
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


# ----------------------------------------------------------------------------- keep


def run_keep(context: Any, args: argparse.Namespace, say: Any) -> int:
    from soulsync.cli import CliError, _find_playlist
    from soulsync.core.kept_playlists import (
        KeptPlaylist, PlaylistKind, forget_kept_playlist, keep_playlist, kept_playlists,
    )

    store = context.store
    if args.action == "list":
        listed = kept_playlists(store)
        for k in listed:
            where = f" ({k.path})" if k.path else ""
            mirror = ", mirrored on Plex" if k.mirror_to_plex else ""
            say(f"{k.name or k.playlist_id}{where}: every {k.interval_s / 3600:g} h{mirror}")
        if not listed:
            say("No playlist is kept in sync.")
        return EXIT_OK
    target = args.playlist
    path = Path(target).expanduser()
    if args.action == "remove":
        known = {k.playlist_id: k for k in kept_playlists(store)}
        match = [k for k in known.values() if target in (k.playlist_id, k.name) or (k.path and Path(k.path) == path)]
        if not match:
            raise CliError(f"{target!r} is not kept in sync (soulsync keep list shows what is)")
        forget_kept_playlist(store, match[0].playlist_id)
        say(f"No longer kept in sync: {match[0].name or match[0].playlist_id}")
        return EXIT_OK
    hours = args.every if args.every is not None else context.settings.automation.playlist_interval_h
    if hours <= 0:
        raise CliError("--every needs a number of hours above 0")
    if path.suffix.lower() in (".csv", ".tsv", ".m3u", ".m3u8") and path.is_file():
        from soulsync.core.playlist_files import import_playlist_file

        imported = import_playlist_file(path)
        store.save_playlist_tracks(imported.playlist)
        kept = KeptPlaylist(imported.playlist.id, PlaylistKind.FILE, imported.playlist.name, str(path.resolve()),
                            hours * 3600.0, args.mirror)
    else:
        known = store.playlists()
        if context.spotify_configured() and not any(target in (p.id, p.name) for p in known):
            listed = context.spotify().playlists()  # not seen yet: the account's current list
            store.save_playlists(listed)
            known = store.playlists()
        playlist = _find_playlist(known, target, context.spotify_configured())
        kind = PlaylistKind.FILE if playlist.source in ("csv", "m3u") else PlaylistKind.SPOTIFY
        if kind is PlaylistKind.FILE:
            raise CliError(f"{playlist.name!r} was imported from a file: name the file to keep it in sync")
        kept = KeptPlaylist(playlist.id, kind, playlist.name, None, hours * 3600.0, args.mirror)
    keep_playlist(store, kept)
    say(f"Kept in sync every {hours:g} h: {kept.name}" + (" (mirrored on Plex)" if kept.mirror_to_plex else ""))
    return EXIT_OK


# ----------------------------------------------------------------------------- watch


def run_watch(context: Any, args: argparse.Namespace, say: Any) -> int:
    from soulsync.cli import CliError
    from soulsync.core.watched_artists import (
        NewReleaseAction, ReleaseKind, WatchedArtist, unwatch_artist, watch_artist, watched_artists,
    )

    store = context.store
    if args.action == "list":
        artists = watched_artists(store)
        for a in artists:
            shown = ", ".join(sorted(k.value for k in a.kinds))
            checked = time.strftime("%Y-%m-%d %H:%M", time.localtime(a.last_checked)) if a.last_checked else "never"
            say(f"{a.name} ({a.spotify_id}): {shown}; new releases go to the {a.action.value}; checked {checked}")
        if not artists:
            say("No artist is watched.")
        return EXIT_OK
    if args.action == "remove":
        match = [a for a in watched_artists(store) if args.artist in (a.spotify_id, a.name)
                 or a.name.casefold() == args.artist.casefold()]
        if not match:
            raise CliError(f"{args.artist!r} is not watched (soulsync watch list shows who is)")
        unwatch_artist(store, match[0].spotify_id)
        say(f"No longer watched: {match[0].name}")
        return EXIT_OK
    try:
        kinds = frozenset(ReleaseKind(k.strip().lower()) for k in args.kinds.split(",") if k.strip())
    except ValueError:
        raise CliError("--kinds takes album, ep, single, live, compilation and appears_on") from None
    if not context.spotify_configured():
        raise CliError("Spotify is not connected: connect it in the app first (artists are found on Spotify)")
    from soulsync.core.discography import pick_artist

    spotify = context.spotify()
    artist = pick_artist(spotify.search_artists(args.artist), args.artist)
    if artist is None or not artist.spotify_id:
        raise CliError(f"Spotify does not know an artist called {args.artist!r}")
    action = NewReleaseAction.DOWNLOAD if args.download else NewReleaseAction.WISHLIST
    watch_artist(store, WatchedArtist(artist.spotify_id, artist.name, kinds or frozenset({ReleaseKind.ALBUM}), action,
                                      added_at=time.time()))
    say(f"Watching {artist.name} for new releases ({', '.join(sorted(k.value for k in kinds))}); they go to the "
        f"{action.value}.")
    return EXIT_OK
