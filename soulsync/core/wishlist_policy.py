"""When a wishlist track is tried again by itself: backoff per track, "keeps failing", sources that failed.

The wishlist itself is :class:`~soulsync.core.store.Store`'s (``add_to_wishlist``
counts one more failed attempt and keeps the last reason and time). This module
reads it with a :class:`RetryPolicy`:

* **Backoff**: after the first failed attempt a track waits 1 hour, after the
  second 6 hours, after the third a day, then a week after each.
* **Keeps failing**: after ``keeps_failing_after`` failed attempts (a setting,
  8 by default) a track is no longer tried by itself; a person may still search
  it now, or give it another chance (:func:`reset_attempts`).
* **Failed sources**: the peers' files that failed for a track (the download
  queue's ``tried`` list) are remembered with it (:func:`record_failure`) and
  left out of its next searches (:func:`without_failed_sources`); they go when
  the track leaves the wishlist.

Everything is derived from the attempt count and the last attempt's time, so
tracks a run put on the wishlist before this module existed follow the same
rules, and a changed setting applies to every track at once. Times are epoch
seconds passed in (``now``), so tests move the clock by hand.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from soulsync.core.models import Track
from soulsync.core.store import Store
from soulsync.core.store_records import track_from_json, wanted_key

HOUR_S = 3600.0
DAY_S = 24 * HOUR_S
WEEK_S = 7 * DAY_S
KEEPS_FAILING_AFTER = 8
"""Failed attempts after which a track "keeps failing" and is no longer retried by itself (the default)."""
_MAX_REASON = 300


@dataclass(frozen=True)
class RetryPolicy:
    """How long a wishlist track waits after each failed attempt, and when it stops being retried."""

    steps_s: tuple[float, ...] = (HOUR_S, 6 * HOUR_S, DAY_S)
    """The waits after the first, second, third... failed attempt."""
    then_s: float = WEEK_S
    """The wait after each attempt beyond ``steps_s``."""
    keeps_failing_after: int = KEEPS_FAILING_AFTER

    def delay_after(self, attempts: int) -> float:
        """The wait after ``attempts`` failed attempts (none before the first)."""
        if attempts <= 0:
            return 0.0
        return self.steps_s[attempts - 1] if attempts <= len(self.steps_s) else self.then_s

    def keeps_failing(self, attempts: int) -> bool:
        return attempts >= self.keeps_failing_after


@dataclass(frozen=True)
class FailedSource:
    """A peer's file that failed for one wanted track."""

    username: str
    filename: str
    reason: str
    failed_at: float


@dataclass(frozen=True)
class WishlistEntry:
    """One wishlist track with its retry state, for the Wishlist view and the retry job."""

    key: str
    """Its ``wanted_key``."""
    track: Track
    reason: str
    """Why the last attempt failed, in words."""
    attempts: int
    playlist_id: str | None
    added_at: float
    last_attempt: float | None
    next_attempt: float | None
    """When it is tried again by itself; None when it keeps failing."""
    failed_sources: tuple[FailedSource, ...]

    @property
    def keeps_failing(self) -> bool:
        return self.next_attempt is None

    def due(self, now: float) -> bool:
        """Whether the retry job tries it at ``now``."""
        return self.next_attempt is not None and self.next_attempt <= now

    @property
    def skip(self) -> frozenset[tuple[str, str]]:
        """The ``(username, filename)`` sources not to ask again for this track."""
        return frozenset((s.username, s.filename) for s in self.failed_sources)


def wishlist_entries(store: Store, policy: RetryPolicy = RetryPolicy()) -> list[WishlistEntry]:
    """Every wishlist track with its retry state, in the order they were added."""
    sources: dict[str, list[FailedSource]] = {}
    for r in store.query("SELECT * FROM wishlist_failed_sources ORDER BY failed_at"):
        sources.setdefault(r["wanted_key"], []).append(
            FailedSource(r["username"], r["filename"], r["reason"], r["failed_at"]))
    entries = []
    for row in store.query("SELECT * FROM wishlist ORDER BY added_at, wanted_key"):
        track = track_from_json(row["track"])
        if track is not None:
            entries.append(_entry(row, track, tuple(sources.get(row["wanted_key"], ())), policy))
    return entries


