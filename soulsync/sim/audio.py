"""Real, playable files for the simulated Soulseek peers.

Every file a simulated peer shares is described by a small frozen spec
(:class:`AudioSpec` for audio, :class:`ExtraSpec` for cover art and rip
logs). :class:`FileFactory` turns a spec into bytes on disk, lazily and once:
files are cached under a cache directory keyed by a hash of the spec, so the
same recording in the same encoding is synthesized once per machine.

Rules the rest of the simulation relies on:

* **Duration.** An audio file decodes to ``spec.duration_s`` seconds (MP3 to
  within one 26 ms frame). Peers announce that same number as ``length``, so
  the duration check the app makes on a downloaded file agrees with the search
  result. A "wrong duration" file is simply a spec with a different
  ``duration_s`` than the catalog track.
* **Size.** :meth:`FileFactory.size` is known *before* a file is synthesized
  (searches report it; synthesizing thousands of files per search would be far
  too slow) and the synthesized file has exactly that size. The encoded audio
  is kept at or under a predicted size and the tag block (FLAC PADDING, ID3v2
  padding, Vorbis comment padding, JPEG comment segments) makes up the rest.
* **Content.** A short loop (about 8 s: a four-chord progression with a beat,
  plus quiet white noise that gives lossless files a realistic bitrate) is
  tiled to the full length, so synthesis costs little more than encoding.
  A ``lowpass`` spec band-limits the content the way a transcode from a lossy
  source would ("fake FLAC", MP3 upconverted to 320).
* **Encodings.** FLAC 16/24-bit, MP3 CBR (32-320 kbps) and VBR (LAME V0-V9),
  Ogg Vorbis and WAV are written with libsndfile through ``soundfile``; MP3 is
  encoded once per loop and its frames are repeated (each repetition is a
  complete LAME stream, so it decodes cleanly) under a Xing/Info header
  carrying the real frame count. Ogg is written in one-second blocks: a single
  long write crashes libsndfile's Vorbis encoder. M4A is Apple Lossless in an
  MP4 container, written here (libsndfile has no AAC or ALAC encoder): ALAC's
  uncompressed ("escape") frames, which every ALAC decoder reads, so the audio
  runs at 1411 kbps like a WAV. There is no AAC: that needs a real encoder.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import struct
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf

log = logging.getLogger(__name__)

AUDIO_FORMATS = ("flac", "mp3", "ogg", "wav", "m4a")
EXTRA_KINDS = ("jpg", "cue", "log", "nfo", "txt", "m3u")

_CACHE_VERSION = hashlib.sha1(Path(__file__).read_bytes() + sf.__libsndfile_version__.encode()).hexdigest()[:12]
"""Changes whenever this module or libsndfile changes, so stale cached files are never reused."""
_LOOP_SECONDS = 8
_FLAC_BLOCK = 4096
_NOISE_16BIT_LSB = 48.0
"""White-noise amplitude in 16-bit steps (about -57 dBFS): a FLAC of it runs near 600 kbps."""
_TRANSCODE_CUTOFF_HZ = 16000
_OGG_BLOCK_SECONDS = 1
_MP3_SAMPLES_PER_FRAME = 1152
_MP3_BITRATES = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MP3_SAMPLE_RATES = (44100, 48000, 32000)
_MP3_CBR_LEVEL = {320: 0.05, 256: 0.2, 224: 0.33, 192: 0.44, 160: 0.55, 128: 0.65,
                  112: 0.72, 96: 0.77, 80: 0.83, 64: 0.87}
"""libsndfile compression level that makes LAME pick each constant bitrate."""
_TAG_BUDGET = 4096
"""Bytes reserved for tags on top of the predicted audio size (at least this much is padding)."""


class SynthesisError(RuntimeError):
    """A file could not be synthesized to its announced size (a bug in the size model)."""


@dataclass(frozen=True, slots=True)
class AudioSpec:
    """One audio file: format, length, encoding parameters, content voice and tags.

    ``duration_s`` is the real decoded length in whole seconds. ``bitrate`` is
    the MP3 constant bitrate in kbps (ignored when ``vbr_level`` is set, which
    selects LAME's VBR preset V0-V9). ``quality`` is the Vorbis compression
    level (0 best .. 1 smallest). ``voice`` picks the tune; the same recording
    should use the same voice everywhere. ``tags`` are (name, value) pairs
    written as Vorbis comments or ID3 frames (``title``, ``artist``, ``album``,
    ``albumartist``, ``tracknumber``, ``discnumber``, ``date``, ``genre``).
    """

    fmt: str
    duration_s: int
    sample_rate: int = 44100
    channels: int = 2
    bit_depth: int = 16
    bitrate: int = 0
    vbr_level: int | None = None
    quality: float = 0.4
    lowpass: bool = False
    voice: int = 0
    tags: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.fmt not in AUDIO_FORMATS:
            raise ValueError(f"unsupported audio format {self.fmt!r}; expected one of {AUDIO_FORMATS}")
        if self.duration_s < 1:
            raise ValueError("duration_s must be at least one second")
        if self.channels not in (1, 2):
            raise ValueError("channels must be 1 or 2")
        if self.fmt == "mp3":
            if self.sample_rate not in _MP3_SAMPLE_RATES:
                raise ValueError(f"MP3 sample rate must be one of {_MP3_SAMPLE_RATES}")
            if self.vbr_level is None and self.bitrate not in _MP3_CBR_LEVEL:
                raise ValueError(f"MP3 constant bitrate must be one of {sorted(_MP3_CBR_LEVEL)}")
            if self.vbr_level is not None and not 0 <= self.vbr_level <= 9:
                raise ValueError("MP3 VBR level must be 0..9")
        if self.fmt in ("flac", "wav") and self.bit_depth not in (16, 24):
            raise ValueError("bit_depth must be 16 or 24")
        if self.fmt == "m4a" and self.bit_depth != 16:
            raise ValueError("M4A (ALAC) files are 16-bit")
        if not 0.0 <= self.quality <= 1.0:
            raise ValueError("quality must be within 0..1")

    @property
    def extension(self) -> str:
        return self.fmt

    @property
    def is_vbr(self) -> bool:
        return self.fmt == "ogg" or (self.fmt == "mp3" and self.vbr_level is not None)


@dataclass(frozen=True, slots=True)
class ExtraSpec:
    """A non-audio file of a rip folder: ``jpg`` cover art or a text file.

    Text files (``cue``, ``log``, ``nfo``, ``txt``, ``m3u``) are rendered from
    ``subject`` (folder title) and ``lines`` (usually the track titles); the
    cover is a small real JPEG padded to ``jpeg_size`` bytes.
    """

    kind: str
    subject: str
    lines: tuple[str, ...] = ()
    seed: int = 0
    jpeg_size: int = 0

    def __post_init__(self) -> None:
        if self.kind not in EXTRA_KINDS:
            raise ValueError(f"unsupported extra kind {self.kind!r}; expected one of {EXTRA_KINDS}")

    @property
    def extension(self) -> str:
        return self.kind


FileSpec = AudioSpec | ExtraSpec


# ---------------------------------------------------------------------------
# content
# ---------------------------------------------------------------------------

def _loop_frames(sample_rate: int) -> int:
    """Loop length in samples: about eight seconds, a whole number of FLAC blocks."""
    return max(1, round(_LOOP_SECONDS * sample_rate / _FLAC_BLOCK)) * _FLAC_BLOCK


def _render_loop(spec: AudioSpec, noise_scale: float) -> np.ndarray:
    """The loop that is tiled into the file: float32 samples, shape (frames, channels)."""
    return _loop(spec.voice, spec.sample_rate, spec.channels, spec.lowpass, noise_scale)


@lru_cache(maxsize=8)
def _loop(voice: int, sr: int, channels: int, lowpass: bool, noise_scale: float) -> np.ndarray:
    n = _loop_frames(sr)
    t = np.arange(n, dtype=np.float64) / sr
    root = 110.0 * 2.0 ** (((voice * 7) % 12) / 12.0)
    progression = ((1.0, 1.25, 1.5), (4 / 3, 5 / 3, 2.0), (1.5, 15 / 8, 9 / 4), (5 / 6, 1.0, 1.25))
    beat = 60.0 / (88 + (voice * 11) % 48)
    envelope = 0.45 + 0.55 * np.exp(-(t % beat) / 0.18)
    chord_len = n // len(progression)
    fade = max(1, int(0.01 * sr))
    ramp = np.ones(chord_len)
    ramp[:fade] = np.linspace(0.0, 1.0, fade)
    ramp[-fade:] = np.linspace(1.0, 0.0, fade)
    tone = np.zeros((n, channels))
    for i, ratios in enumerate(progression):
        lo, hi = i * chord_len, (i + 1) * chord_len if i < len(progression) - 1 else n
        seg_t = t[lo:hi]
        seg_ramp = ramp if hi - lo == chord_len else np.resize(ramp, hi - lo)
        for ch in range(channels):
            phase = 0.3 * ch
            wave = sum(np.sin(2 * np.pi * root * r * 2 * seg_t + phase * k) for k, r in enumerate(ratios))
            tone[lo:hi, ch] = wave * seg_ramp
    tone *= 0.06 * envelope[:, None]
    rng = np.random.default_rng([voice, sr, channels, 20240])
    noise = rng.uniform(-1.0, 1.0, size=(n, channels)) * (_NOISE_16BIT_LSB * noise_scale / 32768.0)
    signal = tone + noise
    if lowpass:
        # nothing above 16 kHz, as in a transcode from a lossy source (the loop is periodic,
        # so a brick wall in the frequency domain leaves no seam)
        spectrum = np.fft.rfft(signal, axis=0)
        spectrum[np.fft.rfftfreq(n, 1.0 / sr) > _TRANSCODE_CUTOFF_HZ] = 0.0
        signal = np.fft.irfft(spectrum, n=n, axis=0)
    loop = signal.astype(np.float32)
    loop.flags.writeable = False
    return loop


def _total_frames(spec: AudioSpec) -> int:
    return spec.duration_s * spec.sample_rate


def _tiled_blocks(loop: np.ndarray, total: int, block: int):
    """Yield consecutive blocks (at most ``block`` frames) of ``loop`` tiled to ``total`` frames."""
    n = len(loop)
    pos = 0
    while pos < total:
        start = pos % n
        take = min(block, total - pos, n - start)
        yield loop[start:start + take]
        pos += take


# ---------------------------------------------------------------------------
# MP3 frames
# ---------------------------------------------------------------------------

def _mp3_frame_length(header: int) -> int | None:
    """Byte length of an MPEG-1 Layer III frame from its 32-bit header, or None if not one."""
    if (header >> 21) & 0x7FF != 0x7FF or (header >> 19) & 3 != 3 or (header >> 17) & 3 != 1:
        return None
    bitrate_index = (header >> 12) & 0xF
    rate_index = (header >> 10) & 3
    if bitrate_index in (0, 15) or rate_index == 3:
        return None
    return 144000 * _MP3_BITRATES[bitrate_index] // _MP3_SAMPLE_RATES[rate_index] + ((header >> 9) & 1)


def _split_mp3_frames(data: bytes) -> list[bytes]:
    """The audio frames of a LAME stream, without its Xing/Info frame and trailing tags."""
    frames: list[bytes] = []
    pos = 0
    if data[:3] == b"ID3":
        pos = 10 + ((data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9])
    while pos + 4 <= len(data):
        length = _mp3_frame_length(int.from_bytes(data[pos:pos + 4], "big"))
        if length is None or pos + length > len(data):
            break
        frames.append(data[pos:pos + length])
        pos += length
    if frames and (b"Xing" in frames[0][:64] or b"Info" in frames[0][:64]):
        frames.pop(0)
    return frames


def _xing_frame(template: bytes, frame_count: int, sizes: list[int], vbr: bool) -> bytes:
    """A Xing (VBR) or Info (CBR) header frame with frame count, byte count and seek table."""
    header = int.from_bytes(template[:4], "big")
    rate = _MP3_SAMPLE_RATES[(header >> 10) & 3]
    mono = (header >> 6) & 3 == 3
    bitrate_index = _MP3_BITRATES.index(128) if vbr else (header >> 12) & 0xF
    header = (header & ~(0xF << 12) & ~(1 << 9)) | (bitrate_index << 12)
    length = 144000 * _MP3_BITRATES[bitrate_index] // rate
    total_bytes = length + sum(sizes)
    offsets = np.concatenate([[0], np.cumsum(sizes[:-1])]) + length if sizes else np.zeros(1)
    toc = bytearray()
    for i in range(100):
        frame = min(len(sizes) - 1, int(i / 100 * len(sizes))) if sizes else 0
        toc.append(min(255, int(offsets[frame] * 256 // max(1, total_bytes))))
    side_info = 17 if mono else 32
    body = (b"Xing" if vbr else b"Info") + struct.pack(">I", 0x0F) + struct.pack(">II", frame_count, total_bytes)
    body += bytes(toc) + struct.pack(">I", 0)
    xing = header.to_bytes(4, "big") + bytes(side_info) + body
    return xing + bytes(length - len(xing))


def _encode_mp3_loop(spec: AudioSpec, loop: np.ndarray) -> list[bytes]:
    buf = io.BytesIO()
    if spec.vbr_level is not None:
        mode, level = "VARIABLE", spec.vbr_level / 10.0
    else:
        mode, level = "CONSTANT", _MP3_CBR_LEVEL[spec.bitrate]
    with sf.SoundFile(buf, "w", spec.sample_rate, spec.channels, "MPEG_LAYER_III", format="MP3",
                      bitrate_mode=mode, compression_level=level) as out:
        out.write(loop)
    frames = _split_mp3_frames(buf.getvalue())
    if not frames:
        raise SynthesisError("LAME produced no MP3 frames")
    if spec.vbr_level is None:
        got = _MP3_BITRATES[(frames[0][2] >> 4) & 0xF]
        if got != spec.bitrate:
            raise SynthesisError(f"LAME encoded {got} kbps instead of {spec.bitrate} kbps")
    return frames


def _mp3_frame_total(spec: AudioSpec) -> int:
    return max(1, round(spec.duration_s * spec.sample_rate / _MP3_SAMPLES_PER_FRAME))


def _tile_frames(frames: list[bytes], total: int) -> list[bytes]:
    reps, rest = divmod(total, len(frames))
    return frames * reps + frames[:rest]


# ---------------------------------------------------------------------------
# M4A: Apple Lossless in MP4
# ---------------------------------------------------------------------------

_ALAC_FRAME = 4096


def _box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full_box(kind: bytes, flags: int, *payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", flags), *payload)


def _alac_frame_sizes(total: int, channels: int) -> list[int]:
    """Byte sizes of the uncompressed ALAC frames holding ``total`` sample frames."""
    full, last = divmod(total, _ALAC_FRAME)
    sizes = [(23 + _ALAC_FRAME * channels * 16 + 3 + 7) // 8] * full
    if last:
        sizes.append((23 + 32 + last * channels * 16 + 3 + 7) // 8)
    return sizes


def _alac_frame(block: np.ndarray) -> bytes:
    """One ALAC frame in escape (uncompressed) mode from int16 samples of shape (n, channels).

    Bit layout: element tag (3: SCE mono, CPE stereo), instance (4), unused (12), partial-frame
    flag (1), shift (2), escape flag (1), [sample count (32) when partial], the samples
    interleaved as 16-bit big-endian values, END tag ``111``, zero bits to the byte boundary.
    The header is 23 or 55 bits long, so the sample bytes are written shifted by 7 bits.
    """
    count, channels = block.shape
    partial = count != _ALAC_FRAME
    header, bits = ((1 if channels == 2 else 0) << 20) | (int(partial) << 3) | 1, 23
    if partial:
        header, bits = (header << 32) | count, 55
    payload = np.frombuffer(block.astype(">i2").tobytes(), dtype=np.uint8)
    head = bytearray((header << (8 * (bits // 8 + 1) - bits)).to_bytes(bits // 8 + 1, "big"))
    head[-1] |= int(payload[0] >> 7)
    body = np.empty(len(payload), dtype=np.uint8)
    body[:-1] = ((payload[:-1].astype(np.uint16) << 1) | (payload[1:] >> 7)) & 0xFF
    body[-1] = ((int(payload[-1]) << 1) & 0xFF) | 0x01  # last sample bit, then the END tag's first 1
    return bytes(head) + body.tobytes() + b"\xc0"  # the END tag's other two 1s, then padding


def _m4a_header(spec: AudioSpec, sizes: list[int]) -> bytes:
    """``ftyp``, ``moov`` and the ``mdat`` box header of an ALAC M4A whose frames have ``sizes``."""
    total, sr, channels = _total_frames(spec), spec.sample_rate, spec.channels
    ftyp = _box(b"ftyp", b"M4A ", struct.pack(">I", 0), b"M4A mp42isom\0\0\0\0")
    cookie = struct.pack(">IBBBBBBHIII", _ALAC_FRAME, 0, 16, 40, 10, 14, channels, 255, max(sizes),
                         round(sum(sizes) * 8 * sr / total), sr)
    entry = _box(b"alac", bytes(6), struct.pack(">H", 1), bytes(8), struct.pack(">HHHHI", channels, 16, 0, 0, sr << 16),
                 _full_box(b"alac", 0, cookie))
    full, last = divmod(total, _ALAC_FRAME)
    runs = [(n, length) for n, length in ((full, _ALAC_FRAME), (1 if last else 0, last)) if n]
    stts = _full_box(b"stts", 0, struct.pack(">I", len(runs)), *(struct.pack(">II", *r) for r in runs))
    stsc = _full_box(b"stsc", 0, struct.pack(">IIII", 1, 1, len(sizes), 1))
    stsz = _full_box(b"stsz", 0, struct.pack(">II", 0, len(sizes)), struct.pack(f">{len(sizes)}I", *sizes))
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = _full_box(b"mvhd", 0, struct.pack(">IIII", 0, 0, sr, total), struct.pack(">IH", 0x10000, 0x0100),
                     bytes(10), matrix, bytes(24), struct.pack(">I", 2))
    tkhd = _full_box(b"tkhd", 7, struct.pack(">IIIII", 0, 0, 1, 0, total), bytes(8),
                     struct.pack(">hhhH", 0, 0, 0x0100, 0), matrix, bytes(8))
    mdhd = _full_box(b"mdhd", 0, struct.pack(">IIIIHH", 0, 0, sr, total, 0x55C4, 0))
    hdlr = _full_box(b"hdlr", 0, bytes(4), b"soun", bytes(12), b"SoundHandler\0")
    dinf = _box(b"dinf", _full_box(b"dref", 0, struct.pack(">I", 1), _full_box(b"url ", 1)))

    def moov(offset: int) -> bytes:
        stbl = _box(b"stbl", _full_box(b"stsd", 0, struct.pack(">I", 1), entry), stts, stsc, stsz,
                    _full_box(b"stco", 0, struct.pack(">II", 1, offset)))
        minf = _box(b"minf", _full_box(b"smhd", 0, bytes(4)), dinf, stbl)
        return _box(b"moov", mvhd, _box(b"trak", tkhd, _box(b"mdia", mdhd, hdlr, minf)))

    offset = len(ftyp) + len(moov(0)) + 8  # the audio starts right after the mdat box header
    return ftyp + moov(offset) + struct.pack(">I", 8 + sum(sizes)) + b"mdat"


def _to_int16(loop: np.ndarray) -> np.ndarray:
    return np.clip(np.round(loop * 32767.0), -32768, 32767).astype(np.int16)


# ---------------------------------------------------------------------------
# tags
# ---------------------------------------------------------------------------

_MP4_KEYS = {"title": "\xa9nam", "artist": "\xa9ART", "album": "\xa9alb", "albumartist": "aART",
             "date": "\xa9day", "genre": "\xa9gen"}
_ID3_FRAMES = {"title": "TIT2", "artist": "TPE1", "album": "TALB", "albumartist": "TPE2",
               "tracknumber": "TRCK", "discnumber": "TPOS", "date": "TDRC", "genre": "TCON"}


def _id3_tag(tags: tuple[tuple[str, str], ...], padding: int) -> bytes:
    """ID3v2.4 tag bytes with exactly ``padding`` bytes of padding."""
    from mutagen import id3

    tag = id3.ID3()
    for name, value in tags:
        frame_id = _ID3_FRAMES.get(name)
        if frame_id and value:
            tag.add(getattr(id3, frame_id)(encoding=3, text=value))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tag.id3"
        path.write_bytes(b"")
        tag.save(path, v2_version=4, padding=lambda info: padding)
        return path.read_bytes()


def _tags_bytes(tags: tuple[tuple[str, str], ...]) -> int:
    return sum(len(k) + len(v.encode("utf-8")) + 16 for k, v in tags)


# ---------------------------------------------------------------------------
# extras
# ---------------------------------------------------------------------------

def _extra_text(spec: ExtraSpec) -> bytes:
    lines: list[str]
    if spec.kind == "cue":
        lines = [f'TITLE "{spec.subject}"', f'FILE "{spec.subject}.flac" WAVE']
        for i, title in enumerate(spec.lines, 1):
            minutes, seconds = divmod((i - 1) * 217 + spec.seed % 60, 60)
            lines += [f"  TRACK {i:02d} AUDIO", f'    TITLE "{title}"', f"    INDEX 01 {minutes:02d}:{seconds:02d}:00"]
    elif spec.kind == "log":
        lines = ["Exact Audio Copy V1.6 from 23. October 2020", "", f"EAC extraction logfile for {spec.subject}", "",
                 "Read mode               : Secure", "Use cache               : No", ""]
        for i, title in enumerate(spec.lines, 1):
            crc = (spec.seed * 2654435761 + i * 40503) & 0xFFFFFFFF
            lines += [f"Track {i:2d}", f"     Filename {title}", f"     Copy CRC {crc:08X}", "     Copy OK", ""]
        lines.append("No errors occurred")
    elif spec.kind == "m3u":
        lines = ["#EXTM3U"] + list(spec.lines)
    else:
        lines = [spec.subject, "=" * len(spec.subject), ""] + [f"{i:02d}. {t}" for i, t in enumerate(spec.lines, 1)]
        lines += ["", "Ripped and shared with love. Please keep sharing."]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _jpeg(spec: ExtraSpec) -> bytes:
    """A real 300x300 cover JPEG padded with comment segments to exactly ``jpeg_size`` bytes."""
    from PIL import Image

    rng = np.random.default_rng([spec.seed, 77])
    base = rng.integers(40, 215, size=3)
    gradient = np.linspace(0.6, 1.4, 300)[:, None, None] * np.linspace(1.2, 0.8, 300)[None, :, None]
    pixels = np.clip(base[None, None, :] * gradient, 0, 255).astype(np.uint8)
    for quality in (85, 70, 50, 30):
        out = io.BytesIO()
        Image.fromarray(pixels, "RGB").save(out, "JPEG", quality=quality)
        data = out.getvalue()
        missing = spec.jpeg_size - len(data)
        if missing == 0:
            return data
        if missing >= 4:
            segments = bytearray()
            while missing:
                chunk = min(missing, 65535 + 2)
                if 0 < missing - chunk < 4:  # leave room for a last segment of at least 4 bytes
                    chunk -= 4
                segments += b"\xff\xfe" + (chunk - 2).to_bytes(2, "big") + bytes(chunk - 4)
                missing -= chunk
            return data[:2] + bytes(segments) + data[2:]
    raise SynthesisError(f"cover art cannot be made {spec.jpeg_size} bytes")


# ---------------------------------------------------------------------------
# factory
# ---------------------------------------------------------------------------

@dataclass
class SynthesisStats:
    """What the factory has done, for logs and benchmarks."""

    files: int = 0
    seconds: float = 0.0
    cache_hits: int = 0
    by_format: dict[str, tuple[int, float]] = field(default_factory=dict)


class FileFactory:
    """Announces sizes of and synthesizes the files simulated peers share.

    Thread-safe. ``cache_dir`` defaults to ``<tmp>/soulsync-sim-files``;
    files there are reused across runs and processes (their names hash the
    whole spec and the synthesis code), and so are the measured encoder rates
    that size predictions use (``rates-<version>.json``).
    """

    def __init__(self, cache_dir: str | os.PathLike[str] | None = None) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "soulsync-sim-files"
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.stats = SynthesisStats()
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._rates_file = self.cache_dir / f"rates-{_CACHE_VERSION}.json"
        self._rates: dict[str, float] = self._load_rates()
        self._sizes: dict[FileSpec, int] = {}

    # ---- announced facts -------------------------------------------------
    def size(self, spec: FileSpec) -> int:
        """The exact size in bytes the file will have (no synthesis needed)."""
        with self._lock:
            cached = self._sizes.get(spec)
        if cached is not None:
            return cached
        value = self._extra_size(spec) if isinstance(spec, ExtraSpec) else self._audio_size(spec)
        with self._lock:
            self._sizes[spec] = value
        return value

    def bitrate(self, spec: AudioSpec) -> int | None:
        """The kbps a Soulseek client announces for this file, or None for lossless formats."""
        if spec.fmt in ("flac", "wav", "m4a"):
            return None
        if spec.fmt == "mp3" and spec.vbr_level is None:
            return spec.bitrate
        return max(1, round(self._audio_rate(spec) * 8 / 1000))

    # ---- synthesis -------------------------------------------------------
    def path(self, spec: FileSpec) -> Path:
        """The synthesized file on disk (created on first call; later calls reuse it)."""
        key = self._key(spec)
        final = self.cache_dir / f"{key}.{spec.extension}"
        if final.exists():
            with self._lock:
                self.stats.cache_hits += 1
            return final
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            if final.exists():
                return final
            started = time.perf_counter()
            fd, tmp_name = tempfile.mkstemp(prefix=f".{key}.", suffix=f".{spec.extension}", dir=self.cache_dir)
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                if isinstance(spec, ExtraSpec):
                    tmp.write_bytes(self._extra_bytes(spec))
                else:
                    self._write_audio(spec, tmp)
                if tmp.stat().st_size != self.size(spec):
                    raise SynthesisError(f"{spec.extension} file is {tmp.stat().st_size} bytes, "
                                         f"announced {self.size(spec)}")
                os.replace(tmp, final)
            finally:
                tmp.unlink(missing_ok=True)
            elapsed = time.perf_counter() - started
            with self._lock:
                self.stats.files += 1
                self.stats.seconds += elapsed
                count, total = self.stats.by_format.get(spec.extension, (0, 0.0))
                self.stats.by_format[spec.extension] = (count + 1, total + elapsed)
        return final

    # ---- internals -------------------------------------------------------
    @staticmethod
    def _key(spec: FileSpec) -> str:
        return hashlib.sha1(f"{_CACHE_VERSION}:{spec!r}".encode("utf-8")).hexdigest()[:24]

    def _extra_bytes(self, spec: ExtraSpec) -> bytes:
        return _jpeg(spec) if spec.kind == "jpg" else _extra_text(spec)

    def _extra_size(self, spec: ExtraSpec) -> int:
        return spec.jpeg_size if spec.kind == "jpg" else len(_extra_text(spec))

    def _audio_rate(self, spec: AudioSpec) -> float:
        """Encoded audio bytes per second for this encoding and voice, measured on the loop."""
        # MP3 VBR is measured on one voice for all (an MP3 loop encode is slow); others per voice
        voice = 0 if spec.fmt == "mp3" else spec.voice
        key = repr((spec.fmt, spec.sample_rate, spec.channels, spec.bit_depth, spec.bitrate, spec.vbr_level,
                    spec.quality, spec.lowpass, voice))
        with self._lock:
            rate = self._rates.get(key)
        if rate is not None:
            return rate
        loop = _render_loop(replace(spec, voice=voice), 1.0)
        seconds = len(loop) / spec.sample_rate
        if spec.fmt == "mp3":
            frames = _encode_mp3_loop(spec, loop)
            rate = sum(map(len, frames)) / (len(frames) * _MP3_SAMPLES_PER_FRAME / spec.sample_rate)
        else:
            buf = io.BytesIO()
            self._encode_pcm(spec, buf, loop, len(loop))
            rate = len(buf.getvalue()) / seconds
        with self._lock:
            self._rates[key] = rate
            self._save_rates()
        return rate

    def _load_rates(self) -> dict[str, float]:
        try:
            data = json.loads(self._rates_file.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return {k: float(v) for k, v in data.items() if isinstance(v, (int, float))} if isinstance(data, dict) else {}

    def _save_rates(self) -> None:
        """Persist the measured rates (atomically; another process may do the same)."""
        fd, tmp = tempfile.mkstemp(prefix=".rates.", dir=self.cache_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(self._rates, out)
            os.replace(tmp, self._rates_file)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            log.debug("could not save encoder rates: %s", exc)

    def _audio_size(self, spec: AudioSpec) -> int:
        tags = _tags_bytes(spec.tags) + _TAG_BUDGET
        if spec.fmt == "wav":
            return 44 + _total_frames(spec) * spec.channels * (spec.bit_depth // 8)
        if spec.fmt == "mp3":
            frames = _mp3_frame_total(spec)
            header = 144000 * 320 // spec.sample_rate + 1
            if spec.vbr_level is None:
                per_frame = math.ceil(144000 * spec.bitrate / spec.sample_rate)
                return tags + header + frames * per_frame
            vbr_frame = self._audio_rate(spec) * _MP3_SAMPLES_PER_FRAME / spec.sample_rate
            return tags + header + math.ceil(frames * vbr_frame * 1.06) + 2048
        if spec.fmt == "m4a":
            sizes = _alac_frame_sizes(_total_frames(spec), spec.channels)
            return tags + len(_m4a_header(spec, sizes)) + sum(sizes)
        margin = 1.01 if spec.fmt == "flac" else 1.03
        return tags + math.ceil(self._audio_rate(spec) * spec.duration_s * margin) + 8192

    @staticmethod
    def _encode_pcm(spec: AudioSpec, target, loop: np.ndarray, total: int) -> None:
        """Write ``loop`` tiled to ``total`` frames as FLAC, Ogg Vorbis or WAV into ``target``."""
        if spec.fmt == "ogg":
            kwargs = {"format": "OGG", "subtype": "VORBIS", "compression_level": spec.quality}
            block = spec.sample_rate * _OGG_BLOCK_SECONDS
        else:
            kwargs = {"format": spec.fmt.upper(), "subtype": f"PCM_{spec.bit_depth}"}
            block = len(loop)
        with sf.SoundFile(target, "w", spec.sample_rate, spec.channels, **kwargs) as out:
            for chunk in _tiled_blocks(loop, total, block):
                out.write(chunk)

    def _write_audio(self, spec: AudioSpec, path: Path) -> None:
        target = self.size(spec)
        for noise_scale in (1.0, 0.5, 0.25, 0.0):
            loop = _render_loop(spec, noise_scale)
            if spec.fmt == "mp3":
                done = self._write_mp3(spec, loop, path, target)
            elif spec.fmt == "m4a":
                self._write_m4a(spec, loop, path)
                done = self._pad_to(spec, path, target)
            else:
                self._encode_pcm(spec, path, loop, _total_frames(spec))
                done = spec.fmt == "wav" or self._pad_to(spec, path, target)
            if done:
                return
        raise SynthesisError(f"cannot fit {spec.fmt} audio of {spec.duration_s}s into {target} bytes")

    @staticmethod
    def _write_mp3(spec: AudioSpec, loop: np.ndarray, path: Path, target: int) -> bool:
        frames = _tile_frames(_encode_mp3_loop(spec, loop), _mp3_frame_total(spec))
        xing = _xing_frame(frames[0], len(frames), [len(f) for f in frames], spec.vbr_level is not None)
        audio_bytes = len(xing) + sum(map(len, frames))
        bare_tag = len(_id3_tag(spec.tags, 0))
        padding = target - audio_bytes - bare_tag
        if padding < 0:
            return False
        with open(path, "wb") as out:
            out.write(_id3_tag(spec.tags, padding))
            out.write(xing)
            for frame in frames:
                out.write(frame)
        return True

    @staticmethod
    def _write_m4a(spec: AudioSpec, loop: np.ndarray, path: Path) -> None:
        """ALAC in MP4: the loop is a whole number of ALAC frames, so its frames are made once and repeated."""
        total = _total_frames(spec)
        samples = _to_int16(loop)
        loop_frames = [_alac_frame(samples[i:i + _ALAC_FRAME]) for i in range(0, len(samples), _ALAC_FRAME)]
        full, last = divmod(total, _ALAC_FRAME)
        frames = _tile_frames(loop_frames, full)
        if last:  # the loop is a whole number of ALAC frames, so the short last one never wraps around
            start = (full * _ALAC_FRAME) % len(samples)
            frames.append(_alac_frame(samples[start:start + last]))
        with open(path, "wb") as out:
            out.write(_m4a_header(spec, [len(f) for f in frames]))
            for frame in frames:
                out.write(frame)

    @staticmethod
    def _pad_to(spec: AudioSpec, path: Path, target: int) -> bool:
        """Tag the FLAC/Ogg/M4A file and pad it to exactly ``target`` bytes; False if it is too big."""
        from mutagen.flac import FLAC
        from mutagen.mp4 import MP4
        from mutagen.oggvorbis import OggVorbis

        opener = {"flac": FLAC, "m4a": MP4}.get(spec.fmt, OggVorbis)
        audio = opener(path)
        if spec.fmt == "m4a":
            audio["\xa9too"] = ["iTunes 12.12"]  # an MP4 without any tag gets no metadata box to pad
        for name, value in spec.tags:
            if not value:
                continue
            if spec.fmt != "m4a":
                audio[name] = value
            elif name in _MP4_KEYS:
                audio[_MP4_KEYS[name]] = [value]
            elif name in ("tracknumber", "discnumber") and value.isdigit():
                audio["trkn" if name == "tracknumber" else "disk"] = [(int(value), 0)]
        audio.save(padding=lambda info: 0)
        base = path.stat().st_size
        if base > target:
            return False
        padding = target - base
        # FLAC grows exactly with the padding; an Ogg comment packet crossing a 255-byte lacing
        # boundary grows by one more byte, so step down until the size lands exactly
        for _attempt in range(4):
            audio = opener(path)
            audio.save(padding=lambda info, p=padding: p)
            size = path.stat().st_size
            if size == target:
                return True
            padding -= size - target
            if padding < 0:
                break
        return False
