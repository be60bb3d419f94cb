"""Work a killed run left half done is taken up again, never done twice (found by tests/e2e/test_sync_kill.py).

* post-processing after a kill between tagging and moving: the file's size no
  longer matches the announced one, yet it is the same, whole download;
* post-processing after a kill just after the move: the source is gone, the
  file is in the library;
* a restarted sync follows the queue items an earlier run left for its tracks
  instead of searching and queueing them again;
* a file slskd took just before the kill, whose transfer then failed, is not
  requested from that peer a second time.
"""
from __future__ import annotations

import dataclasses
import time

import pytest

from soulsync.core.models import Track, TransferState
from soulsync.core.postprocess import Outcome, PostProcessOptions, PostProcessor, Step
from soulsync.core.ratelimit import SearchRateLimiter
from soulsync.core.store import Store
from soulsync.core.store_records import QueueItem
from soulsync.core.download_missing import DownloadMissing
from soulsync.core.run_progress import Phase
from soulsync.core.tagging import read_tags, write_tags
from tests.audio_fixtures import jpeg_bytes, make_audio
from soulsync.services.errors import Unreachable
from tests.unit.test_downloads_engine import env, remote  # noqa: F401 (env: the queue engine's fixture)
from tests.unit.test_sync_download import Clock, FakeQueue, FakeSlskd, peer_file

COVER = jpeg_bytes(16, 16, seed=2)
TRACK = Track(title="Song 1", artists=["The Band"], album="Big Album", album_artist="The Band", duration_ms=1000,
              track_number=1, track_total=3, year=2020, spotify_id="trk1", spotify_album_id="alb1",
              spotify_artist_ids=["art1"])


@pytest.fixture()
def processor(tmp_path) -> PostProcessor:
    (tmp_path / "library").mkdir()
    options = PostProcessOptions(library_dir=tmp_path / "library", quarantine_dir=tmp_path / "quarantine",
                                 cover_cache_dir=tmp_path / "covers")
    return PostProcessor(options, fetch_cover=lambda url: COVER)


# ----------------------------------------------------------------------------- post-processing


def test_a_file_tagged_before_the_kill_is_filed_although_its_size_changed(tmp_path, processor):
    src = make_audio(tmp_path / "downloads" / "01 - Song 1.flac")
    announced = src.stat().st_size
    write_tags(src, TRACK, cover=COVER)  # the killed run got this far
    assert src.stat().st_size != announced
    result = processor.process(src, TRACK, cover_url="https://img/1", expected_size=announced)
    assert result.outcome is Outcome.PLACED, result.reason
    assert "tagged before by an interrupted run" in result.done
    assert read_tags(result.final_path).spotify_id == "trk1"


def test_a_different_size_is_still_refused_when_the_file_is_not_ours(tmp_path, processor):
    src = make_audio(tmp_path / "downloads" / "01 - Song 1.flac")
    announced = src.stat().st_size
    write_tags(src, dataclasses.replace(TRACK, spotify_id="someone-else"))  # a peer's tags, not ours for TRACK
    result = processor.process(src, TRACK, expected_size=announced)
    assert (result.outcome, result.failed_step) == (Outcome.FAILED, Step.VERIFY)
    assert "were expected" in result.reason


def test_a_file_moved_before_the_kill_is_found_in_the_library(tmp_path, processor):
    src = make_audio(tmp_path / "downloads" / "01 - Song 1.flac")
    size = src.stat().st_size
    first = processor.process(src, TRACK, cover_url="https://img/1", expected_size=size)
    assert first.outcome is Outcome.PLACED and not src.exists()
    placed = first.final_path.read_bytes()
    first.cover_file.unlink()  # the run died after the move, before the cover file
    again = processor.process(src, TRACK, cover_url="https://img/1", expected_size=size)
    assert (again.outcome, again.final_path) == (Outcome.PLACED, first.final_path)
    assert again.reason == "already in the library: an interrupted run had filed it"
    assert first.final_path.read_bytes() == placed
    assert again.cover_file is not None and again.cover_file.read_bytes() == COVER


def test_a_vanished_file_that_is_not_in_the_library_fails(tmp_path, processor):
    gone = tmp_path / "downloads" / "01 - Song 1.flac"
    result = processor.process(gone, TRACK, expected_size=1000)
    assert (result.outcome, result.failed_step) == (Outcome.FAILED, Step.VERIFY)
    # someone else's file where this track would go is not taken for ours
    other = make_audio(tmp_path / "library" / "The Band" / "Big Album (2020)" / "01 - Song 1.flac")
    write_tags(other, dataclasses.replace(TRACK, spotify_id="another-track"))
    result = processor.process(gone, TRACK, expected_size=1000)
    assert result.outcome is Outcome.FAILED and result.final_path is None


# ----------------------------------------------------------------------------- the sync workflow

ONE = Track("One More Time", ["Daft Punk"], album="Discovery", duration_ms=200_000, spotify_id="one")
RESULTS = {"Daft Punk One More Time": [peer_file("Daft Punk", "Discovery", "One More Time")]}


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "db.sqlite3")


