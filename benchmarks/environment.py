"""What every benchmark needs around its measurements: a lakeFS server to talk
to, a count of the HTTP requests a client sends, and the facts about the machine
that a reader needs to judge the numbers."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from tools.lakefs_server import ServerAccess, running_lakefs, server_access_from_env

if TYPE_CHECKING:
    from lakefs_wap import LakeFSConnection

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("lakefs-wap", "lakefs-sdk", "lakefs", "lakefs-spec", "urllib3", "dagster", "pandas", "pyarrow")
_API_PATH = "/api/v1"


@contextmanager
def lakefs_server(data_dir: Path | None = None) -> Iterator[ServerAccess]:
    """The server named by LAKEFS_ENDPOINT/LAKEFS_ACCESS_KEY_ID/LAKEFS_SECRET_ACCESS_KEY,
    or one started for the block on the backend LAKEFS_WAP_BACKEND names (``local`` by
    default, its data kept in ``data_dir`` when given; ``s3``: PostgreSQL and MinIO),
    whose data is removed when the block ends."""
    external = server_access_from_env()
    if external is not None:
        yield external
        return
    with running_lakefs(os.environ.get("LAKEFS_WAP_BACKEND", "local"), workdir=data_dir) as server:
        yield server.access


def connect_to(access: ServerAccess) -> LakeFSConnection:
    """lakefs-wap's connection to the benchmark's server."""
    from lakefs_wap import ConnectionSettings, connect

    return connect(ConnectionSettings(access.endpoint, access.access_key_id, access.secret_access_key))


def default_results_path(name: str) -> Path:
    """Where a benchmark writes its JSON unless told otherwise: outside the tree."""
    return Path(tempfile.gettempdir()) / "lakefs-wap-bench" / f"{name}.json"


def write_results(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")


class RequestLog:
    """Every HTTP request a client sends, counted where it leaves: at its urllib3 pool.

    Both the generated SDK's calls and lakefs-wap's streamed uploads go through
    the pool's ``request``; each call is one request on the wire (urllib3's own
    retries are off in lakefs-wap's client and never fire against a healthy
    local server in the raw one). Entries are ``METHOD /path?query-keys`` with
    names given to ``alias`` replaced, so they read the same on every run.
    """

    def __init__(self) -> None:
        self.entries: list[str] = []
        self.seconds: list[float] = []  # each request's time until its answer was read
        self.aliases: dict[str, str] = {}

    def attach(self, pool_manager: Any) -> None:
        send = pool_manager.request

        def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            self.entries.append(self._describe(method, url))
            started = time.perf_counter()
            try:
                return send(method, url, *args, **kwargs)
            finally:
                self.seconds.append(time.perf_counter() - started)

        pool_manager.request = request

    def alias(self, name: str, placeholder: str) -> None:
        self.aliases[name] = placeholder

    def mark(self) -> int:
        return len(self.entries)

    def since(self, mark: int) -> list[tuple[str, float]]:
        return list(zip(self.entries[mark:], self.seconds[mark:], strict=True))

    def _describe(self, method: str, url: str) -> str:
        parts = urlsplit(url)
        path = parts.path.removeprefix(_API_PATH)
        segments = [self.aliases.get(segment, _generic(segment)) for segment in path.split("/")]
        keys = sorted({key for key, _ in parse_qsl(parts.query, keep_blank_values=True)})
        return f"{method} {'/'.join(segments)}" + (f"?{'&'.join(keys)}" if keys else "")


class RequestCount:
    """HTTP requests sent by anything in this process since ``count_requests()``."""

    def __init__(self) -> None:
        self.count = 0


def count_requests() -> RequestCount:
    """Count every request this process sends, whichever client sends it.

    The generated SDK, the high-level ``lakefs`` package, lakefs-spec and
    lakefs-wap all end in ``urllib3``'s ``HTTPConnectionPool.urlopen``, once per
    request on the wire (a retry or redirect calls it again). For benchmark
    child processes, which measure one client each.
    """
    import urllib3.connectionpool

    counter = RequestCount()
    pool = urllib3.connectionpool.HTTPConnectionPool
    send = pool.urlopen

    def urlopen(self: Any, *args: Any, **kwargs: Any) -> Any:
        counter.count += 1
        return send(self, *args, **kwargs)

    pool.urlopen = urlopen  # type: ignore[method-assign]
    return counter


def _generic(segment: str) -> str:
    if len(segment) == 64 and all(c in "0123456789abcdef" for c in segment):
        return "{commit}"
    if segment.startswith("wap."):
        return "{record-tag}"
    return segment


def machine_facts(server_version: str) -> dict[str, Any]:
    """Cores, CPU, memory, OS, Python, package versions, lakeFS version and the code measured."""
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "lakefs_server": server_version,
        "packages": {name: _version_of(name) for name in PACKAGES},
        "code": _code_state(),
    }


def describe_machine(facts: dict[str, Any]) -> list[str]:
    packages = ", ".join(f"{name} {version}" for name, version in facts["packages"].items())
    return [
        f"machine: {facts['cores']} cores, {facts['cpu']}, {facts['memory_gib']} GiB RAM, {facts['os']}",
        f"software: lakeFS {facts['lakefs_server']}, Python {facts['python']}, {packages}",
        f"code: {facts['code']}",
    ]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def _version_of(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _code_state() -> str:
    """The commit measured, and whether the working tree differed from it (read-only git calls)."""

    def git(*args: str) -> str:
        return subprocess.run(  # noqa: S603 - fixed git arguments
            ["git", *args],  # noqa: S607 - git from PATH; read-only queries
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    try:
        commit = git("rev-parse", "--short=12", "HEAD").strip()
        changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()]
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    if not changed:
        return f"git {commit}"
    return f"git {commit} with uncommitted changes in {', '.join(changed)}"
