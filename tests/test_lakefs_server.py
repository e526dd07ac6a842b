"""The launcher fails loudly and usefully: CI must never silently skip lakeFS."""

from __future__ import annotations

import ipaddress
import os
import socket
import stat
import urllib.error
import urllib.request
from pathlib import Path

import lakefs
import pytest

from tools import lakefs_server
from tools.lakefs_server import LakeFSUnavailable, LocalLakeFS, ServerAccess, running_lakefs
from tools.postgres import LocalPostgres
from tools.s3_server import LocalMinIO


def test_pinned_version_comes_from_the_wrapper_go_module() -> None:
    version = lakefs_server.pinned_version()
    assert version.startswith("v1.")
    assert f"github.com/treeverse/lakefs {version}" in (lakefs_server.BUILD_MODULE_DIR / "go.mod").read_text()


def test_lakefs_bin_that_is_not_executable_is_named_in_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    not_a_binary = tmp_path / "lakefs"
    not_a_binary.write_text("")
    monkeypatch.setenv("LAKEFS_BIN", str(not_a_binary))
    with pytest.raises(LakeFSUnavailable, match=r"LAKEFS_BIN=.*lakefs is not an executable file"):
        lakefs_server.find_binary()


def test_lakefs_bin_wins_over_path_and_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = _script(tmp_path / "my-lakefs", "exit 0")
    monkeypatch.setenv("LAKEFS_BIN", str(chosen))
    assert lakefs_server.find_binary() == chosen


def test_missing_go_explains_every_way_to_get_a_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAKEFS_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no go, no lakefs
    monkeypatch.setenv("LAKEFS_WAP_CACHE_DIR", str(tmp_path / "cache"))
    assert lakefs_server.find_binary() is None
    with pytest.raises(LakeFSUnavailable, match="`go` is not installed") as raised:
        lakefs_server.ensure_binary()
    assert "LAKEFS_BIN" in str(raised.value)


def test_server_that_dies_at_start_reports_its_log_tail(tmp_path: Path) -> None:
    dying = _script(tmp_path / "lakefs", 'echo "FATAL: pretend the config is bad" >&2; exit 3')
    with pytest.raises(LakeFSUnavailable, match="exited with code 3") as raised:
        LocalLakeFS(binary=dying, workdir=tmp_path / "work", startup_timeout=10).start()
    assert "pretend the config is bad" in str(raised.value)


def test_server_that_never_answers_times_out_with_log_tail(tmp_path: Path) -> None:
    silent = _script(tmp_path / "lakefs", 'echo "still starting"; exec sleep 30')
    server = LocalLakeFS(binary=silent, workdir=tmp_path / "work", startup_timeout=1)
    with pytest.raises(LakeFSUnavailable, match=r"did not answer .*/_health within 1s") as raised:
        server.start()
    assert "still starting" in str(raised.value)
    assert not server.is_running()


def test_a_taken_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    never_run = _script(tmp_path / "lakefs", "exit 99")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        server = LocalLakeFS(binary=never_run, port=port, workdir=tmp_path / "work")
        with pytest.raises(LakeFSUnavailable, match=f"port {port} on 127.0.0.1 is taken"):
            server.start()
    assert not server.is_running()


def test_real_server_config_is_accepted_and_stop_ends_the_process(tmp_path: Path) -> None:
    # lakeFS rejects unknown configuration keys, so a server that comes up
    # proves the generated config is valid for the pinned version.
    server = LocalLakeFS(workdir=tmp_path / "work")
    with server:
        assert server.is_running()
    assert not server.is_running()


def test_killed_server_restarts_on_its_own_data_at_the_same_endpoint(tmp_path: Path) -> None:
    with LocalLakeFS(workdir=tmp_path / "work") as server:
        endpoint = server.access.endpoint
        client = lakefs.Client(
            host=endpoint, username=server.access.access_key_id, password=server.access.secret_access_key
        )
        repository = lakefs.Repository("survives-kill", client=client).create(
            storage_namespace=server.access.storage_namespace("survives-kill")
        )
        repository.branch("main").object("data/kept.txt").upload(data=b"written before the crash")
        written = repository.branch("main").commit(message="before the crash", metadata={"step": "1"})

        server.kill()
        assert not server.is_running()
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(f"{endpoint}/_health", timeout=2)  # noqa: S310
        server.restart()

        assert server.is_running()
        assert server.access.endpoint == endpoint
        reopened = lakefs.Repository("survives-kill", client=client)
        head = reopened.branch("main").get_commit()
        assert (head.id, head.message, head.metadata) == (written.id, "before the crash", {"step": "1"})
        assert reopened.branch("main").object("data/kept.txt").reader().read() == b"written before the crash"
        # Stored credentials are encrypted with the data directory's key: a new commit proves they still work.
        reopened.branch("main").object("data/after.txt").upload(data=b"after")
        assert reopened.branch("main").commit(message="after the restart").id != written.id


def test_restart_of_a_running_server_kills_it_first(tmp_path: Path) -> None:
    with LocalLakeFS(workdir=tmp_path / "work") as server:
        first = server.pid
        server.restart()
        assert server.is_running()
        assert server.pid != first
        assert first is not None
        with pytest.raises(ProcessLookupError):
            os.kill(first, 0)


@pytest.mark.parametrize(
    ("prefix", "namespace"),
    [
        ("local://", "local://r-1"),
        ("s3://bucket", "s3://bucket/r-1"),
        ("s3://bucket/tests/", "s3://bucket/tests/r-1"),
    ],
)
def test_storage_namespace_is_the_prefix_and_the_repository(prefix: str, namespace: str) -> None:
    access = ServerAccess("http://127.0.0.1:1", "key", "secret", namespace_prefix=prefix)
    assert access.storage_namespace("r-1") == namespace


