"""Enqueues through the queue while slskd takes its time reaching peers (service-apis.md 1.6: the
enqueue answers only after slskd has reached the peer, up to its connect timeout and more)."""
from __future__ import annotations

from soulsync.core.downloads import DownloadQueue
from soulsync.services.slskd import SlskdClient
from tests.e2e.queue_runner import album_peer, peer_files
from tests.e2e.test_queue_sim import FOLDER, all_finished, drive, store, synth_cache, world  # noqa: F401


def test_a_slow_peer_neither_times_out_nor_holds_up_the_others(world, store):  # noqa: F811
    """slowpoke takes 9 simulated seconds to reach (4.5 s real), longer than the client's usual 2 s."""
    slow = album_peer("slowpoke", FOLDER, tracks=1, connect_s=9.0)
    fast = album_peer("speedy", "Other", tracks=1)
    sim, _ = world([slow, fast], time_scale=2.0)
    client = SlskdClient(sim.api_url, api_key=sim.api_key, timeout=2)
    queue = DownloadQueue(store, client, max_concurrent=2)
    items = queue.enqueue(peer_files(slow, sim.factory) + peer_files(fast, sim.factory))
    assert [(i.username, i.state) for i in items] == [("slowpoke", "queued_locally"), ("speedy", "queued_locally")]
    sim.time_scale = 20.0  # the rest may run fast
    assert [i.state for i in drive(queue, all_finished)] == ["succeeded", "succeeded"]
    client.close()


def test_an_unreachable_peer_moves_on_and_the_round_goes_on(world, store):  # noqa: F811
    walled = album_peer("walled", FOLDER, tracks=1, unreachable=True)
    good = album_peer("goodpeer", "Album", tracks=1)
    other = album_peer("another", "Another", tracks=1)
    sim, client = world([walled, good, other])
    queue = DownloadQueue(store, client, max_concurrent=2)
    [first] = peer_files(walled, sim.factory)
    [second] = peer_files(good, sim.factory)
    [third] = peer_files(other, sim.factory)
    [item, bystander] = queue.enqueue([first, third],
                                      candidates=[{"username": second[0], "filename": second[1], "size": second[2]}])
    assert bystander.state == "queued_locally", "sent in the same round as the unreachable peer"
    assert (item.username, item.attempt) == ("goodpeer", 2)
    assert item.tried[0][2].startswith("slskd could not enqueue the file: slskd: slskd failed while enqueueing 1 "
                                       "file(s) from walled: Failed to connect to user walled: Failed to establish")
    assert [i.state for i in drive(queue, all_finished)] == ["succeeded", "succeeded"]
