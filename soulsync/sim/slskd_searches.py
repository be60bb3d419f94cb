"""The searches of the slskd simulation as a world model: the Soulseek side of a search, and what peers share.

No HTTP here: :mod:`soulsync.sim.slskd_search_routes` parses the ``/searches`` requests. Responses are
kept as slskd stores them (the records its API later returns).

What real slskd does, and where it is written (``../shared/reference/service-apis.md`` 1.5):

* Query rules (Soulseek.NET ``src/SearchQuery.cs``, ``src/SoulseekClient.cs`` ``SearchAsync``): the
  text is split on spaces; a query with no term answers 400; while logged out 409; then every
  term of one UTF-16 code unit is dropped (``removeSingleCharacterSearchTerms``, always on in
  slskd) and a query with no term left answers 400. Each refused search stays listed as
  ``Completed, Errored`` with ``endedAt`` equal to ``startedAt`` (``SearchService.StartAsync``'s
  catch block rewrites the record it already inserted). A POST with an id that exists fails
  with EF Core's ``DbUpdateException`` as 500; the existing record is untouched.
* At most two network searches at once (``maximumConcurrentSearches: 2`` in slskd's
  ``Program.cs``), shared by everything that uses the slskd; the rest wait ``Queued`` with their
  ``searchTimeout`` not started (``SearchInternal.SetState`` starts it at ``InProgress``). The
  POST answers ``Queued``.
* Completion is two writes (``SearchService.StartAsync``): ``Completed, <reason>`` with final
  counts first, no ``endedAt`` and ``/responses`` still ``[]``; ``endedAt`` and the responses
  only after the completion window, which grows with the number of files.
* DELETE removes the record only (``DeleteAsync`` never calls ``TryCancel``): a running search
  keeps its slot until its own timeout or limit ends it; PUT cancels it.
"""
from __future__ import annotations

import secrets
import uuid
import zlib
from typing import Any

from soulsync.core.models import Track
from soulsync.sim.audio import AudioSpec
from soulsync.sim.peers import ANNOUNCE_BASIC, ANNOUNCE_NONE, Peer, SharedFile, release_files
from soulsync.sim.slskd_model import GUID, PendingResponse, SearchQuery, SimSearch, fold_words, parse_bool

NO_TERM_MESSAGE = "Search query must contain at least one non-exclusion term (Parameter 'query')"
SHORT_TERMS_MESSAGE = ("Search query must contain at least one non-exclusion term with length greater than 1 "
                       "(Parameter 'query')")
LOGGED_OUT_MESSAGE = ("The server connection must be connected and logged in to perform a search "
                      "(currently: Disconnected)")
DUPLICATE_ID_MESSAGE = "An error occurred while saving the entity changes. See the inner exception for details."
"""EF Core's ``DbUpdateException`` text, which slskd's generic catch returns with 500."""
MAX_CONCURRENT_SEARCHES = 2
"""slskd builds its ``SoulseekClient`` with ``maximumConcurrentSearches: 2`` (hard-coded, 0.24.5 ... HEAD)."""


