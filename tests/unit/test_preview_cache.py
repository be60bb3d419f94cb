"""Preview stream cache, buffer rules and the slskd fetch (with a scripted slskd and a fake clock)."""
from __future__ import annotations

import os
import threading
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from soulsync.core.models import SearchFile, Transfer, TransferState
from soulsync.core.preview_cache import (
    HEADER_ALLOWANCE, PreviewOptions, StreamBuffer, StreamCache, byte_for_position, start_threshold,
)
from soulsync.core.preview_fetch import (
    COMPLETE, QUEUED, TRANSFERRING, FetchProgress, PreviewFailed, PreviewFetch, incomplete_candidates,
    map_incomplete_dir,
)
from soulsync.core.slskd_files import DownloadRules

REMOTE = "@@peer\\Music\\Artist\\Album (2020)\\01 - Song.flac"
USER = "peer_user"


# ---------------------------------------------------------------------------- cache


def test_cache_reserve_evicts_oldest_leftovers_but_never_files_in_use(tmp_path):
    cache = StreamCache(tmp_path / "c", limit_bytes=1000)
    cache.root.mkdir()
    old, newer = cache.root / "old.flac", cache.root / "newer.flac"
    old.write_bytes(b"x" * 400)
    newer.write_bytes(b"x" * 400)
    os.utime(old, (1, 1))
    busy = cache.new_path("mp3")
    busy.write_bytes(b"x" * 300)
    os.utime(busy, (0, 0))
    target = cache.new_path("flac")
    cache.reserve(target, 500)
    assert not old.exists() and not newer.exists(), "both leftovers had to go to fit 500 bytes"
    assert busy.exists(), "a file in use is never evicted"
    assert cache.usage() == 300


def test_cache_refuses_a_file_larger_than_its_limit(tmp_path):
    cache = StreamCache(tmp_path / "c", limit_bytes=1024 * 1024)
    with pytest.raises(Exception) as err:
        cache.reserve(cache.new_path("flac"), 5 * 1024 * 1024)
    assert "too large to preview" in str(err.value)


def test_cache_clean_and_release(tmp_path):
    cache = StreamCache(tmp_path / "c")
    cache.root.mkdir()
    (cache.root / "leftover.ogg").write_bytes(b"1")
    active = cache.new_path("FLAC")
    assert active.suffix == ".flac"
    active.write_bytes(b"2")
    assert cache.clean() == 1
    assert active.exists()
    cache.release(active)
    assert not active.exists() and not cache.is_active(active)
    assert cache.new_path("../../x").suffix == ".bin", "odd extensions never become part of a path"


class _PreviewStartsDuringListing(StreamCache):
    """A cache whose folder listing first lets a preview start: the interleaving of the race,
    reproduced without threads or timing (the preview registers its name, then writes its file,
    exactly between whatever ``clean``/``reserve`` did before listing and the listing itself)."""

    started: list[Path]

    def _files(self):
        if not hasattr(self, "started"):
            self.started = []
            path = self.new_path("flac")
            path.write_bytes(b"preview bytes")
            self.started.append(path)
        return super()._files()


def test_cache_clean_never_deletes_a_preview_started_while_it_runs(tmp_path):
    cache = _PreviewStartsDuringListing(tmp_path / "c")
    cache.root.mkdir()
    (cache.root / "leftover.ogg").write_bytes(b"1")
    assert cache.clean() == 1, "the leftover goes"
    (preview,) = cache.started
    assert preview.exists(), "the file of a preview that started during clean() must survive it"
    assert cache.is_active(preview)


def test_cache_reserve_never_evicts_a_preview_started_while_it_runs(tmp_path):
    cache = _PreviewStartsDuringListing(tmp_path / "c", limit_bytes=100)
    cache.root.mkdir()
    target = cache.new_path("mp3")
    cache.reserve(target, 100)
    (preview,) = cache.started
    assert preview.exists(), "eviction must not take the file of a preview that started meanwhile"


# ---------------------------------------------------------------------------- buffer


def test_buffer_reports_readable_bytes_end_and_timeout():
    buffer = StreamBuffer(100)
    assert buffer.readable(0, 0) is None
    buffer.advance(40)
    assert buffer.readable(10, 0) == 30
    buffer.advance(20)
    assert buffer.available == 40, "progress never goes back"
    assert buffer.readable(100, 0) == 0
    buffer.advance(500)
    assert buffer.complete and buffer.available == 100