def test_an_unknown_backend_is_named_with_the_choices() -> None:
    with pytest.raises(LakeFSUnavailable, match="unknown lakeFS backend 'gcs': choose one of local, s3"):
        running_lakefs("gcs").__enter__()  # refused before anything starts


def test_only_the_local_backend_keeps_data(tmp_path: Path) -> None:
    with pytest.raises(LakeFSUnavailable, match="only the local backend keeps its data"):
        running_lakefs("s3", workdir=tmp_path).__enter__()


def test_s3_server_that_dies_at_start_fails_with_its_log_and_leaves_nothing(tmp_path: Path) -> None:
    dying = _script(tmp_path / "minio", 'echo "FATAL: pretend the drive is bad" >&2; exit 4')
    server = LocalMinIO(binary=dying, startup_timeout=10)
    with pytest.raises(LakeFSUnavailable, match="MinIO exited with code 4 while starting") as raised:
        server.start()
    assert "pretend the drive is bad" in str(raised.value)
    assert not server.is_running()
    assert not server.workdir.exists()


# The servers below are the s3 backend's: they need PostgreSQL installed and
# MinIO built (minutes), so they run with it, in `make test-s3`.


@pytest.mark.s3
def test_postgres_runs_unprivileged_on_loopback_and_leaves_nothing_behind() -> None:
    with LocalPostgres() as postgres:
        pid = postgres.pid
        assert pid is not None
        assert _listening(pid) == {("127.0.0.1", postgres.port)}
        if os.geteuid() == 0:
            assert Path(f"/proc/{pid}").stat().st_uid != 0, "PostgreSQL must not run as root"
        workdir = postgres.workdir
        assert (workdir / "data" / "PG_VERSION").is_file()
    assert not postgres.is_running()
    _assert_gone(pid)
    assert not workdir.exists()


@pytest.mark.s3
def test_minio_serves_its_bucket_on_loopback_only_and_leaves_nothing_behind() -> None:
    with LocalMinIO(bucket="made-at-start") as minio:
        pid = minio.pid
        assert pid is not None
        assert {port for _, port in _listening(pid)} >= {minio.port}
        assert minio.access.request("PUT", "k/x.txt", b"stored") == (200, b"")
        assert minio.access.request("GET", "k/x.txt") == (200, b"stored")
        workdir = minio.workdir
    _assert_gone(pid)
    assert not workdir.exists()


@pytest.mark.s3
def test_s3_backend_stops_all_three_servers_by_pid() -> None:
    already_running = _children_pids(os.getpid())  # the session's own servers, in an s3 run
    with running_lakefs("s3") as server:
        access = server.access
        assert access.s3 is not None
        assert access.namespace_prefix == f"s3://{access.s3.bucket}"
        pids = sorted(_children_pids(os.getpid()) - already_running)
        workdirs = [Path(p) for p in _temp_dirs_of(pids)]
        assert server.pid in pids
        assert len(pids) == 3, f"expected lakeFS, PostgreSQL and MinIO, found {pids}"
        assert len(workdirs) == 3, f"expected a temporary directory per server, found {workdirs}"
        for pid in pids:
            assert _listening(pid), f"process {pid} listens nowhere"
        client = lakefs.Client(host=access.endpoint, username=access.access_key_id, password=access.secret_access_key)
        assert client.storage_config.blockstore_type == "s3"
    for pid in pids:
        _assert_gone(pid)
    for workdir in workdirs:
        assert not workdir.exists()


@pytest.mark.s3
def test_s3_backend_restart_keeps_data_in_postgres_and_s3() -> None:
    with running_lakefs("s3") as server:
        access = server.access
        client = lakefs.Client(host=access.endpoint, username=access.access_key_id, password=access.secret_access_key)
        repository = lakefs.Repository("survives-restart", client=client).create(
            storage_namespace=access.storage_namespace("survives-restart")
        )
        repository.branch("main").object("kept.txt").upload(data=b"in the bucket", pre_sign=False)
        written = repository.branch("main").commit(message="before the restart")
        server.restart()  # the admin exists already: setup answers 409 and is accepted
        reopened = lakefs.Repository("survives-restart", client=client).branch("main")
        assert reopened.get_commit().id == written.id
        assert reopened.object("kept.txt").reader(pre_sign=False).read() == b"in the bucket"


def _listening(pid: int) -> set[tuple[str, int]]:
    """Addresses the process listens on (TCP), each checked to be a loopback address."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            host_hex, port_hex = local.split(":")
            raw = bytes.fromhex(host_hex)
            # /proc prints each 32-bit word of the address in host (little-endian) order.
            address = ipaddress.ip_address(b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4)))
            assert address.is_loopback, f"process {pid} listens on {address}:{int(port_hex, 16)}"
            found.add((str(address), int(port_hex, 16)))
    return found


def _children_pids(parent: int) -> set[int]:
    return {int(pid) for pid in Path(f"/proc/{parent}/task/{parent}/children").read_text().split()}


def _temp_dirs_of(pids: list[int]) -> set[str]:
    """The lakefs-wap temporary directories the processes run in (each server runs in its own)."""
    return {cwd for cwd in (os.readlink(f"/proc/{pid}/cwd") for pid in pids) if "lakefs-wap-" in cwd}


def _assert_gone(pid: int) -> None:
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path
