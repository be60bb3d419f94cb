"""Playlists from files: Exportify-style CSV and M3U/M3U8, for users without Spotify API access.

Each parser turns untrusted text into a :class:`~soulsync.core.models.Playlist`
(``source`` ``"csv"`` or ``"m3u"``) whose tracks behave like Spotify ones
everywhere (store them with ``Store.save_playlist_tracks``). Nothing in a file
makes them raise except a file that is not a playlist at all
(:class:`PlaylistImportError`); every row they cannot use is reported as an
:class:`ImportProblem` with its line number, and the rest is imported.

CSV: the header row names the columns, matched case-insensitively (Exportify's
``Track Name``, ``Artist Name(s)``, ``Album Name``, ``Duration (ms)`` or
``Track Duration (ms)``, ``ISRC``, ``Track URI``; also ``Spotify ID`` and common
synonyms such as ``Title``/``Artist``); other columns are ignored. The
delimiter (``,`` ``;`` tab ``|``) is sniffed from the header, a BOM is
dropped, UTF-8/UTF-16 and legacy Windows encodings are read. Artists are split
on ``;`` when the field has one, else on ``,`` (unless the row's artist URIs
say there is only one artist: ``Tyler, The Creator``).

M3U/M3U8: ``#EXTINF:seconds,Artist - Title`` lines, ``#EXTART``/``#EXTALB``,
``#PLAYLIST`` for the name, and the entry lines (paths relative to the file,
absolute paths, ``file://`` URLs). Without an ``#EXTINF`` title an entry is
described by the file's own tags when the file exists here, else by guesses
from its path (``Artist/Album (Year)/01 - Title.flac``).
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import math
import os
import re
import stat
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from soulsync.core.models import Playlist, Track
from soulsync.core.postprocess import guess_from_path
from soulsync.core.tagging import TaggingError, read_tags

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Larger files are refused: no real playlist export comes near it."""
MAX_TRACKS = 50_000
"""Entries past this many are dropped (and reported): Spotify itself caps playlists at 10,000."""
MAX_FIELD_CHARS = 1000
"""Longer cell values are cut; they are untrusted."""
CSV_SUFFIXES = (".csv", ".tsv")
M3U_SUFFIXES = (".m3u", ".m3u8")

_MAX_DURATION_MS = 24 * 3600 * 1000
_SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")
_SPOTIFY_URI = re.compile(r"^spotify:track:([0-9A-Za-z]{22})$")
_SPOTIFY_URL = re.compile(r"^https?://open\.spotify\.com/(?:intl-[a-z-]+/)?track/([0-9A-Za-z]{22})(?:[?#].*)?$")
_ISRC = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}\d{7}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_CLOCK = re.compile(r"^(?:(\d{1,2}):)?(\d{1,3}):(\d{2})(?:[.,]\d+)?$")


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


# ----------------------------------------------------------------------------- files


def import_playlist_file(path: str | Path, name: str | None = None) -> ImportResult:
    """Import a CSV (``.csv``/``.tsv``) or M3U (``.m3u``/``.m3u8``) file.

    The playlist id is stable for the file (``csv:``/``m3u:`` and a hash of its
    absolute path), so importing it again updates the same playlist; its
    ``snapshot_id`` is a hash of the content. ``name`` defaults to the
    playlist's own name (M3U ``#PLAYLIST``) or the file name.
    Raises :class:`PlaylistImportError` when the file cannot be read or is not a playlist.
    """
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES + M3U_SUFFIXES:
        raise PlaylistImportError(f"{path.name}: not a playlist file (use .csv, .m3u or .m3u8)")
    data = _read_bounded(path)
    absolute = path.resolve()
    kind = "csv" if suffix in CSV_SUFFIXES else "m3u"
    playlist_id = f"{kind}:{hashlib.sha1(str(absolute).encode('utf-8', 'surrogateescape')).hexdigest()[:16]}"
    snapshot = hashlib.sha1(data).hexdigest()[:16]
    text = decode_playlist_bytes(data, utf8_only=suffix == ".m3u8")
    default_name = _name_from_file(path)
    if kind == "csv":
        result = parse_csv(text, playlist_id=playlist_id, name=name or default_name)
    else:
        result = parse_m3u(text, playlist_id=playlist_id, name=name, base_dir=absolute.parent)
        if not result.playlist.name:
            result.playlist.name = default_name
    result.playlist.snapshot_id = snapshot
    return result


def _read_bounded(path: Path) -> bytes:
    """The file's bytes, at most :data:`MAX_FILE_BYTES`. Only a regular file is read (a symlink to one is
    fine): a device such as ``/dev/zero`` would never end and a FIFO would wait for ever, so both are refused
    by what the opened file is, not by a size ``stat`` may report as 0."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise PlaylistImportError(f"{path.name}: cannot be read ({exc.strerror or exc})") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise PlaylistImportError(f"{path.name}: not a regular file (a device, a pipe or a folder), "
                                      "so it is not read")
        chunks: list[bytes] = []
        total = 0
        while total <= MAX_FILE_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_FILE_BYTES + 1 - total))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            total += len(chunk)
        raise PlaylistImportError(f"{path.name}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB, too large for "
                                  "a playlist")
    except OSError as exc:
        raise PlaylistImportError(f"{path.name}: cannot be read ({exc.strerror or exc})") from exc
    finally:
        os.close(fd)


def decode_playlist_bytes(data: bytes, utf8_only: bool = False) -> str:
    """Text of a playlist file: BOM honoured (UTF-8/UTF-16), else UTF-8, else Windows-1252/Latin-1.

    ``utf8_only`` (M3U8) decodes as UTF-8 with bad bytes replaced. Never raises.
    """
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                          (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, "replace")
    if utf8_only:
        return data.decode("utf-8", "replace")
    if _looks_utf16(data):
        return data.decode("utf-16-le" if data[1:2] == b"\x00" else "utf-16-be", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _looks_utf16(data: bytes) -> bool:
    """BOM-less UTF-16 of mostly ASCII text: every other byte of the start is NUL."""
    head = data[:200]
    if len(head) < 4:
        return False
    even, odd = head[0::2], head[1::2]
    return odd.count(0) > 0.9 * len(odd) or even.count(0) > 0.9 * len(even)


def _name_from_file(path: Path) -> str:
    stem = path.stem.strip()
    if " " not in stem:
        stem = stem.replace("_", " ").strip()
    return stem or path.name


def _clean(value: object) -> str:
    """A cell or tag value made safe: text, no control characters, single spaces, capped length."""
    text = value if isinstance(value, str) else ""
    text = _CONTROL.sub(" ", text.replace("\t", " ").replace("\n", " "))
    return " ".join(text.split())[:MAX_FIELD_CHARS]


# ----------------------------------------------------------------------------- CSV

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


# ----------------------------------------------------------------------------- M3U

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