def test_buffer_wakes_a_blocked_reader_on_data_close_and_stop():
    buffer = StreamBuffer(1000)
    results: list[int | None] = []
    stop = threading.Event()
    started = threading.Event()

    def reader(position: int, use_stop: bool) -> None:
        started.set()
        results.append(buffer.readable(position, 10, stop.is_set if use_stop else None))

    thread = threading.Thread(target=reader, args=(100, False))
    thread.start()
    started.wait(5)
    buffer.advance(150)
    thread.join(5)
    assert results == [50]

    started.clear()
    thread = threading.Thread(target=reader, args=(500, True))
    thread.start()
    started.wait(5)
    stop.set()
    buffer.wake()
    thread.join(5)
    assert results[-1] == -1

    started.clear()
    thread = threading.Thread(target=reader, args=(700, False))
    thread.start()
    started.wait(5)
    buffer.close("failed")
    thread.join(5)
    assert results[-1] == -1 and buffer.closed == "failed"


# ---------------------------------------------------------------------------- start and seek rules


def test_start_threshold_is_a_few_seconds_when_the_peer_keeps_up():
    total, length = 30_000_000, 200  # 150 kB/s of audio
    fast = start_threshold(total, length, None, speed=2_000_000, prebuffer_s=3)
    assert fast == HEADER_ALLOWANCE + 450_000
    unknown = start_threshold(total, length, None, speed=0, prebuffer_s=3)
    assert unknown == fast


def test_start_threshold_waits_longer_for_a_slow_peer():
    total, length = 30_000_000, 200
    slow = start_threshold(total, length, None, speed=100_000, prebuffer_s=3)
    # the rest must arrive before playback reaches it: 30 MB - 100 kB/s * 200 s * 0.9
    assert slow == 30_000_000 - 18_000_000
    crawling = start_threshold(total, length, None, speed=1_000, prebuffer_s=3)
    assert crawling <= total


def test_start_threshold_without_length_uses_bitrate_and_caps_at_size():
    assert start_threshold(10_000_000, None, 320, speed=0, prebuffer_s=2) == HEADER_ALLOWANCE + 80_000
    assert start_threshold(50_000, None, None, speed=0, prebuffer_s=3) == 50_000


def test_byte_for_position_has_a_margin_and_stays_in_the_file():
    assert byte_for_position(1_000_000, 100_000, 50_000) == 500_000 + 20_000 + HEADER_ALLOWANCE
    assert byte_for_position(1_000_000, 100_000, 200_000) == 1_000_000
    assert byte_for_position(1_000_000, 0, 5_000) == 1_000_000


# ---------------------------------------------------------------------------- slskd paths


def test_incomplete_candidates_cover_old_and_new_slskd_layouts(tmp_path):
    found = incomplete_candidates(tmp_path, USER, REMOTE)
    root = Path(os.path.realpath(tmp_path))
    assert found[0] == root / "Album (2020)" / "01 - Song.flac"
    assert root / USER / "@@peer" / "Music" / "Artist" / "Album (2020)" / "01 - Song.flac" in found
    assert found[-1] == root / "01 - Song.flac"


def test_incomplete_candidates_never_leave_the_folder(tmp_path):
    for remote in ("@@p\\..\\..\\etc\\passwd", "..\\x.flac", "a/../../../x.flac"):
        for path in incomplete_candidates(tmp_path / "inc", "../evil", remote):
            assert os.path.commonpath([path, os.path.realpath(tmp_path / "inc")]) == os.path.realpath(tmp_path / "inc")


def test_incomplete_dir_maps_like_a_container_mount():
    assert map_incomplete_dir("/app/incomplete", "/app/downloads", "/srv/slskd/downloads") == \
        Path("/srv/slskd/incomplete")
    assert map_incomplete_dir("/data/inc", "/data/dl", None) == Path("/data/inc")
    assert map_incomplete_dir("/elsewhere/inc", "/app/downloads", "/srv/dl") == Path("/elsewhere/inc")
    assert map_incomplete_dir(None, "/app/downloads", "/srv/dl") is None


