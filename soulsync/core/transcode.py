"""Is a file what it claims to be? Spotting fake lossless and up-converted lossy audio.

A lossy encoder throws away the top of the spectrum: LAME keeps about 20 kHz
at 320 kbps, 18.8 kHz at 192 kbps, 16.7 kHz at 128 kbps. Whatever a file is
converted to afterwards, that hole stays: a "FLAC" made from an MP3 has a brick
wall at the MP3's cutoff, a "320 kbps" MP3 made from a 128 kbps one has the
128 kbps file's wall.

:func:`measure` decodes a few short stretches spread over the file (soundfile,
or PyAV for what libsndfile cannot read, such as M4A), averages their power
spectrum and looks for a cliff: a drop of many decibels within a few hundred
hertz after which nothing comes back up to the top of the band. A natural
roll-off (a dull or old recording) fades over kilohertz and is no cliff.
:func:`judge` weighs that measurement against what the file claims (format,
bitrate, sample rate, bit depth, and what its source announced) and returns a
:class:`Verdict`: ``genuine`` True, False, or None when the evidence is too
weak to say. :func:`inspect_file` does both for a path. Qt-free and network-free;
everything read from a file is untrusted, so problems become a "can't tell"
verdict with the reason in words, never an exception.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from soulsync.core.audio_errors import AudioVerifyError
from soulsync.core.audiofile import AudioInfo, format_for_suffix, verify_audio

SEGMENTS = 4
"""Stretches of audio analysed per file, spread over its length."""
SEGMENT_SECONDS = 1.0
FFT_SIZE = 4096
MAX_SAMPLE_RATE = 768_000
MIN_SECONDS = 0.5
"""Less audio than this is too little to judge."""
SILENCE_DB = -75.0
"""Analysed audio quieter than this (RMS, dBFS) is too quiet to judge."""

WALL_DROP_DB = 24.0
"""A cliff: the median level in the kilohertz below an edge exceeds the one above it by at least this."""
WALL_WINDOW_HZ = 1000.0
WALL_GAP_HZ = 250.0
"""Left out on each side of an edge, so an encoder's transition band does not blur the drop."""
TOP_GUARD_HZ = 150.0
"""The very top of the band, where resampling filters roll off, is not looked at."""
WEAK_CONTENT_DB = 60.0
"""Content just below a cliff this far under the mid-band level is too faint to prove anything."""
LOWEST_CUTOFF_HZ = 4000.0
"""Cliffs lower than this are not looked for: no lossy encoder used for music cuts there."""
BAND_HZ = 86.0
"""Width of the bands the spectrum is averaged into."""

LOSSLESS_FAKE_BELOW_HZ = 19000.0
"""A lossless file (44.1/48 kHz) cut off below this was made from a lossy source."""
LOSSLESS_SURE_ABOVE_HZ = 20500.0
"""A cliff between the two thresholds may be a mastering filter or a high-bitrate lossy source."""
HIRES_UPSAMPLED_BELOW_HZ = 24500.0
"""A hi-res file (above 48 kHz) with nothing above this was upsampled from CD or DAT resolution."""
LOSSY_MIN_CUTOFF: tuple[tuple[int, float], ...] = (
    (300, 19000.0), (240, 18000.0), (180, 17000.0), (150, 15500.0), (120, 14500.0), (90, 13000.0))
"""(kbps, Hz): a genuine lossy file of at least this bitrate keeps at least this much of the spectrum.
About a kilohertz under what LAME keeps at that bitrate, so other encoders pass too."""
LABEL_SHORTFALL = 0.75
"""A lossy file whose real bitrate is under this share of the one its source announced is mislabelled."""


@dataclass(frozen=True, slots=True)
class Measurement:
    """What the spectrum of a file shows."""

    seconds: float
    """Audio analysed."""
    level_db: float
    """RMS level of the analysed audio, dBFS."""
    sample_rate: int
    cutoff_hz: float | None
    """Where the content ends: the edge of the highest cliff, or the top of the band when there is none."""
    wall: bool
    """Whether the content ends in a cliff (brick-wall low-pass) rather than fading out."""
    drop_db: float
    """How deep the cliff is (0 without one)."""
    faint: bool
    """The content below the cliff is too faint, or too sparse (a few tones), to prove anything."""
    hf_db: float | None
    """Level of the top octave below the guard relative to the mid band (None when the band is too narrow)."""
    bits_used: int | None
    """For PCM-decoded lossless audio: the bits of each sample really in use (16 in a padded 24-bit file)."""


