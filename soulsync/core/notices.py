"""What scheduled runs brought in, told as few tray messages as possible: grouped and rate-limited.

A run that ends by itself (nobody pressed a button) adds a :class:`RunNotice`;
a run with nothing to tell (nothing new, nothing wrong) adds nothing. The
:class:`NoticeBatcher` lets one message out at once, then at most one per
``min_gap_s`` with everything gathered meanwhile in it, so a night of runs is
one message in the morning, not twenty. Qt-free, with an injected clock: the
tray and tests drive it the same way.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_LINES = 4
"""Lines in one message; the rest is counted."""


@dataclass(frozen=True, slots=True)
class RunNotice:
    """What one run brought in and what needs a person."""

    job: str
    """The job, in words (``Kept playlists``, ``Wishlist``, ``New releases``)."""
    brought: int = 0
    """Tracks that ended up in the library."""
    attention: int = 0
    """Tracks or problems that need a person (kept failing, a service failing, a file set aside)."""
    detail: str = ""
    """One line on it (what came in, or what went wrong)."""

    @property
    def worth_telling(self) -> bool:
        return bool(self.brought or self.attention)


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    body: str
    attention: bool
    """Something needs a person (the tray shows a warning rather than information)."""


class NoticeBatcher:
    """Gathers :class:`RunNotice` objects and lets a :class:`Message` out at most once per ``min_gap_s``."""

    def __init__(self, min_gap_s: float = 900.0, clock: Callable[[], float] = time.time) -> None:
        self.min_gap_s = min_gap_s
        self.clock = clock
        self._pending: list[RunNotice] = []
        self._last_sent: float | None = None

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, notice: RunNotice) -> None:
        if notice.worth_telling:
            self._pending.append(notice)

    def next_due(self) -> float | None:
        """When :meth:`take` will have a message (None: nothing gathered)."""
        if not self._pending:
            return None
        return self.clock() if self._last_sent is None else self._last_sent + self.min_gap_s

    def take(self) -> Message | None:
        """The message for everything gathered, if one may go out now."""
        due = self.next_due()
        if due is None or self.clock() < due:
            return None
        notices, self._pending = self._pending, []
        self._last_sent = self.clock()
        return compose(notices)


def compose(notices: list[RunNotice]) -> Message:
    """One message for ``notices`` (not empty): totals in the title, a line per run in the body."""
    brought = sum(n.brought for n in notices)
    attention = sum(n.attention for n in notices)
    parts = []
    if brought:
        parts.append(f"{brought} new track{'s' if brought != 1 else ''} in your library")
    if attention:
        parts.append(f"{attention} need{'s' if attention == 1 else ''} your attention")
    lines = [f"{n.job}: {n.detail}" if n.detail else n.job for n in notices[:MAX_LINES]]
    if len(notices) > MAX_LINES:
        lines.append(f"and {len(notices) - MAX_LINES} more runs (see the Dashboard)")
    return Message("SoulSync: " + ", ".join(parts), "\n".join(lines), attention > 0)
