"""The primitive operations converge when repeated and explain what went wrong."""

from __future__ import annotations

import pytest

from lakefs_wap import (
    BadInputError,
    ConflictError,
    MergeConflictError,
    NotFoundError,
    NothingToCommitError,
    objects,
    operations,
)
from lakefs_wap.rejections import CONFLICTS_LISTED


def test_create_branch_converges_or_conflicts_on_request(connection, repo) -> None:
    head = operations.create_branch(connection, repo.id, "feature", "main")
    assert operations.create_branch(connection, repo.id, "feature", "main") == head
    with pytest.raises(ConflictError, match="create branch 'feature' from 'main'"):
        operations.create_branch(connection, repo.id, "feature", "main", exist_ok=False)


def test_create_branch_from_missing_source_names_both(connection, repo) -> None:
    with pytest.raises(NotFoundError, match="source 'nope'"):
        operations.create_branch(connection, repo.id, "feature", "nope")


def test_delete_branch_is_idempotent_but_unknown_repository_is_not(connection, repo) -> None:
    operations.create_branch(connection, repo.id, "gone", "main")
    assert operations.delete_branch(connection, repo.id, "gone") is True
    assert operations.delete_branch(connection, repo.id, "gone") is False
    with pytest.raises(NotFoundError, match="'no-such-repo'"):
        operations.delete_branch(connection, "no-such-repo", "gone")


def test_commit_metadata_must_be_strings_or_scalars(connection, repo) -> None:
    objects.upload(connection, repo.id, "main", "a.txt", b"a")
    commit = operations.commit(connection, repo.id, "main", "typed", {"rows": 12, "ok": True, "name": "x"})
    assert commit.metadata == {"rows": "12", "ok": "True", "name": "x"}
    with pytest.raises(BadInputError, match=r"json\.dumps"):
        operations.commit(connection, repo.id, "main", "nested", {"config": {"a": 1}})
    with pytest.raises(BadInputError, match="non-empty message"):
        operations.commit(connection, repo.id, "main", " ")
    with pytest.raises(NothingToCommitError, match="allow_empty=True"):
        operations.commit(connection, repo.id, "main", "again")
    assert operations.commit(connection, repo.id, "main", "marker", allow_empty=True).parents == [commit.id]


def test_merge_rejects_unknown_strategy_before_sending(connection, repo) -> None:
    with pytest.raises(BadInputError, match="unknown merge strategy 'theirs'"):
        operations.merge(connection, repo.id, "main", "main", strategy="theirs")


def test_merge_strategy_resolves_a_conflict(connection, repo) -> None:
    operations.create_branch(connection, repo.id, "left", "main")
    objects.upload(connection, repo.id, "main", "same.txt", b"main wins?")
    operations.commit(connection, repo.id, "main", "on main")
    objects.upload(connection, repo.id, "left", "same.txt", b"source wins")
    operations.commit(connection, repo.id, "left", "on left")
    operations.merge(connection, repo.id, "left", "main", strategy="source-wins", metadata={"k": "v"})
    assert objects.read_bytes(connection, repo.id, "main", "same.txt") == b"source wins"


def test_a_merge_conflict_names_the_first_paths_and_counts_the_rest(connection, repo) -> None:
    operations.create_branch(connection, repo.id, "left", "main")
    for branch in ("main", "left"):
        for n in range(25):
            objects.upload(connection, repo.id, branch, f"c/{n:02d}.txt", f"{branch} {n}")
        operations.commit(connection, repo.id, branch, f"on {branch}")
    with pytest.raises(MergeConflictError) as caught:
        operations.merge(connection, repo.id, "left", "main")
    listed = ", ".join(repr(f"c/{n:02d}.txt") for n in range(CONFLICTS_LISTED))
    assert f"25 path(s) changed on both sides: {listed} and 5 more. Neither branch was changed." in str(caught.value)
    assert caught.value.total_conflicts == 25
    assert len(caught.value.conflicting_paths) == CONFLICTS_LISTED


def test_tags_are_idempotent_and_never_move(connection, repo) -> None:
    first = operations.create_tag(connection, repo.id, "v1", "main")
    assert operations.create_tag(connection, repo.id, "v1", "main") == first
    objects.upload(connection, repo.id, "main", "b.txt", b"b")
    operations.commit(connection, repo.id, "main", "moves main")
    with pytest.raises(ConflictError, match="already points at"):
        operations.create_tag(connection, repo.id, "v1", "main")


def test_commit_as_dict_is_plain_data(connection, repo) -> None:
    data = operations.commit_as_dict(operations.get_commit(connection, repo.id, "main"))
    assert set(data) == {"id", "message", "metadata", "parents", "creation_date", "committer", "meta_range_id"}
    assert data["message"] == "Repository created"
