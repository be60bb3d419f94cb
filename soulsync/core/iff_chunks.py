"""WAV and AIFF files as chunks: their structural check, and the padding of odd-sized chunks.

Every chunk must hold every byte its header declares (:func:`_check_wav`, :func:`_check_aiff`);
:func:`pad_iff_chunks` adds the pad byte an odd-sized chunk lacks before tags are written.
"""
from __future__ import annotations

import math
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from pathlib import Path

from mutagen.aiff import AIFF
from mutagen.wave import WAVE

from soulsync.core.audio_errors import AudioVerifyError, _clock


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
