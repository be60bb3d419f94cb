"""CSV playlists (Exportify and the like) parsed into tracks.

The header row names the columns, matched case-insensitively (Exportify's
``Track Name``, ``Artist Name(s)``, ``Album Name``, ``Duration (ms)`` or
``Track Duration (ms)``, ``ISRC``, ``Track URI``; also ``Spotify ID`` and common
synonyms such as ``Title``/``Artist``); other columns are ignored. The
delimiter (``,`` ``;`` tab ``|``) is sniffed from the header, a BOM is
dropped, UTF-8/UTF-16 and legacy Windows encodings are read. Artists are split
on ``;`` when the field has one, else on ``,`` (unless the row's artist URIs
say there is only one artist: ``Tyler, The Creator``).
"""
from __future__ import annotations

import csv
import io
import math
import re

from soulsync.core.models import Playlist, Track
from soulsync.core.playlist_import import (
    ImportProblem,
    ImportResult,
    MAX_TRACKS,
    PlaylistImportError,
    _LINE_BREAK,
    _MAX_DURATION_MS,
    _clean,
)


_SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")
_SPOTIFY_URI = re.compile(r"^spotify:track:([0-9A-Za-z]{22})$")
_SPOTIFY_URL = re.compile(r"^https?://open\.spotify\.com/(?:intl-[a-z-]+/)?track/([0-9A-Za-z]{22})(?:[?#].*)?$")
_ISRC = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}\d{7}$")


_CLOCK = re.compile(r"^(?:(\d{1,2}):)?(\d{1,3}):(\d{2})(?:[.,]\d+)?$")


_CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("track name", "title", "track title", "song", "song name", "track", "name"),
    "artists": ("artist name(s)", "artist names", "artist name", "artist(s)", "artists", "artist"),
    "album": ("album name", "album", "album title"),
    "album_artist": ("album artist name(s)", "album artist names", "album artist name", "album artist"),
    "duration_ms": ("duration (ms)", "track duration (ms)", "duration_ms", "duration ms", "length (ms)"),
    "duration": ("duration", "length", "time", "track duration"),
    "isrc": ("isrc",),
    "spotify": ("track uri", "spotify id", "spotify uri", "spotify track id", "track id", "spotify url",
                "track url", "uri"),
    "artist_uris": ("artist uri(s)", "artist uris"),
    "track_number": ("track number", "track no", "track #", "#"),
    "disc_number": ("disc number", "disc no", "disc"),
    "year": ("album release date", "release date", "year", "date"),
}
_ALIASES = {alias: key for key, aliases in _CSV_COLUMNS.items() for alias in aliases}
_DELIMITERS = (",", ";", "\t", "|")


def _header_key(cell: str) -> str:
    return " ".join(cell.replace("\ufeff", "").strip().strip('"').lower().split())


def _columns(header: list[str]) -> dict[str, int]:
    """Known field -> column index for a header row (the first column of a name wins)."""
    found: dict[str, int] = {}
    for i, cell in enumerate(header):
        key = _ALIASES.get(_header_key(cell))
        if key is not None and key not in found:
            found[key] = i
    return found


def _sniff_delimiter(header_line: str) -> str:
    """The delimiter under which the header names the most known columns (ties: the most fields)."""
    best = (-1, -1, ",")
    for delim in _DELIMITERS:
        try:
            cells = next(csv.reader([header_line], delimiter=delim), [])
        except csv.Error:
            continue
        score = (len(_columns(cells)), len(cells), delim)
        if score[:2] > best[:2]:
            best = score
    return best[2]


def parse_csv(text: str, playlist_id: str = "csv:text", name: str = "Imported playlist") -> ImportResult:
    """Parse an Exportify-style CSV; see the module docstring.

    Raises :class:`PlaylistImportError` only when no header row names a track title column.
    """
    text = text.replace("\x00", "")
    lines = _LINE_BREAK.split(text)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise PlaylistImportError("the file is empty")
    delimiter = _sniff_delimiter(lines[first])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', skipinitialspace=False)
    playlist = Playlist(id=playlist_id, name=name, source="csv")
    result = ImportResult(playlist)
    columns: dict[str, int] | None = None
    header_line = 0
    last_line = 0
    while True:
        start = last_line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if reader.line_num <= last_line:  # the reader made no progress: stop rather than spin
                result.errors.append(ImportProblem(start, f"unreadable CSV ({exc}); the rest was not read"))
                break
            last_line = reader.line_num
            result.errors.append(ImportProblem(start, f"unreadable CSV row ({exc})"))
            continue
        last_line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if columns is None:
            columns = _columns(row)
            header_line = start
            if "title" not in columns:
                shown = ", ".join(repr(_clean(c)[:40]) for c in row[:8])
                raise PlaylistImportError(
                    f"line {start}: no track title column; expected a header such as 'Track Name' and "
                    f"'Artist Name(s)', found {shown}")
            continue
        if len(playlist.tracks) >= MAX_TRACKS:
            result.errors.append(ImportProblem(start, f"more than {MAX_TRACKS} tracks; the rest was not read"))
            break
        track = _csv_track(row, columns, start, result)
        if track is not None:
            playlist.tracks.append(track)
    if columns is None:
        raise PlaylistImportError("the file has no header row")
    if "artists" not in columns:
        result.warnings.append(ImportProblem(header_line, "no artist column: the tracks have no artists"))
    playlist.track_count = len(playlist.tracks)
    return result


