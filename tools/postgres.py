"""A throw-away PostgreSQL cluster on 127.0.0.1, for lakeFS's metadata (KV) store.

It runs the server binaries of Debian's ``postgresql`` package (or any
``initdb``/``postgres`` on PATH): ``initdb`` into a fresh temporary directory,
then ``postgres`` as our child, listening on 127.0.0.1 only with no unix
socket, ended by its pid. PostgreSQL refuses to run as root, so under root
both run as the ``postgres`` account (or ``nobody``), which owns the directory.
"""

from __future__ import annotations

import importlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

from tools.processes import ChildProcess, LakeFSUnavailable, ManagedServer, RunAs, check_port_free, free_port

_INSTALL_HINT = "install PostgreSQL's server (Debian/Ubuntu: `apt-get install -y postgresql`)"
_USER = "lakefs"  # the cluster's superuser; the server checks its password on every connection


def server_bindir() -> Path:
    """Where ``initdb`` and ``postgres`` live: PATH first, else the newest Debian cluster version."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("postgres"):
        return Path(on_path).resolve().parent
    # Debian keeps server programs off PATH, one directory per major version.
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: _major(p.parent.parent.name))
    if candidates:
        return candidates[-1].parent
    raise LakeFSUnavailable(
        f"no PostgreSQL server found (no initdb/postgres on PATH or in /usr/lib/postgresql): {_INSTALL_HINT}"
    )


def _major(name: str) -> int:
    return int(name) if name.isdigit() else -1


def unprivileged_account() -> RunAs | None:
    """The account to run PostgreSQL as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return RunAs(uid=entry.pw_uid, gid=entry.pw_gid)
    raise LakeFSUnavailable(
        "running as root, and neither a `postgres` nor a `nobody` account exists to run PostgreSQL as"
    )


class LocalPostgres(ManagedServer):
    """A PostgreSQL server alive inside a ``with`` block; its directory is removed on exit."""

    def __init__(self, *, port: int | None = None, startup_timeout: float = 60.0) -> None:
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.workdir = Path(tempfile.mkdtemp(prefix="lakefs-wap-postgres-"))
        self.data_dir = self.workdir / "data"
        self._password = secrets.token_hex(16)
        self._process = ChildProcess("PostgreSQL", self.workdir / "postgres.log")

    @property
    def connection_string(self) -> str:
        # The cluster's default database: it exists only for this server, so
        # there is nothing to keep apart from lakeFS's tables.
        return f"postgres://{_USER}:{self._password}@127.0.0.1:{self.port}/postgres?sslmode=disable"

    def _start(self) -> None:
        check_port_free(self.port, "PostgreSQL")
        bindir = server_bindir()
        run_as = unprivileged_account()
        password_file = self.workdir / "password"
        password_file.write_text(self._password + "\n")
        if run_as is not None:
            for path in (self.workdir, password_file):
                os.chown(path, run_as.uid, run_as.gid)
        initdb = subprocess.run(
            [
                str(bindir / "initdb"),
                f"--pgdata={self.data_dir}",
                f"--username={_USER}",
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
                # A cluster that lives for one test session needs no flush to disk.
                "--no-sync",
            ],
            cwd=self.workdir,
            user=run_as.uid if run_as else None,
            group=run_as.gid if run_as else None,
            extra_groups=[] if run_as else None,
            capture_output=True,
            text=True,
            check=False,
        )
        password_file.unlink()
        if initdb.returncode != 0:
            output = initdb.stdout + initdb.stderr
            raise LakeFSUnavailable(f"initdb failed with exit code {initdb.returncode}:\n{output}")
        self._process.start(
            [
                str(bindir / "postgres"),
                "-D",
                str(self.data_dir),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"port={self.port}",
                # No unix socket: nothing outside this session finds or reaches it.
                "-c",
                "unix_socket_directories=",
                # Durability across an OS crash is worthless for a session's
                # throw-away data; on a shared CI disk fsync is the slow part.
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ],
            cwd=self.workdir,
            run_as=run_as,
        )
        self._process.wait_until(self._accepts_connections, timeout=self.startup_timeout, waiting_for="get ready")

    def _accepts_connections(self) -> bool:
        # The status line pg_ctl waits for: written once recovery is over and
        # the server accepts connections (a listening socket comes earlier).
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except FileNotFoundError:
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready"

    def stop(self) -> None:
        # SIGINT is PostgreSQL's "fast" shutdown: end sessions, write a checkpoint, exit.
        self._process.end(stop_signal=signal.SIGINT, timeout=30)
        shutil.rmtree(self.workdir, ignore_errors=True)


def sqlalchemy_url(connection_string: str, database: str) -> str:
    """``connection_string`` (a PostgreSQL URL) naming ``database`` instead, in SQLAlchemy's psycopg2 dialect."""
    parts = urllib.parse.urlsplit(connection_string)
    # No query: Airflow derives its async URL (asyncpg) from this one, and asyncpg
    # takes no libpq options such as sslmode; the loopback server has no TLS anyway.
    return urllib.parse.urlunsplit(("postgresql+psycopg2", parts.netloc, f"/{database}", "", ""))


def create_database(connection_string: str, database: str) -> None:
    """Create ``database`` in the PostgreSQL server of ``connection_string`` (nothing if it exists)."""
    try:
        # The driver Airflow's metadata database needs anyway (it ships no type hints).
        psycopg2: Any = importlib.import_module("psycopg2")
    except ImportError:
        raise LakeFSUnavailable(
            "Airflow on PostgreSQL needs psycopg2: `pip install psycopg2-binary` into this environment"
        ) from None
    connection = psycopg2.connect(connection_string.replace("postgres://", "postgresql://", 1))
    try:
        connection.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{database}"')
    finally:
        connection.close()
