"""Playlist files read from disk: Exportify-style CSV and M3U/M3U8, for users without Spotify API access.

:func:`import_playlist_file` reads a bounded regular file, decodes it (a BOM, UTF-8/UTF-16
and legacy Windows encodings) and hands the text to the CSV or M3U parser
(:mod:`soulsync.core.playlist_csv`, :mod:`soulsync.core.playlist_m3u`); what it returns is
described in :mod:`soulsync.core.playlist_import`.
"""
from __future__ import annotations

import codecs
import hashlib
import os
import stat
from pathlib import Path

from soulsync.core.playlist_csv import parse_csv
from soulsync.core.playlist_import import ImportResult, PlaylistImportError
from soulsync.core.playlist_m3u import parse_m3u


MAX_FILE_BYTES = 64 * 1024 * 1024
"""Larger files are refused: no real playlist export comes near it."""


CSV_SUFFIXES = (".csv", ".tsv")
M3U_SUFFIXES = (".m3u", ".m3u8")


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
