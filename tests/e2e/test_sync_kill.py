"""SIGKILL the headless sync (``soulsync sync``) at named points and random moments; it must lose nothing.

The simulated Spotify, Plex and slskd run in this test process, so slskd goes on
downloading while the sync is dead, as a real one would. ``soulsync sync``
(a Spotify playlist with missing tracks, Plex as the library, downloads filed
into Plex's folder) runs in a subprocess against one config folder and is
killed at the points of a seeded schedule (``SOULSYNC_KILL_SEED``), then
started again on the same folder:

* named failpoints (:mod:`soulsync.core.failpoints`): between the analysis and
  the downloads, after a search started, after slskd took a file, between
  post-processing's verify, tag and move steps, inside tagging just before the
  tagged copy replaces the file, when the queue marks an item done, and after
  the downloads and the library scan (before the re-analysis);
* random moments (start-up, library read and analysis, searches, transfers).

Each kill is tallied under the phase it interrupted: the named point's, else
what the process had said on stderr and the failpoints it had passed
(``SOULSYNC_FAILPOINT_TRACE``): analysis before the downloads start,
searching, downloading (a track queued or transferring), post-processing, or
the rescan and re-analysis after the downloads.

After every kill (:func:`check_after_kill`): the database opens and passes its
integrity check; every queue item is still queued (here, or at slskd under a
transfer id slskd knows), being filed (its file still in the downloads folder
or already in the library), or done, and none failed or spent an attempt
because of the crash; no wanted track has two live items; slskd was never
asked for a file twice; every file in the library is complete audio carrying
all its tags (no temp, hidden or ``.part`` file); the settings and secrets
files parse and are complete. Finally a run without kills finishes the
playlist (:func:`check_final`): every track found is in the library exactly
once, the others are missing for a peer's reason, the JSON result agrees, and
the Plex playlist holds each owned track once. Hidden temp copies that killed
taggings leave in slskd's downloads folder (outside the library) are counted.
"""
from __future__ import annotations

import collections
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import mutagen
import pytest
from mutagen.id3 import ID3
from mutagen.mp4 import MP4Tags

from soulsync.config import AppPaths
from soulsync.context import AppContext
from soulsync.core.queue_model import AT_SLSKD, QueueState
from soulsync.core.failpoints import ENV_POINTS, ENV_TRACE
from soulsync.core.organize import is_temp_file
from soulsync.core.store import Store
from soulsync.core.store_records import wanted_key
from soulsync.core.tagging import image_mime
from soulsync.services.plex_mirror import marker
from soulsync.sim.world import SimWorld

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
SEED = int(os.environ.get("SOULSYNC_KILL_SEED", "20261124"))
TIME_SCALE = 50.0
PLAYLIST = "Chill — Rainy Days"
"""Its missing tracks (5 in world 1, 4 in world 2) download within seconds."""
RUN_TIMEOUT_S = 90.0
"""A run that should reach a named point (or finish) and takes longer than this has hung."""

LIVE = {s.value for s in QueueState} - {QueueState.FAILED.value, QueueState.CANCELLED.value}
"""States of an item that is still queued (here or at slskd), searching, being filed, or done."""
AT_SLSKD_STATES = {s.value for s in AT_SLSKD}
CRASH_WORDS = ("was interrupted", "crashed", "were expected", "does not exist", "no longer at", "is gone",
               "cannot be opened")
"""Words of a failure only a crash causes (a file tagged or moved by a killed run, then judged again).
Peers cause failures too (offline, rejecting, a damaged file): those may happen."""
AUDIO_SUFFIXES = {".mp3", ".flac", ".ogg", ".opus", ".m4a", ".wav", ".aif", ".aiff"}
REQUIRED_TAGS = ("TITLE", "ARTIST", "ALBUM", "SPOTIFY_TRACK_ID", "SPOTIFY_ALBUM_ID", "SPOTIFY_ARTIST_ID")
_ID3_NAMES = {"TIT2": "TITLE", "TPE1": "ARTIST", "TALB": "ALBUM"}

