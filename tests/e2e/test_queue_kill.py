"""SIGKILL the download queue's process at random points; the queue must lose nothing and download nothing twice.

The slskd simulation runs in this test process (so it keeps downloading while
the queue is dead, as the real slskd would); the queue runs in a subprocess
(:mod:`tests.e2e.queue_runner`) that is killed at seeded random moments and
started again against the same database and the same slskd. After every kill
the database must open, hold the whole album or nothing of it, and show every
item still queued or done; slskd must never have been asked for a file twice.
At the end the album must be complete: each file once on disk, once in the
library, once in slskd's transfer list.
"""
from __future__ import annotations

import collections
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from soulsync.core.queue_model import AT_SLSKD, QueueState
from soulsync.core.store import Store
from soulsync.sim.slskd import SlskdSim
from tests.e2e.queue_runner import GROUP, album_peer, peer_files

REPO = Path(__file__).resolve().parents[2]
FOLDER = "Kill Album (2021)"
SEED = int(os.environ.get("SOULSYNC_KILL_SEED", "20261124"))
ALIVE = {s.value for s in AT_SLSKD} | {QueueState.QUEUED.value, QueueState.PROCESSING.value,
                                       QueueState.SUCCEEDED.value}
"""States an item may be in after a kill: still queued (here or at slskd), being filed, or done."""


def check_after_kill(db: Path, files: list[tuple[str, str, int]], sim: SlskdSim) -> list[str]:
    """The invariants that hold at any moment; returns the item states for the tally."""
    store = Store(db)
    try:
        assert store.integrity_ok()
        items = [i for i in store.queue_items() if i.group_id == GROUP]
        assert len(items) in (0, len(files)), "the album was half enqueued"
        assert {(i.username, i.filename, i.size) for i in items} in (set(), set(files)), "an entry was lost"
        assert all(i.state in ALIVE for i in items), [(i.filename, i.state, i.reason) for i in items]
        assert all(i.attempt == 1 and not i.tried for i in items)
        asked = collections.Counter((t.username, t.filename) for t in sim.transfers(include_removed=True))
        assert all(n == 1 for n in asked.values()), f"slskd was asked twice: {asked}"
        return [i.state for i in items]
    finally:
        store.close()


def kill_and_restart(tmp_path: Path, synth_cache: Path, kills: int, tracks: int, speed: int,
                     max_delay: float) -> tuple[int, collections.Counter]:
    peer = album_peer("killjoy", FOLDER, tracks=tracks, seconds=8, speed=speed)
    sim = SlskdSim([peer], tmp_path / "downloads", tmp_path / "incomplete", time_scale=10.0,
                   cache_dir=synth_cache).start()
    try:
        files = peer_files(peer, sim.factory)
        files_json = tmp_path / "files.json"
        files_json.write_text(json.dumps(files))
        db, library, log = tmp_path / "queue.sqlite3", tmp_path / "library", tmp_path / "runner.log"
        cmd = [sys.executable, "-m", "tests.e2e.queue_runner", "--db", str(db), "--url", sim.api_url,
               "--api-key", sim.api_key, "--files", str(files_json), "--library", str(library)]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        rng = random.Random(SEED)
        killed = 0
        tally: collections.Counter = collections.Counter()
        with open(log, "ab") as out:
            for _ in range(kills):
                proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
                try:
                    proc.wait(timeout=rng.uniform(0.05, max_delay))  # the kill point
                except subprocess.TimeoutExpired:
                    proc.kill()  # SIGKILL
                    proc.wait()
                    killed += 1
                tally.update(check_after_kill(db, files, sim) or ["nothing saved yet"])
            final = subprocess.run(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=120)
        assert final.returncode == 0, log.read_text()[-3000:]

        check_after_kill(db, files, sim)
        store = Store(db)
        items = [i for i in store.queue_items() if i.group_id == GROUP]
        store.close()
        assert [i.state for i in items] == ["succeeded"] * tracks
        downloaded = sorted((sim.downloads_dir / FOLDER).iterdir())
        assert [p.name for p in downloaded] == [f[1].rsplit("\\", 1)[1] for f in files]  # no "_<ticks>" copies
        assert sorted(p.name for p in library.iterdir()) == [p.name for p in downloaded]  # no ".part" left
        for item in items:
            assert Path(item.final_path).read_bytes() == Path(item.local_path).read_bytes()
        records = sim.transfers(include_removed=True)
        assert len(records) == tracks and {t.state for t in records} == {"Completed, Succeeded"}
        return killed, tally
    finally:
        sim.close()


@pytest.fixture(scope="module")
def synth_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("kill-synth-cache")


def test_sigkill_at_random_points_loses_nothing(tmp_path, synth_cache):
    killed, tally = kill_and_restart(tmp_path, synth_cache, kills=7, tracks=8, speed=15_000, max_delay=1.6)
    print(f"\nkill points that hit a running queue: {killed}/7; item states seen after kills: {dict(tally)}")
    assert killed >= 5


@pytest.mark.slow
def test_sigkill_at_fifty_random_points_loses_nothing(tmp_path, synth_cache):
    killed, tally = kill_and_restart(tmp_path, synth_cache, kills=55, tracks=12, speed=3_000, max_delay=1.4)
    print(f"\nkill points that hit a running queue: {killed}/55; item states seen after kills: {dict(tally)}")
    assert killed >= 50
