"""Playlist sync: analysis through ``soulsync.core.analysis``, and keeping the library index current.

* ``sync.analyse_10k``: what the Sync page and ``soulsync sync`` do for a
  10,000-track selection: :func:`~soulsync.core.analysis.index_library` over n
  library tracks (the index plus the key map for pinned overrides), then
  :func:`~soulsync.core.analysis.analyse` with 200 overrides (half pinned to a
  library track, half "not in library"). Inputs come from the simulation
  catalogue (seed 1): the library is its Plex copies, whose tags differ from
  Spotify's the way real ones do; the wanted tracks a seeded sample of the
  catalogue, about 75 % of them owned. Target: 5 s at 200,000.
* ``library.plex_full_fetch``: :class:`~soulsync.services.library.PlexLibrarySource`
  reading a whole section of n tracks from the Plex simulation over loopback
  HTTP (paged XML, parsed into tracks) and writing it to SQLite;
  ``library.plex_refresh_unchanged``: the incremental refresh that follows
  when nothing changed (a filtered listing and a one-track count).
* ``library.folder_first_scan`` / ``library.folder_rescan_unchanged``: a
  music folder of n real (tiny, untagged) FLAC files in ``Artist/Album
  (Year)/NN - Title.flac`` folders: the first scan opens every file with
  mutagen and guesses from the path; the rescan with nothing changed must
  open none (target: under 2 s at 20,000).
"""
from __future__ import annotations

import gc
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

from bench.harness import Benchmark
from soulsync.core.store import Store
from soulsync.core.store_records import wanted_key
from soulsync.core.analysis import Status, analyse, index_library, library_key
from soulsync.sim.catalog import build_catalog, safe_path_part

WANTED = 10_000
OVERRIDES = 200


# ----------------------------------------------------------------------------- analysis


def _catalog_with_library(size: int):
    n_tracks = int(size / 0.7) + 1000
    catalog = build_catalog(seed=1, n_tracks=n_tracks)
    while len(catalog.library) < size:
        n_tracks = int(n_tracks * 1.1)
        catalog = build_catalog(seed=1, n_tracks=n_tracks)
    return catalog


def _setup_analysis(size: int) -> dict:
    catalog = _catalog_with_library(size)
    library = catalog.library[:size]
    rng = random.Random(2)
    wanted = rng.sample(catalog.tracks, min(WANTED, len(catalog.tracks)))
    overrides: dict[str, str | None] = {}
    for n, track in enumerate(rng.sample(wanted, OVERRIDES)):
        overrides[wanted_key(track)] = library_key(rng.choice(library)) if n % 2 == 0 else None
    return {"library": library, "wanted": wanted, "overrides": overrides, "keep": []}


def _run_analysis(state: dict) -> dict:
    state["keep"].clear()  # untimed in spirit: the app holds one index at a time
    gc.collect()
    start = time.perf_counter()
    index, by_key = index_library(state["library"])
    built = time.perf_counter()
    statuses = analyse(state["wanted"], index, state["overrides"], library=by_key)
    done = time.perf_counter()
    state["keep"].append((index, by_key, statuses))
    owned = sum(1 for s in statuses if s.status is Status.OWNED)
    return {"value": done - start, "index_s": built - start, "analyse_s": done - built,
            "owned_pct": 100.0 * owned / len(statuses),
            "ambiguous": sum(1 for s in statuses if s.ambiguous),
            "overridden": sum(1 for s in statuses if s.overridden)}


def _teardown_analysis(state: dict) -> None:
    state["keep"].clear()
    gc.collect()


# ----------------------------------------------------------------------------- Plex


def _setup_plex(size: int) -> dict:
    from soulsync.services.library import PlexLibrarySource
    from soulsync.services.plex import PlexClient
    from soulsync.sim.plex import PlexSim

    catalog = _catalog_with_library(size)
    catalog.library = catalog.library[:size]
    root = Path(tempfile.mkdtemp(prefix="soulsync-bench-plex-"))
    sim = PlexSim(catalog, root / "library").start()
    store = Store(root / "bench.sqlite3")
    source = PlexLibrarySource(PlexClient(sim.url, sim.token, timeout=60.0), "Music")
    return {"root": root, "sim": sim, "store": store, "source": source}


