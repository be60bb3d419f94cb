"""The app's search paths against slskd's real search behaviour (reference 1.5), through the real client.

Each test drives Download missing (:class:`~soulsync.core.download_missing.DownloadMissing`), the
queue's blocking finder (:class:`~soulsync.core.track_finder.TrackFinder`) or the shared
:func:`~soulsync.core.search_run.search_and_wait` against the slskd simulation over
HTTP, in the situations where the app used to lose results or hang:

* a query whose every term is one character long (``R E M``, ``光 愛``, ``X 7``): slskd refuses it;
* ``Completed`` written before ``endedAt`` and the responses;
* searches kept ``Queued`` behind slskd's two busy slots, their timeout not started.

Time in DownloadMissing is a fake clock the test moves, so "longer than the hard limit"
needs no waiting; the simulation runs on its own fast clock.
"""
from __future__ import annotations

import threading

import pytest

from soulsync.core.models import Track
from soulsync.core.search_run import search_and_wait
from soulsync.core.store import Store
from soulsync.core.download_missing import DownloadMissing
from soulsync.core.search_run import SearchSettings
from soulsync.core.run_progress import Phase
from soulsync.core.track_finder import TrackFinder
from soulsync.services.slskd import SlskdClient
from tests.sim.test_slskd_sim import hand_peer, hand_track, wait_for
from tests.unit.test_sync_download import FakeQueue

REM = hand_track("Drive Slow", artist="R.E.M.", album="Automatic Tones", seconds=180)
CJK = hand_track("愛", artist="光", album="愛", seconds=180)
POPULAR = hand_track("Popular Song", artist="Beta Band", album="Hits", seconds=180)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "soulsync.db")
    yield s
    s.close()


@pytest.fixture
def sim(tmp_path):
    from soulsync.sim.slskd import SlskdSim

    peers = [hand_peer(f"peer{i}", [REM, POPULAR], latency=0.2 + 0.1 * i, root=f"@@peer{i}x") for i in range(6)]
    simulation = SlskdSim(peers, tmp_path / "downloads", time_scale=20.0).start()
    yield simulation
    simulation.close()


def client_for(sim) -> SlskdClient:
    return SlskdClient(sim.url, api_key=sim.api_key, timeout=10)


def run_until_done(flow: DownloadMissing, clock: Clock, step_s: float = 0.5, rounds: int = 4000,
                   on_round=None) -> None:
    """Step the run as its driver would; the fake clock moves ``step_s`` per round."""
    for _ in range(rounds):
        if not flow.step():
            return
        if on_round is not None:
            on_round()
        clock.now += step_s
        threading.Event().wait(0.005)  # let the simulation's ticker run; not a timing assumption
    raise AssertionError(f"the run never ended: {[t.detail for t in flow.tracks()]}")


def test_unsearchable_and_acronym_tracks_never_block_the_run(sim, store):
    """A track whose every word is one character is not sent (slskd would answer 400 for ever) and
    the tracks after it are searched; R.E.M. is searched as slskd really searches it."""
    clock = Clock()
    queue = FakeQueue()
    flow = DownloadMissing([(CJK, "p1"), (REM, "p1"), (POPULAR, "p1")], client=client_for(sim), queue=queue,
                           store=store, clock=clock, sleep=lambda s: None,
                           settings=SearchSettings(search_timeout_ms=1500))
    run_until_done(flow, clock)
    by_title = {t.track.title: t for t in flow.tracks()}
    assert by_title["愛"].phase is Phase.NOT_FOUND and "cannot be searched" in by_title["愛"].detail
    assert by_title["Drive Slow"].phase is Phase.DOWNLOADED and by_title["Popular Song"].phase is Phase.DOWNLOADED
    assert not [s for s in sim._searches.values() if s.state == "Completed, Errored"], "no search slskd refused"


def test_results_are_read_only_once_slskd_has_stored_them(sim, store):
    """Completed comes before endedAt and the responses; reading at Completed lost every result."""
    sim.completion_window_max_s = 1e6
    sim.completion_window_s = 1e6  # slskd's second write is held until the test releases it
    clock = Clock()
    flow = DownloadMissing([(POPULAR, None)], client=client_for(sim), queue=FakeQueue(), store=store, clock=clock,
                           sleep=lambda s: None, settings=SearchSettings(search_timeout_ms=800))
    seen_completed = []

    def release_completed():
        """Each time slskd has written Completed without endedAt, let the run poll it a few times
        first, then land the second write (as slskd does a moment later)."""
        held = [s.id for s in sim._searches.values() if s.complete and not s.ended]
        if held:
            seen_completed.append(held)
            for _ in range(3):
                flow.step()
            sim.finalize_searches(held)

    run_until_done(flow, clock, on_round=release_completed)
    assert seen_completed
    assert flow.tracks()[0].phase is Phase.DOWNLOADED, flow.tracks()[0].detail


def test_a_search_queued_behind_busy_slots_is_not_stopped_by_its_deadline(sim, store):
    """slskd's two slots are taken by another tool: our search waits Queued, says so, and its hard
    limit counts only from InProgress (the old deadline from the POST stopped it: 'not found')."""
    other = client_for(sim)
    hogs = [other.start_search(text, search_timeout_ms=3_600_000) for text in ("popular", "drive")]
    wait_for(lambda: len(sim.searches_running()) == 2, what="the other tool's searches to run")
    clock = Clock()
    flow = DownloadMissing([(POPULAR, None)], client=client_for(sim), queue=FakeQueue(), store=store, clock=clock,
                           sleep=lambda s: None, settings=SearchSettings(search_timeout_ms=800, hard_limit_s=5.0))
    for _ in range(40):  # 20 s on the run's clock, four times its hard limit, while slskd keeps it queued
        flow.step()
        clock.now += 0.5
    track = flow.tracks()[0]
    assert track.phase is Phase.SEARCHING and track.detail.startswith("waiting for slskd"), track.detail
    assert "2 searches ahead" in track.detail
    assert [s.state for s in sim.searches_queued()] == ["Queued"]
    for hog in hogs:
        other.stop_search(hog.id)
    run_until_done(flow, clock, step_s=0.0)  # the run's clock stands still: no deadline can cut it short
    assert flow.tracks()[0].phase is Phase.DOWNLOADED, flow.tracks()[0].detail


def test_track_finder_searches_an_acronym_artist_as_slskd_does(sim):
    """The queue's finder: ``R.E.M. Drive Slow`` is searched as ``Drive Slow`` (slskd drops R, E, M)."""
    finder = TrackFinder(client_for(sim), settings=SearchSettings(search_timeout_ms=800), sleep=lambda s: None,
                         poll_interval_s=0.05)
    rem = Track("Drive Slow", ["R.E.M."], album="Automatic Tones", duration_ms=180_000)
    candidates = finder(rem)
    assert candidates and all("Drive Slow" in c.filename for c in candidates)
    assert sim._searches == {}, "the finder deletes its searches"


def test_search_and_wait_reports_queued_then_running(sim):
    sim.max_concurrent_searches = 0
    client = client_for(sim)
    progress = []

    def note(p):
        progress.append(p)
        if len([x for x in progress if x.queued]) == 3:
            sim.max_concurrent_searches = 2

    responses = search_and_wait(client, "popular song", 800, 100, progress=note, poll_s=0.02, forget=True)
    assert {r["username"] for r in responses} == {f"peer{i}" for i in range(6)}
    assert progress[1].queued and progress[1].elapsed == 0.0 and progress[1].waiting_text().startswith("waiting")
    assert not progress[-1].queued
    assert sim._searches == {}
