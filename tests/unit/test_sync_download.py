"""The download-missing workflow with a scripted slskd and download queue (no sockets, no sleeping)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from soulsync.core.models import Track
from soulsync.core.ratelimit import SearchRateLimiter
from soulsync.core.store import Store
from soulsync.core.store_records import QueueItem, QueueMeta
from soulsync.core.download_missing import DownloadMissing
from soulsync.core.search_run import SearchSettings
from soulsync.core.run_progress import Phase, RunProgress, TrackProgress
from soulsync.core.soulseek_query import query_forms
from soulsync.core.track_finder import TrackFinder, retry_wishlist


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class ServiceFailure(Exception):
    def __init__(self, kind: str, message: str = "slskd: cannot connect") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class State:
    complete: bool
    response_count: int = 0
    file_count: int = 0
    locked_file_count: int = 0

    @property
    def state(self) -> str:
        return "Completed, Succeeded" if self.complete else "InProgress"


def peer_file(artist: str, album: str, title: str, n: int = 1, length: int = 200, user: str = "peer1",
              ext: str = "flac") -> dict:
    return {"username": user, "hasFreeUploadSlot": True, "uploadSpeed": 2_000_000, "queueLength": 0,
            "files": [{"filename": f"@@share\\Music\\{artist}\\{album}\\{n:02d} - {title}.{ext}",
                       "size": 25_000_000, "length": length, "extension": ext, "bitDepth": 16,
                       "sampleRate": 44100}]}


class FakeSlskd:
    """Searches complete after ``polls`` state reads; responses come from ``results[query]``."""

    def __init__(self, results: dict[str, list[dict]] | None = None, polls: int = 1) -> None:
        self.results = results or {}
        self.polls = polls
        self.started: list[str] = []
        self.stopped: list[str] = []
        self.deleted: list[str] = []
        self.running: dict[str, int] = {}
        self.max_running = 0
        self.fail_start: ServiceFailure | None = None
        self.lose: set[str] = set()
        self.never_complete = False
        self._text: dict[str, str] = {}

    def start_search(self, text: str, search_timeout_ms: int = 0, response_limit: int = 0):
        if self.fail_start is not None:
            raise self.fail_start
        search_id = f"s{len(self.started)}"
        self.started.append(text)
        self._text[search_id] = text
        self.running[search_id] = 0
        self.max_running = max(self.max_running, len(self.running))
        return type("Handle", (), {"id": search_id})()

    def search_state(self, search_id: str) -> State:
        if search_id in self.lose:
            self.lose.discard(search_id)
            self.running.pop(search_id, None)
            raise ServiceFailure("not_found", "that search no longer exists in slskd")
        if search_id in self.stopped:
            self.running.pop(search_id, None)
            return State(True)
        self.running[search_id] += 1
        done = not self.never_complete and self.running[search_id] >= self.polls
        if done:
            self.running.pop(search_id, None)
        return State(done)

    def search_responses(self, search_id: str) -> list[dict]:
        return self.results.get(self._text[search_id], [])

    def stop_search(self, search_id: str) -> None:
        self.stopped.append(search_id)

    def delete_search(self, search_id: str) -> None:
        self.deleted.append(search_id)
        self.running.pop(search_id, None)


@dataclass
class FakeQueue:
    """Each tick moves items one step: queued -> in_progress -> processing -> succeeded (or failed)."""

    fail: set[str] = field(default_factory=set)
    stall: set[str] = field(default_factory=set)
    """File names that stay in progress."""
    items_by_id: dict[str, QueueItem] = field(default_factory=dict)
    enqueued: list[tuple[str, str, list[dict], dict]] = field(default_factory=list)
    ticks: int = 0
    hold: bool = False

    def enqueue(self, files, wanted=None, candidates=(), source="manual", group_id=None, meta=None):
        out = []
        for username, filename, size in files:
            if any((i.username, i.filename) == (username, filename) and not i.finished
                   for i in self.items_by_id.values()):
                continue
            item = QueueItem(id=f"q{len(self.items_by_id)}", state="queued", username=username, filename=filename,
                             size=size, wanted=wanted, source=source, group_id=group_id,
                             meta=meta or QueueMeta(),
                             candidates=[{"username": c.username, "filename": c.filename} for c in candidates])
            self.items_by_id[item.id] = item
            self.enqueued.append((username, filename, item.candidates, item.meta))
            out.append(dataclasses.replace(item))
        return out

    def tick(self):
        self.ticks += 1
        if self.hold:
            return None
        for item in self.items_by_id.values():
            if item.finished:
                continue
            if item.state == "queued":
                item.state, item.percent = "in_progress", 40.0
            elif item.state == "in_progress" and item.filename not in self.stall:
                item.state = "processing"
            elif item.state == "processing":
                if item.filename in self.fail:
                    item.state, item.reason = "failed", "The peer rejected the download (no other source left)"
                    item.tried = [[item.username, item.filename, "rejected"]]
                else:
                    item.state, item.final_path = "succeeded", f"/library/{item.filename.split(chr(92))[-1]}"
                item.finished_at = 1.0
        return None

    def get(self, item_id: str) -> QueueItem | None:
        item = self.items_by_id.get(item_id)
        return dataclasses.replace(item) if item is not None else None

    def items(self, finished=None):
        return [dataclasses.replace(i) for i in self.items_by_id.values()
                if finished is None or i.finished == finished]

    def cancel(self, ids):
        for item_id in ids:
            item = self.items_by_id[item_id]
            if not item.finished and item.state != "processing":
                item.state, item.finished_at, item.reason = "cancelled", 1.0, "Cancelled by you"


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "db.sqlite3")


ONE = Track("One More Time", ["Daft Punk"], album="Discovery", duration_ms=200_000)
JOGA = Track("Jóga", ["Björk"], album="Homogenic", duration_ms=300_000)
NOPE = Track("Unfindable Song", ["Nobody Known"], album="Nothing", duration_ms=180_000)


def workflow(wanted, slskd, queue, store, clock, **kw) -> tuple[DownloadMissing, list[TrackProgress], list[RunProgress]]:
    tracks: list[TrackProgress] = []
    counts: list[RunProgress] = []
    flow = DownloadMissing(wanted, client=slskd, queue=queue, store=store, clock=clock, sleep=clock.sleep,
                           limiter=kw.pop("limiter", SearchRateLimiter(clock=clock)),
                           on_track=tracks.append, on_progress=counts.append, **kw)
    return flow, tracks, counts


def test_found_downloaded_and_reported_live(store: Store) -> None:
    clock = Clock()
    slskd = FakeSlskd({"Daft Punk One More Time": [peer_file("Daft Punk", "Discovery", "One More Time"),
                                                   peer_file("Daft Punk", "Discovery", "One More Time", user="p2",
                                                             ext="mp3")]})
    queue = FakeQueue()
    store.add_to_wishlist(ONE, "not found last time")
    changed: list[list[str]] = []
    flow, tracks, counts = workflow([(ONE, "pl1")], slskd, queue, store, clock, library_changed=changed.append)
    report = flow.run()
    assert report.complete and report.progress.downloaded == 1 and report.summary() == "1 of 1 downloaded"
    phases = [t.phase for t in tracks]
    assert phases[:2] == [Phase.WAITING, Phase.SEARCHING] and phases[-1] is Phase.DOWNLOADED
    assert {Phase.DOWNLOADING, Phase.PROCESSING} <= set(phases)  # queued and picked up within one step
    assert any(t.percent == 40.0 for t in tracks)
    username, filename, candidates, meta = queue.enqueued[0]
    assert username == "peer1" and filename.endswith("One More Time.flac")  # FLAC ranked first
    assert len(candidates) == 2 and meta == QueueMeta()  # nothing unread rides along
    assert report.paths == ["/library/01 - One More Time.flac"] and changed == [report.paths]
    assert slskd.deleted == ["s0"]
    assert store.wishlist() == []  # found now: off the wishlist
    assert counts[-1].fraction == 1.0


def test_later_query_forms_are_tried_when_the_first_finds_nothing(store: Store) -> None:
    clock = Clock()
    slskd = FakeSlskd({"Jóga Homogenic": [peer_file("Bjork", "Homogenic", "Joga", n=3, length=300)]})
    flow, tracks, _ = workflow([(JOGA, None)], slskd, FakeQueue(), store, clock)
    report = flow.run()
    assert slskd.started == ["Björk Jóga", "Jóga Homogenic"]
    assert report.progress.downloaded == 1
    assert report.tracks[0].query == "Jóga Homogenic"
    assert any(t.detail == "searching 'Jóga Homogenic'" for t in tracks)


def test_not_found_goes_to_the_wishlist_with_the_reason(store: Store) -> None:
    clock = Clock()
    decoy = peer_file("Nobody Known", "Nothing", "Another Song Entirely")
    slskd = FakeSlskd({"Nobody Known Unfindable Song": [decoy]})
    flow, _, _ = workflow([(NOPE, "pl9")], slskd, FakeQueue(), store, clock)
    report = flow.run()
    assert slskd.started == query_forms(NOPE)
    assert report.progress.not_found == 1 and not report.complete
    [(track, reason, attempts)] = store.wishlist()
    assert track == NOPE and attempts == 1 and reason.startswith("not found on Soulseek (tried 'Nobody Known")
    assert store.query("SELECT playlist_id FROM wishlist")[0][0] == "pl9"


def test_failed_downloads_go_to_the_wishlist(store: Store) -> None:
    clock = Clock()
    slskd = FakeSlskd({"Daft Punk One More Time": [peer_file("Daft Punk", "Discovery", "One More Time")]})
    queue = FakeQueue(fail={"@@share\\Music\\Daft Punk\\Discovery\\01 - One More Time.flac"})
    flow, _, _ = workflow([(ONE, None)], slskd, queue, store, clock)
    report = flow.run()
    assert report.progress.failed == 1
    assert report.tracks[0].detail.startswith("The peer rejected")
    assert [r for _t, r, _a in store.wishlist()] == [report.tracks[0].detail]


def test_search_rate_limit_and_concurrency_are_respected(store: Store) -> None:
    clock = Clock()
    # two-digit numbers: slskd drops one-character terms, so "Artist 1 Song 1" would search "Artist Song"
    wanted = [(Track(f"Song {n}", [f"Artist {n}"], duration_ms=200_000), None) for n in range(10, 15)]
    slskd = FakeSlskd({f"Artist {n} Song {n}": [peer_file(f"Artist {n}", "Album", f"Song {n}")] for n in range(10, 15)},
                      polls=3)
    limiter = SearchRateLimiter(limit=2, window=100.0, clock=clock)
    flow, tracks, _ = workflow(wanted, slskd, FakeQueue(), store, clock, limiter=limiter,
                               settings=SearchSettings(max_searches=3))
    for _ in range(10):
        flow.step()
        clock.sleep(0.5)
    assert len(slskd.started) == 2  # the window allows two
    assert any("waiting for a search slot" in t.detail for t in tracks)
    report = flow.run()
    assert report.complete and len(slskd.started) == 5
    assert clock.now >= 1000.0 + 200.0  # five searches at two per 100 s need two more windows
    assert slskd.max_running <= 2


def test_concurrent_searches_are_capped(store: Store) -> None:
    clock = Clock()
    wanted = [(Track(f"Song {n}", [f"Artist {n}"]), None) for n in range(6)]
    slskd = FakeSlskd(polls=4)
    flow, _, _ = workflow(wanted, slskd, FakeQueue(), store, clock, settings=SearchSettings(max_searches=2))
    report = flow.run()
    assert slskd.max_running == 2 and report.progress.not_found == 6


def test_the_same_track_in_two_playlists_is_fetched_once(store: Store) -> None:
    clock = Clock()
    slskd = FakeSlskd({"Daft Punk One More Time": [peer_file("Daft Punk", "Discovery", "One More Time")]})
    queue = FakeQueue()
    flow, _, _ = workflow([(ONE, "a"), (JOGA, "a"), (ONE, "b")], slskd, queue, store, clock)
    report = flow.run()
    assert slskd.started.count("Daft Punk One More Time") == 1 and len(queue.enqueued) == 1
    assert report.progress.total == 2
    assert report.tracks[0].playlist_ids == ["a", "b"]


def test_cancel_keeps_what_finished_and_stops_the_rest(store: Store) -> None:
    clock = Clock()
    slskd = FakeSlskd({"Daft Punk One More Time": [peer_file("Daft Punk", "Discovery", "One More Time")]}, polls=1)
    slskd.results["Björk Jóga"] = [peer_file("Björk", "Homogenic", "Jóga", length=300)]
    queue = FakeQueue(stall={"@@share\\Music\\Björk\\Homogenic\\01 - Jóga.flac"})
    wanted = [(ONE, None), (JOGA, None), (NOPE, None)]
    flow, _, _ = workflow(wanted, slskd, queue, store, clock, settings=SearchSettings(max_searches=1))
    while [t.phase for t in flow.tracks()][:2] != [Phase.DOWNLOADED, Phase.DOWNLOADING]:
        assert flow.step()
    flow.cancel()
    report = flow.run()
    assert report.cancelled
    phases = [t.phase for t in report.tracks]
    assert phases == [Phase.DOWNLOADED, Phase.CANCELLED, Phase.CANCELLED]
    assert queue.items_by_id["q1"].state == "cancelled"
    assert report.paths == ["/library/01 - One More Time.flac"]
    assert store.wishlist() == []  # cancelled tracks are not "not found"


def test_cancel_stops_running_searches(store: Store) -> None:
    clock = Clock()
    slskd = FakeSlskd(polls=100)
    cancelled = {"now": False}
    flow, _, _ = workflow([(ONE, None)], slskd, FakeQueue(), store, clock, is_cancelled=lambda: cancelled["now"])
    flow.step()
    assert slskd.running
    cancelled["now"] = True
    report = flow.run()
    assert slskd.stopped == ["s0"] and slskd.deleted == ["s0"] and report.progress.cancelled == 1


def test_slskd_unreachable_stops_the_run_with_the_reason(store: Store) -> None:
    clock = Clock()
    slskd = FakeSlskd()
    slskd.fail_start = ServiceFailure("unreachable", "slskd: cannot connect to http://localhost:5030")
    flow, _, _ = workflow([(ONE, None), (JOGA, None)], slskd, FakeQueue(), store, clock, service_patience_s=30.0)
    report = flow.run()
    assert report.error == "stopped: slskd: cannot connect to http://localhost:5030"
    assert report.progress.failed == 2
    assert all(t.detail.startswith("not searched") for t in report.tracks)
    assert store.wishlist() == []  # never searched: not the track's fault
    assert 30.0 <= clock.now - 1000.0 <= 40.0
    assert len(slskd.started) == 0 and flow.limiter.available() >= 30  # backed off: the search budget is kept


def test_a_search_slskd_lost_is_started_again(store: Store) -> None:
    clock = Clock()
    slskd = FakeSlskd({"Daft Punk One More Time": [peer_file("Daft Punk", "Discovery", "One More Time")]}, polls=2)
    slskd.lose.add("s0")
    flow, _, _ = workflow([(ONE, None)], slskd, FakeQueue(), store, clock)
    report = flow.run()
    assert slskd.started == ["Daft Punk One More Time"] * 2 and report.complete


def test_a_search_that_never_completes_is_stopped_and_collected(store: Store) -> None:
    clock = Clock()
    slskd = FakeSlskd({"Daft Punk One More Time": [peer_file("Daft Punk", "Discovery", "One More Time")]})
    slskd.never_complete = True
    flow, _, _ = workflow([(ONE, None)], slskd, FakeQueue(), store, clock,
                          settings=SearchSettings(hard_limit_s=20.0, stop_grace_s=5.0))
    report = flow.run()
    assert slskd.stopped == ["s0"] and report.complete


def test_the_queue_is_only_followed_when_someone_else_ticks_it(store: Store) -> None:
    clock = Clock()
    slskd = FakeSlskd({"Daft Punk One More Time": [peer_file("Daft Punk", "Discovery", "One More Time")]})
    queue = FakeQueue()
    flow, _, _ = workflow([(ONE, None)], slskd, queue, store, clock, drive_queue=False)
    for _ in range(5):
        flow.step()
    assert queue.ticks == 0 and flow.tracks()[0].phase is Phase.QUEUED
    queue.tick(), queue.tick(), queue.tick()
    flow.step()
    assert flow.tracks()[0].phase is Phase.DOWNLOADED


def test_a_file_already_in_the_queue_is_followed_not_duplicated(store: Store) -> None:
    clock = Clock()
    slskd = FakeSlskd({"Daft Punk One More Time": [peer_file("Daft Punk", "Discovery", "One More Time")]})
    queue = FakeQueue()
    [existing] = queue.enqueue([("peer1", "@@share\\Music\\Daft Punk\\Discovery\\01 - One More Time.flac", 1)])
    flow, _, _ = workflow([(ONE, None)], slskd, queue, store, clock)
    report = flow.run()
    assert report.tracks[0].queue_item_id == existing.id and len(queue.items_by_id) == 1 and report.complete


def test_retry_wishlist(store: Store) -> None:
    clock = Clock()
    store.add_to_wishlist(ONE, "not found", "pl1")
    store.add_to_wishlist(NOPE, "not found", "pl2")
    slskd = FakeSlskd({"Daft Punk One More Time": [peer_file("Daft Punk", "Discovery", "One More Time")]})
    report = retry_wishlist(store, client=slskd, queue=FakeQueue(), clock=clock, sleep=clock.sleep,
                            limiter=SearchRateLimiter(clock=clock))
    assert (report.progress.downloaded, report.progress.not_found) == (1, 1)
    [(track, _reason, attempts)] = store.wishlist()
    assert track == NOPE and attempts == 2
    assert store.query("SELECT playlist_id FROM wishlist")[0][0] == "pl2"


def test_track_finder_tries_forms_in_order_within_the_rate_limit() -> None:
    clock = Clock()
    slskd = FakeSlskd({"Jóga Homogenic": [peer_file("Bjork", "Homogenic", "Joga", n=3, length=300)]}, polls=3)
    limiter = SearchRateLimiter(limit=1, window=60.0, clock=clock)
    finder = TrackFinder(slskd, limiter=limiter, sleep=clock.sleep)
    found = finder(JOGA)
    assert [c.username for c in found] == ["peer1"]
    assert slskd.started == ["Björk Jóga", "Jóga Homogenic"] and slskd.deleted == ["s0", "s1"]
    assert clock.now >= 1060.0  # the second search waited for the window
    assert finder(NOPE) == []


def test_sources_that_failed_are_remembered_and_not_asked_again(store: Store) -> None:
    """A wishlisted track's failed peers are skipped the next time; with none left it waits for new ones."""
    clock = Clock()
    wanted_file = peer_file("Daft Punk", "Discovery", "One More Time")
    slskd = FakeSlskd({"Daft Punk One More Time": [wanted_file]})
    queue = FakeQueue(fail={wanted_file["files"][0]["filename"]})
    first, _, _ = workflow([(ONE, "pl1")], slskd, queue, store, clock)
    assert first.run().tracks[0].phase is Phase.FAILED
    (entry,) = store.wishlist()
    assert entry[2] == 1, "one failed attempt counted once"
    second, _, _ = workflow([(ONE, "pl1")], slskd, FakeQueue(), store, clock)
    report = second.run()
    assert report.tracks[0].phase is Phase.NOT_FOUND
    assert report.tracks[0].detail == "found only on sources that failed before"
    # a new peer sharing it is asked
    slskd.results["Daft Punk One More Time"].append(peer_file("Daft Punk", "Discovery", "One More Time", user="p9"))
    third, _, _ = workflow([(ONE, "pl1")], slskd, FakeQueue(), store, clock)
    assert third.run().progress.downloaded == 1
