"""Open, identify and verify downloaded audio files.

Everything a peer sends is untrusted: a file may be truncated, corrupt, or
not audio at all whatever its name says. :func:`verify_audio` opens a file
with mutagen, identifies its real format from its content, checks that the
stream is structurally complete (the checks are in :mod:`soulsync.core.audio_checks`
and, for WAV/AIFF, :mod:`soulsync.core.iff_chunks`) and compares duration and size
with what was expected.
Any problem raises :class:`AudioVerifyError` (defined in :mod:`soulsync.core.audio_errors`,
imported here with the functions that raise it) with a reason fit for a person.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import mutagen
from mutagen.aiff import AIFF
from mutagen.flac import FLAC
from mutagen.id3 import error as ID3Error
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from soulsync.core.audio_checks import _check_complete, _run_check
from soulsync.core.audio_errors import AudioVerifyError, _clock, _short
from soulsync.core.iff_chunks import _CHUNKED_CHECKS


DEFAULT_DURATION_TOLERANCE_MS = 5000
"""Spotify and file durations of the same recording differ by a second or two; edits differ by more."""


_FORMATS: tuple[tuple[type[mutagen.FileType], str], ...] = (
    (FLAC, "flac"),
    (MP3, "mp3"),
    (OggOpus, "opus"),
    (OggVorbis, "ogg"),
    (MP4, "m4a"),
    (WAVE, "wav"),
    (AIFF, "aiff"),
)
SUPPORTED_FORMATS = frozenset(fmt for _, fmt in _FORMATS)
"""Canonical extensions of the formats SoulSync verifies and tags."""
FORMAT_OF_SUFFIX: dict[str, str] = {**{f".{fmt}": fmt for fmt in SUPPORTED_FORMATS}, ".aif": "aiff"}
"""File name suffix (lower case, with the dot) -> canonical format, for names only: the content decides."""

_LOSSLESS_CODECS = frozenset({"flac", "alac", "pcm"})


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What a verified audio file really is."""

    path: Path
    format: str
    """Canonical extension from the content: ``flac``, ``mp3``, ``ogg``, ``opus``, ``m4a``, ``wav`` or ``aiff``."""
    codec: str
    """``flac``, ``mp3``, ``vorbis``, ``opus``, ``aac``, ``alac`` or ``pcm`` (uncompressed WAV/AIFF)."""
    duration_ms: int
    bitrate: int
    """kbps, averaged over the file."""
    sample_rate: int | None
    bit_depth: int | None
    channels: int | None
    size: int
    lossless: bool

    def quality_rank(self) -> tuple[bool, int, bool, int]:
        """Larger is better: lossless over lossy; then, for lossless, the resolution
        (bit depth x sample rate x channels), for lossy the bitrate; then compressed
        over uncompressed (the same audio as FLAC beats a WAV of it); then size."""
        if self.lossless and self.bit_depth and self.sample_rate:
            resolution = self.bit_depth * self.sample_rate * (self.channels or 1) // 1000
        else:
            resolution = self.bitrate
        return (self.lossless, resolution, self.codec != "pcm", self.size)

    def describe(self) -> str:
        """Short label such as ``FLAC 16/44.1 kHz, 3:21`` or ``MP3 320 kbps, 3:21``."""
        seconds = self.duration_ms // 1000
        length = f"{seconds // 60}:{seconds % 60:02d}"
        if self.lossless and self.bit_depth and self.sample_rate:
            quality = f"{self.bit_depth}/{self.sample_rate / 1000:g} kHz"
        else:
            quality = f"{self.bitrate} kbps"
        return f"{self.format.upper()} {quality}, {length}"


def open_audio(path: str | os.PathLike) -> tuple[mutagen.FileType, str]:
    """Open ``path`` with mutagen and return ``(file, canonical_format)``.

    The format comes from the content, never the file name. Raises
    :class:`AudioVerifyError` when the file cannot be read or is not one of
    :data:`SUPPORTED_FORMATS`.
    """
    path = Path(path)
    kind = None
    try:
        kind = _sniff(path)
        audio = kind(path) if kind else mutagen.File(path)
    except Exception as exc:  # mutagen on hostile bytes can raise nearly anything
        damaged_tag = _id3_error(exc) if kind else None
        if damaged_tag is not None:
            raise AudioVerifyError(path, f"cannot be read: its ID3 tag is damaged ({_tag_detail(damaged_tag, path)})"
                                   ) from exc
        detail = _short(exc).replace(repr(str(path)), "the file").replace(str(path), "the file")
        what = "cannot be read as audio" if kind else "is not a recognised audio file"
        raise AudioVerifyError(path, f"{what} ({detail})") from exc
    if audio is None:
        raise AudioVerifyError(path, "is not a recognised audio file")
    for kind, fmt in _FORMATS:
        if isinstance(audio, kind):
            return audio, fmt
    raise AudioVerifyError(path, f"unsupported audio format ({type(audio).__name__})")