# ---------------------------------------------------------------------------- the fetch


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class ScriptedSlskd:
    """slskd with one peer: every poll of the transfer moves the world on by one step."""

    def __init__(self, root: Path, data: bytes, *, per_poll: int = 50_000, queue_polls: int = 0, place: int = 3,
                 stall_at: int | None = None, fail: tuple[str, str] | None = None, options_ok: bool = True) -> None:
        self.incomplete = root / "incomplete"
        self.downloads_dir = root / "downloads"
        self.incomplete.mkdir(parents=True)
        self.downloads_dir.mkdir(parents=True)
        self.data = data
        self.per_poll, self.queue_polls, self.place = per_poll, queue_polls, place
        self.stall_at, self.fail, self.options_ok = stall_at, fail, options_ok
        self.transfers: dict[str, Transfer] = {}
        self.removed: set[str] = set()
        self.calls: list[tuple] = []
        self.partial = self.incomplete / "Album (2020)" / "01 - Song.flac"
        self.final = self.downloads_dir / "Album (2020)" / "01 - Song.flac"
        self.foreign: Transfer | None = None
        self.rules = DownloadRules()
        self.fail_once: str | None = None
        """slskd 0.26: the first attempt fails with this exception, and slskd tries again."""

    def options(self) -> dict:
        if not self.options_ok:
            raise PermissionError("options are admin-only")
        return {"directories": {"incomplete": str(self.incomplete), "downloads": str(self.downloads_dir)}}

    def download_rules(self) -> DownloadRules:
        return self.rules

    def enqueue(self, username: str, files: list[SearchFile]):
        self.calls.append(("enqueue", username))
        if self.foreign is not None:
            return SimpleNamespace(enqueued=[], failed=[files[0].filename])
        transfer = Transfer(id=f"t{len(self.transfers) + 1}", username=username, filename=files[0].filename,
                            size=files[0].size, state=TransferState.QUEUED_LOCALLY)
        self.transfers[transfer.id] = transfer
        self.polls = 0
        return SimpleNamespace(enqueued=[replace(transfer)], failed=[])

    def downloads(self) -> list[Transfer]:
        return [self.foreign] if self.foreign is not None else list(self.transfers.values())

    def place_in_queue(self, username: str, transfer_id: str) -> int:
        return self.place

    def cancel(self, username: str, transfer_id: str, remove: bool = False) -> None:
        self.calls.append(("cancel", transfer_id, remove))
        transfer = self.transfers.get(transfer_id)
        if transfer is not None and not transfer.state.is_finished:
            transfer.state = TransferState.CANCELLED
        if remove and transfer is not None and transfer.state.is_finished:
            self.removed.add(transfer_id)

    def transfer(self, username: str, transfer_id: str) -> Transfer:
        transfer = self.foreign if self.foreign is not None else self.transfers[transfer_id]
        if not transfer.state.is_finished or self.rules.will_retry(transfer):
            self._step(transfer)
        return replace(transfer)

    def _step(self, transfer: Transfer) -> None:
        self.polls += 1
        if self.polls <= self.queue_polls:
            transfer.state = TransferState.QUEUED_REMOTELY
            transfer.place_in_queue = self.place
            return
        if self.fail is not None:
            transfer.state, transfer.exception = TransferState(self.fail[0]), self.fail[1]
            return
        if self.fail_once is not None:
            transfer.state, transfer.exception, transfer.attempts = TransferState.ERRORED, self.fail_once, 1
            self.fail_once = None
            return
        if transfer.state is TransferState.ERRORED:  # slskd queues its next attempt
            transfer.state, transfer.attempts = TransferState.QUEUED_LOCALLY, 2
            return
        if transfer.state is not TransferState.IN_PROGRESS:
            transfer.state = TransferState.IN_PROGRESS
            self.partial.parent.mkdir(parents=True, exist_ok=True)
            self.partial.write_bytes(b"")
            return
        end = min(len(self.data), transfer.bytes_transferred + self.per_poll)
        if self.stall_at is not None:
            end = min(end, self.stall_at)
        with open(self.partial, "r+b") as out:
            out.seek(transfer.bytes_transferred)
            out.write(self.data[transfer.bytes_transferred:end])
        transfer.bytes_transferred = end
        if end == len(self.data):
            self.final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.partial, self.final)
            self.partial.parent.rmdir()
            transfer.state = TransferState.SUCCEEDED