@dataclass(frozen=True, slots=True)
class Claim:
    """What a file's source said it is: its name's format and an announced or labelled bitrate."""

    format: str | None = None
    """Canonical format its name promised (``flac``, ``mp3``...), or None."""
    kbps: int | None = None
    """The bitrate the peer announced or its folder named (``[MP3 320]``), or None."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a file is what it claims, with the evidence."""

    genuine: bool | None
    """True: it is what it claims; False: a transcode, up-conversion or mislabel; None: can't tell."""
    reason: str
    """In words, e.g. ``FLAC looks transcoded from a lossy source: nothing above 16.1 kHz``."""
    cutoff_hz: float | None = None
    measurement: Measurement | None = None

    @property
    def label(self) -> str:
        """``genuine``, ``fake`` or ``can't tell``."""
        return {True: "genuine", False: "fake", None: "can't tell"}[self.genuine]


# ---------------------------------------------------------------------------
# decoding


class _DecodeError(Exception):
    """The audio could not be decoded; the message says why in words."""


def _segment_starts(total: int, length: int) -> list[int]:
    """Where to read ``SEGMENTS`` stretches of ``length`` frames from ``total``: spread over it, or only
    from the start when the file is that short or its length is unknown (0)."""
    if total <= length * SEGMENTS:
        return [0]
    return [int(total * (i + 1) / (SEGMENTS + 1)) - length // 2 for i in range(SEGMENTS)]


def _checked_rate(rate: object) -> int:
    """A decoder's sample rate, or :class:`_DecodeError` for none or an implausible one (hostile headers)."""
    value = int(rate) if isinstance(rate, (int, float)) else 0
    if not 0 < value <= MAX_SAMPLE_RATE:
        raise _DecodeError(f"its sample rate ({rate}) is not plausible")
    return value


def _read_count(starts: list[int], length: int) -> int:
    """Frames to read at each start: one stretch, or (a short file read from the start) all of its few."""
    return length if len(starts) > 1 else length * SEGMENTS


def _decode_soundfile(path: Path, lossless: bool) -> tuple[list[np.ndarray], int, int | None]:
    import soundfile as sf

    try:
        with sf.SoundFile(str(path)) as f:
            rate = _checked_rate(f.samplerate)
            length = int(SEGMENT_SECONDS * rate)
            starts = _segment_starts(max(0, int(f.frames)), length)
            count = _read_count(starts, length)
            pcm = lossless and f.subtype.startswith("PCM_")
            chunks: list[np.ndarray] = []
            ored = 0
            for start in starts:
                if f.seekable():
                    f.seek(max(0, start))
                if pcm:
                    raw = f.read(count, dtype="int32", always_2d=True)
                    ored |= int(np.bitwise_or.reduce(raw, axis=None)) if raw.size else 0
                    data = raw.astype(np.float32) / 2147483648.0
                else:
                    data = f.read(count, dtype="float32", always_2d=True)
                chunks.append(data.mean(axis=1))
    except _DecodeError:
        raise
    except Exception as exc:  # libsndfile on hostile bytes: its own errors, and others from soundfile
        raise _DecodeError(str(exc) or type(exc).__name__) from exc
    bits = None
    if pcm and ored:
        ored &= 0xFFFFFFFF
        bits = 32 - ((ored & -ored).bit_length() - 1)
    return chunks, rate, bits


_PCM_SCALE = {"s16": 32768.0, "s32": 2147483648.0, "u8": 128.0}


def _frame_mono(frame: Any) -> np.ndarray:
    """A PyAV audio frame as mono float32 in -1..1."""
    name = frame.format.name
    data = frame.to_ndarray()
    channels = max(1, len(frame.layout.channels))
    if not frame.format.is_planar:
        data = data.reshape(-1, channels).T
    data = data.astype(np.float32)
    scale = _PCM_SCALE.get(name.rstrip("p"))
    if name.startswith("u8"):
        data -= 128.0
    if scale:
        data /= scale
    return data.mean(axis=0)


def _decode_pyav(path: Path) -> tuple[list[np.ndarray], int, int | None]:
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise _DecodeError("it holds no audio stream")
            stream = container.streams.audio[0]
            rate = _checked_rate(stream.codec_context.sample_rate)
            length = int(SEGMENT_SECONDS * rate)
            base = stream.time_base
            duration = float(stream.duration * base) if stream.duration and base else 0.0
            starts = _segment_starts(int(duration * rate), length)
            count = _read_count(starts, length)
            chunks: list[np.ndarray] = []
            for start in starts:
                if start > 0 and base:
                    container.seek(int(start / rate / base), stream=stream)
                got: list[np.ndarray] = []
                have = 0
                for frame in container.decode(stream):
                    block = _frame_mono(frame)
                    got.append(block)
                    have += len(block)
                    if have >= count:
                        break
                if got:
                    chunks.append(np.concatenate(got)[:count])
    except _DecodeError:
        raise
    except Exception as exc:  # PyAV on hostile bytes raises its own error types, and others
        raise _DecodeError(str(exc) or type(exc).__name__) from exc
    return chunks, rate, None


def _decode(path: Path, fmt: str, lossless: bool) -> tuple[list[np.ndarray], int, int | None]:
    """Mono stretches of the file (float32, -1..1), its sample rate, and the bits in use (PCM only)."""
    if fmt != "m4a":
        try:
            return _decode_soundfile(path, lossless)
        except _DecodeError:
            pass  # PyAV may still read it
    try:
        return _decode_pyav(path)
    except ImportError as exc:
        raise _DecodeError("no decoder for it is installed (PyAV)") from exc


# ---------------------------------------------------------------------------
# the spectrum


def _spectrum(chunks: list[np.ndarray]) -> np.ndarray | None:
    """Average power spectrum (Hann window, half overlap) of the stretches; None when none is long enough."""
    window = np.hanning(FFT_SIZE).astype(np.float32)
    frames = [np.lib.stride_tricks.sliding_window_view(c, FFT_SIZE)[::FFT_SIZE // 2]
              for c in chunks if len(c) >= FFT_SIZE]
    if not frames:
        return None
    stacked = np.concatenate(frames) * window
    power = np.abs(np.fft.rfft(stacked, axis=1)) ** 2
    return power.mean(axis=0)


def _to_db(power: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(power, 1e-30))


def measure_samples(chunks: list[np.ndarray], sample_rate: int, bits_used: int | None = None) -> Measurement:
    """Measure decoded mono stretches (float, -1..1) at ``sample_rate``; see :class:`Measurement`."""
    chunks = [np.nan_to_num(c, nan=0.0, posinf=0.0, neginf=0.0) for c in chunks]  # float files may hold anything
    seconds = sum(len(c) for c in chunks) / sample_rate if sample_rate > 0 else 0.0
    joined = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    rms = float(np.sqrt(np.mean(np.square(joined, dtype=np.float64)))) if joined.size else 0.0
    level = 20.0 * math.log10(rms) if rms > 0 else -math.inf
    nyquist = sample_rate / 2.0
    empty = Measurement(seconds, level, sample_rate, None, False, 0.0, False, None, bits_used)
    power = _spectrum(chunks) if sample_rate > 0 else None
    if power is None or not np.all(np.isfinite(power)):
        return empty
    bin_hz = sample_rate / FFT_SIZE
    per_band = max(1, round(BAND_HZ / bin_hz))
    usable = int((nyquist - TOP_GUARD_HZ) / bin_hz) // per_band * per_band
    bands = _to_db(power[:usable].reshape(-1, per_band).mean(axis=1))
    band_hz = per_band * bin_hz
    centre = (np.arange(len(bands)) + 0.5) * band_hz
    mid = bands[(centre >= 500) & (centre <= 4000)]
    mid_db = float(np.median(mid)) if mid.size else float(np.median(bands))
    hf = bands[centre >= nyquist * 0.75]
    hf_db = float(np.median(hf)) - mid_db if hf.size else None
    top_hz = round(min(nyquist, len(bands) * band_hz))

    win = max(2, round(WALL_WINDOW_HZ / band_hz))
    gap = max(1, round(WALL_GAP_HZ / band_hz))
    first, last = max(win + gap, int(LOWEST_CUTOFF_HZ / band_hz)), len(bands) - gap - 2
    if last <= first:
        return Measurement(seconds, level, sample_rate, top_hz, False, 0.0, False, hf_db, bits_used)
    medians = np.median(np.lib.stride_tricks.sliding_window_view(bands, win), axis=1)
    edges = np.arange(first, last)
    below = medians[edges - gap - win]
    above = medians[np.minimum(edges + gap, len(medians) - 1)]
    drop = below - above
    # above a real cliff no band comes back even halfway up it: the highest level from each point to the top
    comes_back = np.maximum.accumulate(bands[::-1])[::-1][edges + gap]
    cliff = (drop >= WALL_DROP_DB) & (comes_back <= (below + above) / 2.0)
    if not cliff.any():
        return Measurement(seconds, level, sample_rate, top_hz, False, 0.0, False, hf_db, bits_used)
    # the highest run of cliff edges is where the content ends; its deepest edge is the cliff
    run_end = int(np.nonzero(cliff)[0][-1])
    run_start = run_end
    while run_start > 0 and cliff[run_start - 1]:
        run_start -= 1
    pick = run_start + int(np.argmax(drop[run_start:run_end + 1]))
    edge, depth = int(edges[pick]), float(drop[pick])
    low, high = float(below[pick]), float(above[pick])
    # the exact edge: the highest fine bin near the cliff still above its midpoint
    fine = _to_db(power)
    lo = max(0, (edge - 2 * gap - 1) * per_band)
    hi = min(len(fine), (edge + 2 * gap + 2) * per_band)
    over = np.nonzero(fine[lo:hi] >= (low + high) / 2.0)[0]
    cutoff = (lo + int(over[-1]) + 1) * bin_hz if over.size else edge * band_hz
    # content that proves a cliff is broadband: most of the octave below it is well above the level past it
    octave = bands[int(cutoff / 2 / band_hz):max(int(cutoff / 2 / band_hz) + 1, edge - gap)]
    sparse = float(np.percentile(octave, 25)) < high + WALL_DROP_DB / 2
    faint = sparse or low < mid_db - WEAK_CONTENT_DB
    return Measurement(seconds, level, sample_rate, round(cutoff), True, round(depth, 1), faint, hf_db, bits_used)


def measure(path: str | os.PathLike, fmt: str | None = None, lossless: bool = False) -> Measurement:
    """Decode a few stretches of ``path`` and measure them; raises ``ValueError`` with a reason in words
    when the audio cannot be decoded at all."""
    path = Path(path)
    try:
        chunks, rate, bits = _decode(path, fmt or format_for_suffix(path) or "", lossless)
    except _DecodeError as exc:
        raise ValueError(f"its audio cannot be decoded ({str(exc)[:160]})") from exc
    return measure_samples(chunks, rate, bits)


# ---------------------------------------------------------------------------
# the verdict


def _khz(hz: float) -> str:
    return f"{hz / 1000:.1f} kHz"


def lossy_min_cutoff(kbps: int) -> float | None:
    """The least a genuine lossy encoding at ``kbps`` keeps of the spectrum (Hz), or None when too low to say."""
    for floor_kbps, hz in LOSSY_MIN_CUTOFF:
        if kbps >= floor_kbps:
            return hz
    return None


def judge(info: AudioInfo, m: Measurement, claim: Claim | None = None) -> Verdict:
    """Weigh the measurement ``m`` of a verified file ``info`` against what it and its source claim."""
    name = info.format.upper() if info.codec != "alac" else "ALAC"
    claim = claim or Claim()
    if claim.format and claim.format in ("flac", "wav", "aiff") and not info.lossless:
        return Verdict(False, f"named .{claim.format} but holds {info.codec.upper()} audio, which is lossy",
                       m.cutoff_hz, m)
    if not info.lossless and claim.kbps and info.bitrate and info.bitrate < claim.kbps * LABEL_SHORTFALL:
        return Verdict(False, f"{name} announced as {claim.kbps} kbps is really {info.bitrate} kbps",
                       m.cutoff_hz, m)
    if m.seconds < MIN_SECONDS:
        return Verdict(None, f"can't tell: too short to judge ({m.seconds:.1f} s of audio)", m.cutoff_hz, m)
    if m.level_db < SILENCE_DB:
        return Verdict(None, "can't tell: silent or nearly so", m.cutoff_hz, m)
    if m.cutoff_hz is None:
        return Verdict(None, "can't tell: too little audio for a spectrum", None, m)
    if info.lossless and info.bit_depth and info.bit_depth > 16 and m.bits_used is not None \
            and m.bits_used <= 16:
        return Verdict(False, f"{info.bit_depth}-bit {name} holds only {m.bits_used}-bit audio (padded with zeros)",
                       m.cutoff_hz, m)
    cutoff = float(m.cutoff_hz)
    if not m.wall:
        if m.hf_db is not None and m.hf_db < -WEAK_CONTENT_DB:
            return Verdict(None, "can't tell: little high-frequency content and no sharp cutoff "
                                 "(a dull or old recording looks like this)", m.cutoff_hz, m)
        return Verdict(True, f"no sharp cutoff: content reaches {_khz(cutoff)}", m.cutoff_hz, m)
    if m.faint:
        return Verdict(None, f"can't tell: a cutoff at {_khz(cutoff)}, but the content below it is too faint "
                             "or too sparse to prove a lossy source",
                       m.cutoff_hz, m)
    if info.lossless:
        rate = info.sample_rate or m.sample_rate
        if cutoff < LOSSLESS_FAKE_BELOW_HZ:
            return Verdict(False, f"{name} looks transcoded from a lossy source: nothing above {_khz(cutoff)}",
                           m.cutoff_hz, m)
        if rate > 48000 and cutoff < HIRES_UPSAMPLED_BELOW_HZ:
            return Verdict(False, f"{name} at {rate / 1000:g} kHz looks upsampled: nothing above {_khz(cutoff)}",
                           m.cutoff_hz, m)
        if cutoff < LOSSLESS_SURE_ABOVE_HZ and rate <= 48000:
            return Verdict(None, f"can't tell: a sharp cutoff at {_khz(cutoff)} may be a mastering filter "
                                 "or a high-bitrate lossy source", m.cutoff_hz, m)
        return Verdict(True, f"content up to {_khz(cutoff)}", m.cutoff_hz, m)
    kbps = max(info.bitrate, 0)
    least = lossy_min_cutoff(kbps)
    if least is None:
        return Verdict(True, f"content up to {_khz(cutoff)}, as expected at {kbps} kbps", m.cutoff_hz, m)
    if cutoff < least:
        return Verdict(False, f"{name} at {kbps} kbps looks up-converted from a lower bitrate: nothing above "
                              f"{_khz(cutoff)} (a genuine one keeps at least {_khz(least)})", m.cutoff_hz, m)
    return Verdict(True, f"content up to {_khz(cutoff)}, as expected at {kbps} kbps", m.cutoff_hz, m)


def check(info: AudioInfo, claim: Claim | None = None) -> Verdict:
    """Measure and judge a verified file; a file that cannot be decoded gets a "can't tell" verdict."""
    try:
        m = measure(info.path, info.format, info.lossless)
    except ValueError as exc:
        return Verdict(None, f"can't tell: {exc}")
    return judge(info, m, claim)


_LABEL_KBPS = re.compile(r"(?:mp3|aac|ogg|m4a|cbr)[\s_-]*(\d{3})\b|\b(\d{3})[\s_-]*kbps\b|[\[(](\d{3})[\])]",
                         re.IGNORECASE)


def claim_from_source(remote_path: str, announced_kbps: int | None = None) -> Claim:
    """What a peer's file promises: the format of its name, and the bitrate it announced or its folder
    names (``Album [MP3 320]``, ``320kbps``), whichever is higher."""
    parts = remote_path.replace("\\", "/").split("/")
    labelled = None
    for folder in parts[:-1]:
        for match in _LABEL_KBPS.finditer(folder):
            value = int(next(g for g in match.groups() if g))
            if 32 <= value <= 320:
                labelled = max(labelled or 0, value)
    kbps = max([k for k in (labelled, announced_kbps) if k], default=None)
    return Claim(format_for_suffix(parts[-1]), kbps)


@dataclass(frozen=True, slots=True)
class Inspection:
    """One file as ``soulsync inspect`` reports it."""

    path: str
    format: str | None
    genuine: bool | None
    cutoff_hz: float | None
    reason: str
    codec: str | None = None
    bitrate_kbps: int | None = None
    sample_rate: int | None = None
    bit_depth: int | None = None
    bits_used: int | None = None
    lossless: bool | None = None
    claimed: str | None = None
    """What the file claims to be, e.g. ``FLAC 16/44.1 kHz, 3:21``."""
    error: bool = False
    """The file could not be read as audio at all."""

    def as_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


def inspect_file(path: str | os.PathLike) -> Inspection:
    """Verify, measure and judge one local file; never raises for problems with the file."""
    path = Path(path)
    try:
        info = verify_audio(path)
    except AudioVerifyError as exc:
        return Inspection(str(path), format_for_suffix(path), None, None, f"not usable: the file {exc.reason}",
                          error=True)
    verdict = check(info, Claim(format_for_suffix(path)))
    m = verdict.measurement
    return Inspection(str(path), info.format, verdict.genuine, verdict.cutoff_hz, verdict.reason, info.codec,
                      info.bitrate, info.sample_rate, info.bit_depth, m.bits_used if m else None, info.lossless,
                      info.describe())