def _run_plex_full(state: dict) -> dict:
    report = state["source"].refresh(state["store"], full=True)
    return {"tracks": report.total}


def _setup_plex_indexed(size: int) -> dict:
    state = _setup_plex(size)
    state["source"].refresh(state["store"], full=True)
    return state


def _run_plex_unchanged(state: dict) -> dict:
    report = state["source"].refresh(state["store"])
    if report.full or report.changed:
        raise AssertionError(f"an unchanged library was read again: {report.summary()}")
    return {"tracks": report.total}


def _teardown_plex(state: dict) -> None:
    state["store"].close()
    state["sim"].stop()
    shutil.rmtree(state["root"], ignore_errors=True)


# ----------------------------------------------------------------------------- folder


def _tiny_flac(path: Path) -> None:
    soundfile.write(path, np.zeros((4410, 1), dtype=np.float32), 44100, format="FLAC", subtype="PCM_16")


def _setup_folder(size: int) -> dict:
    """n untagged copies of one tiny FLAC, filed the way a tidy library is (from the catalogue's names)."""
    from soulsync.services.library import FolderLibrarySource

    catalog = build_catalog(seed=1, n_tracks=size)
    root = Path(tempfile.mkdtemp(prefix="soulsync-bench-folder-"))
    music = root / "Music"
    sample = root / "sample.flac"
    _tiny_flac(sample)
    made: set[Path] = set()
    for n, track in enumerate(catalog.tracks[:size]):
        folder = music / safe_path_part(track.artist) / safe_path_part(f"{track.album} ({track.year or 2000})")
        path = folder / safe_path_part(f"{(track.track_number or 1):02d} - {track.title}.flac")
        if path in made:
            path = path.with_name(f"{path.stem} ({n}).flac")
        made.add(path)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sample, path)
    store = Store(root / "bench.sqlite3")
    return {"root": root, "store": store, "source": FolderLibrarySource(music), "files": len(made)}


def _run_folder_full(state: dict) -> dict:
    report = state["source"].refresh(state["store"], full=True)
    return {"tracks": report.total, "unreadable": report.skipped}


def _setup_folder_indexed(size: int) -> dict:
    state = _setup_folder(size)
    state["source"].refresh(state["store"], full=True)
    return state


def _run_folder_unchanged(state: dict) -> dict:
    report = state["source"].refresh(state["store"])
    if report.changed or report.unchanged != state["files"]:
        raise AssertionError(f"an unchanged folder was read again: {report.summary()}")
    return {"tracks": report.total}


def _teardown_folder(state: dict) -> None:
    state["store"].close()
    shutil.rmtree(state["root"], ignore_errors=True)


BENCHMARKS = [
    Benchmark("sync.analyse_10k", _setup_analysis, _run_analysis, sizes=[20_000, 60_000, 200_000], target=5.0,
              repeat=3, teardown=_teardown_analysis,
              description="index_library over n library tracks + analyse 10,000 wanted tracks (200 overrides)"),
    Benchmark("library.plex_full_fetch", _setup_plex, _run_plex_full, sizes=[20_000, 200_000], repeat=3,
              teardown=_teardown_plex,
              description="PlexLibrarySource full read of n tracks from the Plex simulation into SQLite"),
    Benchmark("library.plex_refresh_unchanged", _setup_plex_indexed, _run_plex_unchanged, sizes=[200_000],
              repeat=5, teardown=_teardown_plex,
              description="incremental Plex refresh when nothing changed"),
    Benchmark("library.folder_first_scan", _setup_folder, _run_folder_full, sizes=[20_000], repeat=1,
              teardown=_teardown_folder,
              description="first scan of n untagged FLAC files (every file opened, path guesses)"),
    Benchmark("library.folder_rescan_unchanged", _setup_folder_indexed, _run_folder_unchanged, sizes=[2_000, 20_000],
              target=2.0, repeat=5, teardown=_teardown_folder,
              description="rescan of n unchanged files (no file opened)"),
]
