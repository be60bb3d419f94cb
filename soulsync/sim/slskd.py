"""A protocol-faithful slskd simulation on 127.0.0.1.

Speaks slskd's HTTP API (``/api/v0``) the way slskd 0.26.0 (default), 0.25.x,
0.24.5 or older does (see ``../shared/reference/service-apis.md`` section 1),
on a Linux or a Windows host (which decides the local file names): API-key and JWT auth,
application/server state, options, searches with Soulseek's semantics (counts
rise while simulated peers answer at their own latency, responses are only
returned once the search completes, ``searchTimeout`` in milliseconds counted
from the last response), enqueue with the 0.24+ ``{enqueued, failed}`` reply or
the older empty 201, the grouped ``transfers/downloads`` listing with exact
state strings, and cancel/remove semantics.

An enqueue answers only once the peer was reached (each peer's ``connect_s``;
an unreachable one fails after the connect timeout), holding one of two enqueue
slots meanwhile. Downloads run in simulated time on a background ticker:
``Queued, Locally`` -> ``Requested`` -> ``Queued, Remotely`` -> ``Initializing``
-> ``InProgress`` -> ``Completed, Succeeded`` (or a failed ``Completed, *``,
which 0.26 retries), at each peer's speed multiplied by ``time_scale``. The file
grows in the incomplete directory while in progress and is then moved to the
downloads directory: ``<last remote folder>/<file>`` up to 0.25, the
``transfers.download.destination`` pattern with the share root stripped from
0.26 (``_<ticks>`` before the extension on a clash), as slskd does. Files are
real audio (see :mod:`soulsync.sim.audio`).

Faults, besides the generic ones of :mod:`soulsync.sim.base`: peers that stall
or fail mid-transfer, transfers ending ``Completed, Rejected``/``TimedOut``/
``Errored``/``Aborted`` (:attr:`SlskdSim.transfer_faults`), slskd logged out of
Soulseek (:meth:`SlskdSim.logout`), a restart that forgets every transfer
(:meth:`SlskdSim.restart`), offline peers (:meth:`SlskdSim.set_peer`), and
expired JWTs (:meth:`SlskdSim.expire_tokens`). All are also reachable over
HTTP under ``/__sim/`` (see :meth:`SlskdSim.control`).
"""
from __future__ import annotations

import logging
import os
import random
import re
import secrets
import socket
import threading
import time
import uuid
import weakref
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote

from soulsync.sim.audio import FileFactory
from soulsync.sim.base import Request, Response, SimServer
from soulsync.sim.catalog import Catalog
from soulsync.sim.peers import Peer, build_peers
from soulsync.sim.slskd_extras import SlskdExtras
from soulsync.sim.slskd_model import (
    CANCELLED_MESSAGE, CONCURRENCY_MESSAGE, GUID, HOST_OSES, PEER_TIMEOUT_MS, RetryOptions, SimClock, SimTransfer,
    TransferFault, TransferFaults, directory_name, dotnet_ticks, parse_bool, version_tuple,
)
from soulsync.sim.slskd_auth import AuthMixin
from soulsync.sim.slskd_control import ControlMixin
from soulsync.sim.slskd_search_routes import SearchRoutesMixin
from soulsync.sim.slskd_searches import SearchesMixin
from soulsync.sim.slskd_transfers import TransfersMixin

__all__ = ["SlskdSim", "TransferFault", "CANCELLED_MESSAGE", "CONCURRENCY_MESSAGE", "dotnet_ticks"]

log = logging.getLogger(__name__)

API = "/api/v0"
TICK_SECONDS = 0.02
"""Real seconds between ticks of the simulated world."""



# ---------------------------------------------------------------------------
# the simulation
# ---------------------------------------------------------------------------

