"""Blocking searches for one wanted track (the download queue's ``find_candidates``) and the wishlist retry."""
from __future__ import annotations

from soulsync.core.analysis import CancelFn
from soulsync.core.download_missing import DownloadMissing, _kind
from soulsync.core.search_run import SearchClient, SearchSettings
from soulsync.core.run_progress import DownloadReport
from soulsync.core.soulseek_query import query_forms
import logging
import time
from collections.abc import Callable
from typing import Any

from soulsync.core.result_ranking import Candidate, rank_search_results
from soulsync.core.models import Track
from soulsync.core.quality import QualityPrefs
from soulsync.core.ratelimit import SearchRateLimiter
from soulsync.core.search_run import (
    SearchCancelled, search_and_wait,
)

log = logging.getLogger(__name__)




class TrackFinder:
    """A blocking search for one wanted track: the download queue's ``find_candidates``.

    Tries :func:`query_forms` in order within the rate limit and returns the
    ranked candidates of the first form that finds any (empty when none does).
    Service errors propagate (the queue retries later).
    """

    def __init__(self, client: SearchClient, prefs: QualityPrefs | None = None,
                 limiter: SearchRateLimiter | None = None, settings: SearchSettings | None = None,
                 is_cancelled: CancelFn | None = None, poll_interval_s: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.prefs = prefs or QualityPrefs()
        self.limiter = limiter if limiter is not None else SearchRateLimiter()
        self.settings = settings or SearchSettings()
        self._is_cancelled = is_cancelled
        self._poll = poll_interval_s
        self._sleep = sleep

    def __call__(self, track: Track) -> list[Candidate]:
        for query in query_forms(track):
            responses = self._search(query)
            if responses is None:
                return []
            candidates = rank_search_results(track, responses, self.prefs)
            if candidates:
                return candidates[:self.settings.max_candidates]
        return []

    def _cancelled(self) -> bool:
        return self._is_cancelled is not None and self._is_cancelled()

    def _search(self, query: str) -> list[dict] | None:
        """The responses of one search (run with :func:`~soulsync.core.search_run.search_and_wait`); None when cancelled."""
        while not self.limiter.try_acquire():
            if self._cancelled():
                return None
            self._sleep(min(max(self.limiter.time_until_free(), self._poll), 5.0))
        s = self.settings

        def wait(seconds: float) -> bool:
            self._sleep(seconds)
            return self._cancelled()

        try:
            return search_and_wait(self.client, query, s.search_timeout_ms, s.response_limit,
                                   cancelled=self._cancelled, wait=wait, poll_s=self._poll,
                                   hard_limit_s=s.hard_limit_s, finalize_grace_s=s.finalize_grace_s, forget=True)
        except SearchCancelled:
            return None
        except Exception as exc:
            if _kind(exc) == "refused":  # this form can never be searched; the next one may
                log.info("slskd refused the search %r: %s", query, exc)
                return []
            raise


# ----------------------------------------------------------------------------- wishlist


def retry_wishlist(store: Any, **options: Any) -> DownloadReport:
    """Run :class:`DownloadMissing` over every wishlist track (by hand or on a schedule).

    ``options`` are :class:`DownloadMissing`'s keyword arguments (``client``,
    ``queue``, ``drive_queue``, callbacks...). Tracks found this time leave the
    wishlist; the others stay with the new reason and one more attempt counted.
    """
    wanted = [(track, None) for track, _reason, _attempts in store.wishlist()]
    return DownloadMissing(wanted, store=store, **options).run()
