"""The ``/searches`` endpoints of the slskd simulation: request parsing and answers.

The searches themselves (Soulseek's matching, the two network slots, the two-write completion) are
the world model of :mod:`soulsync.sim.slskd_searches`, whose docstring cites the sources.
"""
from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from soulsync.sim.base import Request, Response
from soulsync.sim.slskd_model import CONCURRENCY_MESSAGE, GUID, SEARCH_DEFAULTS, SimClock, SimSearch, parse_bool
from soulsync.sim.slskd_searches import SearchRefused


class SearchRoutesMixin:
    """The search handlers of :class:`~soulsync.sim.slskd.SlskdSim` (which provides the world's search
    methods, the lock, clock and error bodies)."""

    # provided by SlskdSim
    _lock: Any
    _searches: dict[str, SimSearch]
    _search_gate: threading.Semaphore
    clock: SimClock
    version_tuple: tuple[int, ...]
    search_post_delay: float
    register_search: Any
    find_search: Any

    def _search_start(self, req: Request) -> Response:
        concurrency_limited = self.version_tuple >= (0, 24)
        if concurrency_limited and not self._search_gate.acquire(blocking=False):
            return self.error_response(429, req, CONCURRENCY_MESSAGE)  # type: ignore[attr-defined]
        try:
            return self._search_post(req)
        finally:
            if concurrency_limited:
                self._search_gate.release()

    def _search_post(self, req: Request) -> Response:
        error = self.error_response  # type: ignore[attr-defined]
        try:
            body = req.json()
        except ValueError:
            return error(400, req, "The request body is not valid JSON")
        if not isinstance(body, dict):
            return error(400, req, "The request body must be a SearchRequest object")
        fields = {k.lower(): v for k, v in body.items()}
        text = fields.get("searchtext")
        if not isinstance(text, str) or not text.strip():
            return error(400, req, "The field SearchText can not be null, empty, or consist of only whitespace")
        options = {key: fields.get(key.lower(), default) for key, default in SEARCH_DEFAULTS.items()}
        try:
            timeout_ms = int(options["searchTimeout"])
            response_limit = int(options["responseLimit"])
            file_limit = int(options["fileLimit"])
        except (TypeError, ValueError):
            return error(400, req, "One or more search options are not valid numbers")
        if timeout_ms < 5:
            return error(400, req, "The field SearchTimeout must be between 5 and 2147483647.")
        search_id = str(fields.get("id") or uuid.uuid4())
        if not GUID.match(search_id):
            return error(400, req, "The JSON value could not be converted to System.Guid. Path: $.id")
        search_id = str(uuid.UUID(search_id))
        time.sleep(min(1.0, self.search_post_delay / self.clock.time_scale))
        filters = {k: options[k] for k in ("filterResponses", "maximumPeerQueueLength", "minimumPeerUploadSpeed",
                                           "minimumResponseFileCount")}
        with self._lock:  # answered as registered ("Queued"), before a tick can start it
            try:
                search = self.register_search(search_id, text, timeout_ms, response_limit, file_limit, filters)
            except SearchRefused as refused:
                return error(refused.status, req, refused.message)
            return Response.json(search.as_json())

    def _search_list(self, req: Request) -> Response:
        with self._lock:
            return Response.json([s.as_json() for s in self._searches.values()])

    def _search_get(self, req: Request) -> Response:
        with self._lock:
            search = self.find_search(req.params.get("id", ""))
            if search is None:
                return self.error_response(404, req)  # type: ignore[attr-defined]
            return Response.json(search.as_json(parse_bool(req.arg("includeResponses", "false"))))

    def _search_responses(self, req: Request) -> Response:
        with self._lock:
            search = self.find_search(req.params.get("id", ""))
            if search is None:
                return self.error_response(404, req)  # type: ignore[attr-defined]
            return Response.json(list(search.received) if search.ended else [])

    def _search_stop(self, req: Request) -> Response:
        with self._lock:
            search = self.find_search(req.params.get("id", ""))
            if search is None:
                return self.error_response(404, req)  # type: ignore[attr-defined]
            if not search.complete:
                search.cancel_requested = True  # cancellation lands on the next tick, as in slskd
            return Response(200, b"", content_type="")

    def _search_delete(self, req: Request) -> Response:
        with self._lock:
            search = self.find_search(req.params.get("id", ""))
            if search is None:
                return self.error_response(404, req)  # type: ignore[attr-defined]
            del self._searches[search.id]
            search.deleted = True  # the network search goes on and keeps its slot
            return Response.empty(204)
