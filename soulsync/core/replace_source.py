"""Replacing a queue item's source with a Soulseek file the user picked (the Fix… workflow).

The steps, Qt-free so tests drive them without a window:

* :func:`search_sources` searches Soulseek once and ranks the files for the
  wanted track (:func:`~soulsync.core.matching.rank_search_results`);
* :class:`SourceChoice` is one file the user may pick, with what the ranking
  said about it and why it failed before; :func:`source_choices` turns ranked
  or stored candidates into the choices worth showing;
* :class:`SourceReplacement` is the replacement itself as a small state
  machine: its :meth:`~SourceReplacement.request` is queued with the same
  wanted track and metadata (the replaced attempt recorded under
  ``meta.earlier_attempts``), then the old attempt is cancelled (if it still
  runs) and removed from the queue. The front end feeds it the queue's answers
  and carries out the :class:`ReplacementStep` each one returns.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable

from soulsync.core.result_ranking import Candidate, rank_search_results
from soulsync.core.models import Track
from soulsync.core.quality import QualityPrefs
from soulsync.core.search_run import search_and_wait
from soulsync.core.slskd_files import file_name
from soulsync.core.store_records import QueueItem, QueueMeta

SEARCH_POLL_S = 0.4
SEARCH_HARD_LIMIT_S = 45.0
"""A Soulseek search still running after this long is stopped and its results shown."""
MAX_RESULTS = 200
@dataclass(slots=True)
class SourceChoice:
    """One Soulseek file the user may pick, with what the ranking said about it."""

    username: str
    filename: str
    size: int = 0
    score: float | None = None
    quality: str = ""
    reason: str = ""
    tried: str = ""
    """Why this source failed before (empty when it was not tried)."""

    @classmethod
    def of(cls, entry: Candidate | dict, tried: dict[tuple[str, str], str]) -> "SourceChoice | None":
        """From a ranked :class:`Candidate` or a stored candidate dict; None when unusable."""
        if isinstance(entry, Candidate):
            values = {"username": entry.username, "filename": entry.filename, "size": entry.size,
                      "score": entry.score, "quality": entry.quality, "reason": entry.reason}
        elif isinstance(entry, dict):
            values = entry
        else:
            return None
        username, filename = values.get("username"), values.get("filename")
        if not isinstance(username, str) or not username or not isinstance(filename, str) or not filename:
            return None
        size = values.get("size")
        score = values.get("score")
        return cls(username, filename, size if isinstance(size, int) and size >= 0 else 0,
                   float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None,
                   str(values.get("quality") or ""), str(values.get("reason") or ""),
                   tried.get((username, filename), ""))

    @property
    def candidate(self) -> dict:
        """As the queue stores a candidate."""
        out: dict[str, Any] = {"username": self.username, "filename": self.filename, "size": self.size}
        if self.score is not None:
            out["score"] = self.score
        if self.quality:
            out["quality"] = self.quality
        if self.reason:
            out["reason"] = self.reason
        return out


def tried_sources(item: QueueItem) -> list[tuple[str, str, str]]:
    """``(user, remote file, why it failed)`` of every source tried, oldest first (replaced attempts too)."""
    out = []
    for entry in [*item.meta.earlier_attempts, *item.tried]:
        if isinstance(entry, (list, tuple)) and len(entry) >= 2 and all(isinstance(x, str) for x in entry[:2]):
            why = entry[2] if len(entry) > 2 and isinstance(entry[2], str) else ""
            out.append((entry[0], entry[1], why))
    return out


def source_choices(item: QueueItem, entries: Iterable[Candidate | dict]) -> list[SourceChoice]:
    """The usable choices among ``entries`` for ``item``, in order, without its current source;
    sources tried before say why they failed."""
    tried = {(u, f): why or "failed" for u, f, why in tried_sources(item)}
    current = (item.username, item.filename)
    return [c for c in (SourceChoice.of(x, tried) for x in entries)
            if c is not None and (c.username, c.filename) != current]


def search_sources(client: Any, query: str, wanted: Track, prefs: QualityPrefs, timeout_ms: int,
                   response_limit: int, progress: Callable[[tuple[int, int]], None],
                   wait: Callable[[float], bool]) -> tuple[list[Candidate], int]:
    """One Soulseek search, ``(users, files)`` counters as progress, then its files ranked for ``wanted``.

    Returns the ranked candidates and how many users answered. The search is
    stopped when ``wait`` says it was cancelled (raising
    :class:`~soulsync.core.search_run.SearchCancelled`) or after
    :data:`SEARCH_HARD_LIMIT_S` of running, and deleted from slskd afterwards
    (:func:`~soulsync.core.search_run.search_and_wait`).
    """
    responses = search_and_wait(client, query, timeout_ms, response_limit,
                                progress=lambda p: progress((p.responses, p.files)), wait=wait,
                                poll_s=SEARCH_POLL_S, hard_limit_s=SEARCH_HARD_LIMIT_S, forget=True)
    return rank_search_results(wanted, responses, prefs)[:MAX_RESULTS], len(responses)


@dataclass(frozen=True, slots=True)
class ReplacementRequest:
    """What to queue for a replacement: the chosen file with the old attempt's wanted track and metadata."""

    files: list[tuple[str, str, int]]
    wanted: Track | None
    candidates: list[dict]
    """The chosen file first, then the alternatives not tried yet."""
    source: str
    group_id: str | None
    meta: QueueMeta


