"""Run one slskd search to completion: start it, follow its counters, return its responses.

slskd hands out a search's responses only once the search has completed, so
this polls the search state (reporting counters) until it has, or until the
caller cancels (then the search is stopped so slskd completes it early).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable


@dataclass
class SearchProgress:
    search_id: str
    responses: int
    files: int
    locked: int
    elapsed: float
    state: str


class SearchCancelled(Exception):
    """The caller cancelled the search."""


def search_and_wait(client, text: str, timeout_ms: int, response_limit: int,
                    progress: Callable[[SearchProgress], None] | None = None,
                    cancelled: Callable[[], bool] = lambda: False,
                    wait: Callable[[float], bool] | None = None, poll_s: float = 0.4,
                    hard_limit_s: float = 120.0) -> list[dict]:
    """Start the search and return its raw responses once it completes.

    ``wait(seconds)`` sleeps and returns True when cancelled meanwhile (a
    worker's ``ctx.wait``); without it ``time.sleep`` is used. A search still
    running after ``hard_limit_s`` is stopped and its responses taken.
    Raises :class:`SearchCancelled` when ``cancelled()`` turns True.
    """
    handle = client.start_search(text, search_timeout_ms=timeout_ms, response_limit=response_limit)
    search_id = handle if isinstance(handle, str) else str(getattr(handle, "id", handle))
    started = time.monotonic()
    stopped = False
    if progress:
        progress(SearchProgress(search_id, 0, 0, 0, 0.0, "Requested"))
    while True:
        state = client.search_state(search_id)
        elapsed = time.monotonic() - started
        if progress:
            progress(SearchProgress(search_id, state.response_count, state.file_count, state.locked_file_count,
                                    elapsed, state.state))
        if state.complete:
            break
        if not stopped and elapsed > hard_limit_s:
            client.stop_search(search_id)
            stopped = True
        interrupted = wait(poll_s) if wait is not None else (time.sleep(poll_s) or False)
        if interrupted or cancelled():
            client.stop_search(search_id)
            raise SearchCancelled(text)
    return client.search_responses(search_id)
