"""``soulsync inspect FILE_OR_FOLDER... [--json]``: is each audio file what it claims to be?

For every file named, and every audio file under every folder named (by its
suffix, recursively, symbolic links not followed), prints the format, what it
claims (bit depth and sample rate, or bitrate), what was measured (where the
spectrum ends) and a verdict: genuine, fake, or can't tell, with the reason in
words (:mod:`soulsync.core.transcode`). With ``--json``, one JSON list of
objects on stdout instead. Exit status: 0 when every file is genuine or can't be
told, 1 when a fake was found, 2 on usage errors (a path that does not exist).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TextIO

from soulsync.core.audiofile import format_for_suffix
from soulsync.core.transcode import Inspection, inspect_file

EXIT_OK = 0
EXIT_FAKE = 1
EXIT_USAGE = 2
_VERDICT = {True: "genuine", False: "FAKE", None: "can't tell"}


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Add the ``inspect`` command to the CLI's subcommands."""
    inspect = commands.add_parser(
        "inspect", help="check audio files for fakes (transcoded lossless, up-converted MP3s)",
        description="Check audio files for fakes: a lossless file made from a lossy one, or a lossy file "
                    "up-converted from a lower bitrate. Exit status 1 when a fake was found.")
    inspect.add_argument("paths", nargs="+", type=Path, metavar="FILE_OR_FOLDER",
                         help="audio files, or folders searched for audio files")
    inspect.add_argument("--json", action="store_true", help="print a JSON list of results on stdout")


def audio_files(paths: list[Path]) -> list[Path]:
    """The files to inspect: named files as they are, folders' audio files (by suffix) sorted by path.
    Raises ``FileNotFoundError`` naming the first path that does not exist."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside: list[Path] = []
            for root, dirs, files in os.walk(path):
                dirs.sort()
                inside.extend(Path(root) / name for name in files if format_for_suffix(name))
            found.extend(sorted(inside))
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(str(path))
    return found


def describe(result: Inspection) -> str:
    """Two lines for a person: verdict, claimed quality, measured cutoff and path; then the reason."""
    measured = f"cutoff {result.cutoff_hz / 1000:.1f} kHz" if result.cutoff_hz else "cutoff unknown"
    claimed = result.claimed or (result.format or "?").upper()
    if result.bits_used and result.bit_depth and result.bits_used < result.bit_depth:
        measured += f", {result.bits_used} bits used"
    return f"{_VERDICT[result.genuine]:<10} {claimed:<28} {measured:<22} {result.path}\n{'':<11}{result.reason}"


def run_inspect(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Inspect ``args.paths``; returns the exit status."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        files = audio_files(args.paths)
    except FileNotFoundError as exc:
        print(f"soulsync: no such file or folder: {exc}", file=err, flush=True)
        return EXIT_USAGE
    results = []
    for path in files:
        result = inspect_file(path)
        results.append(result)
        if not args.json:
            print(describe(result), file=out, flush=True)
    if args.json:
        json.dump([r.as_dict() for r in results], out, ensure_ascii=False, indent=1)
        out.write("\n")
    fakes = sum(r.genuine is False for r in results)
    genuine = sum(r.genuine is True for r in results)
    print(f"{len(results)} file{'s' if len(results) != 1 else ''}: {genuine} genuine, {fakes} fake, "
          f"{len(results) - genuine - fakes} can't tell", file=err, flush=True)
    return EXIT_FAKE if fakes else EXIT_OK
