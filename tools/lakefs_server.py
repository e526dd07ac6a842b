"""Obtain and run a throw-away lakeFS server on this machine.

lakefs-wap's tests and demo talk to a real lakeFS server. This module finds a
server binary, or builds one from the lakeFS Go module pinned in
``tools/lakefs-build/go.mod`` (see ``tools/go_build.py`` for where binaries
come from: ``LAKEFS_BIN``, a ``lakefs`` on PATH, or a cached build), and runs
it on 127.0.0.1 on one of two backends:

``local`` (the default)
    metadata and objects in a temporary directory: starts in a second.
``s3``
    as users run it: KV on PostgreSQL (``tools/postgres.py``) and objects in a
    bucket of a real S3 server, MinIO (``tools/s3_server.py``), which makes
    presigned URLs work.

Command line (``python -m tools.lakefs_server --help``)::

    build   make sure the binaries exist (builds them if needed) and print their paths
    run     start a server in the foreground and print how to connect to it
            (``--data-dir DIR`` keeps a local backend's data for the next ``run``)

Only the standard library is used, so this runs before anything is installed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tools.go_build import PinnedGoBinary
from tools.postgres import LocalPostgres, server_bindir
from tools.processes import ChildProcess, LakeFSUnavailable, ManagedServer, check_port_free, free_port, progress
from tools.s3_server import MINIO, LocalMinIO, S3Access

__all__ = ["BACKENDS", "LakeFSUnavailable", "LocalLakeFS", "S3Storage", "ServerAccess", "free_port", "running_lakefs"]

BUILD_MODULE_DIR = Path(__file__).resolve().parent / "lakefs-build"
LAKEFS_PACKAGE = "github.com/treeverse/lakefs/cmd/lakefs"

# The backends a local server can run on; `local` is the fast default.
BACKENDS = ("local", "s3")

# Fixed credentials of the throw-away server's admin. They only ever guard a
# server bound to 127.0.0.1 that lives as long as one test session.
LOCAL_ACCESS_KEY_ID = "AKIALAKEFSWAPLOCAL01"
LOCAL_SECRET_ACCESS_KEY = "lakefs-wap-local-test-secret-0123456789ab"  # noqa: S105
LOCAL_ADMIN = "lakefs-wap-admin"


def _lakefs_binary() -> PinnedGoBinary:
    # lakeFS reports a released version only when one is stamped in, and then
    # starts a periodic audit call to an outside service. A "dev-" prefix keeps
    # that off while the server still says which release it was built from.
    unstamped = PinnedGoBinary(
        "lakeFS", "lakefs", "LAKEFS_BIN", BUILD_MODULE_DIR, "github.com/treeverse/lakefs", LAKEFS_PACKAGE
    )
    stamp = f"-X github.com/treeverse/lakefs/pkg/version.Version=dev-{unstamped.pinned_version()}"
    return replace(unstamped, ldflags=stamp)


@dataclass(frozen=True)
class ServerAccess:
    """Where a lakeFS server listens, the credentials of its admin, and where its repositories store data."""

    endpoint: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    # Storage namespaces are this plus the repository's name: "local://" for
    # the local blockstore, "s3://<bucket>" (or a deeper prefix) for S3.
    namespace_prefix: str = "local://"
    # The S3 server behind the blockstore, when it is one this session runs.
    s3: S3Access | None = None

    def as_lakectl_env(self) -> dict[str, str]:
        """The variables the lakeFS SDKs and lakectl read when given no settings."""
        return {
            "LAKECTL_SERVER_ENDPOINT_URL": self.endpoint,
            "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": self.access_key_id,
            "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": self.secret_access_key,
        }

    def storage_namespace(self, repository: str) -> str:
        """The storage namespace to create ``repository`` with on this server."""
        prefix = self.namespace_prefix
        return prefix + repository if prefix.endswith("://") else f"{prefix.rstrip('/')}/{repository}"


def server_access_from_env() -> ServerAccess | None:
    """The server named by ``LAKEFS_ENDPOINT`` (and its credentials), or None to start one of our own.

    ``LAKEFS_STORAGE_NAMESPACE_PREFIX`` says where its repositories store data
    (default ``local://``, right only for a local blockstore).
    """
    endpoint = os.environ.get("LAKEFS_ENDPOINT")
    if not endpoint:
        return None
    missing = [name for name in ("LAKEFS_ACCESS_KEY_ID", "LAKEFS_SECRET_ACCESS_KEY") if not os.environ.get(name)]
    if missing:
        raise LakeFSUnavailable(f"LAKEFS_ENDPOINT is set, so that server is used, but {missing} is not set")
    try:
        with urllib.request.urlopen(f"{endpoint.rstrip('/')}/_health", timeout=10) as response:  # noqa: S310
            response.read()
    except OSError as error:
        raise LakeFSUnavailable(f"LAKEFS_ENDPOINT={endpoint} does not answer /_health: {error}") from error
    return ServerAccess(
        endpoint=endpoint.rstrip("/"),
        access_key_id=os.environ["LAKEFS_ACCESS_KEY_ID"],
        secret_access_key=os.environ["LAKEFS_SECRET_ACCESS_KEY"],
        namespace_prefix=os.environ.get("LAKEFS_STORAGE_NAMESPACE_PREFIX", "local://"),
    )


def pinned_version() -> str:
    """The lakeFS version required by the wrapper module, e.g. ``v1.84.0``."""
    return _lakefs_binary().pinned_version()


def cached_binary_path() -> Path:
    return _lakefs_binary().cached_path()


def find_binary() -> Path | None:
    """An existing lakeFS binary, or None when one would have to be built."""
    return _lakefs_binary().find()


def ensure_binary() -> Path:
    return _lakefs_binary().ensure()


@dataclass(frozen=True)
class S3Storage:
    """lakeFS's metadata in PostgreSQL and its objects in a bucket of an S3 server."""

    postgres_connection_string: str = field(repr=False)
    s3: S3Access

    def lakefs_config(self) -> dict[str, Any]:
        return {
            "database": {"type": "postgres", "postgres": {"connection_string": self.postgres_connection_string}},
            "blockstore": {
                "type": "s3",
                "s3": {
                    "endpoint": self.s3.endpoint,
                    "force_path_style": True,
                    "region": self.s3.region,
                    # MinIO has one region; asking the bucket for its own is a wasted call.
                    "discover_bucket_region": False,
                    "credentials": {
                        "access_key_id": self.s3.access_key_id,
                        "secret_access_key": self.s3.secret_access_key,
                    },
                },
            },
        }

    @property
    def namespace_prefix(self) -> str:
        return f"s3://{self.s3.bucket}"


class LocalLakeFS(ManagedServer):
    """A lakeFS server process on 127.0.0.1, alive inside a ``with`` block.

    Everything it keeps on disk lives under ``workdir`` (a fresh temporary
    directory unless given), which is removed on exit when this object created
    it; with ``storage`` its metadata and objects live in those servers instead.
    ``kill()`` ends the server the way a crash does and ``restart()`` brings
    it back on the same data and the same port, so clients keep their endpoint.
    """

    def __init__(
        self,
        binary: Path | None = None,
        *,
        port: int | None = None,
        workdir: Path | None = None,
        storage: S3Storage | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.binary = binary or ensure_binary()
        self.port = port or free_port()
        self._owns_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="lakefs-wap-server-"))
        self.storage = storage
        self.startup_timeout = startup_timeout
        self.access = ServerAccess(
            endpoint=f"http://127.0.0.1:{self.port}",
            access_key_id=LOCAL_ACCESS_KEY_ID,
            secret_access_key=LOCAL_SECRET_ACCESS_KEY,
            namespace_prefix=storage.namespace_prefix if storage else "local://",
            s3=storage.s3 if storage else None,
        )
        self.log_path = self.workdir / "lakefs.log"
        self._process = ChildProcess("lakeFS", self.log_path)
        # kill() and restart() may come from other threads (a crash-injecting
        # proxy, a restart timer) than the one that started the server.
        self._lock = threading.RLock()

    def config_yaml(self) -> str:
        # JSON is valid YAML, and writing it avoids depending on a YAML library.
        # lakeFS parses its configuration strictly: an unknown key stops it.
        config: dict[str, Any] = {
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
        if self.storage is not None:
            config.update(self.storage.lakefs_config())
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
            check_port_free(self.port, "lakeFS")
            self.workdir.mkdir(parents=True, exist_ok=True)
            config_path = self.workdir / "config.yaml"
            config_path.write_text(self.config_yaml())
            config_path.chmod(0o600)  # it holds the database's and the S3 server's credentials
            self._process.start([str(self.binary), "run", "--config", str(config_path)], cwd=self.workdir)
            health_url = f"{self.access.endpoint}/_health"
            try:
                self._process.wait_until(
                    lambda: _answers_200(health_url), timeout=self.startup_timeout, waiting_for=f"answer {health_url}"
                )
                if self.storage is not None:
                    self._set_up_admin()
            except BaseException:
                self.stop()
                raise

    def _set_up_admin(self) -> None:
        """Create the admin through the setup API, as a user's first visit would.

        lakeFS applies ``installation.*`` from the config only on a local
        database; on PostgreSQL the API does it, once (409 on a restart).
        """
        body = json.dumps(
            {
                "username": LOCAL_ADMIN,
                "key": {
                    "access_key_id": self.access.access_key_id,
                    "secret_access_key": self.access.secret_access_key,
                },
            }
        ).encode()
        request = urllib.request.Request(  # noqa: S310
            f"{self.access.endpoint}/api/v1/setup_lakefs",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30):  # noqa: S310
                return
        except urllib.error.HTTPError as error:
            if error.code == 409:
                return
            detail = error.read()[:500]
            raise LakeFSUnavailable(
                f"lakeFS refused to set up its admin: HTTP {error.code} {detail!r}\n{self.log_tail()}"
            ) from None

    def kill(self) -> None:
        """End the server with SIGKILL, as a crash would, and wait until it is gone. The data stays."""
        with self._lock:
            self._process.end(stop_signal=None)

    def restart(self) -> None:
        """Start the server again on the same data and port (killing it first if it still runs)."""
        with self._lock:
            self._process.end(stop_signal=None)
            self.start()

    def stop(self) -> None:
        """Stop the server in order; remove its data if this object made the directory."""
        with self._lock:
            self._process.end(stop_signal=signal.SIGTERM, timeout=15)
            if self._owns_workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)