class SlskdSim(ControlMixin, AuthMixin, SearchRoutesMixin, SearchesMixin, TransfersMixin, SimServer):
    """The slskd simulation.

    ``catalog_or_peers``: a :class:`~soulsync.sim.catalog.Catalog` (peers are built from it with
    ``seed``) or a ready list of :class:`~soulsync.sim.peers.Peer`. ``downloads_dir`` receives
    finished files; ``incomplete_dir`` (default: ``incomplete`` next to it) holds growing ones.
    ``api_key`` (generated when None) and ``username``/``password`` (for JWT login) are the web
    credentials; ``auth_enabled=False`` lets every request in. ``version`` is reported and picks
    version-dependent behaviour (enqueue reply, remove semantics, transfer fields, search 429,
    download retries, where files land); ``enqueue_style`` (``"0.24"`` or ``"legacy"``) overrides
    the enqueue reply alone. ``host_os`` (``"linux"`` or ``"windows"``) is the OS slskd runs on,
    whose invalid file-name characters it replaces with ``_`` in local names; ``host`` is the
    address the simulation listens on.
    ``time_scale`` speeds up the simulated world (peer latencies, timeouts, transfer speeds).
    ``cache_dir`` is where synthesized files are cached (see :class:`FileFactory`).
    """

    name = "slskd"

    def __init__(
        self,
        catalog_or_peers: Catalog | list[Peer],
        downloads_dir: str | os.PathLike[str],
        incomplete_dir: str | os.PathLike[str] | None = None,
        api_key: str | None = None,
        username: str = "slskd",
        password: str = "slskd",
        time_scale: float = 1.0,
        enqueue_style: str | None = None,
        version: str = "0.26.0",
        *,
        host_os: str = "linux",
        seed: int = 1,
        cache_dir: str | os.PathLike[str] | None = None,
        url_base: str = "",
        soulseek_username: str = "soulsync_demo",
        auth_enabled: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        if enqueue_style not in (None, "0.24", "legacy"):
            raise ValueError("enqueue_style must be '0.24' or 'legacy'")
        if host_os not in HOST_OSES:
            raise ValueError(f"host_os must be one of {HOST_OSES}")
        self.peers: list[Peer] = (build_peers(catalog_or_peers, seed) if isinstance(catalog_or_peers, Catalog)
                                  else list(catalog_or_peers))
        self._peers_by_name = {p.username: p for p in self.peers}
        self.downloads_dir = Path(downloads_dir).resolve()
        self.incomplete_dir = (Path(incomplete_dir) if incomplete_dir else self.downloads_dir.parent / "incomplete").resolve()
        self.downloads_dir.mkdir(parents=True, exist_ok=True)
        self.incomplete_dir.mkdir(parents=True, exist_ok=True)
        self.api_key = api_key or secrets.token_hex(16)
        self.username = username
        self.password = password
        self.auth_enabled = auth_enabled
        self.version = version
        self.version_tuple = version_tuple(version)
        self.host_os = host_os
        self.retry = RetryOptions()
        """``transfers.download.retry`` (0.26+ only; older versions never retry)."""
        self.destination_subdirectory = "${SOURCE_DIRECTORY}"
        """``transfers.download.destination.subdirectory`` (0.26+; older versions use the last remote folder)."""
        self.destination_exists = "rename"
        """``transfers.download.destination.exists``: ``rename`` (``_<ticks>``) or ``overwrite``."""
        self.connect_timeout_ms = 10000
        """``soulseek.connection.timeout.connect``: how long reaching a peer may take."""
        self._rng = random.Random(seed)
        self.enqueue_style = enqueue_style or ("0.24" if self.version_tuple >= (0, 24) else "legacy")
        self.url_base = "/" + url_base.strip("/") if url_base.strip("/") else ""
        self.soulseek_username = soulseek_username
        self.clock = SimClock(time_scale)
        self.factory = FileFactory(cache_dir)
        self.transfer_faults = TransferFaults()
        self.jwt_ttl = 7 * 24 * 3600
        self._jwt_secret = secrets.token_bytes(32)
        self._lock = threading.RLock()
        self._logged_in = True
        self._transfers: dict[str, SimTransfer] = {}
        self._sequence = 0
        self._enqueue_gate = threading.Semaphore(2)
        self._enqueues = 0
        self._synth = ThreadPoolExecutor(max_workers=2, thread_name_prefix="slskd-sim-synth")
        self._ticker: threading.Thread | None = None
        self._connections: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._closing = threading.Event()
        self.extras = SlskdExtras(self)
        """Uploads, version check, start-up options, users (reference section 1.9)."""
        self.enqueue_delay = 0.3
        """Simulated seconds an enqueue POST takes to look the peer's address up (reaching it adds its
        ``connect_s``)."""
        self._init_searches()
        self._register_routes()

    # ---- public Python API -----------------------------------------------
    @property
    def time_scale(self) -> float:
        return self.clock.time_scale

    @time_scale.setter
    def time_scale(self, value: float) -> None:
        self.clock.time_scale = value

    @property
    def api_url(self) -> str:
        """Base URL including ``url_base`` (what the app calls the slskd URL)."""
        return self.url + self.url_base

    @property
    def logged_in(self) -> bool:
        return self._logged_in

    @property
    def enqueues_in_flight(self) -> int:
        """Enqueue requests holding one of the two slots right now (for tests and tools)."""
        with self._lock:
            return self._enqueues

    def peer(self, username: str) -> Peer:
        """The peer with this username (KeyError if none)."""
        return self._peers_by_name[username]

    def logout(self) -> None:
        """slskd loses its Soulseek server connection: searches in flight end cancelled, new ones get 409."""
        with self._lock:
            self._logged_in = False
        self._cancel_searches()

    def login(self) -> None:
        """slskd is connected and logged in to Soulseek again."""
        with self._lock:
            self._logged_in = True

    def set_peer(self, username: str, **changes: Any) -> Peer:
        """Change a peer's behaviour at run time, e.g. ``offline=True``, ``stall_at=0.4``, ``speed=50_000``."""
        allowed = {"offline", "stall_at", "fail_at", "reject_reason", "speed", "upload_speed", "free_slot",
                   "queue_length", "queue_seconds", "latency", "connect_s", "unreachable"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"unknown peer fields {sorted(unknown)}; allowed: {sorted(allowed)}")
        with self._lock:
            peer = self.peer(username)
            for key, value in changes.items():
                setattr(peer, key, value)
            return peer

    def restart(self, downtime: float = 0.0) -> None:
        """slskd restarts: the server is unreachable for ``downtime`` real seconds, every search and
        transfer record is forgotten (files already on disk stay), JWTs issued before are invalid
        (slskd signs with a key made at start-up) and it logs in to Soulseek again."""
        was_running = self.running
        if was_running:
            self.stop()
        with self._lock:
            self._transfers.clear()
            self._forget_searches()
            self._jwt_secret = secrets.token_bytes(32)
            self._logged_in = True
        if downtime > 0:
            time.sleep(downtime)
        self.extras.restarted()
        if was_running:
            self.start()

    def expire_tokens(self) -> None:
        """Invalidate every JWT issued so far (clients must log in again)."""
        with self._lock:
            self._jwt_secret = secrets.token_bytes(32)

    def credentials(self) -> dict[str, str]:
        """What a client needs to connect (for ``soulsync sim`` and demo mode)."""
        return {"url": self.api_url, "api_key": self.api_key, "username": self.username,
                "password": self.password, "downloads_dir": str(self.downloads_dir),
                "incomplete_dir": str(self.incomplete_dir)}

    # ---- lifecycle -------------------------------------------------------
    def start(self) -> "SlskdSim":
        was_running = self.running
        super().start()
        if not was_running and self._server is not None:
            self._track_connections(self._server)
        if self._ticker is None:
            self._closing.clear()
            self._ticker = threading.Thread(target=_run_ticker, args=(weakref.ref(self), self._closing),
                                            name="slskd-sim-ticker", daemon=True)
            self._ticker.start()
            threading.Thread(target=self._build_index, name="slskd-sim-index", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening and drop open keep-alive connections, as a stopped slskd would
        (the simulated world keeps running; :meth:`close` ends it)."""
        super().stop()
        with self._lock:
            connections, self._connections = self._connections, weakref.WeakSet()
        for connection in list(connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _track_connections(self, server: Any) -> None:
        accept = server.process_request

        def process_request(request: socket.socket, client_address: Any) -> None:
            with self._lock:
                self._connections.add(request)
            accept(request, client_address)

        server.process_request = process_request

    def close(self) -> None:
        """Stop serving and stop the simulated world (ticker and synthesis workers)."""
        self.stop()
        self._closing.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
            self._ticker = None
        self._synth.shutdown(wait=False, cancel_futures=True)

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- errors --------------------------------------------------------------
    def error_response(self, status: int, req: Request, message: str = "") -> Response:
        """slskd's error style: empty bodies for 401/403/404/405, JSON strings for the rest;
        502-504 look like the reverse proxy in front of slskd answering."""
        if status in (401, 403, 404, 405):
            resp = Response.empty(status)
            if status == 401:
                resp.headers["WWW-Authenticate"] = "Bearer"
            return resp
        if status in (502, 503, 504):
            title = {502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable",
                     504: "504 Gateway Time-out"}[status]
            page = f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>" \
                   f"\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
            return Response(status, page.encode(), "text/html")
        default = {429: CONCURRENCY_MESSAGE, 400: "The request is invalid"}.get(
            status, "An unexpected error occurred while processing the request")
        return Response.json(message or default, status)

    # ---- routing -------------------------------------------------------------
    def _register_routes(self) -> None:
        # slskd uses UsePathBase: the API answers with and without the url_base prefix
        prefix = f"(?:{re.escape(self.url_base)})?" if self.url_base else ""
        base = prefix + API
        user = r"(?P<username>[^/]+)"
        tid = r"(?P<id>[^/]+)"
        routes: list[tuple[str, str, Callable[[Request], Response], bool]] = [
            ("GET", "/session/enabled", self._session_enabled, False),
            ("POST", "/session", self._session_login, False),
            ("GET", "/session", self._session_check, True),
            ("GET", "/application", self._application, True),
            ("GET", "/application/version", self._application_version, True),
            ("GET", "/server", self._server_state, True),
            ("PUT", "/server", self._server_connect, True),
            ("DELETE", "/server", self._server_disconnect, True),
            ("GET", "/options", self._options, True),
            ("POST", "/searches", self._search_start, True),
            ("GET", "/searches", self._search_list, True),
            ("GET", f"/searches/{tid}", self._search_get, True),
            ("GET", f"/searches/{tid}/responses", self._search_responses, True),
            ("PUT", f"/searches/{tid}", self._search_stop, True),
            ("DELETE", f"/searches/{tid}", self._search_delete, True),
            ("DELETE", "/transfers/downloads/all/completed", self._downloads_clear_completed, True),
            ("POST", f"/transfers/downloads/{user}", self._downloads_enqueue, True),
            ("GET", "/transfers/downloads", self._downloads_list, True),
            ("GET", f"/transfers/downloads/{user}", self._downloads_of_user, True),
            ("GET", f"/transfers/downloads/{user}/{tid}", self._download_get, True),
            ("GET", f"/transfers/downloads/{user}/{tid}/position", self._download_position, True),
            ("DELETE", f"/transfers/downloads/{user}/{tid}", self._download_cancel, True),
        ]
        routes += self.extras.routes(user, tid)
        for method, path, handler, needs_auth in routes:
            self.route(method, base + path, self._guarded(handler) if needs_auth else handler)
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
            self.route(method, prefix + r"/api(?:/.*)?", lambda req: self.error_response(404, req))
        self.route("GET", r"/.*", self._web_ui)

    def _guarded(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def guarded(req: Request) -> Response:
            if not self._authorized(req):
                return self.error_response(401, req)
            if "username" in req.params:
                req.params["username"] = unquote(req.params["username"])
            return handler(req)
        return guarded

    def _web_ui(self, req: Request) -> Response:
        page = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>slskd</title></head>" \
               "<body><noscript>You need to enable JavaScript to run this app.</noscript><div id=\"root\"></div></body></html>"
        return Response(200, page.encode(), "text/html")

    # ---- application / server / options ----------------------------------------
    def _server_json(self) -> dict:
        if self._logged_in:
            return {"address": "vps.slsknet.org", "ipEndPoint": "208.76.170.59:2271", "state": "Connected, LoggedIn",
                    "isConnected": True, "isConnecting": False, "isLoggedIn": True, "isLoggingIn": False,
                    "isTransitioning": False}
        return {"state": "Disconnected", "isConnected": False, "isConnecting": False, "isLoggedIn": False,
                "isLoggingIn": False, "isTransitioning": False}

    def _application(self, req: Request) -> Response:
        state: dict[str, Any] = {
            "version": self.extras.version_state(),
            "pendingReconnect": False, "pendingRestart": False,
            "server": self._server_json(),
            "connectionWatchdog": {"isEnabled": False, "isAttemptingConnection": False, "isAwaitingVpn": False},
            "relay": {"mode": "Controller", "controller": {"state": "Disconnected"}, "agents": []},
            "user": {"username": self.soulseek_username,
                     "privileges": {"isPrivileged": False, "privilegesRemaining": 0},
                     "statistics": {"averageSpeed": 0, "directoryCount": 0, "fileCount": 0, "uploadCount": 0}},
            "distributedNetwork": {"branchLevel": 0, "canAcceptChildren": False, "childLimit": 0, "children": [],
                                   "hasParent": self._logged_in, "isBranchRoot": False},
            "shares": {"scanPending": False, "scanning": False, "ready": True, "faulted": False, "cancelled": False,
                       "scanProgress": 1, "hosts": ["local"], "directories": 0, "files": 0},
            "rooms": [], "users": [],
        }
        if not self._logged_in:
            state["user"].pop("username")
        return Response.json(state)

    def _application_version(self, req: Request) -> Response:
        return Response.json(self.version)

    def _server_state(self, req: Request) -> Response:
        return Response.json(self._server_json())

    def _server_connect(self, req: Request) -> Response:
        self.login()
        return Response(200, b"", content_type="")

    def _server_disconnect(self, req: Request) -> Response:
        self.logout()
        return Response.empty(204)

    def _options(self, req: Request) -> Response:
        """The options tree (src/slskd/Core/Options.cs); ``transfers.download.retry`` and ``.destination``
        exist from 0.26 (GlobalDownloadOptions), ``soulseek.connection.timeout`` in every version."""
        options = {
            "debug": False, "headless": False, "remoteConfiguration": False, "remoteFileManagement": False,
            "instanceName": "default",
            "directories": {"incomplete": str(self.incomplete_dir), "downloads": str(self.downloads_dir)},
            "global": {"upload": {"slots": 20, "speedLimit": 0}, "download": {"slots": 500, "speedLimit": 0}},
            "soulseek": {"address": "vps.slsknet.org", "port": 2271, "username": self.soulseek_username,
                         "password": "*****", "description": "A slskd user. https://github.com/slskd/slskd",
                         "listenIpAddress": "0.0.0.0", "listenPort": 50300,
                         "connection": {"timeout": {"connect": self.connect_timeout_ms,
                                                    "inactivity": PEER_TIMEOUT_MS}}},
            "web": {"port": 5030, "urlBase": self.url_base or "/", "contentPath": "wwwroot", "logging": False,
                    "authentication": {"disabled": not self.auth_enabled, "username": self.username,
                                       "password": "*****", "jwt": {"key": "*****", "ttl": self.jwt_ttl * 1000},
                                       "apiKeys": {"soulsync": {"key": "*****", "role": "Administrator",
                                                                "cidr": "0.0.0.0/0,::/0"}}}},
        }
        if self.version_tuple >= (0, 26):
            options["transfers"] = {"download": {
                "retry": self.retry.as_json(),
                "destination": {"subdirectory": self.destination_subdirectory, "exists": self.destination_exists}}}
        return Response.json(options)

    # ---- transfers: HTTP ------------------------------------------------------------
    def _downloads_enqueue(self, req: Request) -> Response:
        username = req.params["username"]
        try:
            body = req.json()
        except ValueError:
            return self.error_response(400, req, "The request body is not valid JSON")
        if not isinstance(body, list) or not body:
            return self.error_response(400, req, "At least one file is required")
        if any(item is None for item in body):
            return self.error_response(400, req, "One or more records in the request are null")
        files: list[tuple[str, int]] = []
        for item in body:
            if not isinstance(item, dict):
                return self.error_response(400, req, "One or more records in the request are not valid")
            fields = {k.lower(): v for k, v in item.items()}
            try:
                files.append((str(fields.get("filename") or ""), int(fields.get("size") or 0)))
            except (TypeError, ValueError):
                return self.error_response(400, req, "One or more records in the request are not valid")
        if self.version_tuple >= (0, 26) and any(
                segment in (".", "..") for name, _ in files for segment in re.split(r"[\\/]", name)):
            # 0.26 TransfersController refuses traversal segments before anything else
            return self.error_response(400, req, "One or more files in the request contain a dangerous path "
                                                 "traversal segment")
        # TransfersController: DownloadRequestLimiter, a SemaphoreSlim(2, 2) held for the whole request
        if not self._enqueue_gate.acquire(blocking=False):
            return self.error_response(429, req, CONCURRENCY_MESSAGE)
        with self._lock:
            self._enqueues += 1
        try:
            if any(not name for name, _ in files):
                return self.error_response(500, req, "At least one filename is null or empty (Parameter 'files')")
            if len(set(files)) != len(files):
                return self.error_response(500, req, "Two or more files in request are duplicated (Parameter 'files')")
            return self._enqueue_after_connecting(req, username, files)
        finally:
            with self._lock:
                self._enqueues -= 1
            self._enqueue_gate.release()

    def _enqueue_after_connecting(self, req: Request, username: str, files: list[tuple[str, int]]) -> Response:
        """DownloadService.EnqueueAsync answers only once the peer is reached: the server is asked for its
        address (an offline peer fails at once), then a message connection is opened (Soulseek.NET
        PeerConnectionManager.GetOrAddMessageConnectionAsync), which takes the peer's ``connect_s`` and
        fails after ``soulseek.connection.timeout.connect`` for a peer that cannot be reached."""
        self._wait_simulated(self.enqueue_delay)
        with self._lock:
            if not self._logged_in:
                return self.error_response(500, req, "The server connection must be connected and logged in "
                                                     "to fetch user endpoint (currently: Disconnected)")
            peer = self._peers_by_name.get(username)
            if peer is None or peer.offline:
                return self.error_response(500, req, f"User {username} appears to be offline")
            connect_s, unreachable = peer.connect_s, peer.unreachable
        timeout_s = self.connect_timeout_ms / 1000.0
        self._wait_simulated(timeout_s if unreachable else min(connect_s, timeout_s))
        if unreachable or connect_s > timeout_s:
            endpoint = f"203.0.113.{zlib.crc32(username.encode()) % 254 + 1}:50300"
            return self.error_response(500, req, f"Failed to connect to user {username}: Failed to establish a "
                                                 f"direct or indirect message connection to {username} ({endpoint})")
        with self._lock:
            enqueued, failed = self._enqueue(username, files)
            if self.enqueue_style == "legacy":
                return Response(201, b"", content_type="")
            now_utc = self.clock.utc()
            # 0.26 keeps (filename, message) value tuples, which System.Text.Json writes as {} (no IncludeFields)
            failures: list[Any] = [{} for _ in failed] if self.version_tuple >= (0, 26) else failed
            return Response.json({"enqueued": [t.as_json(now_utc, self.version_tuple) for t in enqueued],
                                  "failed": failures}, 201)

    def _wait_simulated(self, seconds: float) -> None:
        """Block this request for ``seconds`` of simulated time (less real time at a higher ``time_scale``)."""
        until = self.clock.now() + seconds
        while not self._closing.is_set():
            left = until - self.clock.now()
            if left <= 0:
                return
            self._closing.wait(min(0.05, left / self.clock.time_scale))

    def _grouped(self, transfers: list[SimTransfer]) -> list[dict]:
        now_utc = self.clock.utc()
        users: dict[str, dict[str, list[dict]]] = {}
        for transfer in transfers:
            directories = users.setdefault(transfer.username, {})
            directories.setdefault(directory_name(transfer.filename), []).append(
                transfer.as_json(now_utc, self.version_tuple))
        return [{"username": name, "directories": [{"directory": d, "fileCount": len(f), "files": f}
                                                   for d, f in dirs.items()]}
                for name, dirs in users.items()]

    def _downloads_list(self, req: Request) -> Response:
        with self._lock:
            return Response.json(self._grouped(self._visible(parse_bool(req.arg("includeRemoved", "false")))))

    def _downloads_of_user(self, req: Request) -> Response:
        with self._lock:
            mine = [t for t in self._visible(False) if t.username == req.params["username"]]
            if not mine:
                return self.error_response(404, req)
            return Response.json(self._grouped(mine)[0])

    def _transfer_for(self, req: Request) -> tuple[SimTransfer | None, Response | None]:
        raw = req.params["id"]
        if not GUID.match(raw):
            return None, Response.empty(400)
        return self._transfers.get(str(uuid.UUID(raw))), None

    def _download_get(self, req: Request) -> Response:
        with self._lock:
            transfer, error = self._transfer_for(req)
            if error is not None:
                return error
            if transfer is None:
                return self.error_response(404, req)
            return Response.json(transfer.as_json(self.clock.utc(), self.version_tuple))

    def _download_position(self, req: Request) -> Response:
        with self._lock:
            transfer, error = self._transfer_for(req)
            if error is not None:
                return error
            if transfer is None:
                return self.error_response(404, req)
            if transfer.state != "Queued, Remotely":
                return self.error_response(500, req, f"Failed to fetch place in queue for download of "
                                                     f"{transfer.filename} from {transfer.username}: A download of "
                                                     f"{transfer.filename} from user {transfer.username} is not active")
            transfer.place_in_queue = self._place(transfer)
            return Response.json(transfer.place_in_queue)

    def _download_cancel(self, req: Request) -> Response:
        remove = parse_bool(req.arg("remove", "false"))
        legacy = self.version_tuple < (0, 24)
        with self._lock:
            transfer, error = self._transfer_for(req)
            if error is not None:
                return error
            if transfer is None:
                return self.error_response(404, req) if legacy and remove else Response.empty(204)
            if transfer.active:
                transfer.cancel_requested = True  # lands on the next tick, as in slskd
            if remove:
                if transfer.complete:
                    transfer.removed = True
                elif legacy:
                    return self.error_response(500, req, "Invalid attempt to remove a download before it is complete")
            return Response.empty(204)

    def _downloads_clear_completed(self, req: Request) -> Response:
        with self._lock:
            for transfer in self._transfers.values():
                if transfer.complete:
                    transfer.removed = True
        return Response.empty(204)

    # ---- the simulated world's clock ------------------------------------------------
    def _tick(self, last: float) -> float:
        now = self.clock.now()
        try:
            self._tick_searches(now)
            self._tick_transfers(now, now - last)
        except Exception:  # the world must keep turning; a bug shows in the log
            log.exception("slskd sim: tick failed")
        return now

def _run_ticker(sim_ref: "weakref.ref[SlskdSim]", closing: threading.Event) -> None:
    """Drive the simulated world until :meth:`SlskdSim.close`, or until the simulation is gone
    (it holds no strong reference, so a stopped and dropped simulation does not leak its ticker)."""
    sim = sim_ref()
    last = sim.clock.now() if sim is not None else 0.0
    del sim
    while not closing.wait(TICK_SECONDS):
        sim = sim_ref()
        if sim is None:
            return
        last = sim._tick(last)
        del sim