class SearchRefused(Exception):
    """A search slskd refuses: the HTTP status and message it answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SearchesMixin:
    """The search half of :class:`~soulsync.sim.slskd.SlskdSim` (it provides the lock, clock,
    peers, login state and ``error_response`` this mixin uses)."""

    # provided by SlskdSim
    _lock: Any
    clock: Any
    peers: list[Peer]
    version_tuple: tuple[int, ...]
    _logged_in: bool
    factory: Any

    def _init_searches(self) -> None:
        import threading

        self._searches: dict[str, SimSearch] = {}
        """The records the API lists (DELETE removes them)."""
        self._network: list[SimSearch] = []
        """Network searches not yet completed, oldest first, deleted records included."""
        self._search_gate = threading.Semaphore(1)
        self._word_index: dict[str, list[tuple[frozenset[str], SharedFile]]] = {}
        self._index_lock = threading.Lock()
        self.max_concurrent_searches = MAX_CONCURRENT_SEARCHES
        self.search_post_delay = 0.05
        """Simulated seconds a search POST takes (registering the search); at most 1 s real."""
        self.completion_window_s = 1.0
        """Simulated seconds between ``Completed`` and ``endedAt`` for a search without results ..."""
        self.completion_window_per_1000_files_s = 1.5
        """... plus this much per thousand files (serialising every file, then one SQLite write)."""
        self.completion_window_max_s = 10.0

    # ---- public Python API ---------------------------------------------------
    def searches_running(self) -> list[SimSearch]:
        """The network searches holding one of the two slots (deleted records included)."""
        with self._lock:
            return [s for s in self._network if s.running]

    def searches_queued(self) -> list[SimSearch]:
        with self._lock:
            return [s for s in self._network if s.state == "Queued"]

    def finalize_searches(self, ids: list[str] | None = None) -> None:
        """Land the second write of the completed searches ``ids`` (default: all) now (tests hold
        the window open with a long :attr:`completion_window_s` and end it here)."""
        with self._lock:
            now = self.clock.now()
            for search in self._searches.values():
                if ids is not None and search.id not in ids:
                    continue
                if search.finalize_at is not None and search.ended_utc is None:
                    search.finalize_at = now
                    search.ended_utc = self.clock.utc(now)

    # ---- what peers share (changed at run time) ------------------------------------
    def share_tracks(self, tracks: list[Track], peers: int = 3, encoding: str = "flac") -> list[str]:
        """Tidy, tagged copies of recordings (a new release, a rarity that turned up) on ``peers`` fast,
        online peers with a free slot, in their usual share roots; searches find them from now on and
        they download like any shared file. Returns the usernames, in the order peers were picked."""
        picked = [p for p in self.peers if p.kind == "fast" and not p.offline and p.free_slot][:max(0, peers)]
        for peer in picked:
            root = peer.files[0].path.split("\\", 1)[0] if peer.files else f"@@{peer.username[:5]}"
            with self._lock, self._index_lock:
                peer.share(release_files(tracks, root, encoding))
                self._word_index.pop(peer.username, None)  # rebuilt on the next search
        return [p.username for p in picked]

    def unshare_tracks(self, spotify_ids: list[str], isrcs: list[str] | tuple[str, ...] = ()) -> int:
        """No peer shares these tracks, nor any release of these ISRCs, any more (a recording nobody has);
        returns how many files went."""
        gone, recordings = set(spotify_ids), set(isrcs)
        removed = 0
        with self._lock, self._index_lock:
            for peer in self.peers:
                went = peer.unshare(gone, recordings)
                if went:
                    removed += went
                    self._word_index.pop(peer.username, None)
        return removed

    def sharers(self, spotify_id: str) -> list[str]:
        """Usernames of the peers sharing an audio file of this recording."""
        with self._lock:
            return [p.username for p in self.peers
                    if any(f.track is not None and f.track.spotify_id == spotify_id for f in p.files)]

    def _cancel_searches(self) -> None:
        """Every search in flight ends cancelled (slskd lost its server connection)."""
        with self._lock:
            for search in list(self._network):
                self._finish_search(search, "Completed, Cancelled")

    def _forget_searches(self) -> None:
        with self._lock:
            self._searches.clear()
            self._network.clear()

    # ---- starting a search ------------------------------------------------------------
    def register_search(self, search_id: str, text: str, timeout_ms: int, response_limit: int, file_limit: int,
                        filters: dict[str, Any]) -> SimSearch:
        """Record a search and queue its network side, as ``SearchService.StartAsync`` does; raises
        :class:`SearchRefused` with slskd's status and words for a duplicate id or a query Soulseek.NET
        refuses (the refused record stays listed as ``Completed, Errored``)."""
        query = SearchQuery.parse(text)
        with self._lock:
            if search_id in self._searches or any(s.id == search_id for s in self._network):
                raise SearchRefused(500, DUPLICATE_ID_MESSAGE)
            now = self.clock.now()
            search = SimSearch(
                id=search_id, text=query.stored_text() or text, network_text=query.network_text(),
                token=secrets.randbelow(2**31 - 1) + 1, started=now, started_utc=self.clock.utc(now),
                timeout_s=timeout_ms / 1000.0, response_limit=max(1, response_limit),
                file_limit=max(1, file_limit), filters=filters, last_activity=now,
            )
            self._searches[search_id] = search  # inserted before Soulseek.NET checks the query
            refusal = self._refusal(query)
            if refusal is not None:
                search.state = "Completed, Errored"
                search.ended_utc = search.started_utc
                raise SearchRefused(*refusal)
            self._network.append(search)
            return search

    def _refusal(self, query: SearchQuery) -> tuple[int, str] | None:
        """Soulseek.NET's checks, in its order: no term, not logged in, no term longer than one character."""
        if not query.terms:
            return 400, NO_TERM_MESSAGE
        if not self._logged_in:
            return 409, LOGGED_OUT_MESSAGE
        if not query.network_terms():
            return 400, SHORT_TERMS_MESSAGE
        return None

    def find_search(self, raw_id: str) -> SimSearch | None:
        """The listed search of an id as the API takes it (any GUID spelling), or None."""
        if not GUID.match(raw_id):
            return None
        return self._searches.get(str(uuid.UUID(raw_id)))

    # ---- matching -----------------------------------------------------------------
    def _peer_words(self, peer: Peer) -> list[tuple[frozenset[str], SharedFile]]:
        """The words of each shared path (built on first use; :meth:`start` builds them in the background)."""
        with self._index_lock:
            index = self._word_index.get(peer.username)
            if index is None:
                index = self._word_index[peer.username] = [(frozenset(fold_words(f.path)), f) for f in peer.files]
            return index

    def _build_index(self) -> None:
        for peer in list(self.peers):
            self._peer_words(peer)

    def _match(self, text: str, now: float) -> list[PendingResponse]:
        """Which peers answer ``text`` with which files, and when (Soulseek word matching:
        every term is a word of the path, ``-term`` excludes, ``*erm`` matches a word ending)."""
        include: list[str] = []
        exclude: list[str] = []
        suffixes: list[str] = []
        for raw in text.split():
            if raw.startswith("-"):
                exclude += fold_words(raw[1:])
            elif raw.startswith("*"):
                suffixes += fold_words(raw[1:])
            else:
                include += fold_words(raw)
        if not include and not suffixes:
            return []
        required = frozenset(include)
        pending = []
        for peer in self.peers:
            files: list[SharedFile] = []
            locked: list[SharedFile] = []
            for words, shared in self._peer_words(peer):
                if not required <= words or any(w in words for w in exclude):
                    continue
                if suffixes and not all(any(w.endswith(s) and w != s for w in words) for s in suffixes):
                    continue
                (locked if shared.locked else files).append(shared)
                if len(files) + len(locked) >= peer.max_results:
                    break
            if files or locked:
                jitter = 0.8 + zlib.crc32(f"{peer.username}\0{text}".encode("utf-8")) % 400 / 1000.0
                pending.append(PendingResponse(now + peer.latency * jitter, peer, files, locked))
        pending.sort(key=lambda p: p.due)
        return pending

    def _file_json(self, peer: Peer, shared: SharedFile) -> dict:
        spec = shared.spec
        ext = shared.extension
        body: dict[str, Any] = {"code": 1, "extension": ext if peer.sends_extension else "",
                                "filename": shared.path, "size": self.factory.size(spec), "isLocked": False}
        if isinstance(spec, AudioSpec) and peer.announce != ANNOUNCE_NONE:
            lossless = spec.fmt in ("flac", "wav", "m4a")
            if peer.announce == ANNOUNCE_BASIC:
                bitrate = self.factory.bitrate(spec)
                body["bitRate"] = bitrate if bitrate is not None else round(body["size"] * 8 / 1000 / spec.duration_s)
            elif lossless:
                body["bitDepth"] = spec.bit_depth
                body["sampleRate"] = spec.sample_rate
            else:
                body["bitRate"] = self.factory.bitrate(spec)
            body["length"] = spec.duration_s
            if spec.fmt == "mp3" and peer.announce != ANNOUNCE_BASIC:
                body["isVariableBitRate"] = spec.vbr_level is not None
        return body

    def _response_json(self, pending: PendingResponse, token: int) -> dict:
        peer = pending.peer
        return {
            "fileCount": len(pending.files),
            "files": [self._file_json(peer, f) for f in pending.files],
            "hasFreeUploadSlot": peer.free_slot,
            "lockedFileCount": len(pending.locked),
            "lockedFiles": [self._file_json(peer, f) for f in pending.locked],
            "queueLength": peer.queue_length,
            "token": token,
            "uploadSpeed": peer.upload_speed,
            "username": peer.username,
        }

    @staticmethod
    def _passes_filters(search: SimSearch, response: dict) -> bool:
        filters = search.filters
        if not parse_bool(filters["filterResponses"]):
            return True
        try:
            return (response["fileCount"] + response["lockedFileCount"] >= int(filters["minimumResponseFileCount"])
                    and response["queueLength"] < int(filters["maximumPeerQueueLength"])
                    and response["uploadSpeed"] >= int(filters["minimumPeerUploadSpeed"]))
        except (TypeError, ValueError):
            return True

    # ---- the network side -----------------------------------------------------------
    def _completion_window(self, search: SimSearch) -> float:
        files = search.file_count + search.locked_file_count
        return min(self.completion_window_max_s,
                   self.completion_window_s + self.completion_window_per_1000_files_s * files / 1000.0)

    def _finish_search(self, search: SimSearch, state: str) -> None:
        """Soulseek.NET's ``Completed | <reason>``: the first write; ``endedAt`` and responses follow."""
        search.state = state
        search.pending.clear()
        search.finalize_at = self.clock.now() + self._completion_window(search)
        if search in self._network:
            self._network.remove(search)

    def _tick_searches(self, now: float) -> None:
        with self._lock:
            self._start_queued(now)
            due: list[tuple[SimSearch, PendingResponse]] = []
            for search in list(self._network):
                if search.cancel_requested:
                    self._finish_search(search, "Completed, Cancelled")
                    continue
                while search.running and search.pending and search.pending[0].due <= now:
                    due.append((search, search.pending.pop(0)))
        built = [(search, pending, self._response_json(pending, search.token)) for search, pending in due]
        with self._lock:
            for search, pending, response in built:
                if search.complete or not self._passes_filters(search, response):
                    continue
                search.received.append(response)
                search.response_count += 1
                search.file_count += response["fileCount"]
                search.locked_file_count += response["lockedFileCount"]
                search.last_activity = max(search.last_activity, pending.due)
                if search.response_count >= search.response_limit:
                    self._finish_search(search, "Completed, ResponseLimitReached")
                elif search.file_count >= search.file_limit:
                    self._finish_search(search, "Completed, FileLimitReached")
            for search in list(self._network):
                if search.running and now >= search.last_activity + search.timeout_s:
                    self._finish_search(search, "Completed, TimedOut")
            self._start_queued(now)
            for search in self._searches.values():
                if search.finalize_at is not None and search.ended_utc is None and now >= search.finalize_at:
                    search.ended_utc = self.clock.utc(now)

    def _start_queued(self, now: float) -> None:
        """Give free slots to queued searches, oldest first; their timeout starts now."""
        running = sum(1 for s in self._network if s.running)
        for search in list(self._network):
            if running >= self.max_concurrent_searches:
                return
            if search.state != "Queued" or search.cancel_requested:
                continue
            if search.deleted:  # it sends its request, then its first state update fails and it ends
                self._network.remove(search)
                continue
            search.state = "InProgress"
            search.last_activity = now
            search.pending = self._match(search.network_text, now)
            running += 1
