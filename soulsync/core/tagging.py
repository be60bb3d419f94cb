"""Write and read tags and cover art with mutagen: FLAC, MP3, WAV and AIFF (ID3v2.4), Ogg Vorbis/Opus, M4A.

WAV and AIFF carry the same ID3v2.4 tag as MP3, in an ``id3 ``/``ID3 `` chunk.

The same fields go into every format, under that format's usual names:

===================  ==================  =============================  ==================================
field                Vorbis comments     ID3v2.4                        MP4
===================  ==================  =============================  ==================================
title                TITLE               TIT2                           ©nam
display artist       ARTIST              TPE1                           ©ART
every artist         ARTISTS (multi)     TXXX:ARTISTS (multi)           ----:com.apple.iTunes:ARTISTS
album artist         ALBUMARTIST         TPE2                           aART
album                ALBUM               TALB                           ©alb
track / total        TRACKNUMBER/-TOTAL  TRCK ``n/total``               trkn
disc / total         DISCNUMBER/-TOTAL   TPOS ``n/total``               disk
date                 DATE                TDRC                           ©day
genre                GENRE               TCON                           ©gen
ISRC                 ISRC                TSRC                           ----:com.apple.iTunes:ISRC
Spotify ids          SPOTIFY_TRACK_ID,   TXXX:SPOTIFY_TRACK_ID, ...     ----:com.apple.iTunes:SPOTIFY_...
                     SPOTIFY_ALBUM_ID,
                     SPOTIFY_ARTIST_ID
cover (front)        METADATA_BLOCK_     APIC type 3                    covr
                     PICTURE / FLAC pic
===================  ==================  =============================  ==================================

Writing is crash-safe: the file is copied to a hidden temp file beside it,
the copy is tagged and fsynced, then renamed over the original, so a
half-tagged file never appears under the real name. Tags read from files are
untrusted: :func:`read_tags` never fails on odd values, it ignores them.
"""
from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Any, cast

from mutagen.aiff import AIFF
from mutagen.flac import FLAC, Picture
from mutagen.id3 import APIC, ID3, TALB, TCON, TDRC, TIT2, TPE1, TPE2, TPOS, TRCK, TSRC, TXXX
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4, MP4Cover, MP4FreeForm
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from soulsync.core import failpoints
from soulsync.core.audio_errors import AudioVerifyError
from soulsync.core.audiofile import open_audio
from soulsync.core.iff_chunks import pad_iff_chunks
from soulsync.core.models import Track
from soulsync.core.organize import durable_copy, fsync_dir

MAX_TAG_CHARS = 1000
"""Longer values read from a file are cut: tags are untrusted and must not balloon memory."""

_FRONT_COVER = 3
_FREEFORM = "----:com.apple.iTunes:"
_CUSTOM = ("ARTISTS", "ISRC", "SPOTIFY_TRACK_ID", "SPOTIFY_ALBUM_ID", "SPOTIFY_ARTIST_ID")
"""Fields without a standard MP4 atom: written as iTunes freeform atoms."""
_ID3_CUSTOM = tuple(key for key in _CUSTOM if key != "ISRC")
"""Fields without a standard ID3 frame (ISRC has TSRC): written as TXXX frames."""
_OPENERS = {"flac": FLAC, "mp3": MP3, "ogg": OggVorbis, "opus": OggOpus, "m4a": MP4, "wav": WAVE, "aiff": AIFF}
_ID3_FORMATS = frozenset({"mp3", "wav", "aiff"})
"""Formats tagged with ID3v2.4: in front of the MPEG frames, or in a WAV/AIFF chunk."""


class TaggingError(Exception):
    """Tags could not be written or read; ``reason`` says why in words. The file is unchanged."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")


def image_mime(data: bytes) -> str | None:
    """``image/jpeg`` or ``image/png`` from the bytes themselves, else None."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    return None


# ---------------------------------------------------------------------------
# Writing


def display_artist(artists: list[str]) -> str:
    """The single-string artist credit: ``"A, B"``."""
    return ", ".join(a.strip() for a in artists if a.strip())