PHASE_OF_POINT = {
    "sync.analysed": "analysis", "search.started": "searching", "queue.sent": "downloading",
    "postprocess.verified": "post-processing", "tag.before_replace": "post-processing",
    "postprocess.tagged": "post-processing", "postprocess.moved": "post-processing",
    "queue.item_done": "post-processing", "sync.downloaded": "rescan and re-analysis",
    "plex.playlist_created": "playlist mirror",
}
"""The phase each named failpoint interrupts."""
POST_POINTS = {"postprocess.verified", "tag.before_replace", "postprocess.tagged", "postprocess.moved"}
_TRACK_LINE = re.compile(r"^\[(searching|queued|downloading|processing|downloaded|not_found|failed|cancelled)\] "
                         r"(.+?)(?: -> .*|: .*)?$")
_ANALYSIS_LINE = re.compile(r"^(?P<name>.+): (?P<owned>\d+) owned, (?P<missing>\d+) missing$")


# ----------------------------------------------------------------------------- reading the library


def file_tags(path: Path) -> dict[str, list[str]]:
    """The tags of an audio file under neutral names (Vorbis-style upper case), read with mutagen alone."""
    audio = mutagen.File(path)
    assert audio is not None and audio.info.length > 0, f"{path} does not open as audio"
    tags = audio.tags
    out: dict[str, list[str]] = {}
    if tags is None:
        return out
    if isinstance(tags, ID3):
        for frame in tags.values():
            if frame.FrameID == "TXXX":
                out[frame.desc.upper()] = [str(t) for t in frame.text]
            elif frame.FrameID in _ID3_NAMES:
                out[_ID3_NAMES[frame.FrameID]] = [str(t) for t in frame.text]
    elif isinstance(tags, MP4Tags):
        names = {"\xa9nam": "TITLE", "\xa9ART": "ARTIST", "\xa9alb": "ALBUM"}
        for key, values in tags.items():
            name = names.get(key) or (key.rsplit(":", 1)[-1].upper() if key.startswith("----:") else None)
            if name:
                out[name] = [v.decode() if isinstance(v, bytes) else str(v) for v in values]
    else:
        for key in tags.keys():
            out[key.upper()] = [str(v) for v in tags[key]]
    return out


def library_files(library: Path, wanted: dict) -> dict[str, Path]:
    """Check every file in the library; returns Spotify track id -> file for the audio files.

    Every file must be finished: no temp, hidden or ``.part`` name; audio opens
    and carries the complete tags of a wanted track; images are whole JPEG/PNG;
    no track is there twice."""
    found: dict[str, Path] = {}
    for path in sorted(library.rglob("*")):
        if path.is_dir():
            continue
        name = path.name
        assert not name.startswith(".") and not name.endswith((".part", ".tmp")), f"left in the library: {path}"
        if path.suffix.lower() in AUDIO_SUFFIXES:
            tags = file_tags(path)
            missing = [t for t in REQUIRED_TAGS if not any(v.strip() for v in tags.get(t, []))]
            assert not missing, f"{path} lacks the tags {missing}: {tags}"
            track_id = tags["SPOTIFY_TRACK_ID"][0]
            track = wanted.get(track_id)
            assert track is not None, f"{path} is tagged as {track_id}, not a track of the playlist"
            assert tags["TITLE"] == [track.title] and tags["ALBUM"] == [track.album], (path, tags)
            assert tags["SPOTIFY_ALBUM_ID"] == [track.spotify_album_id], (path, tags)
            assert tags["SPOTIFY_ARTIST_ID"] == list(track.spotify_artist_ids), (path, tags)
            assert track_id not in found, f"{track.title!r} is in the library twice: {found[track_id]}, {path}"
            found[track_id] = path
        elif name in ("cover.jpg", "cover.png"):
            assert image_mime(path.read_bytes()) is not None, f"{path} is not a whole image"
        else:
            raise AssertionError(f"an unexpected file in the library: {path}")
    return found


