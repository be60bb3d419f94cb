"""The music folder as a library: audio files found on disk, described by their tags.

:class:`FolderScanner` walks a folder, compares every audio file's mtime and
size with what the index already holds, and reads (with mutagen, through
:func:`soulsync.core.tagging.read_tags`) only the files that are new or
changed; files that vanished are reported as removed. A rescan of an
unchanged folder therefore costs one ``stat`` per file and no file reads.

Tags come first; what they lack (an untagged file, a missing artist) is
guessed from the path relative to the folder (``Artist/Album (Year)/01 -
Title.flac``). Files mutagen cannot open are skipped and counted with the
reason, never fatal. Hidden entries, SoulSync's own temporary files and
folder symlinks (loops) are not followed.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import mutagen

from soulsync.core.models import Track
from soulsync.core.organize import is_temp_file
from soulsync.core.postprocess import guess_from_path
from soulsync.core.tagging import MAX_TAG_CHARS, TaggingError, read_tags

log = logging.getLogger(__name__)

TAGGED_SUFFIXES = frozenset({".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".m4b", ".wav", ".aif",
                             ".aiff"})
"""Formats whose tags :func:`read_tags` understands."""
OTHER_AUDIO_SUFFIXES = frozenset({".wma", ".ape", ".wv", ".dsf", ".aac"})
"""Other audio: duration and basic tags through mutagen's generic reader, else the path."""
AUDIO_SUFFIXES = TAGGED_SUFFIXES | OTHER_AUDIO_SUFFIXES
PROGRESS_EVERY = 200
"""Files between two progress reports."""
MAX_REPORTED_PROBLEMS = 50

Stats = dict[str, tuple[float | None, int | None]]
"""Path -> (mtime, size) as the index holds them."""
Unreadable = dict[str, tuple[float, int, str]]
"""Path -> (mtime, size, reason) of files that could not be read."""


@dataclass
class FolderScan:
    """What one scan found; ``changed`` and ``removed`` are what the index must apply."""

    root: Path
    changed: list[Track] = field(default_factory=list)
    """Tracks of new or modified files (``path`` is the absolute file path, the index key)."""
    stats: dict[str, tuple[float, int]] = field(default_factory=dict)
    """(mtime, size) of each changed file."""
    removed: list[str] = field(default_factory=list)
    """Index keys (paths) of files that are gone."""
    files: int = 0
    """Audio files seen."""
    unchanged: int = 0
    """Files skipped because mtime and size had not changed."""
    guessed: int = 0
    """Changed files described (partly) from their path because their tags lacked artist or title."""
    corrupt: int = 0
    """Files that could not be read as audio (skipped), whether read now or known from before."""
    unreadable: Unreadable = field(default_factory=dict)
    """Every unreadable file now in the folder (read this time or unchanged since), for the next scan."""
    problems: list[str] = field(default_factory=list)
    """The first problems in words (unreadable files and folders)."""
    cancelled: bool = False
    """The scan stopped early: ``changed`` holds what was read, ``removed`` is empty."""

    def note(self, problem: str) -> None:
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append(problem)


