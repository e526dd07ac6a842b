"""Reading history and differences, lazily and page by page.

Every listing in lakeFS is paginated; these generators fetch the next page only
when the caller gets that far, so a gate that stops early never lists a whole
diff, and a log walk stops at the commit it was looking for.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import lakefs_sdk

from lakefs_wap.connection import LakeFSConnection
from lakefs_wap.errors import default_branch_refused, translated
from lakefs_wap.names import validate_branch, validate_repository

PAGE_SIZE = 1000
DiffType = Literal["two_dot", "three_dot"]


def iter_log(
    connection: LakeFSConnection,
    repository: str,
    ref: str,
    *,
    limit: int | None = None,
    first_parent: bool = False,
    page_size: int = PAGE_SIZE,
) -> Iterator[lakefs_sdk.Commit]:
    """Commits reachable from ``ref``, newest first, at most ``limit`` of them."""
    after = ""
    seen = 0
    while True:
        amount = page_size if limit is None else min(page_size, limit - seen)
        if amount <= 0:
            return
        with translated(action=f"read the log of '{ref}'", repository=repository, ref=ref):
            page = connection.sdk.refs_api.log_commits(
                repository, ref, after=after or None, amount=amount, first_parent=first_parent
            )
        for commit in page.results:
            yield commit
            seen += 1
        if not page.pagination.has_more:
            return
        after = page.pagination.next_offset


def iter_diff(
    connection: LakeFSConnection,
    repository: str,
    left_ref: str,
    right_ref: str,
    *,
    prefix: str | None = None,
    diff_type: DiffType = "two_dot",
    page_size: int = PAGE_SIZE,
) -> Iterator[lakefs_sdk.Diff]:
    """Object-level differences from ``left_ref`` to ``right_ref`` (committed state of both)."""
    after = ""
    while True:
        with translated(action=f"diff '{left_ref}'..'{right_ref}'", repository=repository, ref=right_ref):
            page = connection.sdk.refs_api.diff_refs(
                repository, left_ref, right_ref, after=after or None, amount=page_size, prefix=prefix, type=diff_type
            )
        yield from page.results
        if not page.pagination.has_more:
            return
        after = page.pagination.next_offset


def iter_uncommitted(
    connection: LakeFSConnection, repository: str, branch: str, *, page_size: int = PAGE_SIZE
) -> Iterator[lakefs_sdk.Diff]:
    """Staged, not yet committed changes on ``branch``."""
    after = ""
    while True:
        with translated(action=f"list uncommitted changes on '{branch}'", repository=repository, ref=branch):
            page = connection.sdk.branches_api.diff_branch(repository, branch, after=after or None, amount=page_size)
        yield from page.results
        if not page.pagination.has_more:
            return
        after = page.pagination.next_offset


def has_uncommitted_changes(connection: LakeFSConnection, repository: str, branch: str) -> bool:
    return next(iter_uncommitted(connection, repository, branch, page_size=1), None) is not None


def default_branch(connection: LakeFSConnection, repository: str) -> str:
    """The repository's default branch: the one lakeFS never deletes."""
    validate_repository(repository)
    with translated(
        action=f"read repository '{repository}'", repository=repository, missing=f"repository '{repository}'"
    ):
        return str(connection.sdk.repositories_api.get_repository(repository).default_branch)


def refuse_default_branch(connection: LakeFSConnection, repository: str, branch: str) -> None:
    """Before deleting ``branch``: ``BadInputError`` if it is the repository's default branch."""
    validate_branch(branch)
    if branch == default_branch(connection, repository):
        raise default_branch_refused(repository, branch)