def _answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            return int(response.status) == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextmanager
def running_lakefs(
    backend: str = "local", *, port: int | None = None, workdir: Path | None = None
) -> Iterator[LocalLakeFS]:
    """A local lakeFS on ``backend`` (one of ``BACKENDS``) with the servers it needs, all stopped on exit.

    ``workdir`` keeps a local backend's data; the s3 backend's servers always start empty.
    """
    if backend not in BACKENDS:
        raise LakeFSUnavailable(f"unknown lakeFS backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    if backend != "local" and workdir is not None:
        raise LakeFSUnavailable("only the local backend keeps its data; the s3 backend's servers are temporary")
    with ExitStack() as stack:
        storage = None
        if backend == "s3":
            postgres = stack.enter_context(LocalPostgres())
            s3 = stack.enter_context(LocalMinIO())
            storage = S3Storage(postgres.connection_string, s3.access)
        yield stack.enter_context(LocalLakeFS(port=port, workdir=workdir, storage=storage))


def ensure_backend(backend: str) -> list[Path]:
    """Make sure everything ``backend`` runs on is here (building what Go can build); their paths."""
    found = [ensure_binary()]
    if backend == "s3":
        found += [MINIO.ensure(), server_bindir() / "postgres"]
    return found


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.lakefs_server", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=os.environ.get("LAKEFS_WAP_BACKEND", "local"),
        help="local: data in a directory; s3: PostgreSQL + MinIO (default: $LAKEFS_WAP_BACKEND or local)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="make sure the backend's binaries exist and print their paths")
    run = commands.add_parser("run", help="run a local lakeFS in the foreground until interrupted")
    run.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000)")
    run.add_argument(
        "--data-dir",
        type=Path,
        help="keep a local backend's data here and reuse it on the next run (default: a temporary directory, removed)",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            for path in ensure_backend(args.backend):
                print(path)
            return 0
        data_dir = args.data_dir.resolve() if args.data_dir else None
        # A background run is stopped with SIGTERM (SIGINT is ignored there):
        # end it the way Ctrl-C does, so the servers it started stop with it.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        with running_lakefs(args.backend, port=args.port, workdir=data_dir) as server:
            s3 = server.access.s3
            if s3 is not None:
                progress(f"objects in bucket {s3.bucket} of {s3.endpoint}; metadata in PostgreSQL")
            kept = "kept" if args.data_dir else "removed on exit"
            progress(f"lakeFS is up at {server.access.endpoint} (data in {server.workdir}, {kept}); Ctrl-C stops it")
            for name, value in server.access.as_lakectl_env().items():
                print(f"export {name}={value}", flush=True)
            try:
                while server.is_running():
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
            progress("stopping")
        return 0
    except LakeFSUnavailable as error:
        progress(f"error: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(_main())
