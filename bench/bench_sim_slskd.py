"""The slskd simulation's world: building the peers, and synthesizing the files they share.

``sim_peers_build`` times :func:`build_peers` on a catalog of ``size`` tracks
(the catalog is built in setup); ``sim_world_build`` times catalog plus peers,
the part of ``soulsync sim`` and demo start-up that must stay well under a
second. ``sim_audio_synthesis`` synthesizes one file in each format a peer
shares (FLAC 16/44.1, MP3 320 CBR, MP3 V0, Ogg Vorbis, ALAC M4A) of ``size`` seconds into
an empty cache; the figure is the mean time per file, with each format's time
in the extras. That cost is paid once per file and machine (files are cached),
while a transfer waits in ``Initializing``.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import Benchmark
from soulsync.sim.audio import AudioSpec, FileFactory
from soulsync.sim.catalog import build_catalog
from soulsync.sim.peers import build_peers

SYNTH_REPEAT = 3
FORMATS = {
    "flac": dict(fmt="flac"),
    "mp3_320": dict(fmt="mp3", bitrate=320),
    "mp3_v0": dict(fmt="mp3", vbr_level=0),
    "ogg": dict(fmt="ogg"),
    "m4a": dict(fmt="m4a"),
}


def setup_peers(size: int):
    return build_catalog(seed=1, n_tracks=size)


def run_peers(catalog) -> dict:
    peers = build_peers(catalog, seed=1)
    return {"peers": len(peers), "files": sum(len(p.files) for p in peers)}


def setup_world(size: int) -> int:
    return size


def run_world(size: int) -> dict:
    peers = build_peers(build_catalog(seed=1, n_tracks=size), seed=1)
    return {"files": sum(len(p.files) for p in peers)}


@dataclass
class SynthState:
    root: Path
    seconds: int
    rounds: list[FileFactory] = field(default_factory=list)


def setup_synthesis(size: int) -> SynthState:
    root = Path(tempfile.mkdtemp(prefix="bench-synth-"))
    state = SynthState(root, size)
    for i in range(SYNTH_REPEAT):
        factory = FileFactory(root / f"round{i}")
        for name, fields in FORMATS.items():
            factory.size(AudioSpec(duration_s=size, voice=i, **fields))  # calibrate outside the timing
        state.rounds.append(factory)
    return state


def run_synthesis(state: SynthState) -> dict:
    factory = state.rounds.pop(0)
    voice = SYNTH_REPEAT - len(state.rounds) - 1
    times: dict[str, float] = {}
    for name, fields in FORMATS.items():
        start = time.perf_counter()
        factory.path(AudioSpec(duration_s=state.seconds, voice=voice, **fields))
        times[f"{name}_s"] = time.perf_counter() - start
    return {"value": sum(times.values()) / len(times), **times}


def teardown_synthesis(state: SynthState) -> None:
    shutil.rmtree(state.root, ignore_errors=True)


BENCHMARKS = [
    Benchmark(
        name="sim_peers_build",
        setup=setup_peers,
        run=run_peers,
        sizes=[750, 1500, 3000],
        target=0.5,
        unit="s",
        description="build_peers (44 peers) over a catalog of `size` tracks",
    ),
    Benchmark(
        name="sim_world_build",
        setup=setup_world,
        run=run_world,
        sizes=[750, 1500, 3000],
        target=0.6,
        unit="s",
        description="build_catalog + build_peers for `size` tracks (what a sim start pays)",
    ),
    Benchmark(
        name="sim_audio_synthesis",
        setup=setup_synthesis,
        run=run_synthesis,
        teardown=teardown_synthesis,
        sizes=[60, 120, 240],
        repeat=SYNTH_REPEAT,
        unit="s",
        description="synthesize one FLAC, MP3 320, MP3 V0, Ogg and M4A file of `size` seconds; value = s per file",
    ),
]
