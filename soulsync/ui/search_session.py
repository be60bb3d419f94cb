"""One Soulseek search as the Downloads page sees it: start, live counters, stop, results.

slskd returns a search's responses only once the search completes, so the
session polls the search state for live counters (users, files) and fetches
and groups the responses the moment it completes, or when the user presses
"stop and show" (a PUT that completes it early).
"""
from __future__ import annotations

import enum
import logging
from typing import Any

from PyQt6.QtCore import QObject, pyqtSignal

from soulsync.core.gcutil import built_in_bulk
from soulsync.core.search import SearchResults
from soulsync.core.search_filters import FilterSpec, SortBy
from soulsync.core.search_grouping import group_results
from soulsync.core.search_run import SearchCancelled, SearchProgress, search_and_wait
from soulsync.core.search_text import clean_query
from soulsync.core.soulseek_query import network_query
from soulsync.ui.models.search_results import SortKeys, prepare_for_view
from soulsync.ui.workers import TaskContext, TaskHandle, run_task

log = logging.getLogger(__name__)


class SearchState(enum.StrEnum):
    """Where a search tab's search is."""

    WAITING = "waiting"
    """Held back by the search rate limit."""
    SEARCHING = "searching"
    STOPPING = "stopping"
    """Asked to complete early ("show now")."""
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def running(self) -> bool:
        """slskd is searching for it."""
        return self in (SearchState.SEARCHING, SearchState.STOPPING)

    @property
    def ended(self) -> bool:
        """It has results or an error and may run again."""
        return self in (SearchState.DONE, SearchState.FAILED)


def poll_search(ctx: TaskContext, client, text: str, timeout_ms: int, response_limit: int,
                quality_order: list[str] | None = None) -> tuple[SearchResults, SortKeys]:
    """Worker body: run the search to completion (counters reported as progress), then group its
    responses and compute every sort key (so the GUI thread only compares ready keys)."""
    try:
        responses = search_and_wait(client, text, timeout_ms, response_limit, progress=ctx.progress,
                                    wait=ctx.wait)
    except SearchCancelled:
        ctx.check()
        raise
    with built_in_bulk():
        results = group_results(responses)
        keys = prepare_for_view(results, text, quality_order)
    return results, keys


class SearchSession(QObject):
    """A search tab's state. Signals: ``progress(SearchProgress)``, ``completed()``, ``failed(str)``."""

    progress = pyqtSignal(object)
    completed = pyqtSignal()
    merged = pyqtSignal(object)
    """A repeated search finished: the SearchResults holding only what it added."""
    failed = pyqtSignal(str)

    def __init__(self, query: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cleaned = clean_query(query)
        self.query = network_query(query) or ""
        """What slskd really searches (one-character words dropped, acronyms joined); empty when
        nothing searchable is left (see :data:`~soulsync.core.soulseek_query.UNSEARCHABLE_REASON`)."""
        self.raw_query = query
        self.search_id: str | None = None
        self.results: SearchResults | None = None
        self.sort_keys: SortKeys = {}
        self.last_progress: SearchProgress | None = None
        self.error = ""
        self.state = SearchState.WAITING
        self.filter = FilterSpec()
        self.sort = SortBy.RELEVANCE
        self._handle: TaskHandle | None = None
        self._client: Any = None

    @property
    def running(self) -> bool:
        return self.state.running

    def start(self, client, timeout_ms: int, response_limit: int, quality_order: list[str] | None = None) -> None:
        self.state = SearchState.SEARCHING
        self._client = client
        self._handle = run_task(poll_search, client, self.query, timeout_ms, response_limit, quality_order,
                                owner=self,
                                on_progress=self._on_progress, on_result=self._on_result,
                                on_error=self._on_error, on_finished=self._on_finished)

    def stop_and_show(self) -> None:
        """Ask slskd to complete the search now; results follow as soon as it has."""
        if self.state != SearchState.SEARCHING or not self.search_id:
            return
        self.state = SearchState.STOPPING
        client, search_id = self._client, self.search_id
        run_task(lambda ctx: client.stop_search(search_id), owner=self,
                 on_error=lambda exc: log.warning("Stopping search failed: %s", exc))

    def cancel(self) -> None:
        if self._handle is not None and not self._handle.done:
            self._handle.cancel()
        if self.state.running or self.state == SearchState.WAITING:
            self.state = SearchState.CANCELLED

    def forget(self) -> None:
        """The tab closed: cancel, and delete the search in slskd so it does not pile up there."""
        self.cancel()
        client, search_id = self._client, self.search_id
        if client is not None and search_id:
            run_task(lambda ctx: client.delete_search(search_id),
                     on_error=lambda exc: log.info("Could not delete search %s in slskd: %s", search_id, exc))

    def _on_progress(self, p: SearchProgress) -> None:
        self.search_id = p.search_id
        self.last_progress = p
        self.progress.emit(p)

    def _on_result(self, value: tuple[SearchResults, SortKeys]) -> None:
        results, keys = value
        self.state = SearchState.DONE
        if self.results is None:
            self.results, self.sort_keys = results, keys
            self.completed.emit()
            return
        added = self._merge(results, keys)
        self.merged.emit(added)

    def _merge(self, results: SearchResults, keys: SortKeys) -> SearchResults:
        """Add what a repeated search found that this tab does not show yet; returns only that."""
        assert self.results is not None
        seen = {a.key for a in self.results.albums} | {t.key for t in self.results.singles}
        added = SearchResults(albums=[a for a in results.albums if a.key not in seen],
                              singles=[t for t in results.singles if t.key not in seen])
        self.results.albums.extend(added.albums)
        self.results.singles.extend(added.singles)
        self.results.users = max(self.results.users, results.users)
        for by, table in keys.items():
            self.sort_keys.setdefault(by, {}).update(
                (id(item), table[id(item)]) for item in (*added.albums, *added.singles))
        return added

    def _on_error(self, exc: Exception) -> None:
        from soulsync.services.checks import describe_error

        self.state = SearchState.FAILED
        self.error = describe_error(exc, "slskd")[1]
        self.failed.emit(self.error)

    def _on_finished(self) -> None:
        self._handle = None