@pytest.fixture
def data() -> bytes:
    return os.urandom(320_000)


def make_fetch(tmp_path: Path, slskd: ScriptedSlskd, data: bytes, clock: FakeClock,
               downloads_dir: Path | None = None, **options) -> PreviewFetch:
    file = SearchFile(username=USER, filename=REMOTE, size=len(data), extension="flac", length=20)
    opts = PreviewOptions(**{"poll_s": 0.25, "stall_timeout_s": 2.0, "queue_timeout_s": 5.0,
                             "connect_timeout_s": 5.0, **options})
    cache = StreamCache(tmp_path / "cache", opts.cache_limit_bytes)
    return PreviewFetch(slskd, file, cache.new_path("flac"), StreamBuffer(len(data)), cache, opts,
                        downloads_dir=downloads_dir, clock=clock, sleep=clock.sleep)


def run(fetch: PreviewFetch, clock: FakeClock, stop_after: int | None = None) -> tuple[bool, list[FetchProgress]]:
    reports: list[FetchProgress] = []
    waits = [0]

    def wait(seconds: float) -> bool:
        waits[0] += 1
        clock.sleep(seconds)
        return stop_after is not None and waits[0] > stop_after

    return fetch.run(wait, reports.append), reports


def test_fetch_streams_the_growing_file_and_leaves_nothing_at_slskd(tmp_path, data):
    clock, slskd = FakeClock(), ScriptedSlskd(tmp_path / "slskd", data)
    fetch = make_fetch(tmp_path, slskd, data, clock)
    done, reports = run(fetch, clock)
    assert done is True
    assert fetch.target.read_bytes() == data
    assert fetch.buffer.complete
    moving = [r for r in reports if r.phase == TRANSFERRING and 0 < r.available < len(data)]
    assert moving and all(r.progressive for r in moving), "bytes reached the cache while the transfer ran"
    assert [r.available for r in moving] == sorted(r.available for r in moving)
    assert reports[-1].phase == COMPLETE
    assert ("cancel", "t1", True) in slskd.calls and "t1" in slskd.removed
    assert not slskd.final.exists() and not slskd.final.parent.exists(), "slskd's copy of a preview is deleted"
    assert fetch.cache.is_active(fetch.target), "the cache file stays for the player"


def test_a_failed_attempt_slskd_retries_is_waited_for(tmp_path, data):
    clock, slskd = FakeClock(), ScriptedSlskd(tmp_path / "slskd", data)
    slskd.rules = DownloadRules(destination="${SOURCE_DIRECTORY}", retry_attempts=3)
    slskd.fail_once = "Transfer failed: The connection was closed unexpectedly"
    fetch = make_fetch(tmp_path, slskd, data, clock)
    done, reports = run(fetch, clock)
    assert done is True and fetch.target.read_bytes() == data and reports[-1].phase == COMPLETE


def test_stopping_while_slskd_waits_to_retry_cancels_the_retry(tmp_path, data):
    clock, slskd = FakeClock(), ScriptedSlskd(tmp_path / "slskd", data)
    slskd.rules = DownloadRules(destination="${SOURCE_DIRECTORY}", retry_attempts=3)
    slskd.fail_once = "Transfer failed: The connection was closed unexpectedly"
    fetch = make_fetch(tmp_path, slskd, data, clock)
    done, _ = run(fetch, clock, stop_after=1)  # stopped right after seeing the failed first attempt
    assert done is False and ("cancel", "t1", False) in slskd.calls


def test_stopping_cancels_the_transfer_and_deletes_every_file(tmp_path, data):
    clock, slskd = FakeClock(), ScriptedSlskd(tmp_path / "slskd", data)
    fetch = make_fetch(tmp_path, slskd, data, clock)
    done, _ = run(fetch, clock, stop_after=4)
    assert done is False
    assert ("cancel", "t1", False) in slskd.calls and "t1" in slskd.removed
    assert slskd.transfers["t1"].state is TransferState.CANCELLED
    assert not slskd.partial.exists() and not slskd.partial.parent.exists()
    assert not fetch.target.exists() and not fetch.cache.is_active(fetch.target)
    assert fetch.buffer.closed == "stopped"


