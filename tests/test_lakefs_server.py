"""The launcher fails loudly and usefully: CI must never silently skip lakeFS."""

from __future__ import annotations

import os
import socket
import stat
import urllib.error
import urllib.request
from pathlib import Path

import lakefs
import pytest

from tools import lakefs_server
from tools.lakefs_server import LakeFSUnavailable, LocalLakeFS


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
        repository = lakefs.Repository("survives-kill", client=client).create(storage_namespace="local://survives-kill")
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


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path
