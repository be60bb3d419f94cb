"""Shared HTTP machinery for the simulated services.

Each simulation is a :class:`SimServer` subclass: a threaded HTTP/1.1 server
on 127.0.0.1 with a free port, routes declared with :meth:`SimServer.route`,
and fault injection that tests and the demo can change at run time, either
in-process (:attr:`SimServer.faults`) or over HTTP from another process
(``POST /__sim/faults`` with a JSON list of rules, ``DELETE /__sim/faults``).
"""
from __future__ import annotations

import json
import logging
import re
import socket
import struct
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Self
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

FAULT_KINDS = ("latency", "status", "reset", "truncate", "malformed")


@dataclass
class FaultRule:
    """One fault. Applies to requests whose ``METHOD path`` matches ``match``.

    kind:
      - ``latency``: sleep ``seconds`` before answering (a timeout when longer
        than the client's).
      - ``status``: answer ``status`` (5xx, 429, 401...) with the service's own
        error body; ``retry_after`` adds a Retry-After header (seconds).
      - ``reset``: drop the connection without an answer (RST), or after
        half the body when ``mid_body`` is true.
      - ``truncate``: announce the full Content-Length, send half the body, close.
      - ``malformed``: answer 200 with a body that is not valid JSON/XML.
    ``count``: how many matching requests it hits (None: until cleared).
    """

    kind: str
    match: str = ""
    status: int = 500
    retry_after: float | None = None
    seconds: float = 0.0
    mid_body: bool = False
    count: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        self._pattern = re.compile(self.match) if self.match else None

    def matches(self, method: str, path: str) -> bool:
        return self._pattern is None or bool(self._pattern.search(f"{method} {path}"))

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


class Faults:
    """A thread-safe, ordered set of fault rules; the first matching rule fires."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self.hits: dict[str, int] = {}

    def add(self, kind: str, **kwargs: Any) -> FaultRule:
        rule = FaultRule(kind, **kwargs)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def take(self, method: str, path: str) -> FaultRule | None:
        """The rule that fires for this request, consuming one of its counts."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    if rule.count is not None:
                        rule.count -= 1
                        if rule.count <= 0:
                            self._rules.remove(rule)
                    self.hits[rule.kind] = self.hits.get(rule.kind, 0) + 1
                    return rule
        return None


@dataclass
class Request:
    method: str
    path: str
    """Path without the query string, e.g. ``/api/v0/searches``."""
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    """Named groups captured from the route pattern."""
    remote: str = ""
    """The client's address (admin endpoints answer loopback clients only)."""

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def int_arg(self, name: str, default: int) -> int:
        try:
            return int(self.arg(name, str(default)) or default)
        except ValueError:
            return default

    def bool_arg(self, name: str, default: bool = False) -> bool:
        value = self.arg(name)
        if value is None:
            return default
        return value.strip().lower() in ("1", "true", "yes")

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def from_loopback(self) -> bool:
        """Whether the client is on this machine."""
        return self.remote in ("127.0.0.1", "::1") or self.remote.startswith("127.")

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> "Response":
        return cls(status, json.dumps(data, ensure_ascii=False).encode("utf-8"),
                   headers=dict(headers or {}))

    @classmethod
    def empty(cls, status: int = 204) -> "Response":
        return cls(status, b"", content_type="")


