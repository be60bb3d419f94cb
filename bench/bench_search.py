"""Search results: grouping raw slskd responses, then ranking them.

Inputs are generated here with a fixed seed: peers sharing copies of a
catalogue of releases (one per 100 files) under Windows paths with ``@@share``
roots, each peer in its own naming style (artist/album folders, ``Artist -
Album (year)``, scene names, disc subfolders), mixed formats and bitrates,
cover/cue/log/nfo extras, loose songs in catch-all folders and a few locked
files. About 50 files per response, so the largest size is the issue's 1,000
responses / 50,000 files.

``group_results`` leaves per-file guesses, album track order and match texts
for first use; ``search.group_and_read_all`` shows that deferred work done all
at once, as a view reading every row would. Results of every run stay alive
until teardown so that freeing them is not timed.
"""
from __future__ import annotations

import gc
import json
import random
import time

from bench.harness import Benchmark
from soulsync.core.search import SearchResults
from soulsync.core.search_filters import SortBy, sort_key
from soulsync.core.search_grouping import group_results

QUERY = "love night"
FILES_PER_RESPONSE = 50

_ARTISTS = [
    "Pink Floyd", "Daft Punk", "Björk", "Sigur Rós", "The National", "Radiohead", "Massive Attack",
    "Boards of Canada", "Aphex Twin", "Nina Simone", "Miles Davis", "Fleetwood Mac", "Beyoncé",
    "Kraftwerk", "Portishead", "Joy Division", "New Order", "The Cure", "Talking Heads", "Can",
    "宇多田ヒカル", "Мумий Тролль", "Los Lobos", "Café Tacvba", "Mötley Crüe", "DJ Shadow",
    "Burial", "Four Tet", "Caribou", "LCD Soundsystem", "Arcade Fire", "Beach House", "Grimes",
    "Air", "Moderat", "Röyksopp", "Bonobo", "Tycho", "Khruangbin", "Stereolab",
]
_WORDS = [
    "Love", "Night", "Blue", "Dream", "Fire", "Light", "Heart", "City", "Summer", "Rain", "Gold",
    "Shadow", "River", "Echo", "Silver", "Ghost", "Dance", "Midnight", "Ocean", "Stars", "Wild",
    "Glass", "Electric", "Paper", "Winter", "Young", "Lost", "Home", "Sun", "Moon", "Road", "Time",
]
_EXTRAS = ["cover.jpg", "folder.jpg", "Front.png", "album.cue", "rip.log", "info.nfo", "playlist.m3u",
           "readme.txt"]


def _words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(low, high)))


class _Release:
    """One album of the shared catalogue: peers of a search share the same releases."""

    def __init__(self, rng: random.Random) -> None:
        self.artist = rng.choice(_ARTISTS)
        self.title = _words(rng, 1, 3)
        self.year = rng.randint(1965, 2024)
        self.discs = 2 if rng.random() < 0.15 else 1
        self.tracks = [[_words(rng, 1, 4) for _ in range(rng.randint(6, 16))] for _ in range(self.discs)]


def _audio(rng: random.Random) -> dict:
    """Format facts of one copy of an album (every track of the copy shares them)."""
    roll = rng.random()
    if roll < 0.40:
        depth, rate = rng.choice([(16, 44100), (16, 44100), (24, 48000), (24, 96000)])
        return {"extension": "flac", "bitDepth": depth, "sampleRate": rate}
    if roll < 0.80:
        bitrate, vbr = rng.choice([(320, False), (320, False), (256, False), (192, False), (245, True)])
        return {"extension": "mp3", "bitRate": bitrate, "isVariableBitRate": vbr}
    if roll < 0.92:
        return {"extension": "m4a", "bitRate": 256}
    return {"extension": "ogg", "bitRate": 192}


def _file(path: str, ext: str, facts: dict, rng: random.Random) -> dict:
    entry = {"filename": path, "size": rng.randint(2_000_000, 60_000_000), "code": 1,
             "isLocked": False, "length": rng.randint(90, 480)}
    entry.update({k: v for k, v in facts.items() if k != "extension"})
    entry["extension"] = ext if rng.random() < 0.7 else ""
    return entry


def _album(rng: random.Random, root: str, release: _Release, style: int) -> list[dict]:
    """One peer's copy of a release, named in that peer's style."""
    artist, album, year = release.artist, release.title, release.year
    facts = _audio(rng)
    ext = facts["extension"]
    folder = [
        f"{root}\\Music\\{artist}\\{year} - {album} [{ext.upper()}]",
        f"{root}\\{artist} - {album} ({year})",
        f"{root}\\Albums\\{artist}\\{album}",
        f"{root}\\{artist.replace(' ', '_')}-{album.replace(' ', '_')}-WEB-{year}-GRP",
        f"{root}\\Music\\{artist}\\{album} ({year})",
    ][style]
    disc_label = ["CD{}", "CD {}", "Disc {}", "Disk{}"][style % 4]
    entries: list[dict] = []
    for disc, titles in enumerate(release.tracks, start=1):
        where = f"{folder}\\{disc_label.format(disc)}" if release.discs > 1 else folder
        for number, title in enumerate(titles, start=1):
            name = [
                f"{number:02d} - {title}.{ext}",
                f"{number:02d}. {artist} - {title}.{ext}",
                f"{number} {title.replace(' ', '_')}.{ext}",
                f"{number:02d}-{artist.lower().replace(' ', '_')}-{title.lower().replace(' ', '_')}-grp.{ext}",
                f"{artist} - {album} - {number:02d} - {title}.{ext}",
            ][style]
            entries.append(_file(f"{where}\\{name}", ext, facts, rng))
    for extra in rng.sample(_EXTRAS, rng.randint(0, 4)):
        entries.append({"filename": f"{folder}\\{extra}", "size": rng.randint(1_000, 3_000_000),
                        "code": 1, "extension": extra.rsplit(".", 1)[1]})
    return entries


