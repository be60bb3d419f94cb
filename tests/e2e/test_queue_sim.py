"""The download queue against the slskd simulation over HTTP: albums, fallbacks, outages, old slskd replies."""
from __future__ import annotations

import time
from pathlib import Path

import mutagen
import pytest

from soulsync.core.downloads import DownloadQueue
from soulsync.core.models import Track
from soulsync.core.store import Store
from soulsync.services.slskd import SlskdClient
from soulsync.sim.slskd import SlskdSim
from tests.e2e.queue_runner import album_peer, copy_into, peer_files

FOLDER = "Album (2020)"


@pytest.fixture(scope="module")
def synth_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("synth-cache")


@pytest.fixture
def world(tmp_path, synth_cache):
    """``start(peers, **sim_options)`` -> (sim, client); servers are closed after the test."""
    started: list[tuple[SlskdSim, SlskdClient]] = []

    def start(peers, time_scale: float = 20.0, **options):
        sim = SlskdSim(peers, tmp_path / "downloads", tmp_path / "incomplete", time_scale=time_scale,
                       cache_dir=synth_cache, **options).start()
        client = SlskdClient(sim.api_url, api_key=sim.api_key, timeout=5)
        started.append((sim, client))
        return sim, client

    yield start
    for sim, client in started:
        client.close()
        sim.close()


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "queue.sqlite3")
    yield s
    s.close()


