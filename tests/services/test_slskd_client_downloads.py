"""SlskdClient's download calls against the slskd simulation of each version: the download rules it
reads from the options, attempts, enqueue replies, and enqueues that wait for slskd to reach the peer."""
from __future__ import annotations

import pytest

from soulsync.core.models import TransferState
from soulsync.core.slskd_files import DEFAULT_DESTINATION, DownloadRules
from soulsync.services.errors import ServerError
from soulsync.services.slskd import SlskdClient
from soulsync.sim.slskd import SlskdSim
from tests.services.test_slskd_client import finished, small_peer, wait_for


@pytest.fixture
def make_sim(tmp_path):
    made: list[tuple[SlskdSim, SlskdClient]] = []

    def make(peers, timeout: float = 5, **kwargs) -> tuple[SlskdSim, SlskdClient]:
        kwargs.setdefault("time_scale", 20.0)
        sim = SlskdSim(peers, tmp_path / f"slskd{len(made)}" / "downloads", **kwargs).start()
        client = SlskdClient(sim.url, api_key=sim.api_key, timeout=timeout)
        made.append((sim, client))
        return sim, client

    yield make
    for sim, client in made:
        client.close()
        sim.close()


def files(sim: SlskdSim, username: str) -> list[tuple[str, int]]:
    return [(f.path, sim.factory.size(f.spec)) for f in sim.peer(username).files]


@pytest.mark.parametrize("version", ["0.24.5", "0.25.1"])
def test_download_rules_of_older_versions(make_sim, version):
    _, client = make_sim([small_peer("alice", ["Song One"])], version=version)
    assert client.download_rules() == DownloadRules()


def test_download_rules_of_026(make_sim):
    sim, client = make_sim([small_peer("alice", ["Song One"])])
    assert client.download_rules() == DownloadRules(destination=DEFAULT_DESTINATION, retry_attempts=3)
    sim.retry.attempts, sim.retry.delay_ms, sim.retry.max_delay_ms = 5, 2000, 30000
    sim.destination_subdirectory, sim.connect_timeout_ms = "${SOURCE_USERNAME}", 4000
    assert client.download_rules() == DownloadRules(destination="${SOURCE_USERNAME}", retry_attempts=5,
                                                    retry_delay_s=2.0, retry_max_delay_s=30.0, connect_timeout_s=4.0)


@pytest.mark.parametrize("version, attempts", [("0.24.5", None), ("0.25.1", None), ("0.26.0", 1)])
def test_attempts_are_read_where_they_mean_something(make_sim, version, attempts):
    sim, client = make_sim([small_peer("alice", ["Song One"])], version=version)
    [queued] = client.enqueue("alice", files(sim, "alice")).enqueued
    assert queued.attempts == attempts
    assert finished(client, "alice", queued.id).attempts == attempts


def test_a_retried_transfer_reports_its_attempt(make_sim):
    sim, client = make_sim([small_peer("alice", ["Song One"])])
    sim.transfer_faults.add("errored", user="alice", count=1, at=0.5)
    [queued] = client.enqueue("alice", files(sim, "alice")).enqueued
    # the failed first attempt may be seen on the way: wait for the success
    done = wait_for(lambda: (lambda t: t if t.state is TransferState.SUCCEEDED else None)(
        client.transfer("alice", queued.id)), what="the second attempt to succeed")
    assert done.attempts == 2


@pytest.mark.parametrize("version, failed", [("0.24.5", True), ("0.26.0", False)])
def test_refusals_are_named_only_where_slskd_names_them(make_sim, version, failed):
    sim, client = make_sim([small_peer("alice", ["Song One"], seconds=30, speed=20_000)], version=version)
    client.enqueue("alice", files(sim, "alice"))
    again = client.enqueue("alice", files(sim, "alice"))
    assert again.enqueued == [] and again.failed == ([files(sim, "alice")[0][0]] if failed else [])


def test_an_enqueue_waits_while_slskd_reaches_a_slow_peer(make_sim):
    """slskd answers once it has reached the peer: 8 simulated seconds here, 2 s real, twice the client's
    usual timeout; the enqueue is allowed about twice slskd's connect timeout."""
    sim, client = make_sim([small_peer("slowpoke", ["Song One"], connect_s=8.0)], timeout=1, time_scale=4.0)
    result = client.enqueue("slowpoke", files(sim, "slowpoke"))
    assert len(result.enqueued) == 1 and result.failed == []


def test_an_unreachable_peer_fails_with_slskds_words(make_sim):
    sim, client = make_sim([small_peer("walled", ["Song One"], unreachable=True)], timeout=1, time_scale=4.0)
    with pytest.raises(ServerError, match="Failed to connect to user walled") as info:
        client.enqueue("walled", files(sim, "walled"))
    assert info.value.status == 500 and sim.api_key not in str(info.value)


def test_enqueue_timeout_follows_slskds_connect_timeout(make_sim):
    sim, client = make_sim([small_peer("alice", ["Song One"])], timeout=1)
    sim.connect_timeout_ms = 20000
    assert client._enqueue_timeout() == 45.0
    sim.faults.add("status", status=503, match="GET /api/v0/options")
    fresh = SlskdClient(sim.url, api_key=sim.api_key, timeout=1)
    assert fresh._enqueue_timeout() == 25.0, "options unreadable: slskd's default connect timeout"
    fresh.close()


def test_odd_option_values_keep_sane_rules(make_sim):
    sim, client = make_sim([small_peer("alice", ["Song One"])])
    sim.retry.attempts, sim.retry.delay_ms = True, -5  # not numbers slskd would send: ignored
    sim.connect_timeout_ms = 10**12  # absurdly long: capped
    rules = client.download_rules()
    assert (rules.retry_attempts, rules.retry_delay_s, rules.connect_timeout_s) == (3, 5.0, 120.0)
