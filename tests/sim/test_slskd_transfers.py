"""The slskd simulation's downloads per version and host OS: 0.26 retries, where files land, options,
enqueue replies and the time an enqueue takes to reach the peer (service-apis.md 1.4, 1.6, 1.7).

Waits poll a condition; where a test needs a transfer to sit still it sets a long simulated delay
rather than counting on the machine being quick.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from soulsync.sim.audio import AudioSpec
from soulsync.sim.peers import Peer, SharedFile
from soulsync.sim.slskd import CANCELLED_MESSAGE, CONCURRENCY_MESSAGE, SlskdSim
from soulsync.sim.slskd_model import destination_folder, incomplete_folder, legacy_folder, local_file_name
from tests.sim.test_slskd_sim import API, client, get, post, transfer_json, wait_final, wait_for

WHY = "@@abcde\\Music\\Live: Berlin\\Why?.flac"
ROOTED = "@@abcde\\x.flac"


def path_peer(username: str, paths: list[str], seconds: int = 3, **fields) -> Peer:
    """A fast peer sharing short MP3s under exactly these remote paths."""
    files = [SharedFile(path, AudioSpec("mp3", seconds, bitrate=128, voice=n % 16, tags=(("title", f"T{n}"),)))
             for n, path in enumerate(paths)]
    values = {"speed": 300_000, "upload_speed": 300_000, "free_slot": True, "queue_length": 0, "latency": 0.1,
              **fields}
    return Peer(username=username, kind="fast", files=files, **values)


@pytest.fixture
def make_sim(tmp_path):
    sims: list[SlskdSim] = []

    def make(peers: list[Peer], **kwargs) -> SlskdSim:
        kwargs.setdefault("time_scale", 20.0)
        sim = SlskdSim(peers, tmp_path / f"slskd{len(sims)}" / "downloads", **kwargs)
        sims.append(sim.start())
        return sim

    yield make
    for sim in sims:
        sim.close()


def files_of(sim: SlskdSim, username: str) -> list[dict]:
    return [{"filename": f.path, "size": sim.factory.size(f.spec)} for f in sim.peer(username).files]


def enqueue_all(sim: SlskdSim, s: requests.Session, username: str) -> list[dict]:
    resp = post(s, f"/transfers/downloads/{username}", files_of(sim, username))
    assert resp.status_code == 201, resp.text
    return resp.json()["enqueued"]


def record(sim: SlskdSim, tid: str):
    return next(t for t in sim.transfers() if t.id == tid)


# ---------------------------------------------------------------------------
# options and record fields per version
# ---------------------------------------------------------------------------

def test_default_version_is_026_on_linux(make_sim):
    sim = make_sim([path_peer("alice", [ROOTED])])
    assert (sim.version, sim.host_os) == ("0.26.0", "linux")
    with pytest.raises(ValueError):
        SlskdSim([], sim.downloads_dir, host_os="macos")


@pytest.mark.parametrize("version", ["0.24.5", "0.25.1", "0.26.0"])
def test_options_per_version(make_sim, version):
    options = get(client(make_sim([path_peer("alice", [ROOTED])], version=version)), "/options").json()
    assert options["soulseek"]["connection"]["timeout"] == {"connect": 10000, "inactivity": 15000}
    if version == "0.26.0":
        assert options["transfers"]["download"] == {
            "retry": {"attempts": 3, "delay": 5000, "maxDelay": 60000, "partial": "resume"},
            "destination": {"subdirectory": "${SOURCE_DIRECTORY}", "exists": "rename"}}
    else:
        assert "transfers" not in options


@pytest.mark.parametrize("version, attempts, start_offset", [("0.24.5", None, True), ("0.25.1", 0, True),
                                                             ("0.26.0", 1, False)])
def test_record_fields_per_version(make_sim, version, attempts, start_offset):
    sim = make_sim([path_peer("alice", [ROOTED])], version=version)
    s = client(sim)
    [queued] = enqueue_all(sim, s, "alice")
    done = wait_final(sim, s, "alice", queued["id"])
    for body in (queued, done):
        assert body.get("attempts") == attempts
        assert ("startOffset" in body) is start_offset
        assert ("removed" in body) is (version == "0.26.0")


# ---------------------------------------------------------------------------
# 0.26 retries
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("outcome, state", [("errored", "Completed, Errored"), ("timed_out", "Completed, TimedOut")])
def test_026_retries_a_failed_attempt_and_succeeds(make_sim, outcome, state):
    sim = make_sim([path_peer("alice", [ROOTED], seconds=6)])
    sim.transfer_faults.add(outcome, user="alice", count=2, at=0.5)
    s = client(sim)
    [queued] = enqueue_all(sim, s, "alice")
    done = wait_final(sim, s, "alice", queued["id"], timeout=60)
    assert done["state"] == "Completed, Succeeded" and done["attempts"] == 3
    assert "exception" not in done and "endedAt" in done
    history = record(sim, queued["id"]).history
    # the failed attempt shows its own state first, then the record is queued locally for the next attempt
    failures = [n for n, st in enumerate(history) if st == state]
    assert len(failures) == 2 and all(history[n + 1] == "Queued, Locally" for n in failures)
    assert history[-1] == "Completed, Succeeded"
    assert (sim.downloads_dir / "x.flac").stat().st_size == queued["size"]


def test_026_waiting_retry_keeps_the_failure_and_can_be_cancelled(make_sim):
    sim = make_sim([path_peer("alice", [ROOTED], seconds=6)])
    sim.retry.delay_ms = 3_600_000  # the wait before attempt 2 is at least 0 and at most an hour: long enough to look
    sim.transfer_faults.add("errored", user="alice", count=1, at=0.5)
    s = client(sim)
    [queued] = enqueue_all(sim, s, "alice")
    waiting = wait_for(lambda: (lambda t: t if t["state"] == "Queued, Locally" and t["attempts"] == 2 else None)(
        transfer_json(s, "alice", queued["id"])), 30, "the retry to be queued")
    # during the wait the failed attempt's endedAt and exception are still on the record
    assert waiting["exception"] == "Transfer failed: The connection was closed unexpectedly" and "endedAt" in waiting
    again = post(s, "/transfers/downloads/alice", files_of(sim, "alice")).json()
    assert again == {"enqueued": [], "failed": [{}]}, "a waiting retry is still in progress"
    assert s.delete(s.base + f"/transfers/downloads/alice/{queued['id']}", timeout=5).status_code == 204
    cancelled = wait_final(sim, s, "alice", queued["id"])
    assert cancelled["state"] == "Completed, Cancelled" and cancelled["exception"] == CANCELLED_MESSAGE
    assert cancelled["attempts"] == 2


def test_026_gives_up_after_the_configured_attempts(make_sim):
    sim = make_sim([path_peer("flaky", [ROOTED], seconds=6, fail_at=0.4)])
    sim.retry.attempts = 2
    s = client(sim)
    [queued] = enqueue_all(sim, s, "flaky")
    done = wait_final(sim, s, "flaky", queued["id"], timeout=60)
    assert done["state"] == "Completed, Errored" and done["attempts"] == 2
    assert record(sim, queued["id"]).history.count("Completed, Errored") == 2


@pytest.mark.parametrize("outcome, state", [("rejected", "Completed, Rejected"), ("aborted", "Completed, Aborted")])
def test_026_does_not_retry_rejections_and_size_mismatches(make_sim, outcome, state):
    sim = make_sim([path_peer("alice", [ROOTED])])
    sim.transfer_faults.add(outcome, user="alice", count=1)
    s = client(sim)
    [queued] = enqueue_all(sim, s, "alice")
    done = wait_final(sim, s, "alice", queued["id"])
    assert done["state"] == state and done["attempts"] == 1
    assert record(sim, queued["id"]).history.count("Queued, Locally") == 1


@pytest.mark.parametrize("version", ["0.24.5", "0.25.1"])
def test_older_versions_never_retry(make_sim, version):
    sim = make_sim([path_peer("alice", [ROOTED])], version=version)
    sim.transfer_faults.add("errored", user="alice", count=1, at=0.5)
    s = client(sim)
    [queued] = enqueue_all(sim, s, "alice")
    done = wait_final(sim, s, "alice", queued["id"])
    assert done["state"] == "Completed, Errored"
    assert record(sim, queued["id"]).history.count("Queued, Locally") == 1


# ---------------------------------------------------------------------------
# where files land
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("version, host_os, remote, final, incomplete", [
    ("0.24.5", "linux", WHY, "Live: Berlin/Why?.flac", "Live: Berlin/Why?.flac"),
    ("0.24.5", "windows", WHY, "Live_ Berlin/Why_.flac", "Live_ Berlin/Why_.flac"),
    ("0.24.5", "linux", ROOTED, "@@abcde/x.flac", "@@abcde/x.flac"),
    ("0.25.1", "linux", "@@abcde\\Music\\Live/Berlin\\x.flac", "Berlin/x.flac", "Berlin/x.flac"),
    ("0.26.0", "linux", WHY, "Live: Berlin/Why?.flac", "alice/Music/Live: Berlin/Why?.flac"),
    ("0.26.0", "windows", WHY, "Live_ Berlin/Why_.flac", "alice/Music/Live_ Berlin/Why_.flac"),
    ("0.26.0", "linux", ROOTED, "x.flac", "alice/x.flac"),
    ("0.26.0", "windows", ROOTED, "x.flac", "alice/x.flac"),
    ("0.26.0", "linux", "@@abcd\\x.flac", "@@abcd/x.flac", "alice/@@abcd/x.flac"),
    ("0.26.0", "linux", "C:\\Users\\me\\Music\\x.flac", "Music/x.flac", "alice/Users/me/Music/x.flac"),
    ("0.26.0", "windows", "C:\\x.flac", "C_/x.flac", "alice/C_/x.flac"),
    ("0.26.0", "linux", "\\\\nas\\share\\x.flac", "share/x.flac", "alice/share/x.flac"),
    ("0.26.0", "windows", "@@abcde\\a<b>|c*\"d\"\\x\x01.flac", "a_b__c__d_/x_.flac", "alice/a_b__c__d_/x_.flac"),
])
def test_local_names_per_version_and_host(version, host_os, remote, final, incomplete):
    """service-apis.md 1.7, the rules alone (the downloads below check they are what the simulation writes)."""
    name = local_file_name(remote, host_os)
    folder = (destination_folder("${SOURCE_DIRECTORY}", "alice", remote, host_os) if version >= "0.26"
              else legacy_folder(remote, host_os))
    assert "/".join([*folder, name]) == final
    assert "/".join([*incomplete_folder("alice", remote, host_os, tuple(map(int, version.split(".")))), name]) \
        == incomplete


@pytest.mark.parametrize("pattern, expected", [
    ("${SOURCE_USERNAME}/${SOURCE_PATH}", "al_ce/Music/Live_ Berlin"),
    ("${source_directory}", "Live_ Berlin"),
    ("{}", ""),
    ("by-batch/${BATCH_ID}", "by-batch/unknown_batch_id"),
])
def test_destination_pattern_tokens(pattern, expected):
    assert "/".join(destination_folder(pattern, "al:ce", WHY, "windows")) == expected


@pytest.mark.parametrize("version, host_os", [("0.24.5", "linux"), ("0.26.0", "linux"), ("0.26.0", "windows")])
def test_downloads_land_where_that_slskd_puts_them(make_sim, version, host_os):
    sim = make_sim([path_peer("alice", [WHY, ROOTED])], version=version, host_os=host_os)
    s = client(sim)
    records = enqueue_all(sim, s, "alice")
    for queued in records:
        assert wait_final(sim, s, "alice", queued["id"])["state"] == "Completed, Succeeded"
    why, rooted = {("0.24.5", "linux"): ("Live: Berlin/Why?.flac", "@@abcde/x.flac"),
                   ("0.26.0", "linux"): ("Live: Berlin/Why?.flac", "x.flac"),
                   ("0.26.0", "windows"): ("Live_ Berlin/Why_.flac", "x.flac")}[(version, host_os)]
    landed = sorted(str(p.relative_to(sim.downloads_dir)) for p in sim.downloads_dir.rglob("*") if p.is_file())
    assert landed == sorted([why, rooted])
    assert [record(sim, r["id"]).local_path for r in records] == [sim.downloads_dir / why, sim.downloads_dir / rooted]


def test_026_destination_pattern_and_overwrite(make_sim):
    sim = make_sim([path_peer("alice", [WHY])])
    sim.destination_subdirectory = "${SOURCE_USERNAME}/${SOURCE_PATH}"
    sim.destination_exists = "overwrite"
    s = client(sim)
    for _ in range(2):
        [queued] = enqueue_all(sim, s, "alice")
        wait_final(sim, s, "alice", queued["id"])
    assert [p.name for p in (sim.downloads_dir / "alice" / "Music" / "Live: Berlin").iterdir()] == ["Why?.flac"]


def test_a_peer_path_never_leaves_the_simulations_folders(make_sim):
    sneaky = "@@abcde\\..\\x.flac"
    sim = make_sim([path_peer("alice", [sneaky])], version="0.24.5")
    s = client(sim)
    [queued] = enqueue_all(sim, s, "alice")
    done = wait_final(sim, s, "alice", queued["id"])
    assert done["state"] == "Completed, Errored" and "outside" in done["exception"]
    assert not (Path(sim.downloads_dir).parent / "x.flac").exists()
    refused = post(client(make_sim([path_peer("bob", [sneaky])])), "/transfers/downloads/bob",
                   [{"filename": sneaky, "size": 1}])
    assert refused.status_code == 400
    assert refused.json() == "One or more files in the request contain a dangerous path traversal segment"


# ---------------------------------------------------------------------------
# enqueue reaches the peer first
# ---------------------------------------------------------------------------

def test_enqueue_to_a_slow_peer_answers_after_it_was_reached(make_sim):
    sim = make_sim([path_peer("slowpoke", [ROOTED], connect_s=4.0)])
    s = client(sim)
    before = sim.clock.now()
    resp = post(s, "/transfers/downloads/slowpoke", files_of(sim, "slowpoke"))
    assert resp.status_code == 201 and len(resp.json()["enqueued"]) == 1
    assert sim.clock.now() - before >= 4.0, "answered only after the simulated connection time"


@pytest.mark.parametrize("version", ["0.24.5", "0.26.0"])
def test_enqueue_to_an_unreachable_peer_fails_after_the_connect_timeout(make_sim, version):
    sim = make_sim([path_peer("walled", [ROOTED], unreachable=True)], version=version)
    s = client(sim)
    before = sim.clock.now()
    resp = post(s, "/transfers/downloads/walled", files_of(sim, "walled"))
    assert resp.status_code == 500
    assert resp.json().startswith("Failed to connect to user walled: Failed to establish a direct or indirect "
                                  "message connection to walled (")
    assert sim.clock.now() - before >= 10.0, "soulseek.connection.timeout.connect, in simulated seconds"
    assert sim.transfers() == []


def test_enqueues_waiting_for_peers_hold_both_slots(make_sim):
    # 9 simulated seconds at a fifth of real speed: 45 s of room for the checks before the connections finish
    sim = make_sim([path_peer(f"far{n}", [ROOTED], connect_s=9.0) for n in range(2)] + [path_peer("near", [ROOTED])],
                   time_scale=0.2)
    started = threading.Barrier(3)

    def enqueue(username: str) -> requests.Response:
        started.wait()
        return post(client(sim), f"/transfers/downloads/{username}", files_of(sim, username))

    with ThreadPoolExecutor(2) as pool:
        slow = [pool.submit(enqueue, f"far{n}") for n in range(2)]
        started.wait()
        wait_for(lambda: sim.enqueues_in_flight == 2, what="both enqueues to be connecting")
        third = post(client(sim), "/transfers/downloads/near", files_of(sim, "near"))
        assert third.status_code == 429 and third.json() == CONCURRENCY_MESSAGE
        sim.time_scale = 1000.0  # let the two connections finish
        assert [f.result().status_code for f in slow] == [201, 201]
    assert post(client(sim), "/transfers/downloads/near", files_of(sim, "near")).status_code == 201


def test_peer_connect_fields_are_settable_over_http(make_sim):
    sim = make_sim([path_peer("alice", [ROOTED])])
    changed = requests.post(sim.url + "/__sim/peers/alice", json={"connect_s": 2.5, "unreachable": True}, timeout=5)
    assert changed.status_code == 200
    assert (sim.peer("alice").connect_s, sim.peer("alice").unreachable) == (2.5, True)
    assert get(client(sim), "/application/version").json() == "0.26.0"
    assert requests.get(sim.url + API + "/options", timeout=5).status_code == 401


def test_the_world_and_soulsync_sim_pick_the_slskd(tmp_path):
    from soulsync.cli import build_parser
    from soulsync.sim.world import SimWorld

    args = build_parser().parse_args(["sim", "--slskd-version", "0.24.5", "--slskd-host", "windows"])
    assert (args.slskd_version, args.slskd_host) == ("0.24.5", "windows")
    assert build_parser().parse_args(["sim"]).slskd_version == "0.26.0"
    world = SimWorld.start(root=tmp_path, n_tracks=60, slskd_version=args.slskd_version, slskd_host_os=args.slskd_host)
    try:
        described = world.describe()["slskd"]
        assert (described["version"], described["host_os"]) == ("0.24.5", "windows")
        assert get(client(world.slskd), "/application/version").json() == "0.24.5"
    finally:
        world.stop()
