"""A fault-injecting HTTP proxy that sits in front of the real lakeFS server.

A real server does not answer 429 or 503, drop a connection, or crash on
demand; this proxy does, for requests matching a rule, a given number of
times, and forwards everything else unchanged. It also records every request
it saw, so tests can count requests and read the headers clients sent.

A crash rule kills the server (through a callback, e.g. ``LocalLakeFS.kill``)
at one request: before forwarding it (it never applied), or after lakeFS
applied and answered it (the answer is lost). Either way the client's
connection is dropped. While the server is down the proxy stops listening, so
clients see what they would see without a proxy (connection refused), and it
listens again on the same port as soon as the server answers its health check
again: after the test restarts it, or after a restart timer the rule set.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

_UPSTREAM_FAILURES = (OSError, http.client.HTTPException)
_POLL_SECONDS = 0.02


@dataclass
class Fault:
    """Answer ``times`` matching requests with ``status`` (or drop them when ``status`` is None)."""

    method: str
    path_pattern: str
    status: int | None
    times: int
    body: bytes = b'{"message":"injected by fault proxy"}'
    hits: int = 0
    # Forward the request (lakeFS applies it) but drop the client's connection
    # instead of relaying the answer: the write happened, the answer was lost.
    lose_answer: bool = False
    # Forward the request and relay the answer's headers (its full
    # Content-Length included) but only this many bytes of its body, then drop
    # the connection: a download cut off mid-body.
    truncate_body_at: int | None = None

    def matches(self, method: str, path: str) -> bool:
        return self.hits < self.times and method == self.method and re.search(self.path_pattern, path) is not None


class CrashMode(str, Enum):
    BEFORE = "before"  # the server dies before the request reaches it: nothing applied
    ANSWER_LOST = "answer_lost"  # the server applied and answered, then died; the answer never arrives


@dataclass
class Crash:
    """Kill the server at ``times`` requests matching method, path and (optionally) body,
    after letting the first ``skip`` of them through.

    ``restart`` with ``restart_after`` seconds brings the server back from a
    timer after each kill; without them the test restarts it.
    """

    method: str
    path_pattern: str
    mode: CrashMode
    kill: Callable[[], None]
    body_pattern: bytes | None = None
    restart: Callable[[], None] | None = None
    restart_after: float | None = None
    times: int = 1
    skip: int = 0
    hits: int = 0
    passed: int = 0
    crashed: threading.Event = field(default_factory=threading.Event)
    restarted: threading.Event = field(default_factory=threading.Event)
    restart_error: BaseException | None = None

    def __post_init__(self) -> None:
        if (self.restart is None) != (self.restart_after is None):
            raise ValueError("give both restart and restart_after for a timed restart, or neither")

    def matches(self, method: str, path: str, body: bytes) -> bool:
        return (
            method == self.method
            and re.search(self.path_pattern, path) is not None
            and (self.body_pattern is None or re.search(self.body_pattern, body) is not None)
        )

    def claim(self, method: str, path: str, body: bytes) -> bool:
        """Whether this request is one to crash at; counts it either way."""
        if self.hits >= self.times or not self.matches(method, path, body):
            return False
        if self.passed < self.skip:
            self.passed += 1
            return False
        self.hits += 1
        return True

    def wait_restarted(self, timeout: float = 60.0) -> None:
        """Wait for the timed restart; raise what it raised, if anything."""
        if not self.restarted.wait(timeout):
            raise TimeoutError(f"the server was not restarted within {timeout}s of the crash")
        if self.restart_error is not None:
            raise self.restart_error


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class FaultProxy:
    upstream: str
    faults: list[Fault] = field(default_factory=list)
    seen: list[SeenRequest] = field(default_factory=list)
    crashes: list[Crash] = field(default_factory=list)
    # (old, new) text replaced in every answer's headers and body: e.g. to point
    # the presigned URLs lakeFS hands out at an object store that is not there.
    rewrites: list[tuple[str, str]] = field(default_factory=list)
    health_path: str = "/_health"

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._clients: set[socket.socket] = set()
        self._serving = threading.Event()
        self._closed = threading.Event()
        self._helpers: list[threading.Thread] = []
        self._timers: list[threading.Timer] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                # Headers and body leave in two writes; without this, Nagle's
                # algorithm holds the body until the client's delayed ACK (40 ms).
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with proxy._lock:
                    proxy._clients.add(self.connection)

            def finish(self) -> None:
                with proxy._lock:
                    proxy._clients.discard(self.connection)
                with contextlib.suppress(OSError):  # the connection was dropped on purpose
                    super().finish()

            def _handle(self) -> None:
                body = self._read_body()
                with proxy._lock:
                    proxy.seen.append(SeenRequest(self.command, self.path, dict(self.headers.items()), body))
                    crash = next((c for c in proxy.crashes if c.claim(self.command, self.path, body)), None)
                    fault = None
                    if crash is None:
                        fault = next((f for f in proxy.faults if f.matches(self.command, self.path)), None)
                    if fault is not None:
                        fault.hits += 1
                if crash is not None:
                    if crash.mode is CrashMode.ANSWER_LOST:
                        self._forward(body, relay=False)
                    self.close_connection = True
                    proxy._crash_upstream(crash)
                    return
                if fault is not None and fault.truncate_body_at is not None:
                    self._forward(body, cut_at=fault.truncate_body_at)
                    self._drop()
                    return
                if fault is not None and fault.lose_answer:
                    self._forward(body, relay=False)
                    self._drop()
                    return
                if fault is not None and fault.status is None:
                    self._drop()  # the client sees a reset
                    return
                if fault is not None:
                    self._respond(fault.status or 500, {"Content-Type": "application/json"}, fault.body)
                    return
                self._forward(body)

            def _drop(self) -> None:
                self.close_connection = True
                _shut(self.connection)

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

            def _forward(self, body: bytes, relay: bool = True, cut_at: int | None = None) -> None:
                target = urlsplit(proxy.upstream)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("transfer-encoding", "host")}
                headers["Content-Length"] = str(len(body))
                upstream = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=60)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                except _UPSTREAM_FAILURES:
                    # The server is down or died mid-request: the client's
                    # connection ends the way a dead server's would.
                    self._drop()
                    return
                finally:
                    upstream.close()
                passed = {
                    k: v for k, v in response.getheaders() if k.lower() not in ("transfer-encoding", "connection")
                }
                for old, new in list(proxy.rewrites):
                    data = data.replace(old.encode(), new.encode())
                    passed = {k: v.replace(old, new) for k, v in passed.items()}
                if relay:
                    self._respond(response.status, passed, data, cut_at)

            def _respond(self, status: int, headers: dict[str, str], data: bytes, cut_at: int | None = None) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data if cut_at is None else data[:cut_at])

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle

        self._handler = Handler
        self._server = self._listen(0)
        self._port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._serve, args=(self._server,), daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def inject(self, method: str, path_pattern: str, status: int | None, times: int = 1) -> Fault:
        fault = Fault(method, path_pattern, status, times)
        with self._lock:
            self.faults.append(fault)
        return fault

    def inject_lost_answer(self, method: str, path_pattern: str, times: int = 1) -> Fault:
        """Let lakeFS apply ``times`` matching requests, then drop the connection before the answer."""
        fault = Fault(method, path_pattern, None, times, lose_answer=True)
        with self._lock:
            self.faults.append(fault)
        return fault

    def inject_truncated_body(self, method: str, path_pattern: str, keep: int, times: int = 1) -> Fault:
        """Relay ``times`` matching answers with only their first ``keep`` body bytes, then drop the connection."""
        fault = Fault(method, path_pattern, None, times, truncate_body_at=keep)
        with self._lock:
            self.faults.append(fault)
        return fault

    def inject_crash(
        self,
        method: str,
        path_pattern: str,
        *,
        kill: Callable[[], None],
        mode: CrashMode = CrashMode.BEFORE,
        body_pattern: bytes | None = None,
        restart: Callable[[], None] | None = None,
        restart_after: float | None = None,
        times: int = 1,
        skip: int = 0,
    ) -> Crash:
        """Kill the server with ``kill`` at the next ``times`` matching requests (see ``Crash``)."""
        crash = Crash(method, path_pattern, mode, kill, body_pattern, restart, restart_after, times, skip)
        with self._lock:
            self.crashes.append(crash)
        return crash

    def disarm(self) -> list[Crash]:
        """Remove every fault and crash rule and forget the requests seen; return the crash rules removed."""
        with self._lock:
            crashes = list(self.crashes)
            self.crashes.clear()
            self.faults.clear()
            self.seen.clear()
        return crashes

    def requests_to(self, method: str, path_pattern: str) -> list[SeenRequest]:
        with self._lock:
            return [r for r in self.seen if r.method == method and re.search(path_pattern, r.path)]

    def is_serving(self) -> bool:
        return self._serving.is_set()

    def wait_until_serving(self, timeout: float = 60.0) -> None:
        """Block until the proxy listens again (the server is back after a crash)."""
        if not self._serving.wait(timeout):
            raise TimeoutError(f"the proxy at {self.endpoint} did not reopen within {timeout}s: is the server up?")

    # ----- availability follows the server's -------------------------------------------

    def _listen(self, port: int) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", port), self._handler)
        server.daemon_threads = True
        return server

    def _serve(self, server: ThreadingHTTPServer) -> None:
        self._serving.set()
        server.serve_forever(poll_interval=_POLL_SECONDS)

    def _crash_upstream(self, crash: Crash) -> None:
        with self._state_lock:
            self._stop_listening()
            try:
                crash.kill()
            finally:
                crash.crashed.set()
                with self._lock:
                    clients = list(self._clients)
                for client in clients:  # a dead server's connections all end at once
                    _shut(client)
                if crash.restart is not None and crash.restart_after is not None:
                    timer = threading.Timer(crash.restart_after, self._timed_restart, args=(crash,))
                    timer.daemon = True
                    self._timers.append(timer)
                    timer.start()
                self._start_helper(self._reopen_when_upstream_answers)

    def _timed_restart(self, crash: Crash) -> None:
        try:
            if crash.restart is not None and not self._closed.is_set():
                crash.restart()
        except BaseException as error:
            crash.restart_error = error
        finally:
            crash.restarted.set()

    def _stop_listening(self) -> None:
        if self._serving.is_set():
            self._serving.clear()
            self._server.shutdown()
            self._server.server_close()

    def _reopen_when_upstream_answers(self) -> None:
        while not self._closed.is_set():
            if self._upstream_answers():
                with self._state_lock:
                    if self._closed.is_set() or self._serving.is_set():
                        return
                    try:
                        self._server = self._listen(self._port)
                    except OSError:
                        pass  # the port is briefly taken: try again
                    else:
                        self._start_helper(self._serve, self._server)
                        self._serving.wait()
                        return
            self._closed.wait(_POLL_SECONDS)

    def _upstream_answers(self) -> bool:
        target = urlsplit(self.upstream)
        probe = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=1)
        try:
            probe.request("GET", self.health_path)
            return probe.getresponse().status == 200
        except _UPSTREAM_FAILURES:
            return False
        finally:
            probe.close()

    def _start_helper(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._helpers.append(thread)
        thread.start()

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        self._serving.wait()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._closed.set()
        for timer in self._timers:
            timer.cancel()
            timer.join()  # a restart under way finishes, so the server is left in one piece
        with self._state_lock:
            self._stop_listening()
        for helper in self._helpers:
            helper.join(timeout=5)


def _shut(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the other side
        connection.shutdown(socket.SHUT_RDWR)