def test_a_stalled_transfer_times_out_and_is_cleaned_up(tmp_path, data):
    clock, slskd = FakeClock(), ScriptedSlskd(tmp_path / "slskd", data, stall_at=120_000)
    fetch = make_fetch(tmp_path, slskd, data, clock)
    with pytest.raises(PreviewFailed) as err:
        run(fetch, clock)
    assert "stalled" in err.value.reason and "2 s" in err.value.reason
    assert fetch.buffer.available == 120_000 and fetch.buffer.closed
    assert "t1" in slskd.removed and not fetch.target.exists() and not slskd.partial.exists()


def test_a_long_peer_queue_reports_the_place_then_gives_up(tmp_path, data):
    clock, slskd = FakeClock(), ScriptedSlskd(tmp_path / "slskd", data, queue_polls=10_000, place=7)
    fetch = make_fetch(tmp_path, slskd, data, clock)
    reports: list[FetchProgress] = []
    with pytest.raises(PreviewFailed) as err:
        fetch.run(lambda s: clock.sleep(s) or False, reports.append)
    assert "upload queue (place 7)" in err.value.reason
    assert any(r.phase == QUEUED and r.place == 7 for r in reports)
    assert "t1" in slskd.removed


def test_a_rejected_transfer_fails_with_the_peers_reason(tmp_path, data):
    clock = FakeClock()
    slskd = ScriptedSlskd(tmp_path / "slskd", data, fail=("rejected", "Transfer rejected: Queue full"))
    fetch = make_fetch(tmp_path, slskd, data, clock)
    with pytest.raises(PreviewFailed) as err:
        run(fetch, clock)
    assert err.value.reason == "The peer rejected the download (Queue full)"
    assert ("cancel", "t1", True) in slskd.calls


def test_without_slskd_options_it_plays_once_complete(tmp_path, data):
    clock, slskd = FakeClock(), ScriptedSlskd(tmp_path / "slskd", data, options_ok=False)
    fetch = make_fetch(tmp_path, slskd, data, clock, downloads_dir=slskd.downloads_dir)
    done, reports = run(fetch, clock)
    assert done and fetch.target.read_bytes() == data
    assert all(r.available == 0 for r in reports if r.phase == TRANSFERRING)
    assert not reports[-1].progressive


def test_a_download_slskd_already_runs_is_followed_and_left_alone(tmp_path, data):
    clock, slskd = FakeClock(), ScriptedSlskd(tmp_path / "slskd", data)
    slskd.foreign = Transfer(id="queue-1", username=USER, filename=REMOTE, size=len(data),
                             state=TransferState.IN_PROGRESS)
    slskd.polls = 1
    slskd.partial.parent.mkdir(parents=True)
    slskd.partial.write_bytes(b"")
    fetch = make_fetch(tmp_path, slskd, data, clock, cleanup_wait_s=0.5)
    done, _ = run(fetch, clock)
    assert done and fetch.borrowed and fetch.target.read_bytes() == data
    assert not [c for c in slskd.calls if c[0] == "cancel"], "someone else's transfer is never cancelled"
    assert slskd.final.exists(), "nor its file deleted"


def test_a_handed_over_transfer_survives_stop(tmp_path, data):
    clock, slskd = FakeClock(), ScriptedSlskd(tmp_path / "slskd", data)
    fetch = make_fetch(tmp_path, slskd, data, clock)
    fetch.hand_over()
    done, _ = run(fetch, clock, stop_after=4)
    assert not done
    assert not [c for c in slskd.calls if c[0] == "cancel"]
    assert slskd.transfers["t1"].state is TransferState.IN_PROGRESS and slskd.partial.exists()
    assert not fetch.target.exists(), "the preview's own cache file still goes"


def test_a_file_larger_than_the_cache_is_refused_before_enqueueing(tmp_path, data):
    clock, slskd = FakeClock(), ScriptedSlskd(tmp_path / "slskd", data)
    fetch = make_fetch(tmp_path, slskd, data, clock, cache_limit_bytes=1024)
    with pytest.raises(PreviewFailed) as err:
        run(fetch, clock)
    assert "too large to preview" in err.value.reason
    assert slskd.calls == []