def _tag_values(track: Track, release_date: str) -> dict[str, list[str]]:
    """Neutral field name -> values; an empty list means "remove this tag"."""
    def one(value: object) -> list[str]:
        text = "" if value is None else str(value).strip()
        return [text] if text else []

    def number(value: int | None) -> list[str]:
        return [str(value)] if isinstance(value, int) and value > 0 else []

    date = release_date.strip()
    if not date or (track.year and not date.startswith(str(track.year))):
        date = str(track.year) if track.year else ""
    artists = [a.strip() for a in track.artists if a.strip()]
    return {
        "TITLE": one(track.title),
        "ARTIST": one(display_artist(artists)),
        "ARTISTS": artists,
        "ALBUMARTIST": one(track.album_artist),
        "ALBUM": one(track.album),
        "TRACKNUMBER": number(track.track_number),
        "TRACKTOTAL": number(track.track_total),
        "DISCNUMBER": number(track.disc_number),
        "DISCTOTAL": number(track.disc_total),
        "DATE": one(date),
        "GENRE": one(track.genre),
        "ISRC": one(track.isrc),
        "SPOTIFY_TRACK_ID": one(track.spotify_id),
        "SPOTIFY_ALBUM_ID": one(track.spotify_album_id),
        "SPOTIFY_ARTIST_ID": [i.strip() for i in track.spotify_artist_ids if i and i.strip()],
    }


def _picture(cover: bytes, mime: str) -> Picture:
    pic = Picture()
    pic.type = _FRONT_COVER
    pic.mime = mime
    pic.desc = "Cover"
    pic.data = cover
    return pic


def _write_vorbis(audio: FLAC | OggVorbis | OggOpus, values: dict[str, list[str]],
                  cover: bytes | None, mime: str) -> None:
    if audio.tags is None:
        audio.add_tags()
    tags: Any = audio.tags  # set just above; mutagen types it Optional
    for key, vals in values.items():
        if vals:
            tags[key] = vals
        elif key in tags:
            del tags[key]
    for alias in ("TOTALTRACKS", "TOTALDISCS"):  # other taggers' names for the totals
        if alias in tags:
            del tags[alias]
    if cover is None:
        return
    if isinstance(audio, FLAC):
        audio.clear_pictures()
        audio.add_picture(_picture(cover, mime))
    else:
        for legacy in ("COVERART", "COVERARTMIME"):
            if legacy in tags:
                del tags[legacy]
        block = base64.b64encode(_picture(cover, mime).write()).decode("ascii")
        tags["METADATA_BLOCK_PICTURE"] = [block]


def _pair(number: list[str], total: list[str]) -> str:
    if not number:
        return ""
    return f"{number[0]}/{total[0]}" if total else number[0]


def _write_id3(audio: MP3 | WAVE | AIFF, values: dict[str, list[str]], cover: bytes | None, mime: str) -> None:
    """Set the ID3 frames of an MP3, WAV or AIFF file (mutagen gives all three the same ID3 object)."""
    if audio.tags is None:
        audio.add_tags()
    tags: ID3 = cast(ID3, audio.tags)
    frames = {
        "TIT2": (TIT2, values["TITLE"]),
        "TPE1": (TPE1, values["ARTIST"]),
        "TPE2": (TPE2, values["ALBUMARTIST"]),
        "TALB": (TALB, values["ALBUM"]),
        "TRCK": (TRCK, [p] if (p := _pair(values["TRACKNUMBER"], values["TRACKTOTAL"])) else []),
        "TPOS": (TPOS, [p] if (p := _pair(values["DISCNUMBER"], values["DISCTOTAL"])) else []),
        "TDRC": (TDRC, values["DATE"]),
        "TCON": (TCON, values["GENRE"]),
        "TSRC": (TSRC, values["ISRC"]),
    }
    for frame_id, (frame_type, vals) in frames.items():
        tags.delall(frame_id)
        if vals:
            tags.add(frame_type(encoding=3, text=vals))
    for desc in _ID3_CUSTOM:
        tags.delall(f"TXXX:{desc}")
        if values[desc]:
            tags.add(TXXX(encoding=3, desc=desc, text=values[desc]))
    if cover is not None:
        tags.delall("APIC")
        tags.add(APIC(encoding=3, mime=mime, type=_FRONT_COVER, desc="Cover", data=cover))


