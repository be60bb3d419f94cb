"""Run one slskd search to its end: start it, follow its counters, return its responses.

What real slskd does (``../shared/reference/service-apis.md`` 1.5), and what
this module does about it:

* It runs at most two network searches at once, shared with its web UI and
  other tools; the rest wait ``Queued`` and their timeout has not started. So
  our own deadline counts from the first time the search is seen
  ``InProgress``, and the progress says how many searches are ahead.
* It writes ``Completed, <reason>`` before it stores ``endedAt`` and the
  responses; ``/responses`` answers ``[]`` in between. So responses are read
  only once ``endedAt`` is there (bounded by :data:`FINALIZE_GRACE_S`: if
  slskd's final write failed, it never comes).
* Deleting a running search does not stop it; stopping (PUT) does. A search
  is always stopped before it is given up.
* A text with no term longer than one character is refused (400); the caller
  should not send it (see :mod:`soulsync.core.soulseek_query`).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from soulsync.core.cancellation import Cancelled

log = logging.getLogger(__name__)

FINALIZE_GRACE_S = 30.0
"""How long after ``Completed`` to wait for ``endedAt`` before reading whatever is stored."""
AHEAD_POLL_S = 2.0
"""How often a queued search asks slskd how many searches are ahead of it."""


@dataclass
class SearchProgress:
    search_id: str
    responses: int
    files: int
    locked: int
    elapsed: float
    """Seconds since the search started running (0 while it waits for a slot)."""
    state: str
    queued: bool = False
    """Waiting for one of slskd's two search slots."""
    ahead: int | None = None
    """Searches running or waiting before this one (None: not known)."""

    def waiting_text(self) -> str:
        """What a queued search waits for, in words."""
        if self.ahead:
            return f"waiting for slskd ({self.ahead} search{'es' if self.ahead != 1 else ''} ahead)"
        return "waiting for slskd (searches ahead)"


class SearchCancelled(Cancelled):
    """The caller cancelled the search."""


def timestamp_key(value: str | None) -> str:
    """slskd's .NET timestamps (1-7 fraction digits) made comparable as strings."""
    if not value:
        return ""
    text = value.rstrip("Z")
    head, _, fraction = text.partition(".")
    return f"{head}.{fraction:0<7}"


def list_searches(client: Any) -> list[Any] | None:
    """slskd's search records, or None when they cannot be listed (used for hints only)."""
    lister = getattr(client, "searches", None)
    if lister is None:
        return None
    try:
        return list(lister())
    except Exception:  # a hint only
        return None


def count_ahead(states: list[Any], search_id: str, started_at: str | None) -> int | None:
    """How many of ``states`` are queued or running and started no later than ``search_id``."""
    if not started_at:
        return None
    mine = timestamp_key(started_at)
    return sum(1 for s in states if s.id != search_id and not s.completed
               and timestamp_key(s.started_at) <= mine)


def searches_ahead(client: Any, search_id: str, started_at: str | None) -> int | None:
    """How many searches slskd lists as queued or running that started before ``search_id``
    (None when it cannot tell: the count is a hint, never a reason to fail)."""
    states = list_searches(client)
    return None if states is None else count_ahead(states, search_id, started_at)


