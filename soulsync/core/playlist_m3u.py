"""M3U/M3U8 playlists parsed into tracks.

``#EXTINF:seconds,Artist - Title`` lines, ``#EXTART``/``#EXTALB``,
``#PLAYLIST`` for the name, and the entry lines (paths relative to the file,
absolute paths, ``file://`` URLs). Without an ``#EXTINF`` title an entry is
described by the file's own tags when the file exists here, else by guesses
from its path (``Artist/Album (Year)/01 - Title.flac``).
"""
from __future__ import annotations

import math
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from soulsync.core.models import Playlist, Track
from soulsync.core.playlist_import import ImportProblem, ImportResult, MAX_TRACKS, _LINE_BREAK, _MAX_DURATION_MS, _clean
from soulsync.core.postprocess import guess_from_path
from soulsync.core.tagging import TaggingError, read_tags


_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")
_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")


@dataclass(slots=True)
class _Pending:
    line: int
    title: str = ""
    artist: str = ""
    duration_ms: int | None = None


def parse_m3u(text: str, playlist_id: str = "m3u:text", name: str | None = None,
              base_dir: Path | None = None) -> ImportResult:
    """Parse an M3U/M3U8 playlist; relative paths resolve against ``base_dir`` (the file's folder).

    Never raises: entries that name nothing usable are reported and skipped.
    """
    text = text.replace("\x00", "")
    playlist = Playlist(id=playlist_id, name=name or "", source="m3u")
    result = ImportResult(playlist)
    pending: _Pending | None = None
    album = artist = ""
    for number, raw in enumerate(_LINE_BREAK.split(text), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        if line.startswith("#"):
            upper = line[:10].upper()
            if upper.startswith("#EXTINF"):
                if pending is not None:
                    result.errors.append(ImportProblem(pending.line, "#EXTINF without a file line; skipped"))
                pending = _extinf(line, number, result)
            elif upper.startswith("#PLAYLIST:") and not name:
                playlist.name = _clean(line[len("#PLAYLIST:"):])
            elif upper.startswith("#EXTALB:"):
                album = _clean(line[len("#EXTALB:"):])
            elif upper.startswith("#EXTART:"):
                artist = _clean(line[len("#EXTART:"):])
            continue
        if len(playlist.tracks) >= MAX_TRACKS:
            result.errors.append(ImportProblem(number, f"more than {MAX_TRACKS} tracks; the rest was not read"))
            break
        track = _m3u_track(line, pending, album, artist, base_dir, number, result)
        if track is not None:
            playlist.tracks.append(track)
        pending = None
        album = artist = ""
    if pending is not None:
        result.errors.append(ImportProblem(pending.line, "#EXTINF without a file line; skipped"))
    playlist.track_count = len(playlist.tracks)
    return result


def _extinf(line: str, number: int, result: ImportResult) -> _Pending:
    """``#EXTINF:duration [key="value" ...],Artist - Title``."""
    pending = _Pending(number)
    body = line.split(":", 1)[1] if ":" in line else ""
    comma = _comma_outside_quotes(body)
    if comma < 0:
        result.warnings.append(ImportProblem(number, "malformed #EXTINF line (no comma before the title); ignored"))
        return pending
    head, info = body[:comma], _clean(body[comma + 1:])
    raw = head.split()[0] if head.split() else ""
    try:
        seconds = float(raw) if raw else -1.0
    except ValueError:
        seconds = -1.0
        result.warnings.append(ImportProblem(number, f"#EXTINF duration {raw[:20]!r} is not a number; ignored"))
    if math.isfinite(seconds) and 0 < seconds * 1000 <= _MAX_DURATION_MS:
        pending.duration_ms = int(round(seconds * 1000))
    artist, sep, title = info.partition(" - ")
    if sep and artist.strip() and title.strip():
        pending.artist, pending.title = artist.strip(), title.strip()
    else:
        pending.title = info
    return pending


def _comma_outside_quotes(text: str) -> int:
    """Index of the first comma not inside double quotes (attribute values may hold commas); -1 if none.

    With an unbalanced quote, the first comma of all."""
    quoted = False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            return i
    return text.find(",")


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _local_path(entry: str, base_dir: Path | None) -> Path | None:
    """The local file an entry line names, or None for remote URLs and foreign absolute paths."""
    if _URL_SCHEME.match(entry):
        parsed = urllib.parse.urlsplit(entry)
        if parsed.scheme.lower() != "file":
            return None
        return Path(urllib.parse.unquote(parsed.path))
    if _WINDOWS_ABSOLUTE.match(entry):
        return Path(entry) if Path(entry).is_absolute() else None
    path = Path(entry if "\\" not in entry or _exists(Path(entry)) else entry.replace("\\", "/"))
    if not path.is_absolute():
        if base_dir is None:
            return None
        path = base_dir / path
    return path


def _entry_name(entry: str) -> str:
    """The path part an entry line names (URL path decoded), for guessing."""
    if _URL_SCHEME.match(entry):
        return urllib.parse.unquote(urllib.parse.urlsplit(entry).path)
    return entry


def _m3u_track(entry: str, pending: _Pending | None, album: str, artist: str, base_dir: Path | None,
               number: int, result: ImportResult) -> Track | None:
    line = pending.line if pending is not None else number
    local = _local_path(entry, base_dir)
    tagged = None
    if local is not None and (pending is None or not pending.artist):
        tagged = _read_local(local)
    guess = guess_from_path(_entry_name(entry))
    title = pending.title if pending is not None else ""
    artists = [pending.artist] if pending is not None and pending.artist else []
    if not artists and tagged is not None and tagged.title and tagged.artists:
        title, artists = tagged.title, list(tagged.artists)
    if not artists and artist:
        artists = [artist]
    if not artists and guess is not None and (not title or _same_text(title, guess.title)):
        title, artists = guess.title, list(guess.artists)
    if not title:
        title = _stem(entry)
    if not title:
        result.errors.append(ImportProblem(line, "entry names no title; skipped"))
        return None
    if not artists:
        result.warnings.append(ImportProblem(line, f"no artist for {title!r}"))
    duration = pending.duration_ms if pending is not None else None
    source = tagged if tagged is not None and tagged.title else guess
    return Track(
        title=_clean(title),
        artists=[_clean(a) for a in artists if _clean(a)],
        album=album or (source.album if source is not None else ""),
        duration_ms=duration or (tagged.duration_ms if tagged is not None else None),
        isrc=tagged.isrc if tagged is not None else None,
        track_number=source.track_number if source is not None else None,
        year=source.year if source is not None else None,
        path=str(local) if local is not None else None,
    )


def _read_local(path: Path) -> Track | None:
    try:
        if not path.is_file():
            return None
        return read_tags(path)
    except (OSError, ValueError, TaggingError):
        return None


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.lower().split()) == " ".join(b.lower().split())


def _stem(entry: str) -> str:
    name = _entry_name(entry)
    pure = PureWindowsPath(name) if "\\" in name else PurePosixPath(name)
    return _clean(pure.stem)
