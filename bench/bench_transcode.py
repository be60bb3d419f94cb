"""Transcode detection per file: decode a few stretches, average the spectrum, judge.

Inputs are full-length (4-minute) files the simulated peers share, in every
encoding they use, genuine and fake (FLAC 16 and 24-bit, a band-limited "FLAC",
MP3 320/V0/128, a band-limited "320", Ogg Vorbis, WAV, ALAC in M4A), made by
the sim's file factory (fixed voices, no network) and verified before timing.
Each run checks every file once (:func:`soulsync.core.transcode.check`, what
post-processing adds to verification); the figure is the median time per
file of that run, the slowest file is reported too.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from bench.harness import Benchmark
from soulsync.core.audiofile import AudioInfo, verify_audio
from soulsync.core.transcode import check
from soulsync.sim.audio import FileFactory
from soulsync.sim.peers import ENCODINGS

SECONDS = 240
KINDS = ("flac", "flac24", "fake_flac", "mp3_320", "mp3_v0", "mp3_128", "fake_320", "ogg", "wav", "alac")


def setup(size: int) -> list[AudioInfo]:
    factory = FileFactory(Path(tempfile.gettempdir()) / "soulsync-sim-files")  # shared cache: built once
    infos = []
    for i in range(size):
        kind = KINDS[i % len(KINDS)]
        infos.append(verify_audio(factory.path(ENCODINGS[kind].spec(SECONDS, i // len(KINDS) % 16, ()))))
    check(infos[0])  # imports and first-use costs are not what is measured
    return infos


def run(infos: list[AudioInfo]) -> dict:
    times = []
    fakes = 0
    for info in infos:
        start = time.perf_counter()
        verdict = check(info)
        times.append(time.perf_counter() - start)
        fakes += verdict.genuine is False
    return {"value": statistics.median(times), "slowest_ms": max(times) * 1000, "fakes": fakes}


BENCHMARKS = [
    Benchmark(
        name="transcode_check_per_file",
        setup=setup,
        run=run,
        sizes=[len(KINDS) * 2],
        target=0.150,
        unit="s",
        repeat=5,
        description="spectral fake check of 4-minute files in every sim encoding; value = median s per file",
    ),
]