Handler = Callable[[Request], Response]


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet by default
        log.debug("%s %s", self.server.sim.name, fmt % args)

    def _handle(self) -> None:
        sim = self.server.sim
        parts = urlsplit(self.path)
        path = parts.path
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        req = Request(self.command, path, parse_qs(parts.query, keep_blank_values=True),
                      {k.lower(): v for k, v in self.headers.items()}, body, remote=self.client_address[0])
        sim.requests_seen += 1
        if path.startswith("/__sim/"):
            self._send(sim._control(req))
            return
        rule = sim.faults.take(self.command, path)
        if rule is not None and rule.kind == "latency":
            time.sleep(rule.seconds)
            rule = None
        if rule is not None and rule.kind == "reset" and not rule.mid_body:
            self._reset()
            return
        if rule is not None and rule.kind == "status":
            resp = sim.error_response(rule.status, req)
            if rule.retry_after is not None:
                resp.headers["Retry-After"] = f"{rule.retry_after:g}"
            self._send(resp)
            return
        try:
            resp = sim.dispatch(req)
        except Exception as exc:  # a bug in a sim must look like a 500, not a hang
            log.exception("%s: handler crashed for %s %s", sim.name, self.command, path)
            resp = sim.error_response(500, req, str(exc))
        if rule is not None and rule.kind == "malformed":
            resp = Response(200, b'{"this is": not valid <json or xml', resp.content_type, {})
        if rule is not None and rule.kind in ("truncate", "reset"):
            self._send_partial(resp, reset=rule.kind == "reset")
            return
        self._send(resp)

    def _send(self, resp: Response) -> None:
        self.send_response(resp.status)
        if resp.content_type:
            self.send_header("Content-Type", resp.content_type)
        for key, value in resp.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD" and resp.body:
            self.wfile.write(resp.body)

    def _send_partial(self, resp: Response, reset: bool) -> None:
        self.send_response(resp.status)
        if resp.content_type:
            self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        self.wfile.write(resp.body[: len(resp.body) // 2])
        self.wfile.flush()
        if reset:
            self._reset()
        else:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_WR)

    def _reset(self) -> None:
        """Close with RST so the client sees 'connection reset by peer'."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.connection.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], sim: "SimServer") -> None:
        self.sim = sim
        self.open_connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def process_request(self, request, client_address) -> None:  # type: ignore[override]
        with self._conn_lock:
            self.open_connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:  # type: ignore[override]
        with self._conn_lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Close kept-alive client connections too: a stopped server must look down to every client."""
        with self._conn_lock:
            conns, self.open_connections = list(self.open_connections), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up (timeout, reset) is normal here; anything else is logged."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)):
            return
        log.exception("%s: error while serving %s", self.sim.name, client_address)


class SimServer:
    """Base of the simulated services: routing, lifecycle and faults.

    Subclasses call :meth:`route` in ``__init__`` and override
    :meth:`error_response` to render the service's own error format.
    """

    name = "sim"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._port = port
        self.faults = Faults()
        self.requests_seen = 0
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- routing -------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Register ``handler`` for ``method`` and a path regex (anchored, trailing slash optional,
        case-insensitive)."""
        self._routes.append((method.upper(), re.compile(f"^{pattern.rstrip('/')}/?$", re.I), handler))

    def dispatch(self, req: Request) -> Response:
        allowed = False
        for method, pattern, handler in self._routes:
            found = pattern.match(req.path)
            if found:
                if method != req.method and not (method == "GET" and req.method == "HEAD"):
                    allowed = True
                    continue
                req.params = {k: v for k, v in found.groupdict().items() if v is not None}
                return handler(req)
        return self.error_response(405 if allowed else 404, req)

    def error_response(self, status: int, req: Request, message: str = "") -> Response:
        """The service's error body for ``status``; subclasses override."""
        return Response.json({"error": message or f"HTTP {status}"}, status)

    # ---- control endpoint ---------------------------------------------
    def _control(self, req: Request) -> Response:
        if req.path == "/__sim/faults":
            if req.method == "GET":
                return Response.json([r.as_dict() for r in self.faults.rules()])
            if req.method == "DELETE":
                self.faults.clear()
                return Response.empty()
            if req.method == "POST":
                try:
                    rules = req.json() or []
                    for rule in rules if isinstance(rules, list) else [rules]:
                        self.faults.add(**rule)
                except (ValueError, TypeError) as exc:
                    return Response.json({"error": str(exc)}, 400)
                return Response.json([r.as_dict() for r in self.faults.rules()])
        return self.control(req)

    def control(self, req: Request) -> Response:
        """Service-specific control endpoints under ``/__sim/``; subclasses extend."""
        return Response.json({"error": "unknown control endpoint"}, 404)

    # ---- lifecycle -----------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{self.name} simulation is not running")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._server = _Server((self.host, self._port), self)
        self._port = self._server.server_address[1]  # keep the port across stop/start
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"sim-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: new connections are refused until :meth:`start` (same port)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            server.drop_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "SimServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
