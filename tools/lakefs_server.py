"""Obtain and run a throw-away lakeFS server on this machine.

lakefs-wap's tests and demo talk to a real lakeFS server. This module finds a
server binary, or builds one from the lakeFS Go module pinned in
``tools/lakefs-build/go.mod``, and runs it on 127.0.0.1 with local metadata and
local object storage in a temporary directory.

Where the binary comes from, first match wins:

1. ``LAKEFS_BIN``: a path to a lakeFS server binary;
2. a ``lakefs`` on ``PATH``;
3. a build cached under ``$LAKEFS_WAP_CACHE_DIR`` (default
   ``${XDG_CACHE_HOME:-~/.cache}/lakefs-wap``), made on first use with Go.

Command line (``python -m tools.lakefs_server --help``)::

    build   make sure a binary exists (builds it if needed) and print its path
    run     start a server in the foreground and print how to connect to it
            (``--data-dir DIR`` keeps its data for the next ``run``)

Only the standard library is used, so this runs before anything is installed.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

BUILD_MODULE_DIR = Path(__file__).resolve().parent / "lakefs-build"
LAKEFS_PACKAGE = "github.com/treeverse/lakefs/cmd/lakefs"

# Fixed credentials of the throw-away server's admin. They only ever guard a
# server bound to 127.0.0.1 that lives as long as one test session.
LOCAL_ACCESS_KEY_ID = "AKIALAKEFSWAPLOCAL01"
LOCAL_SECRET_ACCESS_KEY = "lakefs-wap-local-test-secret-0123456789ab"  # noqa: S105
LOCAL_ADMIN = "lakefs-wap-admin"


class LakeFSUnavailable(RuntimeError):
    """No lakeFS server could be obtained or started; the message says why."""


@dataclass(frozen=True)
class ServerAccess:
    """Where a lakeFS server listens and the credentials of its admin."""

    endpoint: str
    access_key_id: str
    secret_access_key: str = field(repr=False)

    def as_lakectl_env(self) -> dict[str, str]:
        """The variables the lakeFS SDKs and lakectl read when given no settings."""
        return {
            "LAKECTL_SERVER_ENDPOINT_URL": self.endpoint,
            "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": self.access_key_id,
            "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": self.secret_access_key,
        }


def pinned_version() -> str:
    """The lakeFS version required by the wrapper module, e.g. ``v1.84.0``."""
    go_mod = (BUILD_MODULE_DIR / "go.mod").read_text()
    match = re.search(r"^require github\.com/treeverse/lakefs (v\S+)$", go_mod, re.MULTILINE)
    if match is None:
        raise LakeFSUnavailable(f"{BUILD_MODULE_DIR / 'go.mod'} does not require github.com/treeverse/lakefs")
    return match.group(1)


def cache_dir() -> Path:
    configured = os.environ.get("LAKEFS_WAP_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "lakefs-wap"


def cached_binary_path() -> Path:
    return cache_dir() / f"lakefs-{pinned_version()}" / "lakefs"


def find_binary() -> Path | None:
    """An existing server binary, or None when one would have to be built."""
    configured = os.environ.get("LAKEFS_BIN")
    if configured:
        path = Path(configured).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise LakeFSUnavailable(f"LAKEFS_BIN={configured} is not an executable file; fix or unset it")
        return path
    on_path = shutil.which("lakefs")
    if on_path:
        return Path(on_path)
    cached = cached_binary_path()
    return cached if cached.is_file() else None


def build_binary(out: Path | None = None) -> Path:
    """Build the pinned lakeFS server with Go; takes minutes on a cold module cache."""
    out = out or cached_binary_path()
    go = shutil.which("go")
    if go is None:
        raise LakeFSUnavailable(
            "no lakeFS server binary: LAKEFS_BIN is unset, there is no `lakefs` on PATH, "
            f"nothing is cached at {out}, and `go` is not installed to build one. "
            "Install Go (https://go.dev/dl), or point LAKEFS_BIN at a lakeFS binary."
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    # Build to a temporary name and rename, so an interrupted build never
    # leaves a half-written binary that a later run would trust.
    partial = out.with_name(out.name + f".partial-{os.getpid()}")
    env = dict(os.environ, CGO_ENABLED="0", GOTOOLCHAIN="local", GOFLAGS="-mod=readonly")
    # lakeFS reports a released version only when one is stamped in, and then
    # starts a periodic audit call to an outside service. A "dev-" prefix keeps
    # that off while the server still says which release it was built from.
    stamp = f"-X github.com/treeverse/lakefs/pkg/version.Version=dev-{pinned_version()}"
    command = [go, "build", "-trimpath", "-ldflags", stamp, "-o", str(partial), LAKEFS_PACKAGE]
    _progress(f"building lakeFS {pinned_version()} with {_go_version(go)} into {out} (minutes when cold) ...")
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=BUILD_MODULE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    log_lines: list[str] = []
    for line in process.stdout or ():
        log_lines.append(line.rstrip())
        if line.startswith("go: downloading"):
            _progress("  " + line.strip())
    status = process.wait()
    if status != 0:
        partial.unlink(missing_ok=True)
        tail = "\n".join(log_lines[-30:])
        raise LakeFSUnavailable(f"`go build {LAKEFS_PACKAGE}` failed with exit code {status}:\n{tail}")
    partial.replace(out)
    _progress(f"built {out} in {time.monotonic() - started:.0f}s")
    return out


def ensure_binary() -> Path:
    return find_binary() or build_binary()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalLakeFS:
    """A lakeFS server process on 127.0.0.1, alive inside a ``with`` block.

    Everything it stores lives under ``workdir`` (a fresh temporary directory
    unless given), which is removed on exit when this object created it.
    ``kill()`` ends the server the way a crash does and ``restart()`` brings
    it back on the same data and the same port, so clients keep their endpoint.
    """

    def __init__(
        self,
        binary: Path | None = None,
        *,
        port: int | None = None,
        workdir: Path | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.binary = binary or ensure_binary()
        self.port = port or free_port()
        self._owns_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="lakefs-wap-server-"))
        self.startup_timeout = startup_timeout
        self.access = ServerAccess(
            endpoint=f"http://127.0.0.1:{self.port}",
            access_key_id=LOCAL_ACCESS_KEY_ID,
            secret_access_key=LOCAL_SECRET_ACCESS_KEY,
        )
        self.log_path = self.workdir / "lakefs.log"
        self._process: subprocess.Popen[bytes] | None = None
        # kill() and restart() may come from other threads (a crash-injecting
        # proxy, a restart timer) than the one that started the server.
        self._lock = threading.RLock()

    def __enter__(self) -> LocalLakeFS:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def config_yaml(self) -> str:
        # JSON is valid YAML, and writing it avoids depending on a YAML library.
        # lakeFS parses its configuration strictly: an unknown key stops it.
        import json

        config = {
            "listen_address": f"127.0.0.1:{self.port}",
            "logging": {"format": "text", "level": "INFO"},
            "database": {"type": "local", "local": {"path": str(self.workdir / "metadata")}},
            "blockstore": {"type": "local", "local": {"path": str(self.workdir / "objects")}},
            "auth": {"encrypt": {"secret_key": self._encrypt_secret_key()}},
            "committed": {"local_cache": {"dir": str(self.workdir / "cache")}},
            "stats": {"enabled": False},
            "security": {"check_latest_version": False},
            "installation": {
                "user_name": LOCAL_ADMIN,
                "access_key_id": self.access.access_key_id,
                "secret_access_key": self.access.secret_access_key,
            },
        }
        return json.dumps(config, indent=2)

    def _encrypt_secret_key(self) -> str:
        """The key lakeFS encrypts its stored secrets with: made once per data directory, then reused.

        A server started with another key cannot read the data of the last one.
        """
        key_path = self.workdir / "encrypt-secret-key"
        try:
            return key_path.read_text().strip()
        except FileNotFoundError:
            pass
        key = secrets.token_hex(32)
        partial = key_path.with_name(f"{key_path.name}.partial-{os.getpid()}")
        partial.touch(mode=0o600)
        partial.write_text(key)
        partial.replace(key_path)
        return key

    def start(self) -> None:
        with self._lock:
            if self.is_running():
                raise LakeFSUnavailable(f"lakeFS is already running at {self.access.endpoint}")
            self._check_port_free()
            self.workdir.mkdir(parents=True, exist_ok=True)
            config_path = self.workdir / "config.yaml"
            config_path.write_text(self.config_yaml())
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    [str(self.binary), "run", "--config", str(config_path)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    # Its own process group, so Ctrl-C in a terminal reaches only
                    # us and we stop the server in order.
                    start_new_session=True,
                )
            try:
                self._wait_healthy()
            except BaseException:
                self.stop()
                raise

    def _check_port_free(self) -> None:
        # Otherwise the health check could pass against whatever listens
        # there, and a restart would seem to work while the data is elsewhere.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", self.port))
            except OSError as error:
                raise LakeFSUnavailable(
                    f"port {self.port} on 127.0.0.1 is taken ({error.strerror}): is another server running there? "
                    "Stop it or choose another port."
                ) from None

    def kill(self) -> None:
        """End the server with SIGKILL, as a crash would, and wait until it is gone. The data stays."""
        with self._lock:
            self._end_process(graceful=False)

    def restart(self) -> None:
        """Start the server again on the same data and port (killing it first if it still runs)."""
        with self._lock:
            self._end_process(graceful=False)
            self.start()

    def _wait_healthy(self) -> None:
        process = self._process
        if process is None:
            raise LakeFSUnavailable("lakeFS was not started")
        deadline = time.monotonic() + self.startup_timeout
        health_url = f"{self.access.endpoint}/_health"
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise LakeFSUnavailable(
                    f"lakeFS exited with code {process.returncode} while starting.\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(health_url, timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.02)
        raise LakeFSUnavailable(
            f"lakeFS did not answer {health_url} within {self.startup_timeout:.0f}s.\n{self.log_tail()}"
        )

    @property
    def pid(self) -> int | None:
        """The server process's id, while one was started and not yet ended."""
        return self._process.pid if self._process is not None else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no server log was written)"
        tail = "\n".join(text.splitlines()[-lines:])
        return f"last {lines} lines of {self.log_path}:\n{tail}"

    def stop(self) -> None:
        """Stop the server in order; remove its data if this object made the directory."""
        with self._lock:
            self._end_process(graceful=True)
            if self._owns_workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)

    def _end_process(self, *, graceful: bool) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            if graceful:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                    return
                except subprocess.TimeoutExpired:
                    pass
            process.kill()
        process.wait()


def _go_version(go: str) -> str:
    result = subprocess.run([go, "version"], capture_output=True, text=True, check=False)
    return result.stdout.strip() or "go (version unknown)"


def _progress(message: str) -> None:
    print(f"[lakefs-server] {message}", file=sys.stderr, flush=True)


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.lakefs_server", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="make sure a lakeFS binary exists and print its path")
    run = commands.add_parser("run", help="run a local lakeFS in the foreground until interrupted")
    run.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000)")
    run.add_argument(
        "--data-dir",
        type=Path,
        help="keep the server's data here and reuse it on the next run (default: a temporary directory, removed)",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            print(ensure_binary())
            return 0
        data_dir = args.data_dir.resolve() if args.data_dir else None
        with LocalLakeFS(port=args.port, workdir=data_dir) as server:
            kept = "kept" if args.data_dir else "removed on exit"
            _progress(f"lakeFS is up at {server.access.endpoint} (data in {server.workdir}, {kept}); Ctrl-C stops it")
            for name, value in server.access.as_lakectl_env().items():
                print(f"export {name}={value}", flush=True)
            try:
                while server.is_running():
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
            _progress("stopping")
        return 0
    except LakeFSUnavailable as error:
        _progress(f"error: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(_main())
