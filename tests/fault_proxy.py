"""A fault-injecting HTTP proxy that sits in front of the real lakeFS server.

A real server does not answer 429 or 503, or drop a connection, on demand;
this proxy does, for requests matching a rule, a given number of times, and
forwards everything else unchanged. It also records every request it saw, so
tests can count requests and read the headers clients sent.
"""

from __future__ import annotations

import http.client
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit


@dataclass
class Fault:
    """Answer ``times`` matching requests with ``status`` (or drop them when ``status`` is None)."""

    method: str
    path_pattern: str
    status: int | None
    times: int
    body: bytes = b'{"message":"injected by fault proxy"}'
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return self.hits < self.times and method == self.method and re.search(self.path_pattern, path) is not None


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class FaultProxy:
    upstream: str
    faults: list[Fault] = field(default_factory=list)
    seen: list[SeenRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                body = self._read_body()
                with proxy._lock:
                    proxy.seen.append(SeenRequest(self.command, self.path, dict(self.headers.items())))
                    fault = next((f for f in proxy.faults if f.matches(self.command, self.path)), None)
                    if fault is not None:
                        fault.hits += 1
                if fault is not None and fault.status is None:
                    self.close_connection = True
                    self.connection.shutdown(2)  # drop it: the client sees a reset
                    return
                if fault is not None:
                    self._respond(fault.status or 500, {"Content-Type": "application/json"}, fault.body)
                    return
                self._forward(body)

            def _read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks: list[bytes] = []
                    while True:
                        size = int(self.rfile.readline().strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _forward(self, body: bytes) -> None:
                target = urlsplit(proxy.upstream)
                upstream = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("transfer-encoding", "host")}
                headers["Content-Length"] = str(len(body))
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                passed = {
                    k: v for k, v in response.getheaders() if k.lower() not in ("transfer-encoding", "connection")
                }
                upstream.close()
                self._respond(response.status, passed, data)

            def _respond(self, status: int, headers: dict[str, str], data: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def inject(self, method: str, path_pattern: str, status: int | None, times: int = 1) -> Fault:
        fault = Fault(method, path_pattern, status, times)
        with self._lock:
            self.faults.append(fault)
        return fault

    def requests_to(self, method: str, path_pattern: str) -> list[SeenRequest]:
        with self._lock:
            return [r for r in self.seen if r.method == method and re.search(path_pattern, r.path)]

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