# ----------------------------------------------------------------------------- the harness


@dataclass(frozen=True)
class KillPoint:
    """Where to kill one run: at a named failpoint (``"name:n"``) or ``delay`` seconds after its start."""

    failpoint: str = ""
    delay: float = 0.0

    @property
    def label(self) -> str:
        return self.failpoint or f"random {self.delay:.2f} s"


@dataclass
class Run:
    """One ``soulsync sync`` process: how it ended and what it said."""

    kill: KillPoint | None
    returncode: int | None
    killed: bool
    seconds: float
    stdout: str
    stderr: str
    trace: list[str]

    def phase(self) -> str:
        """The phase the kill interrupted (see the module docstring)."""
        if self.kill is not None and self.kill.failpoint:
            return PHASE_OF_POINT[self.kill.failpoint.partition(":")[0]]
        if self.trace and self.trace[-1].split()[0] in POST_POINTS:
            return "post-processing"  # between two steps of filing a file
        lines = self.stderr.splitlines()
        if any(line.startswith("Downloads: ") for line in lines) or "sync.downloaded" in " ".join(self.trace):
            return "rescan and re-analysis"
        if not any(line.startswith("Looking for ") for line in lines):
            return "analysis"
        latest: dict[str, str] = {}
        for line in lines:
            match = _TRACK_LINE.match(line)
            if match:
                latest[match.group(2)] = match.group(1)
        phases = set(latest.values())
        if phases & {"queued", "downloading", "processing"}:
            return "downloading"
        if "searching" in phases:
            return "searching"
        return "rescan and re-analysis" if latest else "searching"


@dataclass
class Tally:
    """What the kill points of a test did."""

    planned: int = 0
    landed: int = 0
    phases: collections.Counter = field(default_factory=collections.Counter)
    states: collections.Counter = field(default_factory=collections.Counter)
    missed: list[str] = field(default_factory=list)
    run_seconds: list[float] = field(default_factory=list)
    temp_left: int = 0
    """Hidden temp copies killed taggings left in slskd's downloads folder (outside the library)."""

    def describe(self) -> str:
        return (f"seed {SEED}: kill points that hit a running sync: {self.landed}/{self.planned}; "
                f"phases: {dict(self.phases)}; queue states after kills: {dict(self.states)}; "
                f"missed: {self.missed}; runs: {len(self.run_seconds)} in {sum(self.run_seconds):.1f} s; "
                f"temp copies left in the downloads folder: {self.temp_left}")