def _write_mp4(audio: MP4, values: dict[str, list[str]], cover: bytes | None, mime: str) -> None:
    if audio.tags is None:
        audio.add_tags()
    tags: Any = audio.tags
    plain = {"\xa9nam": "TITLE", "\xa9ART": "ARTIST", "aART": "ALBUMARTIST", "\xa9alb": "ALBUM",
             "\xa9day": "DATE", "\xa9gen": "GENRE"}
    for atom, key in plain.items():
        _set_or_delete(tags, atom, values[key])
    for atom, number, total in (("trkn", "TRACKNUMBER", "TRACKTOTAL"), ("disk", "DISCNUMBER", "DISCTOTAL")):
        n = int(values[number][0]) if values[number] else 0
        t = int(values[total][0]) if values[total] else 0
        _set_or_delete(tags, atom, [(n, t)] if n or t else [])
    for key in _CUSTOM:
        _set_or_delete(tags, _FREEFORM + key, [MP4FreeForm(v.encode("utf-8")) for v in values[key]])
    if cover is not None:
        fmt = MP4Cover.FORMAT_PNG if mime == "image/png" else MP4Cover.FORMAT_JPEG
        tags["covr"] = [MP4Cover(cover, imageformat=fmt)]


def _set_or_delete(tags: Any, key: str, vals: list) -> None:
    if vals:
        tags[key] = vals
    elif key in tags:
        del tags[key]


def write_tags(path: str | os.PathLike, track: Track, *, cover: bytes | None = None,
               release_date: str = "") -> None:
    """Write ``track``'s metadata (and ``cover``, JPEG or PNG bytes, when given) into ``path``.

    Fields the track lacks are removed from the file so stale peer tags cannot
    contradict the new ones; other tags are left alone. ``release_date``
    (``YYYY-MM-DD``) is written as the date when it agrees with ``track.year``.
    The original is replaced only once the tagged copy is complete.
    Raises :class:`TaggingError` (the file unchanged) on failure.
    """
    path = Path(path)
    mime = "image/jpeg"
    if cover is not None:
        mime = image_mime(cover) or ""
        if not mime:
            raise TaggingError(path, "the cover art is neither a JPEG nor a PNG image")
    try:
        _audio, fmt = open_audio(path)
    except AudioVerifyError as exc:
        raise TaggingError(path, exc.reason) from exc
    values = _tag_values(track, release_date)
    try:
        tmp = durable_copy(path, path.parent)
    except OSError as exc:
        raise TaggingError(path, f"cannot make a working copy ({exc.strerror or exc})") from exc
    try:
        if fmt in ("wav", "aiff"):
            pad_iff_chunks(tmp, fmt)
        audio: Any = _OPENERS[fmt](tmp)
        if fmt in _ID3_FORMATS:
            _write_id3(audio, values, cover, mime)
            audio.save(v2_version=4)
        elif fmt == "m4a":
            _write_mp4(audio, values, cover, mime)
            audio.save()
        else:
            _write_vorbis(audio, values, cover, mime)
            audio.save()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        failpoints.hit("tag.before_replace")
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except Exception as exc:  # mutagen raises many types on odd files; the original is untouched
        raise TaggingError(path, f"could not write tags ({str(exc) or type(exc).__name__})") from exc
    finally:
        tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------------------
# Reading


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).replace("\x00", "").strip()[:MAX_TAG_CHARS]


def _texts(values: object) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, (list, tuple)):
        values = [values]
    return [t for t in (_text(v) for v in values[:64]) if t]


def _first(values: object) -> str:
    found = _texts(values)
    return found[0] if found else ""


def _positive(text: str) -> int | None:
    match = re.match(r"\s*(\d{1,6})", text)
    value = int(match.group(1)) if match else 0
    return value if value > 0 else None


def _number_pair(text: str) -> tuple[int | None, int | None]:
    number, _, total = text.partition("/")
    return _positive(number), _positive(total)


def _year(text: str) -> int | None:
    match = re.match(r"\s*(\d{4})", text)
    year = int(match.group(1)) if match else 0
    return year if 1000 <= year <= 2999 else None


def _from_fields(fields: dict[str, list[str]], duration_ms: int | None, path: Path) -> Track:
    artists = fields.get("ARTISTS") or fields.get("ARTIST") or []
    track_no, track_total = _number_pair(_first(fields.get("TRACKNUMBER")))
    disc_no, disc_total = _number_pair(_first(fields.get("DISCNUMBER")))
    for key in ("TRACKTOTAL", "TOTALTRACKS"):
        track_total = track_total or _positive(_first(fields.get(key)))
    for key in ("DISCTOTAL", "TOTALDISCS"):
        disc_total = disc_total or _positive(_first(fields.get(key)))
    return Track(
        title=_first(fields.get("TITLE")),
        artists=artists,
        album=_first(fields.get("ALBUM")),
        duration_ms=duration_ms,
        isrc=_first(fields.get("ISRC")) or None,
        album_artist=_first(fields.get("ALBUMARTIST")),
        track_number=track_no,
        disc_number=disc_no,
        track_total=track_total,
        disc_total=disc_total,
        year=_year(_first(fields.get("DATE"))),
        genre=_first(fields.get("GENRE")),
        spotify_id=_first(fields.get("SPOTIFY_TRACK_ID")) or None,
        spotify_album_id=_first(fields.get("SPOTIFY_ALBUM_ID")) or None,
        spotify_artist_ids=fields.get("SPOTIFY_ARTIST_ID", []),
        path=str(path),
    )


