"""Open, identify and verify downloaded audio files.

Everything a peer sends is untrusted: a file may be truncated, corrupt, or
not audio at all whatever its name says. :func:`verify_audio` opens a file
with mutagen, identifies its real format from its content, checks that the
stream is structurally complete (last FLAC frame intact, Ogg stream ends with
its end-of-stream page, MP3 frame chain reaches the end of the file, MP4 atoms
fill the file exactly, WAV/AIFF chunks hold every byte their headers announce)
and compares duration and size with what was expected.
Any problem raises :class:`AudioVerifyError` with a reason fit for a person.
"""
from __future__ import annotations

import math
import mmap
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast
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

DEFAULT_DURATION_TOLERANCE_MS = 5000
"""Spotify and file durations of the same recording differ by a second or two; edits differ by more."""

_TAIL_LIMIT = 1 << 20
"""At most this many bytes from the end are read to find the last FLAC frame."""

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


class AudioVerifyError(Exception):
    """A file is not a complete, plausible audio file; ``reason`` says why in words."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")


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


def _clock(ms: int) -> str:
    seconds = round(ms / 1000)
    return f"{seconds // 60}:{seconds % 60:02d}"


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


# ---------------------------------------------------------------------------
# Structural completeness checks, one per container. Each raises
# AudioVerifyError with a reason, or returns when the file looks whole.


def _run_check(path: Path, check: Callable[[], None]) -> None:
    try:
        check()
    except AudioVerifyError:
        raise
    except Exception as exc:  # a structure too broken to walk
        raise AudioVerifyError(path, f"is damaged ({_short(exc)})") from exc


def _check_complete(path: Path, fmt: str, audio: mutagen.FileType, size: int) -> None:
    if fmt == "flac":
        _check_flac(path, cast(FLAC, audio), size)
    elif fmt == "mp3":
        _check_mp3(path, size)
    elif fmt in ("ogg", "opus"):
        _check_ogg(path, size)
    elif fmt == "m4a":
        _check_mp4(path, size)


def _crc8_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table.append(crc)
    return table


def _crc16_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        table.append(crc)
    return table


_CRC8 = _crc8_table()
_CRC16 = _crc16_table()


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = _CRC8[crc ^ byte]
    return crc


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[(crc >> 8) ^ byte]
    return crc


def _flac_frame_header(buf: bytes, pos: int, streaminfo_block: int) -> tuple[int, int] | None:
    """Parse a FLAC frame header at ``pos``; return ``(first_sample, block_size)`` or None."""
    if pos + 6 > len(buf) or buf[pos] != 0xFF or buf[pos + 1] not in (0xF8, 0xF9):
        return None
    variable = buf[pos + 1] == 0xF9
    bs_code, sr_code = buf[pos + 2] >> 4, buf[pos + 2] & 0x0F
    channels, depth = buf[pos + 3] >> 4, (buf[pos + 3] >> 1) & 0x07
    if bs_code == 0 or sr_code == 15 or channels > 10 or depth == 3 or buf[pos + 3] & 1:
        return None
    i = pos + 4
    lead = buf[i]
    if lead < 0x80:
        number, extra = lead, 0
    elif 0xC0 <= lead < 0xFE:
        extra = 1
        while lead & (0x40 >> extra) and extra < 6:
            extra += 1
        number = lead & (0x3F >> extra)
    else:
        return None
    if i + 1 + extra > len(buf):
        return None
    for k in range(1, extra + 1):
        cont = buf[i + k]
        if cont & 0xC0 != 0x80:
            return None
        number = (number << 6) | (cont & 0x3F)
    i += 1 + extra
    if bs_code == 6:
        if i + 1 > len(buf):
            return None
        block, i = buf[i] + 1, i + 1
    elif bs_code == 7:
        if i + 2 > len(buf):
            return None
        block, i = ((buf[i] << 8) | buf[i + 1]) + 1, i + 2
    elif bs_code == 1:
        block = 192
    elif bs_code <= 5:
        block = 576 << (bs_code - 2)
    else:
        block = 256 << (bs_code - 8)
    i += {12: 1, 13: 2, 14: 2}.get(sr_code, 0)
    if i >= len(buf) or _crc8(buf[pos:i]) != buf[i]:
        return None
    first = number if variable else number * streaminfo_block
    return first, block


def _check_flac(path: Path, audio: FLAC, size: int) -> None:
    """The last frame must end exactly at the end of the file, intact, at the last sample."""
    info = audio.info
    total = info.total_samples
    if not total:
        return  # streams of unknown length cannot be checked this way
    fixed_block = info.max_blocksize or 4096
    end = size
    with open(path, "rb") as fh:
        if size >= 128:
            fh.seek(size - 128)
            if fh.read(3) == b"TAG":  # an ID3v1 tag some taggers append
                end = size - 128
        span = min(end, max(4 * (info.max_framesize or 0), 65536), _TAIL_LIMIT)
        fh.seek(end - span)
        tail = fh.read(span)
    pos = len(tail) - 8
    while pos >= 0:
        pos = tail.rfind(b"\xff", 0, pos + 1)
        if pos < 0:
            break
        header = _flac_frame_header(tail, pos, fixed_block)
        if header is not None:
            first, block = header
            last_sample = first + block
            if first < total and last_sample <= total:
                if last_sample < total:
                    missing = (total - last_sample) / info.sample_rate
                    raise AudioVerifyError(path, f"is truncated: the last {missing:.1f} s of audio are missing")
                frame = tail[pos:]
                if _crc16(frame[:-2]) != int.from_bytes(frame[-2:], "big"):
                    raise AudioVerifyError(path, "is truncated or damaged: the last audio frame is incomplete")
                return
        pos -= 1
    raise AudioVerifyError(path, "is damaged: no complete audio frame found at the end")


_MPEG_BITRATES = {
    # (version_is_mpeg1, layer) -> kbps table indexed by the 4-bit bitrate index
    (True, 1): [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
    (True, 2): [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
    (True, 3): [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
    (False, 1): [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
    (False, 2): [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    (False, 3): [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
}
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mpeg_frame_length(header: bytes) -> int | None:
    """Byte length of the MPEG audio frame starting with these 4 bytes, or None if not a header."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version = (header[1] >> 3) & 0x03
    layer = 4 - ((header[1] >> 1) & 0x03)
    br_index = header[2] >> 4
    sr_index = (header[2] >> 2) & 0x03
    if version == 1 or layer == 4 or br_index in (0, 15) or sr_index == 3:
        return None
    mpeg1 = version == 3
    kbps = _MPEG_BITRATES[(mpeg1, layer)][br_index]
    rate = _MPEG_RATES[version][sr_index]
    padding = (header[2] >> 1) & 0x01
    if layer == 1:
        return (12 * kbps * 1000 // rate + padding) * 4
    coefficient = 72 if layer == 3 and not mpeg1 else 144
    return coefficient * kbps * 1000 // rate + padding


def _mp3_audio_span(data: mmap.mmap) -> tuple[int, int]:
    """``(start, end)`` of the MPEG frames, skipping ID3v2 at the front and ID3v1/APE at the back."""
    start, end = 0, len(data)
    while data[start:start + 3] == b"ID3" and start + 10 <= end:
        tag_size = 0
        for byte in data[start + 6:start + 10]:
            tag_size = (tag_size << 7) | (byte & 0x7F)
        footer = 10 if data[start + 5] & 0x10 else 0
        start += 10 + tag_size + footer
    if end - start >= 128 and data[end - 128:end - 125] == b"TAG":
        end -= 128
    if end - start >= 32 and data[end - 32:end - 24] == b"APETAGEX":
        ape_size = int.from_bytes(data[end - 20:end - 16], "little")
        has_header = data[end - 9] & 0x80
        end -= ape_size + (32 if has_header else 0)
    return start, max(start, end)


def _xing_frames(data: mmap.mmap, pos: int) -> int | None:
    """Frame count announced by a Xing/Info/VBRI header in the first frame, if any."""
    first = data[pos:pos + 200]
    for marker in (b"Xing", b"Info"):
        at = first.find(marker)
        if at >= 0 and at + 12 <= len(first):
            flags = int.from_bytes(first[at + 4:at + 8], "big")
            if flags & 1:
                return int.from_bytes(first[at + 8:at + 12], "big")
    at = first.find(b"VBRI")
    if at >= 0 and at + 18 <= len(first):
        return int.from_bytes(first[at + 14:at + 18], "big")
    return None


def _check_mp3(path: Path, size: int) -> None:
    """Walk the MPEG frame chain: the last frame must end within the file."""
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        _walk_mp3_frames(path, data)


def _walk_mp3_frames(path: Path, data: mmap.mmap) -> None:
    start, end = _mp3_audio_span(data)
    pos = start
    # find the first frame whose successor is also a frame (a lone 0xFF.. is noise)
    while pos < end:
        pos = data.find(b"\xff", pos, end)
        if pos < 0:
            raise AudioVerifyError(path, "is damaged: no MPEG audio frames found")
        length = _mpeg_frame_length(data[pos:pos + 4])
        if length and (pos + length >= end or _mpeg_frame_length(data[pos + length:pos + length + 4])):
            break
        pos += 1
    else:
        raise AudioVerifyError(path, "is damaged: no MPEG audio frames found")
    announced = _xing_frames(data, pos)
    frames = 0
    while pos < end:
        length = _mpeg_frame_length(data[pos:pos + 4])
        if length is None:
            resync = data.find(b"\xff", pos + 1, end)
            if resync < 0 or end - pos < 4:
                break  # trailing junk after the last frame
            pos = resync
            continue
        if pos + length > end:
            missing = pos + length - end
            raise AudioVerifyError(path, f"is truncated: the last audio frame is missing {missing} bytes")
        frames += 1
        pos += length
    if announced and frames + 1 < announced:
        share = 100 * (announced - frames) // announced
        raise AudioVerifyError(path, f"is truncated: {frames} of {announced} audio frames present "
                                     f"(about {share} % missing)")


def _check_ogg(path: Path, size: int) -> None:
    """The last Ogg page must be whole, end the file, and carry the end-of-stream flag."""
    with open(path, "rb") as fh:
        span = min(size, 70_000)  # an Ogg page is at most 65,307 bytes
        fh.seek(size - span)
        tail = fh.read(span)
    pos = tail.rfind(b"OggS")
    while pos >= 0:
        if pos + 27 <= len(tail) and tail[pos + 4] == 0:
            nsegs = tail[pos + 26]
            table = tail[pos + 27:pos + 27 + nsegs]
            if len(table) == nsegs:
                page_end = pos + 27 + nsegs + sum(table)
                if page_end == len(tail):
                    if not tail[pos + 5] & 0x04:
                        raise AudioVerifyError(path, "is truncated: the Ogg stream has no end page")
                    return
                if page_end > len(tail):
                    raise AudioVerifyError(path, "is truncated: the last Ogg page is incomplete")
        pos = tail.rfind(b"OggS", 0, pos)
    raise AudioVerifyError(path, "is damaged: no complete Ogg page at the end")


def _check_mp4(path: Path, size: int) -> None:
    """Top-level atoms must tile the file exactly; ``moov`` and ``mdat`` must both be present."""
    seen: set[bytes] = set()
    with open(path, "rb") as fh:
        pos = 0
        while pos < size:
            fh.seek(pos)
            head = fh.read(16)
            if len(head) < 8:
                raise AudioVerifyError(path, "is damaged: stray bytes after the last MP4 atom")
            atom_size, name = int.from_bytes(head[:4], "big"), head[4:8]
            if atom_size == 1:
                if len(head) < 16:
                    raise AudioVerifyError(path, "is truncated inside an MP4 atom header")
                atom_size = int.from_bytes(head[8:16], "big")
            elif atom_size == 0:
                atom_size = size - pos  # "extends to the end of the file"
            if atom_size < 8:
                raise AudioVerifyError(path, "is damaged: invalid MP4 atom size")
            if pos + atom_size > size:
                raise AudioVerifyError(path, f"is truncated: the '{name.decode('latin-1')}' atom is cut short")
            seen.add(name)
            pos += atom_size
    for needed in (b"moov", b"mdat"):
        if needed not in seen:
            raise AudioVerifyError(path, f"is damaged: no '{needed.decode()}' atom")


# WAV and AIFF: a container chunk ("RIFF"/"FORM") holding chunks, each an id, a
# declared size and data (plus a pad byte when the size is odd). The audio is
# uncompressed PCM, so its duration follows from the byte counts the headers
# declare: every declared byte must be present.

_MAX_CHUNKS = 10_000
"""More chunks than this in a WAV/AIFF file is not audio anyone made."""

_WAV_PCM_TAGS = frozenset({1, 3})
"""WAVE format tags of integer and float PCM; the others are compressed audio inside a WAV file."""
_WAV_COMPRESSED = {2: "MS ADPCM", 6: "A-law", 7: "µ-law", 0x11: "IMA ADPCM", 0x31: "GSM 6.10", 0x50: "MPEG",
                   0x55: "MP3", 0xFF: "AAC", 0x2000: "AC-3", 0x2001: "DTS"}
_WAV_EXTENSIBLE = 0xFFFE

_AIFC_SAMPLE_BYTES = {b"NONE": 0, b"twos": 0, b"sowt": 0, b"raw ": 0, b"in24": 3, b"23ni": 3, b"in32": 4,
                      b"fl32": 4, b"FL32": 4, b"fl64": 8, b"FL64": 8}
"""AIFF-C compression types that are plain PCM -> bytes per sample (0: from the sample size)."""


@dataclass(frozen=True, slots=True)
class _Chunk:
    id: bytes
    data_offset: int
    data_size: int
    """As declared in the chunk header; the bytes may not all be present."""

    @property
    def data_end(self) -> int:
        return self.data_offset + self.data_size


def _iff_chunks(path: Path, size: int, byteorder: Literal["little", "big"], label: str) -> tuple[int, list[_Chunk]]:
    """``(container_end, chunks)``: the top-level chunks of a RIFF or FORM file.

    ``container_end`` is where the container's header says it ends. Chunks are
    listed as their headers declare them, up to the first one that runs past
    the end of the file or of the container (included, for the caller to
    name); raises for headers that are not chunk headers at all.
    """
    chunks: list[_Chunk] = []
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12:
            raise AudioVerifyError(path, f"is truncated inside the {label} header")
        declared = int.from_bytes(head[4:8], byteorder)
        if declared in (0, 0xFFFFFFFF):
            raise AudioVerifyError(path, f"is damaged: the {label} header was never completed (no length)")
        end = 8 + declared
        limit = min(end, size)
        pos = 12
        while pos + 8 <= limit:
            if len(chunks) >= _MAX_CHUNKS:
                raise AudioVerifyError(path, f"is damaged: more than {_MAX_CHUNKS:,} {label} chunks")
            fh.seek(pos)
            header = fh.read(8)
            chunk_id = header[:4]
            if not _is_chunk_id(chunk_id):
                raise AudioVerifyError(path, f"is damaged: no valid {label} chunk at byte {pos:,}")
            chunk = _Chunk(chunk_id, pos + 8, int.from_bytes(header[4:8], byteorder))
            chunks.append(chunk)
            if chunk.data_end > limit:
                break
            pos = chunk.data_end
            if chunk.data_size & 1:  # odd chunks are followed by a pad byte, unless the writer left it out
                fh.seek(pos)
                peek = fh.read(5)
                unpadded = len(peek) >= 4 and _is_chunk_id(peek[:4]) and not (len(peek) == 5
                                                                                 and _is_chunk_id(peek[1:5]))
                pos += 0 if unpadded else 1
    return end, chunks


def _is_chunk_id(data: bytes) -> bool:
    return all(0x20 <= b <= 0x7E for b in data)


def pad_iff_chunks(path: str | os.PathLike, fmt: str) -> int:
    """Give a WAV or AIFF file the pad bytes its odd-sized chunks lack; returns how many were added.

    The format says an odd chunk is followed by one pad byte; some writers leave
    it out, and mutagen, which counts on it, then writes its tag chunk where
    neither it nor other readers find it again. Rewrites ``path`` in place (call
    it on a working copy)."""
    path = Path(path)
    byteorder: Literal["little", "big"] = "little" if fmt == "wav" else "big"
    label = "WAV" if fmt == "wav" else "AIFF"
    size = path.stat().st_size
    end, chunks = _iff_chunks(path, size, byteorder, label)
    starts = [c.data_offset - 8 for c in chunks[1:]] + [min(end, size)]
    gaps = [c.data_end for c, following in zip(chunks, starts) if c.data_size & 1 and following == c.data_end]
    if not gaps:
        return 0
    fixed = path.with_name(f"{path.stem}.pad{path.suffix}")  # a working copy's name keeps its temp suffix
    try:
        with open(path, "rb") as src, open(fixed, "wb") as dst:
            head = bytearray(src.read(12))
            head[4:8] = (int.from_bytes(head[4:8], byteorder) + len(gaps)).to_bytes(4, byteorder)
            dst.write(head)
            pos = 12
            for gap in gaps + [None]:
                remaining = (gap if gap is not None else size) - pos
                while remaining > 0:
                    block = src.read(min(remaining, 1 << 20))
                    if not block:
                        break
                    dst.write(block)
                    remaining -= len(block)
                    pos += len(block)
                if gap is not None:
                    dst.write(b"\x00")
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(fixed, path)
    finally:
        fixed.unlink(missing_ok=True)
    return len(gaps)


def _chunk_name(chunk_id: bytes) -> str:
    return chunk_id.decode("ascii").strip()


def _check_chunks(path: Path, size: int, end: int, chunks: list[_Chunk], audio: _Chunk,
                  byte_rate: int, label: str) -> None:
    """Every declared byte present: the audio chunk first (how much is missing), then the others."""
    if audio.data_end > size:
        present = max(0, size - audio.data_offset)
        missing = (audio.data_size - present) / byte_rate
        if missing >= 0.1:
            amount = f"{missing:.1f} s"
        else:
            amount = f"{round(missing * 1000)} ms" if missing >= 0.001 else "under 1 ms"
        raise AudioVerifyError(path, f"is truncated: the audio data is {audio.data_size:,} bytes but only "
                                     f"{present:,} are present ({amount} of audio missing at the end)")
    for chunk in chunks:
        if chunk.data_end > size:
            raise AudioVerifyError(path, f"is truncated: the '{_chunk_name(chunk.id)}' chunk is cut short")
        if chunk.data_end > end:
            raise AudioVerifyError(path, f"is damaged: the '{_chunk_name(chunk.id)}' chunk runs past the end "
                                         f"of the {label} data")
    if end > size:
        raise AudioVerifyError(path, f"is truncated: {end - size:,} bytes of the {label} file are missing")


def _find_chunk(path: Path, chunks: list[_Chunk], chunk_id: bytes, what: str) -> _Chunk:
    for chunk in chunks:
        if chunk.id == chunk_id:
            return chunk
    raise AudioVerifyError(path, f"is damaged: no '{_chunk_name(chunk_id)}' chunk ({what})")


def _read_chunk(path: Path, chunk: _Chunk, limit: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(chunk.data_offset)
        return fh.read(min(chunk.data_size, limit))


def _check_wav(path: Path, size: int) -> None:
    """PCM WAV: a sane ``fmt `` chunk; the ``data`` chunk whole and a whole number of sample frames."""
    end, chunks = _iff_chunks(path, size, "little", "WAV")
    fmt_chunk = _find_chunk(path, chunks, b"fmt ", "no audio format")
    data = _find_chunk(path, chunks, b"data", "no audio")
    fmt = _read_chunk(path, fmt_chunk, 40)
    if len(fmt) < 16:
        raise AudioVerifyError(path, "is damaged: the WAV format header is incomplete")
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == _WAV_EXTENSIBLE and len(fmt) >= 26:
        tag = int.from_bytes(fmt[24:26], "little")  # the first two bytes of the SubFormat GUID
    if tag not in _WAV_PCM_TAGS:
        codec = _WAV_COMPRESSED.get(tag, f"format 0x{tag:04X}")
        raise AudioVerifyError(path, f"unsupported audio format (WAV holding {codec} audio, not PCM)")
    if not channels or not rate or not bits or block_align != channels * math.ceil(bits / 8):
        raise AudioVerifyError(path, f"is damaged: the WAV format header is inconsistent ({channels} channels, "
                                     f"{bits} bits, {block_align} bytes per frame)")
    _check_chunks(path, size, end, chunks, data, block_align * rate, "WAV")
    if data.data_size % block_align:
        raise AudioVerifyError(path, "is damaged: the audio data ends part-way through a sample")


def _check_aiff(path: Path, size: int) -> None:
    """PCM AIFF/AIFF-C: the ``SSND`` chunk whole and holding the sample frames ``COMM`` announces."""
    end, chunks = _iff_chunks(path, size, "big", "AIFF")
    comm_chunk = _find_chunk(path, chunks, b"COMM", "no audio format")
    sound = _find_chunk(path, chunks, b"SSND", "no audio")
    comm = _read_chunk(path, comm_chunk, 64)
    if len(comm) < 18:
        raise AudioVerifyError(path, "is damaged: the AIFF format header is incomplete")
    channels, frames, bits = struct.unpack(">hIh", comm[:8])
    rate = _ieee_extended(comm[8:18])
    sample_bytes = 0
    if len(comm) >= 22:  # AIFF-C names its compression; plain AIFF is always PCM
        compression = comm[18:22]
        if compression not in _AIFC_SAMPLE_BYTES:
            name = compression.decode("latin-1").strip() or "unnamed"
            raise AudioVerifyError(path, f"unsupported audio format (AIFF-C with '{name}' compression, not PCM)")
        sample_bytes = _AIFC_SAMPLE_BYTES[compression]
    if channels <= 0 or not 1 <= bits <= 64 or not rate:
        raise AudioVerifyError(path, f"is damaged: the AIFF format header is inconsistent ({channels} channels, "
                                     f"{bits} bits, {rate:g} Hz)")
    frame_bytes = channels * (sample_bytes or math.ceil(bits / 8))
    byte_rate = max(1, round(frame_bytes * rate))
    _check_chunks(path, size, end, chunks, sound, byte_rate, "AIFF")
    if sound.data_size < 8:
        raise AudioVerifyError(path, "is damaged: the 'SSND' chunk is too short to hold audio")
    offset = int.from_bytes(_read_chunk(path, sound, 4), "big")  # bytes to skip before the first frame
    held = max(0, sound.data_size - 8 - offset)
    needed = frames * frame_bytes
    if held < needed or held - needed >= byte_rate:  # short, or a second or more beyond what COMM announces
        raise AudioVerifyError(path, f"is damaged: its header announces {frames:,} sample frames "
                                     f"({_clock(needed * 1000 // byte_rate)}) but the sound data holds "
                                     f"{held // frame_bytes:,} ({_clock(held * 1000 // byte_rate)})")


def _ieee_extended(data: bytes) -> float:
    """An 80-bit IEEE 754 extended float (AIFF's sample rate); 0.0 for values that make no sense."""
    exponent = int.from_bytes(data[:2], "big")
    mantissa = int.from_bytes(data[2:10], "big")
    shift = exponent - 16383 - 63
    if exponent & 0x8000 or not mantissa or shift > 0:  # negative, zero, or 2^64 Hz and more
        return 0.0
    return math.ldexp(mantissa, shift)


_CHUNKED_CHECKS: dict[type | None, Callable[[Path, int], None]] = {WAVE: _check_wav, AIFF: _check_aiff}
"""Checks run on the bytes before mutagen parses the file (see :func:`verify_audio`)."""