def due_wishlist(store: Store, now: float, policy: RetryPolicy = RetryPolicy()) -> list[WishlistEntry]:
    """The wishlist tracks the retry job tries at ``now``: their wait is over and they do not keep failing;
    the longest waiting first."""
    due = [e for e in wishlist_entries(store, policy) if e.due(now)]
    return sorted(due, key=lambda e: (e.next_attempt or 0.0, e.added_at))


def waiting_keys(store: Store, now: float, policy: RetryPolicy = RetryPolicy()) -> set[str]:
    """The ``wanted_key`` of every wishlist track not due at ``now`` (waiting or keeps failing): a scheduled
    playlist run leaves them to the wishlist's own schedule instead of searching them again."""
    return {e.key for e in wishlist_entries(store, policy) if not e.due(now)}


def record_failure(store: Store, track: Track, reason: str, now: float,
                   failed_sources: Iterable[Sequence[str]] = (), playlist_id: str | None = None,
                   policy: RetryPolicy = RetryPolicy()) -> WishlistEntry:
    """One more failed attempt of ``track``: on the wishlist with ``reason`` (``Store.add_to_wishlist``), and
    the peers' files that failed remembered (``failed_sources``: ``[username, filename, why]`` lists as in a
    queue item's ``tried``). Returns its new state: ``keeps_failing`` tells when it just reached the limit."""
    store.add_to_wishlist(track, reason[:_MAX_REASON], playlist_id, now=now)
    key = wanted_key(track)
    rows = [(key, s[0], s[1], (s[2] if len(s) > 2 else "")[:_MAX_REASON], now) for s in failed_sources if len(s) >= 2]
    if rows:
        with store.transaction() as conn:
            conn.executemany("INSERT INTO wishlist_failed_sources (wanted_key, username, filename, reason, failed_at)"
                             " VALUES (?,?,?,?,?) ON CONFLICT(wanted_key, username, filename) DO UPDATE SET"
                             " reason = excluded.reason, failed_at = excluded.failed_at", rows)
    return next(e for e in wishlist_entries(store, policy) if e.key == key)


def failed_sources(store: Store, track: Track) -> frozenset[tuple[str, str]]:
    """The ``(username, filename)`` sources that failed for ``track`` before: not to be asked again."""
    rows = store.query("SELECT username, filename FROM wishlist_failed_sources WHERE wanted_key = ?",
                       (wanted_key(track),))
    return frozenset((r["username"], r["filename"]) for r in rows)


class _Source(Protocol):
    @property
    def username(self) -> str: ...

    @property
    def filename(self) -> str: ...


SourceT = TypeVar("SourceT", bound=_Source)


def without_failed_sources(candidates: Iterable[SourceT], skip: frozenset[tuple[str, str]]) -> list[SourceT]:
    """``candidates`` (ranked search results, queue candidates) without the sources in ``skip``, in order."""
    return [c for c in candidates if (c.username, c.filename) not in skip]


def reset_attempts(store: Store, tracks: Iterable[Track]) -> None:
    """Give tracks another chance: their attempts count from zero, so the retry job tries them at once and
    they no longer keep failing. The sources that failed stay remembered."""
    keys = [(wanted_key(t),) for t in tracks]
    with store.transaction() as conn:
        conn.executemany("UPDATE wishlist SET attempts = 0, last_attempt = NULL WHERE wanted_key = ?", keys)


def _entry(row: sqlite3.Row, track: Track, sources: tuple[FailedSource, ...], policy: RetryPolicy) -> WishlistEntry:
    attempts = row["attempts"]
    last = row["last_attempt"]
    if policy.keeps_failing(attempts):
        next_attempt = None
    else:
        next_attempt = (last if last is not None else row["added_at"]) + policy.delay_after(attempts)
    return WishlistEntry(row["wanted_key"], track, row["reason"], attempts, row["playlist_id"], row["added_at"],
                         last, next_attempt, sources)