class SearchFollower:
    """The clock of one search: when it started running, when it completed, and what to do next.

    Fed with every polled state (:meth:`observe`); tells the caller to stop the
    search (:attr:`should_stop`) once it has run ``hard_limit_s`` and whether its
    responses may be read (:attr:`ready`). Shared by every place that runs a search.
    """

    def __init__(self, hard_limit_s: float, finalize_grace_s: float = FINALIZE_GRACE_S,
                 stop_grace_s: float = FINALIZE_GRACE_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.hard_limit_s = hard_limit_s
        self.finalize_grace_s = finalize_grace_s
        self.stop_grace_s = stop_grace_s
        self._clock = clock
        self.running_since: float | None = None
        self.completed_since: float | None = None
        self.stop_sent_at: float | None = None
        self.state: Any = None

    @property
    def stop_sent(self) -> bool:
        return self.stop_sent_at is not None

    def stopped(self) -> None:
        """The caller has asked slskd to stop the search (PUT)."""
        if self.stop_sent_at is None:
            self.stop_sent_at = self._clock()

    def observe(self, state: Any) -> None:
        now = self._clock()
        self.state = state
        if self.running_since is None and not getattr(state, "queued", False):
            self.running_since = now
        if self.completed_since is None and getattr(state, "completed", False):
            self.completed_since = now

    @property
    def queued(self) -> bool:
        return self.running_since is None

    @property
    def elapsed(self) -> float:
        """Seconds the search has been running (0 while queued)."""
        return 0.0 if self.running_since is None else self._clock() - self.running_since

    @property
    def should_stop(self) -> bool:
        """Running for longer than the hard limit and not stopped yet."""
        return (not self.stop_sent and self.completed_since is None and self.running_since is not None
                and self.elapsed > self.hard_limit_s)

    @property
    def ready(self) -> bool:
        """The responses can be read: ``endedAt`` is set, or slskd has kept ``Completed`` without it
        for longer than the grace (its final write failed; what is stored is all there will be)."""
        if getattr(self.state, "complete", False):
            return True
        now = self._clock()
        if self.completed_since is not None and now - self.completed_since > self.finalize_grace_s:
            return True
        # stopped, yet slskd never completed it: take what it holds rather than wait for ever
        return (self.stop_sent_at is not None and self.completed_since is None
                and now - self.stop_sent_at > self.stop_grace_s)


def search_and_wait(client: Any, text: str, timeout_ms: int, response_limit: int,
                    progress: Callable[[SearchProgress], None] | None = None,
                    cancelled: Callable[[], bool] = lambda: False,
                    wait: Callable[[float], bool] | None = None, poll_s: float = 0.4,
                    hard_limit_s: float = 120.0, finalize_grace_s: float = FINALIZE_GRACE_S,
                    forget: bool = False) -> list[dict]:
    """Start the search and return its raw responses once slskd has stored them.

    ``wait(seconds)`` sleeps and returns True when cancelled meanwhile (a
    worker's ``ctx.wait``); without it ``time.sleep`` is used. A search still
    running ``hard_limit_s`` after it started running (not after it was sent:
    it may wait for a slot first) is stopped and its responses taken.
    Raises :class:`SearchCancelled` when ``cancelled()`` turns True (the search
    is stopped first); service errors propagate (a refused text as the
    ``refused`` kind). ``forget``: delete the search's record in slskd at the
    end, whatever happened (stopped first if it may still be running).
    """
    handle = client.start_search(text, search_timeout_ms=timeout_ms, response_limit=response_limit)
    search_id = handle if isinstance(handle, str) else str(getattr(handle, "id", handle))
    if not forget:
        return _follow(client, search_id, text, progress, cancelled, wait, poll_s, hard_limit_s, finalize_grace_s)
    finished = False
    try:
        responses = _follow(client, search_id, text, progress, cancelled, wait, poll_s, hard_limit_s,
                            finalize_grace_s)
        finished = True
        return responses
    finally:
        _forget(client, search_id, stop=not finished)


def _forget(client: Any, search_id: str, stop: bool) -> None:
    """Delete a search's record; stop it first when it may still run (DELETE alone would not)."""
    actions = (client.stop_search, client.delete_search) if stop else (client.delete_search,)
    for action in actions:
        try:
            action(search_id)
        except Exception as exc:  # cleanup only; slskd keeps the record otherwise, harmless
            log.info("Cleaning up search %s: %s", search_id, exc)


def _follow(client: Any, search_id: str, text: str, progress: Callable[[SearchProgress], None] | None,
            cancelled: Callable[[], bool], wait: Callable[[float], bool] | None, poll_s: float,
            hard_limit_s: float, finalize_grace_s: float) -> list[dict]:
    follower = SearchFollower(hard_limit_s, finalize_grace_s)
    ahead: int | None = None
    ahead_checked = float("-inf")
    if progress:
        progress(SearchProgress(search_id, 0, 0, 0, 0.0, "Queued", queued=True))
    while True:
        state = client.search_state(search_id)
        follower.observe(state)
        if follower.queued and time.monotonic() - ahead_checked >= AHEAD_POLL_S:
            ahead_checked = time.monotonic()
            ahead = searches_ahead(client, search_id, getattr(state, "started_at", None))
        if progress:
            progress(SearchProgress(search_id, state.response_count, state.file_count, state.locked_file_count,
                                    follower.elapsed, state.state, queued=follower.queued,
                                    ahead=ahead if follower.queued else None))
        if follower.ready:
            break
        if follower.should_stop:
            client.stop_search(search_id)
            follower.stopped()
        if wait is not None:
            interrupted = wait(poll_s)
        else:
            time.sleep(poll_s)
            interrupted = False
        if interrupted or cancelled():
            client.stop_search(search_id)
            raise SearchCancelled(text)
    return client.search_responses(search_id)


class SearchClient(Protocol):
    """What the workflow needs from slskd (``soulsync.services.slskd.SlskdClient``)."""

    def start_search(self, text: str, search_timeout_ms: int = ..., response_limit: int = ...) -> Any: ...

    def search_state(self, search_id: str) -> Any: ...

    def search_responses(self, search_id: str) -> list[dict]: ...

    def stop_search(self, search_id: str) -> None: ...

    def delete_search(self, search_id: str) -> None: ...


@dataclass
class SearchSettings:
    """How searches run: slskd's search options and our own limits."""

    search_timeout_ms: int = 6000
    response_limit: int = 250
    max_searches: int = 2
    """Searches running at once."""
    hard_limit_s: float = 60.0
    """A search still running after this long (counted from ``InProgress``, not from the request:
    slskd may keep it queued behind other searches first) is stopped and its results taken."""
    stop_grace_s: float = 10.0
    """After stopping a search, how long to wait for slskd to complete it before giving up on it."""
    finalize_grace_s: float = FINALIZE_GRACE_S
    """After ``Completed``, how long to wait for ``endedAt`` (the stored responses) before reading them anyway."""
    max_candidates: int = 25
    """Sources handed to the queue per track (the best first, the rest as fallbacks)."""
