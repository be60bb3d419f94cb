"""A recording loopback HTTP server for the service tests: answers with a route, keeps every request."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


@dataclass
class Seen:
    """One request as a loopback server received it."""

    method: str
    target: str
    """Path and query string."""
    headers: dict[str, str]
    body: bytes

    @property
    def host(self) -> str:
        return self.headers.get("Host", "")

    def text(self) -> str:
        head = "\n".join(f"{k}: {v}" for k, v in self.headers.items())
        return f"{self.method} {self.target}\n{head}\n\n{self.body.decode('utf-8', 'replace')}"


Answer = tuple[int, dict[str, str], bytes]


class Loopback:
    """An HTTP server on 127.0.0.1 that answers with ``route(seen)`` and records every request."""

    def __init__(self, route: Callable[[Seen], Answer]) -> None:
        self.route = route
        self.seen: list[Seen] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt: str, *args: object) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
                outer.seen.append(seen)
                status, headers, body = outer.route(seen)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815 (http.server naming)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
