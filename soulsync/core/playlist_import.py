"""Playlists from files, the shared part: what an import yields and the problems it reports.

Each parser (:mod:`soulsync.core.playlist_csv`, :mod:`soulsync.core.playlist_m3u`) turns
untrusted text into a :class:`~soulsync.core.models.Playlist` (``source`` ``"csv"`` or
``"m3u"``) whose tracks behave like Spotify ones everywhere (store them with
``Store.save_playlist_tracks``); :func:`~soulsync.core.playlist_files.import_playlist_file`
reads a file and hands it to the right one. Nothing in a file makes them raise except a
file that is not a playlist at all (:class:`PlaylistImportError`); every row they cannot
use is reported as an :class:`ImportProblem` with its line number, and the rest is imported.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from soulsync.core.models import Playlist

MAX_TRACKS = 50_000
"""Entries past this many are dropped (and reported): Spotify itself caps playlists at 10,000."""
MAX_FIELD_CHARS = 1000
"""Longer cell values are cut; they are untrusted."""

_MAX_DURATION_MS = 24 * 3600 * 1000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class PlaylistImportError(Exception):
    """The file cannot be imported at all (unreadable, too large, no title column); the message says why."""


@dataclass(slots=True, frozen=True)
class ImportProblem:
    """One row (or value) the importer could not use."""

    line: int
    """1-based line number in the file where the row starts."""
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(slots=True)
class ImportResult:
    """The imported playlist and every problem met on the way."""

    playlist: Playlist
    errors: list[ImportProblem] = field(default_factory=list)
    """Rows left out (no title, unreadable CSV, an #EXTINF without a file...)."""
    warnings: list[ImportProblem] = field(default_factory=list)
    """Rows imported with a value ignored (a malformed duration, ISRC, Spotify id; no artist)."""

    @property
    def problems(self) -> list[ImportProblem]:
        """Errors and warnings together, in line order."""
        return sorted(self.errors + self.warnings, key=lambda p: p.line)

    def summary(self) -> str:
        """One sentence for the user: what was imported and what was not."""
        n = len(self.playlist.tracks)
        text = f"Imported {n} track{'s' if n != 1 else ''} from {self.playlist.name!r}"
        if self.errors:
            first = self.errors[0]
            text += (f"; {len(self.errors)} row{'s' if len(self.errors) != 1 else ''} skipped"
                     f" (first: {first})")
        if self.warnings:
            text += f"; {len(self.warnings)} value{'s' if len(self.warnings) != 1 else ''} ignored"
        return text + "."


def _clean(value: object) -> str:
    """A cell or tag value made safe: text, no control characters, single spaces, capped length."""
    text = value if isinstance(value, str) else ""
    text = _CONTROL.sub(" ", text.replace("\t", " ").replace("\n", " "))
    return " ".join(text.split())[:MAX_FIELD_CHARS]