def _fields_vorbis(tags: Any) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for key, value in tags.items() if tags is not None else []:
        fields.setdefault(key.upper(), []).extend(_texts(value))
    return fields


def _fields_id3(tags: ID3 | None) -> dict[str, list[str]]:
    if tags is None:
        return {}
    frame_keys = {"TIT2": "TITLE", "TPE1": "ARTIST", "TPE2": "ALBUMARTIST", "TALB": "ALBUM",
                  "TRCK": "TRACKNUMBER", "TPOS": "DISCNUMBER", "TDRC": "DATE", "TCON": "GENRE",
                  "TSRC": "ISRC"}
    fields = {key: _texts(tags[fid].text) for fid, key in frame_keys.items() if fid in tags}
    for frame in tags.getall("TXXX"):
        desc = _text(frame.desc).upper()
        if desc in _ID3_CUSTOM:
            fields[desc] = _texts(frame.text)
    return fields


def _fields_mp4(tags: Any) -> dict[str, list[str]]:
    if tags is None:
        return {}
    plain = {"\xa9nam": "TITLE", "\xa9ART": "ARTIST", "aART": "ALBUMARTIST", "\xa9alb": "ALBUM",
             "\xa9day": "DATE", "\xa9gen": "GENRE"}
    fields = {key: _texts(tags[atom]) for atom, key in plain.items() if atom in tags}
    for atom, number, total in (("trkn", "TRACKNUMBER", "TRACKTOTAL"), ("disk", "DISCNUMBER", "DISCTOTAL")):
        pairs = tags.get(atom) or []
        if pairs and isinstance(pairs[0], tuple) and len(pairs[0]) == 2:
            fields[number] = [str(pairs[0][0])]
            fields[total] = [str(pairs[0][1])]
    for key in _CUSTOM:
        if _FREEFORM + key in tags:
            fields[key] = _texts([bytes(v) for v in tags[_FREEFORM + key]])
    return fields


def read_tags(path: str | os.PathLike) -> Track:
    """The metadata stored in ``path`` as a :class:`Track` (duration from the audio stream).

    Missing or malformed values are simply absent; raises :class:`TaggingError`
    only when the file cannot be opened as audio at all.
    """
    path = Path(path)
    try:
        audio, fmt = open_audio(path)
    except AudioVerifyError as exc:
        raise TaggingError(path, exc.reason) from exc
    length = getattr(audio.info, "length", 0) or 0
    duration_ms = round(length * 1000) if length > 0 else None
    try:
        if fmt in _ID3_FORMATS:
            fields = _fields_id3(audio.tags)
        elif fmt == "m4a":
            fields = _fields_mp4(audio.tags)
        else:
            fields = _fields_vorbis(audio.tags)
    except Exception:  # hostile tag structures: the tags are unusable, the audio may be fine
        fields = {}
    return _from_fields(fields, duration_ms, path)


def read_cover(path: str | os.PathLike) -> bytes | None:
    """The embedded front cover (or first picture) of ``path``, or None."""
    path = Path(path)
    try:
        audio, fmt = open_audio(path)
    except AudioVerifyError as exc:
        raise TaggingError(path, exc.reason) from exc
    tags = audio.tags
    if tags is None:
        return None
    pictures: list[tuple[int, bytes]] = []
    if fmt == "flac":
        pictures = [(p.type, p.data) for p in audio.pictures]
    elif fmt in ("ogg", "opus"):
        for block in tags.get("METADATA_BLOCK_PICTURE", []):
            try:
                pic = Picture(base64.b64decode(block))
            except Exception:  # a malformed picture block is skipped
                continue
            pictures.append((pic.type, pic.data))
    elif fmt in _ID3_FORMATS:
        pictures = [(frame.type, frame.data) for frame in tags.getall("APIC")]
    elif fmt == "m4a":
        pictures = [(_FRONT_COVER, bytes(c)) for c in tags.get("covr", [])]
    pictures.sort(key=lambda p: p[0] != _FRONT_COVER)
    return pictures[0][1] if pictures else None
