"""Structural completeness checks of compressed audio files, one per container.

Each raises :class:`~soulsync.core.audio_errors.AudioVerifyError` with a reason, or
returns when the file looks whole: the last FLAC frame intact, the MP3 frame chain
reaching the end of the file, the Ogg stream ending with its end-of-stream page, MP4
atoms filling the file exactly. WAV and AIFF are checked in :mod:`soulsync.core.iff_chunks`.
"""
from __future__ import annotations

import mmap
from collections.abc import Callable
from typing import cast
from pathlib import Path

import mutagen
from mutagen.flac import FLAC

from soulsync.core.audio_errors import AudioVerifyError, _short


_TAIL_LIMIT = 1 << 20
"""At most this many bytes from the end are read to find the last FLAC frame."""


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