class ReplacementStep(enum.Enum):
    """What the front end does after telling :class:`SourceReplacement` something."""

    WAIT = "wait"
    """Nothing yet."""
    CANCEL_OLD = "cancel_old"
    """Cancel the old attempt and report its changes until it has finished."""
    REMOVE_OLD = "remove_old"
    """Remove the old attempt from the queue; the replacement is over."""
    OVER = "over"
    """The replacement is over; nothing else to do."""


class SourceReplacement:
    """Replace ``item``'s attempt with ``choice``: queue the choice, then retire the old attempt.

    ``result`` is ``(ok, message)`` once the queueing of the new file is known
    (set once; a later step never changes it) and ``over`` is True when the
    front end has nothing left to do.
    """

    def __init__(self, item: QueueItem, choice: SourceChoice, alternatives: Iterable[SourceChoice]) -> None:
        self.item = item
        self.choice = choice
        self.alternatives = [a for a in alternatives
                             if (a.username, a.filename) != (choice.username, choice.filename) and not a.tried]
        self.result: tuple[bool, str] | None = None
        self.over = False

    def request(self) -> ReplacementRequest:
        """The new queue entry (the replaced attempt joins its ``meta.earlier_attempts``)."""
        item, choice = self.item, self.choice
        meta = replace(item.meta, earlier_attempts=(
            *tried_sources(item), (item.username, item.filename, "replaced by you")))
        return ReplacementRequest([(choice.username, choice.filename, choice.size)], item.wanted,
                                  [choice.candidate, *(a.candidate for a in self.alternatives)],
                                  item.source, item.group_id, meta)

    def queued(self, changed: bool) -> ReplacementStep:
        """The queue answered the request; ``changed`` is False when the file was queued already."""
        if self.over:
            return ReplacementStep.WAIT
        if not changed:
            self._settle(False, f"{file_name(self.choice.filename)} from {self.choice.username} is already in "
                                "the queue.")
            return self._end(ReplacementStep.OVER)
        self._settle(True, "")
        if self.item.finished:
            return self._end(ReplacementStep.REMOVE_OLD)
        return ReplacementStep.CANCEL_OLD

    def old_changed(self, old: QueueItem) -> ReplacementStep:
        """The old attempt changed after it was cancelled."""
        if old.finished and not self.over:
            return self._end(ReplacementStep.REMOVE_OLD)
        return ReplacementStep.WAIT

    def error(self, text: str) -> ReplacementStep:
        """The queue reported an error before it answered the request."""
        if text and self.result is None:
            self._settle(False, text)
            return self._end(ReplacementStep.OVER)
        return ReplacementStep.WAIT

    def timed_out(self) -> ReplacementStep:
        """The queue did not answer in time: give up (the old attempt may stay)."""
        self._settle(False, "The download queue did not answer; see the Downloads page.")
        return self._end(ReplacementStep.OVER)

    def _settle(self, ok: bool, message: str) -> None:
        if self.result is None:
            self.result = (ok, message)

    def _end(self, step: ReplacementStep) -> ReplacementStep:
        self.over = True
        return step
