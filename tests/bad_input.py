"""What the bad-input tables share: a case, its verdict, and the servers that are not lakeFS.

Every case states the error type it expects and words its message must hold
(what is wrong and what to do), and every case is run with lakeFS behind a
``FaultProxy`` so the test can prove that no write request reached it.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fault_proxy import FaultProxy, SeenRequest

WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})

# Cases that wait for the lead's part (checks at open time in the run-branch
# group and in Dagster's publish, metadata limits in limits.metadata_strings).
LEAD_PENDING = "pending the lead's part"


@dataclass(frozen=True)
class Case:
    """One bad input: what to call, the error it must raise, words its message must hold."""

    id: str
    call: Callable[..., Any]
    error: type[BaseException]
    words: Sequence[str]
    note: str = ""


def writes(proxy: FaultProxy) -> list[SeenRequest]:
    return [request for request in proxy.seen if request.method in WRITE_METHODS]


def assert_clear(error: BaseException, expected: type[BaseException], words: Sequence[str]) -> None:
    """The error has the documented type and a message holding every expected word."""
    message = str(error)
    assert isinstance(error, expected), f"expected {expected.__name__}, got {type(error).__name__}: {message}"
    missing = [word for word in words if word.lower() not in message.lower()]
    assert not missing, f"message lacks {missing}: {message}"


def assert_no_writes(proxy: FaultProxy) -> None:
    sent = [f"{r.method} {r.path}" for r in writes(proxy)]
    assert sent == [], f"write requests reached lakeFS: {sent}"


def find_cause(error: BaseException | None, expected: type[BaseException]) -> BaseException | None:
    """``error`` or the first exception in its cause/context chain that is an ``expected``."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, expected):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def closed_port_endpoint() -> str:
    """An endpoint nothing listens on: connections to it are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@contextmanager
def not_lakefs_server() -> Iterator[tuple[str, list[str]]]:
    """A plain ``http.server`` answering every request with an HTML 404, as a web server
    that is not lakeFS does; yields its endpoint and the requests it got."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _answer(self) -> None:
            seen.append(f"{self.command} {self.path}")
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            body = b"<html><body><h1>404 Not Found</h1></body></html>"
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}", seen
    finally:
        server.shutdown()
        server.server_close()