def _chain(exc: BaseException | None) -> list[BaseException]:
    """``exc`` and the exceptions behind it (mutagen wraps a tag's error in the container's own)."""
    found: list[BaseException] = []
    while exc is not None and len(found) < 8:
        found.append(exc)
        exc = exc.__cause__ or exc.__context__
    return found


def _id3_error(exc: BaseException) -> BaseException | None:
    """The ID3 error behind ``exc``, if any."""
    return next((e for e in _chain(exc) if isinstance(e, ID3Error)), None)


def _tag_detail(exc: BaseException, path: Path) -> str:
    """What mutagen said about a damaged tag, without the file's path; ``unreadable`` when it said nothing."""
    for cause in _chain(exc):
        text = str(cause).replace(repr(str(path)), "").replace(str(path), "").strip()
        if text:
            return _short(Exception(text))
    return "unreadable"


def format_for_suffix(name: str | os.PathLike) -> str | None:
    """The canonical format a file name's suffix stands for (``x.aif`` -> ``aiff``), or None."""
    return FORMAT_OF_SUFFIX.get(os.path.splitext(os.fspath(name))[1].lower())


def _sniff(path: Path) -> type | None:
    """The mutagen class for the file's magic bytes (mutagen's own guess also weighs the name)."""
    with open(path, "rb") as fh:
        head = fh.read(64)
        if head[:3] == b"ID3" and len(head) >= 10:  # an ID3v2 tag may precede FLAC or MPEG data
            size = 0
            for byte in head[6:10]:
                size = (size << 7) | (byte & 0x7F)
            fh.seek(10 + size + (10 if head[5] & 0x10 else 0))
            after = fh.read(64)
            return FLAC if after[:4] == b"fLaC" else MP3
    if head[:4] == b"fLaC":
        return FLAC
    if head[:4] == b"OggS":
        if b"OpusHead" in head:
            return OggOpus
        if b"\x01vorbis" in head:
            return OggVorbis
        return None
    if head[4:8] == b"ftyp":
        return MP4
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAVE
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return AIFF
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return MP3
    return None


def verify_audio(
    path: str | os.PathLike,
    expected_duration_ms: int | None = None,
    expected_size: int | None = None,
    *,
    duration_tolerance_ms: int = DEFAULT_DURATION_TOLERANCE_MS,
) -> AudioInfo:
    """Check that ``path`` is a complete, plausible audio file and describe it.

    ``expected_size`` (bytes, e.g. the size slskd announced) must match exactly;
    ``expected_duration_ms`` (e.g. Spotify's) must be within
    ``duration_tolerance_ms`` (or 2 %, whichever is larger). Raises
    :class:`AudioVerifyError` with the reason in words.
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise AudioVerifyError(path, f"cannot be opened ({_short(exc)})") from exc
    if not path.is_file():
        raise AudioVerifyError(path, "is not a regular file")
    size = stat.st_size
    if size == 0:
        raise AudioVerifyError(path, "is empty (0 bytes)")
    if expected_size is not None and expected_size > 0 and size != expected_size:
        hint = "download incomplete" if size < expected_size else "file larger than announced"
        raise AudioVerifyError(path, f"is {size:,} bytes but {expected_size:,} were expected ({hint})")

    try:
        chunked = _CHUNKED_CHECKS.get(_sniff(path))
    except OSError:
        chunked = None  # open_audio says why it cannot be read
    if chunked is not None:  # WAV/AIFF: the chunks explain a damaged file better than mutagen's parse error
        _run_check(path, lambda: chunked(path, size))
    audio, fmt = open_audio(path)
    if chunked is None:
        _run_check(path, lambda: _check_complete(path, fmt, audio, size))
    info = audio.info
    length = float(getattr(info, "length", 0.0) or 0.0)
    if length <= 0:
        raise AudioVerifyError(path, "contains no audio (duration is zero)")

    duration_ms = round(length * 1000)
    if expected_duration_ms:
        tolerance = max(duration_tolerance_ms, expected_duration_ms // 50)
        if abs(duration_ms - expected_duration_ms) > tolerance:
            raise AudioVerifyError(
                path,
                f"lasts {_clock(duration_ms)} but {_clock(expected_duration_ms)} was expected "
                f"(a different version, or a damaged file)",
            )

    bitrate = getattr(info, "bitrate", 0) or 0
    kbps = round(bitrate / 1000) if bitrate else round(size * 8 / length / 1000)
    codec = _codec(fmt, info)
    return AudioInfo(
        path=path,
        format=fmt,
        codec=codec,
        duration_ms=duration_ms,
        bitrate=kbps,
        sample_rate=getattr(info, "sample_rate", None) or (48000 if fmt == "opus" else None),
        bit_depth=(getattr(info, "bits_per_sample", None) or None) if codec in _LOSSLESS_CODECS else None,
        channels=getattr(info, "channels", None),
        size=size,
        lossless=codec in _LOSSLESS_CODECS,
    )


def _codec(fmt: str, info: object) -> str:
    if fmt == "m4a":
        codec = str(getattr(info, "codec", "") or "")
        return "alac" if codec.startswith("alac") else "aac"
    return {"ogg": "vorbis", "wav": "pcm", "aiff": "pcm"}.get(fmt, fmt)
