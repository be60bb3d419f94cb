"""Post-processing throughput: verify, tag, cover (cached per album), move by template.

Inputs are real encoded files with a little noise (music-like bitrates), cycled
through the formats; each belongs to a 10-track album whose cover is fetched
once through an in-memory fetcher. ``postprocess_per_file`` uses 10 s clips in
every format this machine can generate; ``postprocess_full_length`` uses
4-minute FLAC and MP3 files, where copying and reading the audio dominate.
The figure is the time per file; the sizes show whether it stays flat as the
batch grows. Files live on the system temp folder's disk (fsync included).
"""
from __future__ import annotations

import functools
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import Benchmark
from soulsync.core.models import Track
from soulsync.core.postprocess import Outcome, PostProcessOptions, PostProcessor
from tests.audio_fixtures import available_formats, jpeg_bytes, make_audio

REPEAT = 3
TRACKS_PER_ALBUM = 10
COVER = jpeg_bytes(300, 300, seed=2)


@dataclass
class Batch:
    root: Path
    jobs: list[tuple[Path, Track, str]]


@dataclass
class State:
    root: Path
    batches: list[Batch] = field(default_factory=list)
    mb: float = 0.0


def _track(i: int, seconds: float) -> Track:
    album = i // TRACKS_PER_ALBUM
    return Track(
        title=f"Song {i:04d}", artists=[f"Artist {album % 7}"], album=f"Album {album:03d}",
        album_artist=f"Artist {album % 7}", duration_ms=round(seconds * 1000),
        track_number=i % TRACKS_PER_ALBUM + 1, track_total=TRACKS_PER_ALBUM, disc_number=1, disc_total=1,
        year=2000 + album % 20, genre="Rock", isrc=f"XX00000{i:05d}", spotify_id=f"trk{i}",
        spotify_album_id=f"alb{album}", spotify_artist_ids=[f"art{album % 7}"],
    )


def setup(size: int, seconds: float, formats: tuple[str, ...], repeat: int) -> State:
    state = State(Path(tempfile.mkdtemp(prefix="bench-postprocess-")))
    seeds_dir = state.root / "seeds"
    seeds = {fmt: make_audio(seeds_dir / f"seed.{fmt}", seconds=seconds, noise=0.05) for fmt in formats}
    for b in range(repeat):
        root = state.root / f"batch{b}"
        jobs = []
        for i in range(size):
            fmt = formats[i % len(formats)]
            src = root / "downloads" / f"peer-{i}.{fmt}"
            src.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(seeds[fmt], src)
            jobs.append((src, _track(i, seconds), f"https://covers.example/{i // TRACKS_PER_ALBUM}"))
        state.batches.append(Batch(root, jobs))
    state.mb = sum(src.stat().st_size for src, _t, _u in state.batches[0].jobs) / 1e6
    return state


def run(state: State) -> dict:
    batch = state.batches.pop(0)
    fetches: list[str] = []

    def fetch_cover(url: str) -> bytes:
        fetches.append(url)
        return COVER

    (batch.root / "library").mkdir(parents=True, exist_ok=True)  # a missing library folder stops filing
    processor = PostProcessor(PostProcessOptions(library_dir=batch.root / "library",
                                                 quarantine_dir=batch.root / "quarantine",
                                                 cover_cache_dir=batch.root / "covers"), fetch_cover)
    start = time.perf_counter()
    for src, track, url in batch.jobs:
        result = processor.process(src, track, cover_url=url)
        if result.outcome is not Outcome.PLACED:
            raise RuntimeError(f"benchmark file not placed: {result.reason}")
    elapsed = time.perf_counter() - start
    return {"value": elapsed / len(batch.jobs), "total_s": elapsed, "input_mb": state.mb,
            "cover_fetches": len(fetches)}


def teardown(state: State) -> None:
    shutil.rmtree(state.root, ignore_errors=True)


BENCHMARKS = [
    Benchmark(
        name="postprocess_per_file",
        setup=functools.partial(setup, seconds=10.0, formats=available_formats(), repeat=REPEAT),
        run=run,
        teardown=teardown,
        sizes=[10, 30, 100],
        repeat=REPEAT,
        unit="s",
        description="verify + tag + cover + move of 10 s clips, mixed formats; value = seconds per file",
    ),
    Benchmark(
        name="postprocess_full_length",
        setup=functools.partial(setup, seconds=240.0, formats=("flac", "mp3"), repeat=2),
        run=run,
        teardown=teardown,
        sizes=[2, 6, 20],
        repeat=2,
        unit="s",
        description="the same for 4-minute FLAC (~16 MB) and MP3 files; value = seconds per file",
    ),
]