class SyncScenario:
    """A fresh simulated world and config folder, and ``soulsync sync`` runs against them."""

    def __init__(self, root: Path, playlist: str = PLAYLIST, world_seed: int = 1) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.world = SimWorld.start(seed=world_seed, root=root / "sim", time_scale=TIME_SCALE)
        self.paths = AppPaths.under(root / "cfg")
        context = AppContext.open(self.paths, secret_backend="file")
        try:
            self.world.configure(context)
            context.settings.downloads.poll_interval_s = 0.2
            context.settings.downloads.stall_timeout_s = 20.0
            context.save()
        finally:
            context.close()
        self.settings = json.loads(self.paths.config_file.read_text(encoding="utf-8"))
        self.secrets_file = self.paths.config_dir / "secrets.json"
        self.secret_names = set(json.loads(self.secrets_file.read_text(encoding="utf-8")))
        self.playlist = next(p for p in self.world.catalog.playlists if p.name == playlist)
        self.wanted = {t.spotify_id: t for t in self.playlist.tracks}
        self.users_playlists = self.world.plex.playlists()
        """The playlists of the user's own on Plex before any run (one of them called like ``playlist``)."""
        self.runs: list[Run] = []

    @property
    def library(self) -> Path:
        return self.world.library_dir

    def temp_files_in_downloads(self) -> int:
        return sum(1 for p in self.world.downloads_dir.rglob("*") if is_temp_file(p))

    def close(self) -> None:
        self.world.stop()

    def run(self, kill: KillPoint | None) -> Run:
        """One sync; killed at ``kill`` (None: let it finish)."""
        n = len(self.runs)
        trace = self.root / f"trace-{n}.log"
        env = dict(os.environ, PYTHONPATH=str(ROOT), SOULSYNC_TESTING="1", **{ENV_TRACE: str(trace)})
        env.pop(ENV_POINTS, None)
        if kill is not None and kill.failpoint:
            env[ENV_POINTS] = kill.failpoint
        out, err = self.root / f"run-{n}.out", self.root / f"run-{n}.err"
        cmd = [str(PYTHON if PYTHON.exists() else sys.executable), "-m", "soulsync", "sync",
               "--playlist", self.playlist.name, "--config-dir", str(self.paths.config_dir), "--json"]
        started = time.monotonic()
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=stdout, stderr=stderr)
            timed = kill is not None and not kill.failpoint
            try:
                returncode = proc.wait(timeout=kill.delay if timed else RUN_TIMEOUT_S)
                killed = returncode == -signal.SIGKILL
            except subprocess.TimeoutExpired:
                proc.kill()  # SIGKILL
                proc.wait()
                assert timed, f"the sync hung (killed after {RUN_TIMEOUT_S} s): {err.read_text()[-2000:]}"
                returncode, killed = None, True
        run = Run(kill, returncode, killed, time.monotonic() - started, out.read_text(encoding="utf-8"),
                  err.read_text(encoding="utf-8"), trace.read_text().splitlines() if trace.exists() else [])
        assert "Traceback" not in run.stderr, run.stderr[-3000:]
        if not killed:
            assert returncode in (0, 1), f"exit status {returncode}: {run.stderr[-3000:]}"
        self.runs.append(run)
        return run

    def first_analysis(self) -> tuple[int, int]:
        """``(owned, missing)`` of the first analysis any run printed (before anything was downloaded)."""
        for run in self.runs:
            for line in run.stderr.splitlines():
                match = _ANALYSIS_LINE.match(line)
                if match and match.group("name") == self.playlist.name:
                    return int(match.group("owned")), int(match.group("missing"))
        raise AssertionError("no run printed an analysis")


def key_paths(data: object, prefix: str = "") -> set[str]:
    """Every dotted key path in a JSON object."""
    if not isinstance(data, dict):
        return set()
    out = set()
    for key, value in data.items():
        out.add(prefix + key)
        out |= key_paths(value, f"{prefix}{key}.")
    return out


def check_after_kill(s: SyncScenario) -> list[str]:
    """The invariants that hold at any moment; returns the queue items' states for the tally."""
    store = Store(s.paths.database)
    try:
        assert store.integrity_ok()
        items = store.queue_items()
    finally:
        store.close()
    for item in items:
        assert item.state != QueueState.CANCELLED.value, (item.filename, item.reason)
        words = " ".join([item.reason] + [str(t[2]) for t in item.tried if len(t) > 2]).lower()
        assert not any(w in words for w in CRASH_WORDS), (item.filename, item.state, item.reason, item.tried)
        assert item.wanted is not None and item.wanted.spotify_id in s.wanted
    live_per_track = collections.Counter(wanted_key(i.wanted) for i in items if i.state in LIVE)
    assert all(n == 1 for n in live_per_track.values()), f"a track was queued twice: {live_per_track}"
    transfers = s.world.slskd.transfers(include_removed=True)
    asked = collections.Counter((t.username, t.filename) for t in transfers)
    assert all(n == 1 for n in asked.values()), f"slskd was asked twice: {asked}"
    placed = library_files(s.library, s.wanted)
    at_slskd = {t.id for t in transfers}
    for item in items:
        if item.state in AT_SLSKD_STATES and item.slskd_id:
            assert item.slskd_id in at_slskd, f"{item.filename} is queued at slskd under an unknown id"
        if item.state == QueueState.PROCESSING.value and item.local_path:
            assert Path(item.local_path).is_file() or item.wanted.spotify_id in placed, (
                f"{item.filename} is being filed, but it is neither at {item.local_path} nor in the library")
    settings = json.loads(s.paths.config_file.read_text(encoding="utf-8"))
    assert key_paths(settings) >= key_paths(s.settings), "settings.json lost settings"
    for section in ("spotify", "plex", "slskd", "downloads"):
        assert settings[section] == s.settings[section], f"settings.json changed its {section} settings"
    secrets = json.loads(s.secrets_file.read_text(encoding="utf-8"))
    assert set(secrets) >= s.secret_names and all(secrets.values()), "secrets.json lost a secret"
    return [i.state for i in items]