def flow_for(queue: FakeQueue, slskd: FakeSlskd, store: Store, **kw) -> DownloadMissing:
    clock = Clock()
    return DownloadMissing([(ONE, "pl1")], client=slskd, queue=queue, store=store, clock=clock, sleep=clock.sleep,
                           limiter=SearchRateLimiter(clock=clock), **kw)


def left_behind(queue: FakeQueue, state: str, final_path: str | None = None, source: str = "sync",
                finished_ago: float = 60.0) -> QueueItem:
    """An item an earlier (killed) run queued for ONE (or, with another ``source``, another part of the app)."""
    item = QueueItem(id=f"old{len(queue.items_by_id)}", state=state, username="peer9", filename="@@x\\One.flac",
                     size=10, wanted=ONE, source=source, final_path=final_path,
                     finished_at=time.time() - finished_ago if state in ("succeeded", "failed") else None)
    queue.items_by_id[item.id] = item
    return item


def test_a_live_item_of_an_earlier_run_is_followed_not_searched_again(store):
    queue, slskd = FakeQueue(), FakeSlskd(RESULTS)
    old = left_behind(queue, "in_progress")
    report = flow_for(queue, slskd, store).run()
    assert slskd.started == [] and queue.enqueued == []
    assert report.progress.downloaded == 1 and report.tracks[0].queue_item_id == old.id


def test_a_filed_item_the_library_did_not_pick_up_counts_as_downloaded(tmp_path, store):
    queue, slskd = FakeQueue(), FakeSlskd(RESULTS)
    filed = make_audio(tmp_path / "library" / "One More Time.flac")
    left_behind(queue, "succeeded", str(filed))
    store.add_to_wishlist(ONE, "not found last time")
    changed: list[list[str]] = []
    report = flow_for(queue, slskd, store, library_changed=changed.append).run()
    assert slskd.started == [] and queue.enqueued == []
    assert report.tracks[0].phase is Phase.DOWNLOADED and report.tracks[0].final_path == str(filed)
    assert changed == [[str(filed)]]  # the library is told about it now
    assert store.wishlist() == []


def test_a_filed_item_whose_file_is_gone_or_a_failed_one_is_searched_again(tmp_path, store):
    queue, slskd = FakeQueue(), FakeSlskd(RESULTS)
    left_behind(queue, "succeeded", str(tmp_path / "deleted by the user.flac"))
    left_behind(queue, "failed")
    report = flow_for(queue, slskd, store).run()
    assert slskd.started == ["Daft Punk One More Time"] and len(queue.enqueued) == 1
    assert report.progress.downloaded == 1


def test_a_file_filed_days_ago_that_the_library_never_listed_is_searched_again(tmp_path, store):
    queue, slskd = FakeQueue(), FakeSlskd(RESULTS)
    filed = make_audio(tmp_path / "outside plex" / "One More Time.flac")
    left_behind(queue, "succeeded", str(filed), finished_ago=3 * 24 * 3600)
    report = flow_for(queue, slskd, store).run()
    assert slskd.started == ["Daft Punk One More Time"] and len(queue.enqueued) == 1
    assert report.progress.downloaded == 1


def test_cancel_leaves_a_download_started_elsewhere_alone(store):
    queue, slskd = FakeQueue(), FakeSlskd(RESULTS)
    queue.hold = True  # nothing moves: the run is cancelled while it follows the items
    mine = left_behind(queue, "in_progress", source="sync")
    flow = flow_for(queue, slskd, store)
    flow.step()
    flow.cancel()
    flow.run()
    assert queue.items_by_id[mine.id].state == "cancelled"  # this run's own (killed) item: cancelled

    queue2, slskd2 = FakeQueue(), FakeSlskd(RESULTS)
    queue2.hold = True
    theirs = left_behind(queue2, "in_progress", source="matched")
    flow2 = flow_for(queue2, slskd2, store)
    flow2.step()
    flow2.cancel()
    report = flow2.run()
    assert queue2.items_by_id[theirs.id].state == "in_progress"  # the matched download goes on
    assert report.tracks[0].phase is Phase.CANCELLED and "started elsewhere" in report.tracks[0].detail


# ----------------------------------------------------------------------------- the download queue


def test_a_request_slskd_took_before_the_kill_and_that_failed_is_not_sent_again(env):
    song = ("alice", remote("A", "Song.mp3"), 100)
    other = {"username": "bob", "filename": remote("B", "Song.mp3"), "size": 200}
    env.fake.record_then_fail, env.fake.enqueue_error = True, Unreachable("slskd", "timeout")
    [item] = env.queue().enqueue([song], candidates=[other])  # slskd took it; the answer never arrived
    env.fake.record_then_fail, env.fake.enqueue_error = False, None
    assert env.store.get_queue_item(item.id).state == "submitting"
    env.fake.set(env.fake.of("alice", song[1]), TransferState.ERRORED, exception="Transfer failed: connection closed")
    restarted = env.queue()  # the app died before it saved the transfer id; it starts again
    restarted.tick()
    moved = restarted.get(item.id)
    assert (moved.username, moved.attempt) == ("bob", 2)
    assert moved.tried[0][:2] == ["alice", song[1]] and "connection closed" in moved.tried[0][2]
    assert [user for user, _files in env.fake.enqueue_calls] == ["alice", "bob"]  # alice was asked once