def drive(queue: DownloadQueue, done, timeout: float = 40.0, pause: float = 0.05) -> list:
    """Tick the queue (as the UI's timer does) until ``done(items)`` holds; fail with the items on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        queue.tick()
        items = queue.items()
        if done(items):
            return items
        if time.monotonic() > deadline:
            pytest.fail("the queue did not get there in time:\n" + "\n".join(
                f"{i.state:16} {i.username:12} {i.filename} {i.reason}" for i in items))
        time.sleep(pause)


def all_finished(items) -> bool:
    return bool(items) and all(i.finished for i in items)


def test_an_album_downloads_to_disk(world, store, tmp_path):
    peer = album_peer("fastfolk", FOLDER, tracks=6)
    sim, client = world([peer])
    library = tmp_path / "library"
    library.mkdir()
    queue = DownloadQueue(store, client, on_completed=copy_into(library), max_concurrent=3)
    files = peer_files(peer, sim.factory)
    created = queue.enqueue(files, group_id="album", source="album")
    assert len(created) == 6 and sum(i.state == "queued" for i in created) == 3  # the rest wait locally
    items = drive(queue, all_finished)
    assert [i.state for i in items] == ["succeeded"] * 6
    for item, (_, remote, size) in zip(items, files):
        local = sim.downloads_dir / FOLDER / remote.rsplit("\\", 1)[1]
        assert item.local_path == str(local) and local.stat().st_size == size
        assert mutagen.File(local) is not None
        assert Path(item.final_path).read_bytes() == local.read_bytes()
    records = sim.transfers()
    assert len(records) == 6 and {t.state for t in records} == {"Completed, Succeeded"}
    assert len({(t.username, t.filename) for t in records}) == 6


@pytest.mark.parametrize("fault, expected_reason", [
    ("stalled", "Stalled: no progress for 1.5 s"),
    ("rejected", "The peer rejected the download (Queue full)"),
    ("errored", "Transfer failed: The connection was closed unexpectedly"),
    ("timed_out", "Timed out (The wait timed out after 15000 milliseconds)"),
])
def test_a_failing_peer_falls_back_to_the_next_candidate(world, store, fault, expected_reason):
    behaviour = {"stalled": {"stall_at": 0.3}, "rejected": {"reject_reason": "Queue full"},
                 "errored": {"fail_at": 0.5}, "timed_out": {}}[fault]
    bad = album_peer("badpeer", FOLDER, tracks=1, seconds=20, **behaviour)
    good = album_peer("goodpeer", "Album", tracks=1, seconds=20)
    sim, client = world([bad, good])
    if fault == "timed_out":
        sim.transfer_faults.add("timed_out", user="badpeer")
    queue = DownloadQueue(store, client, stall_timeout_s=1.5)
    [first] = peer_files(bad, sim.factory)
    [second] = peer_files(good, sim.factory)
    wanted = Track(title="Track 1", artists=["Band"], album=FOLDER, duration_ms=20_000)
    [item] = queue.enqueue([first], wanted=wanted, source="matched",
                           candidates=[{"username": second[0], "filename": second[1], "size": second[2]}])
    [done] = drive(queue, all_finished)
    assert (done.state, done.username, done.attempt) == ("succeeded", "goodpeer", 2)
    assert done.tried == [["badpeer", first[1], expected_reason]]
    bad_records = [t for t in sim.transfers() if t.username == "badpeer"]
    assert len(bad_records) == 1
    if fault == "stalled":  # the stalled transfer was cancelled at slskd
        deadline = time.monotonic() + 10
        while sim.transfers()[0].state != "Completed, Cancelled" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sim.transfers()[0].state == "Completed, Cancelled"


def test_every_candidate_failing_ends_with_the_reason(world, store):
    bad = album_peer("nopenope", FOLDER, tracks=1, reject_reason="Banned")
    sim, client = world([bad])
    queue = DownloadQueue(store, client)
    [only] = peer_files(bad, sim.factory)
    offline = {"username": "ghost", "filename": "@@ghost\\x\\01 - Track 1.mp3", "size": only[2]}
    queue.enqueue([only], candidates=[offline])
    [done] = drive(queue, all_finished)
    assert done.state == "failed" and done.attempt == 2
    assert done.tried[0][2] == "The peer rejected the download (Banned)"
    assert done.reason == "slskd could not enqueue the file: slskd: slskd failed while enqueueing 1 file(s) from " \
                          "ghost: User ghost appears to be offline (no other source left after 2 attempts)"


def test_slskd_restart_mid_album_loses_nothing_and_downloads_nothing_twice(world, store, tmp_path):
    peer = album_peer("steadyone", FOLDER, tracks=6, seconds=10, speed=40_000)
    sim, client = world([peer], time_scale=10.0)
    library = tmp_path / "library"
    library.mkdir()
    queue = DownloadQueue(store, client, on_completed=copy_into(library), max_concurrent=6, missing_grace_s=0.5)
    queue.enqueue(peer_files(peer, sim.factory))
    before = drive(queue, lambda items: sum(i.state == "succeeded" for i in items) >= 2)
    finished_before = {i.filename for i in before if i.state == "succeeded"}
    sim.restart(downtime=0.3)  # slskd comes back with an empty transfer list
    items = drive(queue, all_finished, timeout=60)
    assert [i.state for i in items] == ["succeeded"] * 6
    on_disk = sorted(p.name for p in (sim.downloads_dir / FOLDER).iterdir())
    assert on_disk == sorted(p.name for p in library.iterdir() if not p.name.startswith("."))
    assert len(on_disk) == 6  # no "_<ticks>" second copies
    asked_again = [t.filename for t in sim.transfers()]  # the records slskd made after its restart
    assert 1 <= len(asked_again) <= 6 - len(finished_before) and len(asked_again) == len(set(asked_again))
    assert not finished_before & set(asked_again)  # only the lost, unfinished ones were asked again


def test_old_slskd_with_empty_enqueue_replies(world, store):
    peer = album_peer("oldtimer", FOLDER, tracks=3)
    sim, client = world([peer], enqueue_style="legacy")
    queue = DownloadQueue(store, client)
    queue.enqueue(peer_files(peer, sim.factory))
    items = drive(queue, all_finished)
    assert [i.state for i in items] == ["succeeded"] * 3
    assert len(sim.transfers()) == 3


def test_logged_out_slskd_keeps_items_waiting_until_it_is_back(world, store):
    peer = album_peer("patient", FOLDER, tracks=2)
    sim, client = world([peer])
    sim.logout()
    queue = DownloadQueue(store, client)
    created = queue.enqueue(peer_files(peer, sim.factory))
    assert [i.state for i in created] == ["queued", "queued"] and sim.transfers() == []
    diff = queue.tick()
    assert "not logged in" in diff.error
    sim.login()
    items = drive(queue, all_finished)
    assert [i.state for i in items] == ["succeeded"] * 2 and [i.attempt for i in items] == [1, 1]


def test_place_in_a_busy_peers_queue_is_shown(tmp_path):
    """slskd reports a remote queue position only when asked: the queue asks for waiting items."""
    from soulsync.core.downloads import DownloadQueue
    from soulsync.core.store import Store
    from soulsync.services.slskd import SlskdClient
    from soulsync.sim.catalog import build_catalog
    from soulsync.sim.slskd import SlskdSim

    catalog = build_catalog(seed=3)
    with SlskdSim(catalog, tmp_path / "downloads", time_scale=1.0, seed=3) as sim:
        busy = next(p for p in sim.peers if p.kind == "busy" and p.queue_length > 20)
        shared = next(f for f in busy.files if f.is_audio and not f.locked)
        client = SlskdClient(sim.url, api_key=sim.api_key)
        store = Store(tmp_path / "q.sqlite3")
        queue = DownloadQueue(store, client, downloads_dir=sim.downloads_dir)
        size = sim.factory.size(shared.spec)
        [item] = queue.enqueue([(busy.username, shared.path, size)])
        deadline = __import__("time").monotonic() + 30
        while __import__("time").monotonic() < deadline:
            queue.tick()
            current = queue.get(item.id)
            if current.state == "queued_remotely" and current.place_in_queue:
                break
            __import__("time").sleep(0.2)
        assert current.state == "queued_remotely" and current.place_in_queue and current.place_in_queue > 0
        assert store.get_queue_item(item.id).place_in_queue == current.place_in_queue
        store.close()
