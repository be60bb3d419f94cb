"""Matching engine: library index build + matching, and Soulseek result ranking.

Inputs come from the simulation catalogue (``soulsync.sim.catalog.build_catalog``,
fixed seed): the library is the catalogue's Plex copies, whose titles and names
differ from Spotify's the way real tags do (remaster suffixes dropped, ``feat.``
moved, accents stripped, leading "The" dropped, punctuation), and the wanted
tracks are a seeded sample of 10,000 Spotify-side tracks, about three quarters
of them owned. Each run starts with cold normalisation caches, builds the index
and matches all 10,000; the reported value is that build + match time. The
previous run's index is freed before the clock starts (the app holds one index).

Index memory is measured once per size in setup: ``index_mb`` with tracemalloc
(everything the build allocates; the Track objects themselves already exist),
``rss_mb`` as the whole process's resident size after a plain build
(interpreter, catalogue, library tracks and index: an upper bound). ``cpu_s`` is
the process CPU time of the run: on a shared machine it shows the work done,
whatever the wall clock waited for.

The ranking benchmark builds one slskd search for a catalogue track: peers
sharing its album in their own folder styles and formats, other versions
(live, remix, acoustic, instrumental), the same title by other artists,
cover art and cue/log files, loose downloads and a few malformed entries.
"""
from __future__ import annotations

import gc
import random
import time
import tracemalloc

from bench.harness import Benchmark
from soulsync.core import match_keys, normalize, titles, version_tags
from soulsync.core.library_index import LibraryIndex
from soulsync.core.models import Track
from soulsync.core.result_ranking import rank_search_results
from soulsync.sim.catalog import build_catalog

WANTED = 10_000
_OWNED_SHARE = 0.72  # library copies per catalogue track, roughly


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _clear_caches() -> None:
    for cached in (normalize.artist_keys, titles.parse_album, version_tags.classify_qualifier,
                   normalize.transliterate, match_keys._name_initials, match_keys._name_latin_keys):
        cached.cache_clear()


def _library_and_wanted(size: int) -> tuple[list[Track], list[Track]]:
    n_tracks = int(size / _OWNED_SHARE) + 1000
    catalog = build_catalog(seed=1, n_tracks=n_tracks)
    while len(catalog.library) < size:
        n_tracks = int(n_tracks * 1.1)
        catalog = build_catalog(seed=1, n_tracks=n_tracks)
    library = catalog.library[:size]
    wanted = random.Random(2).sample(catalog.tracks, min(WANTED, len(catalog.tracks)))
    return library, wanted


def _setup_index(size: int) -> dict:
    library, wanted = _library_and_wanted(size)
    _clear_caches()
    gc.collect()
    plain = LibraryIndex(library)
    rss_mb = _rss_mb()
    del plain
    _clear_caches()
    gc.collect()
    tracemalloc.start()
    traced = LibraryIndex(library)
    index_mb = tracemalloc.get_traced_memory()[0] / 1_048_576
    tracemalloc.stop()
    del traced
    gc.collect()
    return {"library": library, "wanted": wanted, "keep": [], "index_mb": index_mb, "rss_mb": rss_mb}


def _run_index(state: dict) -> dict:
    # untimed: the previous run's index goes, as it would not exist in the app
    state["keep"].clear()
    gc.collect()
    _clear_caches()
    cpu = time.process_time()
    start = time.perf_counter()
    index = LibraryIndex(state["library"])
    built = time.perf_counter()
    matches = index.find_all(state["wanted"])
    done = time.perf_counter()
    cpu = time.process_time() - cpu
    state["keep"].append((index, matches))
    found = sum(1 for m in matches if m is not None)
    return {
        "value": done - start,
        "build_s": built - start,
        "match_s": done - built,
        "cpu_s": cpu,
        "found_pct": 100.0 * found / len(matches),
        "ambiguous": sum(1 for m in matches if m is not None and m.ambiguous),
        "index_mb": state["index_mb"],
        "rss_mb": state["rss_mb"],
    }


def _teardown(state: dict) -> None:
    state["keep"].clear()
    gc.collect()


# ----------------------------------------------------------------------------- ranking

_FORMATS = (
    ("flac", {"bitDepth": 16, "sampleRate": 44100}),
    ("flac", {"bitDepth": 24, "sampleRate": 96000}),
    ("mp3", {"bitRate": 320, "isVariableBitRate": False}),
    ("mp3", {"bitRate": 245, "isVariableBitRate": True}),
    ("mp3", {"bitRate": 192, "isVariableBitRate": False}),
    ("m4a", {"bitRate": 256}),
)
_VERSIONS = (" (Live)", " - Live at the Old Theatre", " (Acoustic)", " (Instrumental)", " (Radio Edit)",
             " (Club Mix)", " (Demo)", " (Sped Up)")