def _cell(row: list[str], columns: dict[str, int], key: str) -> str:
    index = columns.get(key)
    return _clean(row[index]) if index is not None and index < len(row) else ""


def _csv_track(row: list[str], columns: dict[str, int], line: int, result: ImportResult) -> Track | None:
    title = _cell(row, columns, "title")
    if not title:
        result.errors.append(ImportProblem(line, "no track name; row skipped"))
        return None

    def warn(reason: str) -> None:
        result.warnings.append(ImportProblem(line, reason))

    artists = split_artist_field(_cell(row, columns, "artists"), _cell(row, columns, "artist_uris"))
    if not artists and "artists" in columns:
        warn(f"no artist for {title!r}")
    duration_ms = None
    raw_ms = _cell(row, columns, "duration_ms")
    raw_other = _cell(row, columns, "duration")
    if raw_ms:
        duration_ms = _number(raw_ms)
        if duration_ms is None:
            warn(f"duration {raw_ms[:40]!r} is not a number of milliseconds; ignored")
    elif raw_other:
        duration_ms = parse_duration(raw_other)
        if duration_ms is None:
            warn(f"duration {raw_other[:40]!r} is not understood; ignored")
    if duration_ms is not None and not 0 < duration_ms <= _MAX_DURATION_MS:
        warn(f"duration {duration_ms} ms is out of range; ignored")
        duration_ms = None
    isrc = None
    raw_isrc = _cell(row, columns, "isrc")
    if raw_isrc:
        isrc = re.sub(r"[\s-]", "", raw_isrc).upper()
        if not _ISRC.match(isrc):
            warn(f"ISRC {raw_isrc[:40]!r} is malformed; ignored")
            isrc = None
    spotify_id = None
    raw_uri = _cell(row, columns, "spotify")
    if raw_uri and not raw_uri.startswith("spotify:local:"):
        spotify_id = spotify_track_id(raw_uri)
        if spotify_id is None:
            warn(f"Spotify id {raw_uri[:60]!r} is malformed; ignored")
    year = None
    raw_year = _cell(row, columns, "year")
    match = re.match(r"^(\d{4})", raw_year)
    if match and 1000 <= int(match.group(1)) <= 2999:
        year = int(match.group(1))
    album_artist_field = _cell(row, columns, "album_artist")
    return Track(
        title=title,
        artists=artists,
        album=_cell(row, columns, "album"),
        duration_ms=duration_ms,
        isrc=isrc,
        album_artist=split_artist_field(album_artist_field)[0] if album_artist_field else "",
        track_number=_small_int(_cell(row, columns, "track_number")),
        disc_number=_small_int(_cell(row, columns, "disc_number")),
        year=year,
        spotify_id=spotify_id,
    )


def split_artist_field(value: str, uris: str = "") -> list[str]:
    """Artist names of an ``Artist Name(s)`` cell.

    Split on ``;`` when present, else on ``,``; a row whose artist URIs list
    exactly one artist keeps the whole cell as one name (``Tyler, The Creator``).
    """
    value = value.strip()
    if not value:
        return []
    if ";" in value:
        parts = value.split(";")
    elif uris and len([u for u in re.split(r"[,;]", uris) if u.strip()]) == 1:
        parts = [value]
    else:
        parts = value.split(",")
    names: list[str] = []
    for part in parts:
        part = part.strip()
        if part and part not in names:
            names.append(part)
    return names


def spotify_track_id(value: str) -> str | None:
    """The 22-character track id in a Spotify URI, open.spotify.com URL or bare id; None otherwise."""
    value = value.strip()
    for pattern in (_SPOTIFY_URI, _SPOTIFY_URL):
        match = pattern.match(value)
        if match:
            return match.group(1)
    return value if _SPOTIFY_ID.match(value) else None


def _number(text: str) -> int | None:
    try:
        value = float(text.replace(",", "").strip())
    except ValueError:
        return None
    return int(round(value)) if math.isfinite(value) else None


def _small_int(text: str) -> int | None:
    match = re.match(r"^\s*(\d{1,4})\b", text)
    value = int(match.group(1)) if match else 0
    return value or None


def parse_duration(text: str) -> int | None:
    """Milliseconds of ``3:45``, ``1:02:03``, ``225`` (seconds) or ``225000`` (ms: above 10,000); None if not."""
    text = text.strip()
    match = _CLOCK.match(text)
    if match:
        hours, minutes, seconds = int(match.group(1) or 0), int(match.group(2)), int(match.group(3))
        return ((hours * 60 + minutes) * 60 + seconds) * 1000 if seconds < 60 else None
    number = _number(text)
    if number is None or number <= 0:
        return None
    return number if number > 10_000 else number * 1000
