"""Names are checked locally, before any request leaves the process."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from lakefs_wap import ConnectionSettings, InvalidNameError, RunBranch, connect, operations, run_branch_name
from lakefs_wap.names import RUN_BRANCH_MAX_LENGTH, validate_branch, validate_repository, validate_tag
from lakefs_wap.revert import revert_commit


@pytest.mark.parametrize("name", ["abc", "my-repo-1", "0abc", "a" * 63])
def test_valid_repository_names(name: str) -> None:
    assert validate_repository(name) == name


@pytest.mark.parametrize("name", ["ab", "-abc", "My-Repo", "repo_1", "a" * 64, "repo.name", "", "repo/x"])
def test_invalid_repository_names_state_the_rule(name: str) -> None:
    with pytest.raises(InvalidNameError, match=r"\^\[a-z0-9\]\[a-z0-9-\]\{2,62\}\$"):
        validate_repository(name)


@pytest.mark.parametrize("name", ["main", "feature_1", "_hidden", "run-2026-01-01", "9lives"])
def test_valid_branch_names(name: str) -> None:
    assert validate_branch(name) == name


@pytest.mark.parametrize("name", ["-x", "a/b", "a.b", "a b", "", "é", "manual__2026-01-01T00:00:00+00:00"])
def test_invalid_branch_names_state_the_rule(name: str) -> None:
    with pytest.raises(InvalidNameError, match="branch names are letters, digits"):
        validate_branch(name)


def test_run_ids_as_branch_names_point_to_run_branch_name() -> None:
    with pytest.raises(InvalidNameError, match="use run_branch_name"):
        validate_branch("manual__2026-01-01T00:00:00+00:00")


@pytest.mark.parametrize("name", ["v1.0", "release-2026", "a~1"])
def test_valid_tags(name: str) -> None:
    assert validate_tag(name) == name


@pytest.mark.parametrize("name", ["", "@", "a..b", "a/b", "x.lock", "end.", "a b", "a:b", "a@{1}"])
def test_invalid_tags(name: str) -> None:
    with pytest.raises(InvalidNameError, match="invalid tag name"):
        validate_tag(name)


@pytest.mark.parametrize(
    "run_id",
    [
        "manual__2026-01-01T00:00:00+00:00",
        "scheduled__2026-11-22T06:00:00.123456+00:00",
        "3f2b9c1e-8a47-4d5e-9b2a-1c0d7e6f5a4b",
        "dataset_triggered__2026-01-01T00:00:00+00:00",
        "x" * 500,
        "日本語の実行",
        "::",
    ],
)
def test_run_branch_names_are_valid_deterministic_and_bounded(run_id: str) -> None:
    name = run_branch_name(run_id, prefix="orders")
    assert validate_branch(name) == name
    assert name == run_branch_name(run_id, prefix="orders")
    assert len(name) <= RUN_BRANCH_MAX_LENGTH
    assert name.startswith("orders-")


def test_run_branch_names_stay_readable() -> None:
    name = run_branch_name("manual__2026-01-01T00:00:00+00:00", prefix="orders")
    assert name == "orders-manual__2026-01-01T00-00-00-00-00-b0508c0a5b"


def test_run_ids_that_read_alike_get_different_branches() -> None:
    first = run_branch_name("manual__2026-01-01T00:00:00+00:00")
    second = run_branch_name("manual__2026-01-01T00-00-00-00-00")
    assert first != second
    assert run_branch_name("a", prefix="x") != run_branch_name("a", prefix="y")


def test_bad_prefix_or_empty_run_id_rejected() -> None:
    with pytest.raises(InvalidNameError, match="run-branch prefix"):
        run_branch_name("r1", prefix="bad/prefix")
    with pytest.raises(InvalidNameError, match="non-empty run id"):
        run_branch_name("  ")


@pytest.fixture
def counting_listener() -> Iterator[tuple[str, Callable[[], int]]]:
    """A TCP listener that counts connections: proof that nothing was sent."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            accepted.append(conn)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", lambda: len(accepted)
    stop.set()
    thread.join()
    server.close()


@pytest.mark.parametrize(
    "call",
    [
        lambda c: operations.create_branch(c, "Bad_Repo", "b", "main"),
        lambda c: operations.create_branch(c, "good-repo", "bad/branch", "main"),
        lambda c: operations.create_branch(c, "good-repo", "b", "bad ref"),
        lambda c: operations.commit(c, "good-repo", "bad.branch", "msg"),
        lambda c: operations.merge(c, "good-repo", "src", "dest/x"),
        lambda c: revert_commit(c, "good-repo", "main", "ref with space"),
        lambda c: operations.create_tag(c, "good-repo", "v1..2", "main"),
        lambda c: operations.delete_branch(c, "gr", "x"),
        lambda c: RunBranch(c, "good-repo", "run-1", source_branch="ma/in"),
    ],
)
def test_bad_names_are_rejected_with_zero_requests_sent(counting_listener, call) -> None:
    endpoint, connections_made = counting_listener
    connection = connect(ConnectionSettings(endpoint, "AKIAEXAMPLE", "secret"))
    with pytest.raises(InvalidNameError):
        call(connection)
    assert connections_made() == 0


def test_a_bad_sensor_baseline_is_rejected_with_zero_requests_sent(counting_listener) -> None:
    from lakefs_wap.watch import new_commit_since

    endpoint, connections_made = counting_listener
    connection = connect(ConnectionSettings(endpoint, "AKIAEXAMPLE", "secret"))
    with pytest.raises(InvalidNameError, match="baseline commit"):
        new_commit_since(connection, "good-repo", "main", "not a ref")
    assert connections_made() == 0