def _path(rng: random.Random, share: str, t: Track, title: str, style: int) -> str:
    artist, album = t.artist, t.album
    nn = f"{t.track_number or 1:02d}"
    year = t.year or 2001
    if style == 0:
        return f"@@{share}\\Music\\{artist}\\{year} - {album}\\{nn} - {title}"
    if style == 1:
        fmt = rng.choice(("FLAC", "MP3 320", "WEB", "16-44"))
        return f"@@{share}\\{artist} - {album} ({year}) [{fmt}]\\{nn}. {title}"
    if style == 2:
        return f"@@{share}\\Downloads\\{artist} - {title}"
    if style == 3:
        return f"@@{share}\\music\\{artist}\\{album}\\CD1\\1-{nn} {title}"
    if style == 4:
        under = f"{nn}_-_{artist}_-_{title}".replace(" ", "_")
        return f"@@{share}\\Soulseek Downloads\\complete\\{album}\\{under}"
    return f"@@{share}\\MP3\\{artist}\\{artist} - {album} - {nn} - {title}"


def _entry(rng: random.Random, path: str, seconds: int | None) -> dict:
    ext, facts = rng.choice(_FORMATS)
    entry = {"filename": f"{path}.{ext}", "size": rng.randint(3_000_000, 60_000_000), "code": 1,
             "extension": ext if rng.random() < 0.7 else "", "isLocked": False, **facts}
    if seconds is not None:
        entry["length"] = seconds
    return entry


def _setup_ranking(size: int) -> dict:
    rng = random.Random(5)
    catalog = build_catalog(seed=1, n_tracks=3000)
    by_album: dict[str, list[Track]] = {}
    for t in catalog.tracks:
        by_album.setdefault(t.album, []).append(t)
    albums = [tracks for tracks in by_album.values() if len(tracks) >= 8]
    album = rng.choice(albums)
    wanted = rng.choice(album)
    seconds = (wanted.duration_ms or 200_000) // 1000
    strangers = rng.sample(catalog.tracks, 50)
    responses: list[dict] = []
    files = 0
    peer = 0
    while files < size:
        peer += 1
        share = f"{rng.getrandbits(24):06x}"
        style = rng.randrange(6)
        entries: list = []
        for t in rng.sample(album, min(len(album), rng.randint(1, 12))):
            length = (t.duration_ms or 200_000) // 1000 + rng.randint(-1, 1)
            entries.append(_entry(rng, _path(rng, share, t, t.title, style), length if rng.random() < 0.9 else None))
        if rng.random() < 0.5:
            version = rng.choice(_VERSIONS)
            entries.append(_entry(rng, _path(rng, share, wanted, wanted.title + version, style),
                                  seconds + rng.randint(-40, 60)))
        if rng.random() < 0.2:
            other = rng.choice(strangers)
            entries.append(_entry(rng, _path(rng, share, other, wanted.title, style),
                                  (other.duration_ms or 200_000) // 1000))
        if rng.random() < 0.5:
            entries.append({"filename": f"@@{share}\\Music\\{wanted.artist}\\{wanted.album}\\cover.jpg",
                            "size": 120_000, "extension": "jpg"})
            entries.append({"filename": f"@@{share}\\Music\\{wanted.artist}\\{wanted.album}\\rip.log",
                            "size": 4_000})
        if rng.random() < 0.03:
            entries.extend([None, {"filename": None}, {"filename": 7, "size": "x"}])
        files += len(entries)
        responses.append({"username": f"peer{peer}", "files": entries, "fileCount": len(entries),
                          "hasFreeUploadSlot": rng.random() < 0.6, "uploadSpeed": rng.randint(5_000, 8_000_000),
                          "queueLength": rng.choice((0, 0, 1, 3, 12, 80)), "lockedFileCount": 0,
                          "lockedFiles": [], "token": 1})
    return {"wanted": wanted, "responses": responses}


def _run_ranking(state: dict) -> dict:
    _clear_caches()
    ranked = rank_search_results(state["wanted"], state["responses"])
    return {"accepted": len(ranked)}


BENCHMARKS = [
    Benchmark(
        name="matching.index_build_and_match_10k",
        setup=_setup_index,
        run=_run_index,
        teardown=_teardown,
        sizes=[20_000, 60_000, 200_000],
        target=5.0,
        repeat=3,
        description="LibraryIndex over n library tracks + find_all of 10,000 wanted tracks",
    ),
    Benchmark(
        name="matching.rank_search_results",
        setup=_setup_ranking,
        run=_run_ranking,
        sizes=[200, 1_000, 5_000],
        target=1.0,
        repeat=5,
        description="rank_search_results over one search's raw slskd responses of n files",
    ),
]
