"""The polls behind every sensor, against the real server."""

from __future__ import annotations

import pytest

from lakefs_wap import NotFoundError, RunBranch, objects, operations
from lakefs_wap.watch import find_object, new_commit_since


def commit(connection, repo, branch: str, path: str) -> str:
    objects.upload(connection, repo.id, branch, path, path.encode())
    return str(operations.commit(connection, repo.id, branch, f"add {path}").id)


def test_new_commit_since_any_and_by_prefix(connection, repo) -> None:
    base = operations.branch_head(connection, repo.id, "main")
    assert new_commit_since(connection, repo.id, "main", base) is None
    raw = commit(connection, repo, "main", "raw/a.csv")
    assert new_commit_since(connection, repo.id, "main", base) == raw
    assert new_commit_since(connection, repo.id, "main", base, ["curated/"]) is None
    commit(connection, repo, "main", "curated/b.csv")
    head = commit(connection, repo, "main", "raw/c.csv")
    # a curated commit landed: report the head, which shows it
    assert new_commit_since(connection, repo.id, "main", base, ["curated/"]) == head
    assert new_commit_since(connection, repo.id, "main", head, ["curated/"]) is None


def test_a_published_run_is_seen_through_its_merge(connection, repo) -> None:
    base = operations.branch_head(connection, repo.id, "main")
    run = RunBranch(connection, repo.id, "watch-run")
    run.open()
    objects.upload(connection, repo.id, run.branch, "curated/x.parquet", b"x")
    run.commit()
    run.gate([])
    merge = run.publish()
    assert new_commit_since(connection, repo.id, "main", base, ["curated/"]) == merge


def test_find_object_by_path_or_prefix_including_staged(connection, repo) -> None:
    assert find_object(connection, repo.id, "main", path="landing/flag") is None
    assert find_object(connection, repo.id, "main", prefix="landing/") is None
    objects.upload(connection, repo.id, "main", "landing/flag", b"")  # staged only
    assert find_object(connection, repo.id, "main", path="landing/flag") == "landing/flag"
    assert find_object(connection, repo.id, "main", prefix="landing/") == "landing/flag"
    with pytest.raises(ValueError, match="exactly one of path= or prefix="):
        find_object(connection, repo.id, "main")


def test_find_object_on_a_missing_ref_is_not_found(connection, repo) -> None:
    with pytest.raises(NotFoundError, match="ref 'nope'"):
        find_object(connection, repo.id, "nope", path="a")