def check_final(s: SyncScenario, run: Run) -> None:
    """After a run without kills: every track found is in the library once, and the JSON result agrees.

    A track may stay missing only for a peer's reason (not found, every source
    offline or refusing...), never for one a crash causes."""
    check_after_kill(s)
    placed = library_files(s.library, s.wanted)
    owned_at_start, missing_at_start = s.first_analysis()
    payload = json.loads(run.stdout)
    [playlist] = payload["playlists"]
    statuses = {(t["title"], tuple(t["artists"])): t for t in playlist["tracks"]}
    for track_id, path in placed.items():
        track = s.wanted[track_id]
        status = statuses[(track.title, tuple(track.artists))]
        assert status["status"] == "owned" and Path(status["library_path"]).resolve() == path.resolve(), status
    still_missing = [t for t in playlist["tracks"] if t["status"] == "missing"]
    assert len(placed) + len(still_missing) == missing_at_start
    assert (playlist["owned"], playlist["missing"]) == (owned_at_start + len(placed), len(still_missing))
    assert run.returncode == (0 if not still_missing else 1)
    reported = {(t["title"], tuple(t["artists"])): t for t in payload["downloads"]["tracks"]}
    for entry in still_missing:
        why = reported[(entry["title"], tuple(entry["artists"]))]
        assert why["status"] in ("not_found", "failed"), why
        assert not any(w in why["detail"].lower() for w in CRASH_WORDS), why
    owned_paths = {t["library_path"] for t in playlist["tracks"] if t["status"] == "owned"}
    on_plex = s.world.plex.playlists()
    mirrors = [p for p in on_plex if marker(s.playlist.id) in p.summary]
    assert len(mirrors) == 1, "the Plex playlist was made twice, or not at all"
    kept = {u.rating_key for u in s.users_playlists}
    assert [p for p in on_plex if p.rating_key in kept] == s.users_playlists, "a playlist of the user's was changed"
    keys = mirrors[0].item_keys
    assert len(keys) == len(set(keys)) == len(owned_paths), "the Plex playlist is not the owned tracks once each"
    for entry in reported.values():
        if entry["status"] == "downloaded":
            assert Path(entry["path"]).resolve() in {p.resolve() for p in placed.values()}, entry
    store = Store(s.paths.database)
    try:
        items = store.queue_items()
    finally:
        store.close()
    assert all(i.finished for i in items)
    done = [i for i in items if i.state == QueueState.SUCCEEDED.value]
    assert sorted(i.wanted.spotify_id for i in done) == sorted(placed), "a track was filed twice, or not at all"
    assert {Path(i.final_path) for i in done} == set(placed.values())


