"""Real, short audio files for tests and benchmarks.

``make_audio(path, fmt)`` writes a genuine encoded file (a quiet sine tone)
that mutagen, slskd peers and Plex would all accept: FLAC, MP3, Ogg Vorbis,
Ogg Opus, WAV and AIFF (16-bit PCM) through ``soundfile`` (libsndfile), M4A
(AAC) through PyAV when it is installed. Also a tiny valid JPEG for cover-art tests.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import soundfile

FORMATS = ("flac", "mp3", "ogg", "opus", "m4a", "wav", "aiff")
"""Every format the post-processing pipeline handles."""

_SOUNDFILE = {
    "flac": ("FLAC", "PCM_16"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "ogg": ("OGG", "VORBIS"),
    "opus": ("OGG", "OPUS"),
    "wav": ("WAV", "PCM_16"),
    "aiff": ("AIFF", "PCM_16"),
    "aif": ("AIFF", "PCM_16"),
}
_BLOCK = 4096
"""Frames per write: libsndfile's Ogg encoder crashes on one huge write."""


def m4a_available() -> bool:
    """Whether M4A files can be generated here (PyAV installed)."""
    return importlib.util.find_spec("av") is not None


def available_formats() -> tuple[str, ...]:
    """The subset of :data:`FORMATS` this machine can generate."""
    return tuple(f for f in FORMATS if f != "m4a" or m4a_available())


def _tone(seconds: float, rate: int, channels: int, freq: float, noise: float) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    mono = 0.2 * np.sin(2 * np.pi * freq * t)
    if noise:
        mono = mono + noise * np.random.default_rng(int(freq * 1000)).uniform(-1, 1, len(t))
    return np.repeat(mono.astype(np.float32)[:, None], channels, axis=1)


def make_audio(path: str | Path, fmt: str | None = None, seconds: float = 1.0,
               channels: int = 2, freq: float = 440.0, noise: float = 0.0) -> Path:
    """Write a ``seconds`` long tone to ``path`` in ``fmt`` (default: the path's extension).

    ``noise`` (0..1) mixes in seeded white noise: bigger, higher-bitrate files, closer to music.
    """
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "m4a":
        _write_m4a(path, seconds, channels, freq, noise)
        return path
    if fmt not in _SOUNDFILE:
        raise ValueError(f"cannot generate {fmt!r} audio")
    container, subtype = _SOUNDFILE[fmt]
    rate = 48000 if fmt == "opus" else 44100
    data = _tone(seconds, rate, channels, freq, noise)
    with soundfile.SoundFile(path, "w", samplerate=rate, channels=channels,
                             format=container, subtype=subtype) as out:
        for start in range(0, len(data), _BLOCK):
            out.write(data[start:start + _BLOCK])
    return path


def _write_m4a(path: Path, seconds: float, channels: int, freq: float, noise: float) -> None:
    import av  # optional test dependency

    rate = 44100
    layout = "stereo" if channels == 2 else "mono"
    data = _tone(seconds, rate, channels, freq, noise).T.copy()  # planar: one row per channel
    with av.open(str(path), "w", format="ipod") as out:
        stream = out.add_stream("aac", rate=rate, layout=layout)
        for start in range(0, data.shape[1], _BLOCK):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data[:, start:start + _BLOCK]),
                                               format="fltp", layout=layout)
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def jpeg_bytes(width: int = 8, height: int = 8, seed: int = 0) -> bytes:
    """A small valid baseline JPEG (grey, size and seed vary the bytes)."""
    return _tiny_jpeg(width, height, 0x80 + (seed % 64))


def _tiny_jpeg(width: int, height: int, grey: int) -> bytes:
    """A greyscale baseline JPEG of one flat colour, built from the spec's tables.

    Every 8x8 block has a DC coefficient only, so each block encodes as the DC
    difference (first block) or zero, followed by an end-of-block code.
    """
    def segment(marker: int, payload: bytes) -> bytes:
        return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload

    quant = bytes([0]) + bytes([1] * 64)
    sof = bytes([8]) + height.to_bytes(2, "big") + width.to_bytes(2, "big") + bytes([1, 1, 0x11, 0])
    # Standard luminance DC and AC Huffman tables (ITU T.81, K.3)
    dc_counts = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    dc_values = list(range(12))
    ac_counts = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D]
    ac_values = bytes.fromhex(
        "01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a"
        "3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a9293"
        "9495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6"
        "e7e8e9eaf1f2f3f4f5f6f7f8f9fa")
    dht = (bytes([0x00]) + bytes(dc_counts) + bytes(dc_values)
           + bytes([0x10]) + bytes(ac_counts) + ac_values)
    sos = bytes([1, 1, 0x00, 0, 63, 0])

    dc_codes = _huffman_codes(dc_counts, dc_values)
    eob = _huffman_codes(ac_counts, list(ac_values))[0x00]
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    dc_value = (grey - 128) * 8  # level shift, DCT DC gain of 8, quantiser 1
    bits: list[int] = []
    for i in range(blocks):
        diff = dc_value if i == 0 else 0
        category = abs(diff).bit_length()
        code, length = dc_codes[category]
        bits += [(code >> (length - 1 - k)) & 1 for k in range(length)]
        if category:
            value = diff if diff > 0 else diff + (1 << category) - 1
            bits += [(value >> (category - 1 - k)) & 1 for k in range(category)]
        code, length = eob
        bits += [(code >> (length - 1 - k)) & 1 for k in range(length)]
    bits += [1] * (-len(bits) % 8)
    scan = bytearray()
    for i in range(0, len(bits), 8):
        byte = int("".join(map(str, bits[i:i + 8])), 2)
        scan.append(byte)
        if byte == 0xFF:
            scan.append(0x00)
    return (b"\xff\xd8" + segment(0xDB, quant) + segment(0xC0, sof) + segment(0xC4, dht)
            + segment(0xDA, sos) + bytes(scan) + b"\xff\xd9")


def _huffman_codes(counts: list[int], values: list[int]) -> dict[int, tuple[int, int]]:
    codes: dict[int, tuple[int, int]] = {}
    code, k = 0, 0
    for length, count in enumerate(counts, start=1):
        for _ in range(count):
            codes[values[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return codes
