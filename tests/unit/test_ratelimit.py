"""The Soulseek search rate limiter, driven by a fake clock."""
from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from soulsync.core.ratelimit import SOULSEEK_SEARCH_LIMIT, SOULSEEK_SEARCH_WINDOW, SearchRateLimiter


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


def test_defaults_are_soulseeks_limit(clock: FakeClock) -> None:
    limiter: SearchRateLimiter[int] = SearchRateLimiter(clock=clock)
    assert (limiter.limit, limiter.window) == (SOULSEEK_SEARCH_LIMIT, SOULSEEK_SEARCH_WINDOW) == (34, 220.0)
    assert all(limiter.try_acquire() for _ in range(34))
    assert not limiter.try_acquire()
    assert limiter.time_until_free() == pytest.approx(220.0)


def test_window_slides_rather_than_resetting(clock: FakeClock) -> None:
    limiter: SearchRateLimiter[int] = SearchRateLimiter(limit=4, window=220, clock=clock)
    assert limiter.try_acquire() and limiter.try_acquire()  # two at t=0
    clock.advance(100)
    assert limiter.try_acquire() and limiter.try_acquire()  # two at t=100
    assert not limiter.try_acquire() and limiter.available() == 0
    assert limiter.time_until_free() == pytest.approx(120.0)
    clock.advance(119.9)
    assert not limiter.try_acquire()
    clock.advance(0.1)  # t=220: the first two have left the window, the t=100 ones have not
    assert limiter.available() == 2
    assert limiter.try_acquire() and limiter.try_acquire()
    assert not limiter.try_acquire()
    assert limiter.time_until_free() == pytest.approx(100.0)


def test_submit_starts_or_queues_in_order(clock: FakeClock) -> None:
    limiter: SearchRateLimiter[str] = SearchRateLimiter(limit=2, window=10, clock=clock)
    assert limiter.submit("a") and limiter.submit("b")
    assert not limiter.submit("c") and not limiter.submit("d") and not limiter.submit("e")
    assert limiter.queued() == ["c", "d", "e"]
    assert limiter.release_due() == []
    assert limiter.next_release_in() == pytest.approx(10.0)
    clock.advance(10)
    assert limiter.next_release_in() == 0.0
    assert limiter.release_due() == ["c", "d"]
    assert limiter.queued() == ["e"]
    assert limiter.next_release_in() == pytest.approx(10.0)
    clock.advance(10)
    assert limiter.release_due() == ["e"]
    assert limiter.next_release_in() is None and limiter.queued() == []


def test_nothing_jumps_the_queue(clock: FakeClock) -> None:
    limiter: SearchRateLimiter[str] = SearchRateLimiter(limit=1, window=10, clock=clock)
    assert limiter.submit("a")
    assert not limiter.submit("b")
    clock.advance(10)
    # a slot is free, but "b" waits for it: neither a new submit nor try_acquire may take it
    assert not limiter.submit("c")
    assert not limiter.try_acquire()
    assert limiter.release_due() == ["b"]
    assert limiter.queued() == ["c"]


def test_wait_for_counts_the_queue_ahead_across_windows(clock: FakeClock) -> None:
    limiter: SearchRateLimiter[int] = SearchRateLimiter(limit=2, window=10, clock=clock)
    assert limiter.submit(0)
    clock.advance(4)
    assert limiter.submit(1)
    for item in range(2, 7):
        assert not limiter.submit(item)
    # slots free at t=10 (item 0's) and t=14 (item 1's); each queued search holds its slot a window
    assert [limiter.wait_for(i) for i in range(2, 7)] == pytest.approx([6.0, 10.0, 16.0, 20.0, 26.0])
    assert limiter.wait_for(99) is None
    clock.advance(6)
    assert limiter.release_due() == [2]
    assert limiter.wait_for(3) == pytest.approx(4.0)


def test_wait_for_is_zero_when_a_slot_is_free_for_it(clock: FakeClock) -> None:
    limiter: SearchRateLimiter[int] = SearchRateLimiter(limit=1, window=10, clock=clock)
    assert limiter.submit(1)
    assert not limiter.submit(2)
    clock.advance(30)
    assert limiter.wait_for(2) == 0.0


def test_cancel_removes_a_queued_search(clock: FakeClock) -> None:
    limiter: SearchRateLimiter[str] = SearchRateLimiter(limit=1, window=10, clock=clock)
    limiter.submit("a")
    limiter.submit("b")
    limiter.submit("c")
    assert limiter.cancel("b") and not limiter.cancel("b") and not limiter.cancel("a")
    assert limiter.wait_for("c") == pytest.approx(10.0)
    clock.advance(10)
    assert limiter.release_due() == ["c"]


@pytest.mark.parametrize("limit, window", [(0, 10), (-1, 10), (1, 0), (1, -5)])
def test_rejects_nonsense_limits(limit: int, window: float) -> None:
    with pytest.raises(ValueError):
        SearchRateLimiter(limit=limit, window=window)


def test_threads_never_start_more_than_the_limit(clock: FakeClock) -> None:
    limiter: SearchRateLimiter[int] = SearchRateLimiter(limit=34, window=220, clock=clock)
    started: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker(base: int) -> None:
        barrier.wait()
        for i in range(50):
            if limiter.submit(base * 100 + i):
                with lock:
                    started.append(base * 100 + i)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(started) == 34
    assert len(limiter.queued()) == 8 * 50 - 34


@given(st.lists(st.one_of(
    st.tuples(st.just("submit")),
    st.tuples(st.just("acquire")),
    st.tuples(st.just("release")),
    st.tuples(st.just("cancel"), st.integers(0, 40)),
    st.tuples(st.just("wait"), st.floats(0, 30)),
), max_size=80))
def test_no_window_ever_holds_more_than_the_limit(ops: list[tuple]) -> None:
    clock = FakeClock(0.0)
    limiter: SearchRateLimiter[int] = SearchRateLimiter(limit=3, window=10, clock=clock)
    starts: list[float] = []
    next_id = 0
    expected_queue: list[int] = []
    for op in ops:
        if op[0] == "submit":
            if limiter.submit(next_id):
                starts.append(clock.now)
            else:
                expected_queue.append(next_id)
            next_id += 1
        elif op[0] == "acquire":
            if limiter.try_acquire():
                starts.append(clock.now)
        elif op[0] == "release":
            released = limiter.release_due()
            assert released == expected_queue[:len(released)]
            del expected_queue[:len(released)]
            starts.extend([clock.now] * len(released))
        elif op[0] == "cancel":
            assert limiter.cancel(op[1]) == (op[1] in expected_queue)
            if op[1] in expected_queue:
                expected_queue.remove(op[1])
        else:
            clock.advance(op[1])
        assert limiter.queued() == expected_queue
        for t in starts:
            assert sum(1 for s in starts if t <= s < t + 10) <= 3
        if expected_queue:
            wait = limiter.wait_for(expected_queue[0])
            assert wait == pytest.approx(limiter.next_release_in())