def _singles(rng: random.Random, root: str, catalogue: list[_Release], count: int) -> list[dict]:
    """Loose songs in a catch-all folder, taken from the catalogue's albums."""
    folder = rng.choice([f"{root}\\mp3", f"{root}\\Music\\Singles", f"{root}\\Downloads\\complete"])
    entries = []
    for _ in range(count):
        release = rng.choice(catalogue)
        title = rng.choice(rng.choice(release.tracks))
        facts = _audio(rng)
        ext = facts["extension"]
        name = f"{release.artist} - {title} [{facts.get('bitRate', 'FLAC')}].{ext}"
        entries.append(_file(f"{folder}\\{name}", ext, facts, rng))
    return entries


def make_responses(total_files: int, seed: int = 7) -> list[dict]:
    """About ``total_files`` files in ``total_files / 50`` responses, the same every time for a seed.

    The catalogue grows with the search (one release per 100 files), so larger
    searches hold more distinct names as well as more copies.
    """
    rng = random.Random(seed)
    catalogue = [_Release(rng) for _ in range(max(10, total_files // 100))]
    count = max(1, total_files // FILES_PER_RESPONSE)
    responses = []
    made = 0
    for index in range(count):
        budget = (total_files - made) // (count - index)
        root = f"@@{''.join(rng.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(5))}"
        style = rng.randrange(5)
        files: list[dict] = []
        while len(files) < budget:
            if rng.random() < 0.8:
                files.extend(_album(rng, root, rng.choice(catalogue), style))
            else:
                files.extend(_singles(rng, root, catalogue, rng.randint(1, 6)))
        del files[budget:]
        locked = [files.pop() for _ in range(min(len(files) // 20, 3))] if rng.random() < 0.1 else []
        made += len(files) + len(locked)
        responses.append({
            "username": f"peer{index:04d}", "token": 1234, "fileCount": len(files),
            "files": files, "lockedFileCount": len(locked), "lockedFiles": locked,
            "hasFreeUploadSlot": rng.random() < 0.6, "queueLength": rng.choice([0, 0, 1, 5, 40]),
            "uploadSpeed": rng.randint(50_000, 12_000_000),
        })
    return responses


_SYLLABLES = ["ka", "lo", "mi", "ra", "ven", "tor", "sel", "an", "dre", "quo", "bi", "zu", "nel", "fa", "gro",
              "shi", "pe", "lun", "ox", "tri", "vel", "mar", "co", "dis"]


def _name(rng: random.Random, words: int) -> str:
    return " ".join("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
                    for _ in range(words))


def make_broad_responses(total_files: int, seed: int = 11) -> list[dict]:
    """What a one-word query returns: ``total_files`` files in folders of about ten, almost every
    folder and file name distinct (no shared catalogue), several naming styles, lossy and lossless."""
    rng = random.Random(seed)
    count = max(1, total_files // FILES_PER_RESPONSE)
    responses = []
    for index in range(count):
        root = f"@@{''.join(rng.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(5))}"
        files: list[dict] = []
        while len(files) < FILES_PER_RESPONSE:
            artist, album, year = _name(rng, rng.randint(1, 2)), _name(rng, rng.randint(1, 3)), rng.randint(1960, 2024)
            style = rng.randrange(4)
            folder = (f"{root}\\Music\\{artist}\\{year} - {album}" if style == 0 else
                      f"{root}\\{artist} - {album} ({year}) [FLAC]" if style == 1 else
                      f"{root}\\shared\\{artist}\\{album}\\CD{rng.randint(1, 2)}" if style == 2 else
                      f"{root}\\downloads\\{artist.replace(' ', '_')}-{album.replace(' ', '_')}-{year}-GRP")
            facts = _audio(rng)
            ext = "flac" if "bitDepth" in facts else "mp3"
            for number in range(1, rng.randint(8, 12) + 1):
                title = _name(rng, rng.randint(1, 4))
                name = (f"{number:02d} - {title}" if style != 3 else
                        f"{number:02d}-{artist.replace(' ', '_')}-{title.replace(' ', '_')}-grp")
                files.append(_file(f"{folder}\\{name}.{ext}", ext, facts, rng))
            if rng.random() < 0.5:
                files.append(_file(f"{folder}\\{rng.choice(_EXTRAS)}", "jpg", {}, rng))
        responses.append({
            "username": f"peer{index:04d}", "token": 1234, "fileCount": len(files), "files": files,
            "lockedFileCount": 0, "lockedFiles": [], "hasFreeUploadSlot": rng.random() < 0.6,
            "queueLength": rng.choice([0, 0, 1, 5, 40]), "uploadSpeed": rng.randint(50_000, 12_000_000),
        })
    return responses


class _PayloadState:
    """One search's responses as the JSON text slskd sends, for timing against ``json.loads``."""

    def __init__(self, responses: list[dict]) -> None:
        self.payload = json.dumps(responses)
        self.kept: list[object] = []


def _group_against_json(state: _PayloadState, read_all: bool = False) -> dict:
    """Grouping time as a multiple of parsing the same payload (``value``): a ratio measured within one
    run, so the machine's load cancels out. ``read_all`` also reads every guess a view computes on
    first use (each file name parsed)."""
    state.kept.clear()
    gc.collect()
    start = time.perf_counter()
    responses = json.loads(state.payload)
    parsed = time.perf_counter()
    results = group_results(responses)
    if read_all:
        _read_every_guess(results)
    done = time.perf_counter()
    state.kept.append((responses, results))
    files = sum(len(r["files"]) for r in responses)
    folders = len({f["filename"].rpartition("\\")[0] for r in responses for f in r["files"]})
    return {"value": (done - parsed) / (parsed - start), "json_s": parsed - start, "group_s": done - parsed,
            "files": files, "folders": folders}


class _State:
    """Inputs, plus the results of each run kept alive so that freeing them is not timed."""

    def __init__(self, size: int) -> None:
        self.responses = make_responses(size)
        self.kept: list[SearchResults] = []


def _setup(size: int) -> _State:
    return _State(size)


def _teardown(state: _State) -> None:
    state.kept.clear()


def _group(state: _State) -> dict:
    results = group_results(state.responses)
    state.kept.append(results)
    return {"albums": len(results.albums), "singles": len(results.singles)}


def _group_and_rank(state: _State) -> dict:
    results = group_results(state.responses)
    state.kept.append(results)
    relevance = sort_key(SortBy.RELEVANCE, QUERY)
    quality = sort_key(SortBy.QUALITY, order=["flac", "mp3_320", "mp3_v0", "other"])
    for key in (relevance, quality):
        results.albums.sort(key=key)
        results.singles.sort(key=key)
    return {"albums": len(results.albums), "singles": len(results.singles)}


def _read_every_guess(results: SearchResults) -> None:
    for album in results.albums:
        album.display_name, album.year, album.disc_count
        for track in album.tracks:
            track.guess
    for track in results.singles:
        track.guess


def _group_and_read_all(state: _State) -> dict:
    results = group_results(state.responses)
    state.kept.append(results)
    _read_every_guess(results)
    return {"albums": len(results.albums), "singles": len(results.singles)}


BENCHMARKS = [
    Benchmark(
        name="search.group_vs_json_broad",
        setup=lambda size: _PayloadState(make_broad_responses(size)),
        run=_group_against_json,
        sizes=[50_000],
        target=6.0,
        unit="x json.loads",
        repeat=7,
        description="group_results on a one-word query's results (~50,000 files in ~5,000 folders, names "
                    "almost all distinct), as a multiple of json.loads of the same payload",
    ),
    Benchmark(
        name="search.group_and_read_vs_json_broad",
        setup=lambda size: _PayloadState(make_broad_responses(size)),
        run=lambda state: _group_against_json(state, read_all=True),
        sizes=[50_000],
        target=6.0,
        unit="x json.loads",
        repeat=7,
        description="the broad search grouped and every file name parsed (every guess read), as a multiple "
                    "of json.loads of the same payload",
    ),
    Benchmark(
        name="search.group_vs_json_catalogue",
        setup=lambda size: _PayloadState(make_responses(size)),
        run=_group_against_json,
        sizes=[50_000],
        unit="x json.loads",
        repeat=7,
        description="the same ratio on the catalogue payload of search.group_results (many copies of few releases)",
    ),
    Benchmark(
        name="search.group_results",
        setup=_setup,
        run=_group,
        teardown=_teardown,
        sizes=[5_000, 15_000, 50_000],
        target=0.300,
        description="group_results on ~50 files per response (sizes are file counts)",
    ),
    Benchmark(
        name="search.group_and_rank",
        setup=_setup,
        run=_group_and_rank,
        teardown=_teardown,
        sizes=[5_000, 15_000, 50_000],
        target=0.300,
        description="group_results, then sort albums and singles by relevance and by quality",
    ),
    Benchmark(
        name="search.group_and_read_all",
        setup=_setup,
        run=_group_and_read_all,
        teardown=_teardown,
        sizes=[5_000, 15_000, 50_000],
        description="group_results, then read every guess a view computes on first use "
                    "(album names, years, disc counts, track order, every track's guess)",
    ),
]
