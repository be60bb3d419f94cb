"""Soulseek's search rate limit, with a queue for searches past it.

The Soulseek server allows about 34 searches in any 220 seconds; going over it
bans the account from searching for 30 minutes. ``SearchRateLimiter`` keeps
the start times of the searches of the last window (a sliding window, not
fixed buckets), starts a search when a slot is free and otherwise queues it in
order, and tells the UI how long until the next slot frees ("queued: next slot
in 12 s"). The clock is injectable so tests need no sleeping.

The UI calls ``submit`` for each search, starts it when that returns True, and
otherwise shows ``wait_for(item)``; a timer set to ``next_release_in()`` then
calls ``release_due()`` and starts what it returns.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable, Generic, Hashable, TypeVar

SOULSEEK_SEARCH_LIMIT = 34
SOULSEEK_SEARCH_WINDOW = 220.0
"""Seconds."""

T = TypeVar("T", bound=Hashable)


class SearchRateLimiter(Generic[T]):
    """At most ``limit`` searches start in any ``window`` seconds; the rest wait in order.

    Thread-safe. ``clock`` returns seconds (monotonic) and defaults to
    ``time.monotonic``.
    """

    def __init__(self, limit: int = SOULSEEK_SEARCH_LIMIT, window: float = SOULSEEK_SEARCH_WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1:
            raise ValueError(f"the search limit must be at least 1, not {limit}")
        if window <= 0:
            raise ValueError(f"the search window must be positive, not {window}")
        self.limit = limit
        self.window = float(window)
        self._clock = clock
        self._started: deque[float] = deque()
        self._queue: deque[T] = deque()
        self._lock = threading.Lock()

    def _prune(self, now: float) -> None:
        cutoff = now - self.window
        started = self._started
        while started and started[0] <= cutoff:
            started.popleft()

    def _free_now(self, now: float) -> int:
        self._prune(now)
        return self.limit - len(self._started)

    def available(self) -> int:
        """Searches that may start right now (queued searches not counted against it)."""
        with self._lock:
            return self._free_now(self._clock())

    def try_acquire(self) -> bool:
        """Take a slot now if one is free and no search is queued ahead; True when taken."""
        with self._lock:
            now = self._clock()
            if self._queue or self._free_now(now) <= 0:
                return False
            self._started.append(now)
            return True

    def time_until_free(self) -> float:
        """Seconds until a slot frees; 0 when one is free now."""
        with self._lock:
            now = self._clock()
            if self._free_now(now) > 0:
                return 0.0
            return max(0.0, self._started[0] + self.window - now)

    def submit(self, item: T) -> bool:
        """Start ``item`` now (True: its slot is taken) or queue it behind the others (False)."""
        with self._lock:
            now = self._clock()
            if not self._queue and self._free_now(now) > 0:
                self._started.append(now)
                return True
            self._queue.append(item)
            return False

    def release_due(self) -> list[T]:
        """Queued items that may start now, in queue order; their slots are taken."""
        with self._lock:
            now = self._clock()
            released: list[T] = []
            while self._queue and self._free_now(now) > 0:
                self._started.append(now)
                released.append(self._queue.popleft())
            return released

    def cancel(self, item: T) -> bool:
        """Drop a queued item; False when it was not queued."""
        with self._lock:
            try:
                self._queue.remove(item)
            except ValueError:
                return False
            return True

    def queued(self) -> list[T]:
        """The queued items, next first."""
        with self._lock:
            return list(self._queue)

    def next_release_in(self) -> float | None:
        """Seconds until the first queued item may start; None when nothing is queued."""
        with self._lock:
            if not self._queue:
                return None
            now = self._clock()
            if self._free_now(now) > 0:
                return 0.0
            return max(0.0, self._started[0] + self.window - now)

    def wait_for(self, item: T) -> float | None:
        """Seconds until a queued item may start, if nothing else is submitted; None when not queued.

        Each queued item ahead takes the next slot to free, and its own slot
        frees again a window later.
        """
        with self._lock:
            try:
                position = self._queue.index(item)
            except ValueError:
                return None
            now = self._clock()
            free = self._free_now(now)
            slot_times = deque([now] * max(free, 0) + [t + self.window for t in self._started])
            start = now
            for _ in range(position + 1):
                start = max(now, slot_times.popleft())
                slot_times.append(start + self.window)
            return start - now