def kill_and_restart(new_scenario: Callable[[int], SyncScenario], schedule: list[KillPoint], tally: Tally) -> None:
    """Run the schedule (a kill per run, invariants after each), then one run to the end.

    A run its kill point missed went to the end: it is checked as a final run,
    and the rest of the schedule goes on in a fresh scenario (so one early
    finish does not make every later point miss for want of work)."""
    scenarios = 0
    scenario = new_scenario(scenarios)
    try:
        for kill in schedule:
            run = scenario.run(kill)
            tally.planned += 1
            tally.run_seconds.append(run.seconds)
            if run.killed:
                tally.landed += 1
                tally.phases[run.phase()] += 1
                tally.states.update(check_after_kill(scenario) or ["nothing queued yet"])
                continue
            tally.missed.append(kill.label)
            check_final(scenario, run)
            tally.temp_left += scenario.temp_files_in_downloads()
            scenario.close()
            scenarios += 1
            scenario = new_scenario(scenarios)
        final = scenario.run(None)
        tally.run_seconds.append(final.seconds)
        check_final(scenario, final)
        tally.temp_left += scenario.temp_files_in_downloads()
    finally:
        scenario.close()


def default_schedule(rng: random.Random) -> list[KillPoint]:
    """Every named point once, in an order that leaves work for each, plus two random moments."""
    return [
        KillPoint(delay=rng.uniform(0.3, 0.9)),  # start-up, library read, analysis
        KillPoint("sync.analysed:1"), KillPoint("search.started:1"), KillPoint("queue.sent:1"),
        KillPoint("tag.before_replace:1"), KillPoint("postprocess.tagged:1"), KillPoint("postprocess.moved:1"),
        KillPoint(delay=rng.uniform(0.8, 3.0)),
        KillPoint("postprocess.verified:1"), KillPoint("queue.item_done:1"), KillPoint("sync.downloaded:1"),
        KillPoint("plex.playlist_created:1"),
    ]


def round_schedule(rng: random.Random) -> list[KillPoint]:
    """One slow round: random moments and named points (some hit counts drawn), in an order that leaves
    work for each (a file killed while being filed is filed first thing in the next run); the last random
    moment is early enough for a run with little left to do."""
    return [
        KillPoint(delay=rng.uniform(0.2, 1.0)), KillPoint("sync.analysed:1"),
        KillPoint(f"search.started:{rng.randint(1, 3)}"), KillPoint(delay=rng.uniform(0.8, 2.5)),
        KillPoint(f"queue.sent:{rng.randint(1, 2)}"), KillPoint("tag.before_replace:1"),
        KillPoint(rng.choice(["postprocess.verified:1", "postprocess.tagged:1"])), KillPoint("postprocess.moved:1"),
        KillPoint("queue.item_done:1"), KillPoint(delay=rng.uniform(0.5, 2.0)), KillPoint("sync.downloaded:1"),
        KillPoint("plex.playlist_created:1"),
    ]


ROUNDS = (("Workout Bangers!", 1), (PLAYLIST, 1), ("Workout Bangers!", 1), (PLAYLIST, 2))
"""The slow test's rounds: (playlist, world seed); 7, 5, 7 and 4 missing tracks."""


def test_sigkill_at_named_and_random_points_loses_nothing(tmp_path):
    schedule = default_schedule(random.Random(SEED))
    tally = Tally()
    kill_and_restart(lambda n: SyncScenario(tmp_path / f"world-{n}"), schedule, tally)
    print("\n" + tally.describe())
    assert tally.landed >= len(schedule) - 1, tally.describe()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_sigkill_at_forty_more_points_loses_nothing(tmp_path):
    rng = random.Random(SEED + 1)
    tally = Tally()
    for r, (playlist, world_seed) in enumerate(ROUNDS):
        kill_and_restart(lambda n: SyncScenario(tmp_path / f"round-{r}-{n}", playlist, world_seed),
                         round_schedule(rng), tally)
    print("\n" + tally.describe())
    assert tally.planned >= 40 and tally.landed >= 0.9 * tally.planned, tally.describe()