class FolderScanner:
    """Scans one music folder incrementally (see the module docstring).

    ``reader`` reads one file's tags (default :func:`read_tags`); tests inject
    a counting one.
    """

    def __init__(self, root: str | os.PathLike, reader: Callable[[Path], Track] = read_tags) -> None:
        self.root = Path(root).expanduser().resolve()
        self._read = reader

    def scan(self, known: Stats | None = None, progress: Callable[[int, int], None] | None = None,
             cancel: Callable[[], bool] | None = None, unreadable: Unreadable | None = None) -> FolderScan:
        """Compare the folder with ``known`` (the index's path -> (mtime, size)) and read what changed.

        ``unreadable`` (path -> (mtime, size, reason)) lists files an earlier
        scan could not read; unchanged, they are counted again without a read.
        ``progress(done, total)`` is called while files are read (``total`` 0
        while the folder is still being listed); ``cancel()`` returning True
        stops the scan, keeping what was read. Raises ``FileNotFoundError`` /
        ``NotADirectoryError`` when the folder itself is missing.
        """
        known = known or {}
        unreadable = unreadable or {}
        result = FolderScan(self.root)
        if not self.root.is_dir():
            if self.root.exists():
                raise NotADirectoryError(f"{self.root} is not a folder")
            raise FileNotFoundError(f"the music folder {self.root} does not exist")
        found: dict[str, tuple[float, int]] = {}
        unlisted: list[str] = []
        to_read: list[tuple[Path, float, int]] = []
        stack = [self.root]
        while stack:
            if cancel is not None and cancel():
                result.cancelled = True
                return result
            folder = stack.pop()
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        name = entry.name
                        if name.startswith("."):
                            continue
                        try:
                            if entry.is_dir(follow_symlinks=False):
                                stack.append(Path(entry.path))
                                continue
                            if os.path.splitext(name)[1].lower() not in AUDIO_SUFFIXES or is_temp_file(name):
                                continue
                            st = entry.stat()
                        except OSError as exc:
                            result.note(f"{entry.path}: cannot be read ({exc.strerror or exc})")
                            continue
                        if not _is_regular(st.st_mode):
                            continue
                        stat = found[entry.path] = (st.st_mtime, st.st_size)
                        bad = unreadable.get(entry.path)
                        if known.get(entry.path) == stat:
                            result.unchanged += 1
                        elif bad is not None and bad[:2] == stat:
                            result.corrupt += 1
                            result.unreadable[entry.path] = bad
                        else:
                            to_read.append((Path(entry.path), st.st_mtime, st.st_size))
                        if progress is not None and len(found) % (PROGRESS_EVERY * 10) == 0:
                            progress(0, 0)
            except OSError as exc:
                unlisted.append(str(folder) + os.sep)
                result.note(f"{folder}: the folder cannot be listed ({exc.strerror or exc})")
        result.files = len(found)
        total = len(to_read)
        for done, (path, mtime, size) in enumerate(to_read):
            if cancel is not None and cancel():
                result.cancelled = True
                return result
            if progress is not None and done % PROGRESS_EVERY == 0:
                progress(done, total)
            track = self._describe(path, mtime, size, result)
            if track is not None:
                result.changed.append(track)
                result.stats[track.path or str(path)] = (mtime, size)
        if progress is not None:
            progress(total, total)
        result.removed = [key for key in known
                          if key not in found and not any(key.startswith(prefix) for prefix in unlisted)]
        return result

    def _describe(self, path: Path, mtime: float, size: int, result: FolderScan) -> Track | None:
        """The track a file holds: its tags, gaps filled from its path; None when it is not readable audio."""
        suffix = path.suffix.lower()
        try:
            track = self._read(path) if suffix in TAGGED_SUFFIXES else _read_generic(path)
        except (TaggingError, OSError, ValueError) as exc:
            result.corrupt += 1
            reason = exc.reason if isinstance(exc, TaggingError) else str(exc)
            result.unreadable[str(path)] = (mtime, size, reason)
            result.note(f"{path}: skipped, {reason}")
            return None
        track.path = str(path)
        if track.title and track.artists:
            return track
        result.guessed += 1
        try:
            relative = path.relative_to(self.root).as_posix()
        except ValueError:
            relative = path.name
        guess = guess_from_path(relative)
        if guess is None:
            return replace(track, title=track.title or path.stem)
        return replace(
            track,
            title=track.title or guess.title,
            artists=track.artists or guess.artists,
            album=track.album or guess.album,
            track_number=track.track_number or guess.track_number,
            disc_number=track.disc_number or guess.disc_number,
            year=track.year or guess.year,
        )


def _is_regular(mode: int) -> bool:
    return (mode & 0o170000) == 0o100000


def _read_generic(path: Path) -> Track:
    """Duration and basic tags of a format :func:`read_tags` does not cover (WMA, APE, WavPack...)."""
    try:
        audio = mutagen.File(path, easy=True)
    except Exception as exc:  # mutagen on hostile bytes can raise nearly anything
        raise TaggingError(path, f"cannot be read as audio ({type(exc).__name__})") from exc
    if audio is None:
        raise TaggingError(path, "is not a recognised audio file")
    length = getattr(audio.info, "length", 0) or 0
    tags = getattr(audio, "tags", None)

    def first(key: str) -> str:
        try:
            values = tags.get(key) if tags is not None else None
        except Exception:  # odd or hostile tag containers: the value counts as missing
            return ""
        if isinstance(values, (list, tuple)) and values:
            return str(values[0]).strip()[:MAX_TAG_CHARS]
        return ""

    artist = first("artist")
    return Track(title=first("title"), artists=[artist] if artist else [], album=first("album"),
                 duration_ms=round(length * 1000) if length > 0 else None, path=str(path))
