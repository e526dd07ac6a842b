"""What every throw-away server of the test bed shares: a loopback port, a child
process that logs to a file, and an end by its own process id.

Standard library only, like the rest of ``tools``.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TypeVar


class LakeFSUnavailable(RuntimeError):
    """No lakeFS server (or a service it needs) could be obtained or started; the message says why."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def check_port_free(port: int, service: str) -> None:
    """Refuse a taken port before starting: a health check would otherwise pass against whatever listens there."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise LakeFSUnavailable(
                f"port {port} on 127.0.0.1 is taken ({error.strerror}): is another server running there? "
                f"Stop it or choose another port for {service}."
            ) from None


@dataclass(frozen=True)
class RunAs:
    """An unprivileged account to run a server as (PostgreSQL refuses to run as root)."""

    uid: int
    gid: int


class ChildProcess:
    """One server process started by us, in its own session, with its output in ``log_path``.

    It is only ever ended through its own pid: never by name, never its siblings.
    """

    def __init__(self, name: str, log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        run_as: RunAs | None = None,
    ) -> None:
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                list(argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                # Its own session, so Ctrl-C in a terminal reaches only us and
                # we stop the server in order.
                start_new_session=True,
                user=run_as.uid if run_as else None,
                group=run_as.gid if run_as else None,
                extra_groups=[] if run_as else None,
            )

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def wait_until(self, ready: Callable[[], bool], *, timeout: float, waiting_for: str) -> None:
        """Poll ``ready`` until it holds; fail with the log's tail if the process exits or time runs out."""
        process = self._process
        if process is None:
            raise LakeFSUnavailable(f"{self.name} was not started")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise LakeFSUnavailable(
                    f"{self.name} exited with code {process.returncode} while starting.\n{self.log_tail()}"
                )
            if ready():
                return
            time.sleep(0.02)
        raise LakeFSUnavailable(f"{self.name} did not {waiting_for} within {timeout:.0f}s.\n{self.log_tail()}")

    def end(self, *, stop_signal: signal.Signals | None = signal.SIGTERM, timeout: float = 15) -> None:
        """Send ``stop_signal`` and wait up to ``timeout``; SIGKILL if that is None or too slow."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            if stop_signal is not None:
                process.send_signal(stop_signal)
                try:
                    process.wait(timeout=timeout)
                    return
                except subprocess.TimeoutExpired:
                    pass
            process.kill()
        process.wait()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return f"(no {self.name} log was written)"
        tail = "\n".join(text.splitlines()[-lines:])
        return f"last {lines} lines of {self.log_path}:\n{tail}"


_Server = TypeVar("_Server", bound="ManagedServer")


class ManagedServer:
    """A server of the test bed around one ``ChildProcess``, alive inside a ``with`` block.

    Subclasses set ``_process`` and define ``_start`` and ``stop``; a start that
    fails part-way stops whatever it had started.
    """

    _process: ChildProcess

    @property
    def pid(self) -> int | None:
        """The server process's id, while one was started and not yet ended."""
        return self._process.pid

    def is_running(self) -> bool:
        return self._process.is_running()

    def log_tail(self, lines: int = 40) -> str:
        return self._process.log_tail(lines)

    def __enter__(self: _Server) -> _Server:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


def progress(message: str) -> None:
    print(f"[lakefs-server] {message}", file=sys.stderr, flush=True)
