"""Reading history and differences, lazily and page by page.

Every listing in lakeFS is paginated; these generators fetch the next page only
when the caller gets that far, so a gate that stops early never lists a whole
diff, and a log walk stops at the commit it was looking for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any, Literal, Protocol

import lakefs_sdk

from lakefs_wap.connection import LakeFSConnection
from lakefs_wap.errors import default_branch_refused, translated
from lakefs_wap.names import validate_branch, validate_ref, validate_repository

PAGE_SIZE = 1000
DiffType = Literal["two_dot", "three_dot"]


class _Page(Protocol):
    results: list[Any]
    pagination: lakefs_sdk.Pagination


def iter_pages(fetch: Callable[[str | None], _Page]) -> Iterator[Any]:
    """Every result of a paginated lakeFS listing, fetching the next page only when reached.

    This is the one pagination loop.

    Args:
        fetch: ``fetch(after)`` requests one page starting after the offset
            ``after`` (``None`` for the first page).

    Example:
        >>> def fetch(after):  # doctest: +SKIP
        ...     return connection.sdk.tags_api.list_tags("lake", after=after)
        >>> [tag.id for tag in iter_pages(fetch)]  # doctest: +SKIP
        ['v1', 'v2']
    """
    after: str | None = None
    while True:
        page = fetch(after)
        yield from page.results
        if not page.pagination.has_more:
            return
        after = page.pagination.next_offset or None


def get_commit(connection: LakeFSConnection, repository: str, ref: str) -> lakefs_sdk.Commit:
    """The commit ``ref`` points at.

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        ref: A branch, tag or commit id (``~N``/``^N`` suffixes allowed).

    Raises:
        NotFoundError: The repository or ref does not exist.

    Example:
        >>> get_commit(connection, "lake", "main").id  # doctest: +SKIP
        'c1f0...'
    """
    validate_repository(repository)
    validate_ref(ref)
    with translated(action=f"read commit '{ref}'", repository=repository, ref=ref, missing=f"ref '{ref}'"):
        return connection.sdk.commits_api.get_commit(repository, ref)


def iter_log(
    connection: LakeFSConnection,
    repository: str,
    ref: str,
    *,
    limit: int | None = None,
    first_parent: bool = False,
    page_size: int = PAGE_SIZE,
) -> Iterator[lakefs_sdk.Commit]:
    """Commits reachable from ``ref``, newest first, at most ``limit`` of them.

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        ref: The branch, tag or commit to start from.
        limit: At most this many commits; all when None.
        first_parent: Follow only first parents (a branch's own line of merges).
        page_size: Commits fetched per request.
    """
    amount = page_size if limit is None else min(page_size, limit)
    if amount <= 0:
        return iter(())

    def fetch(after: str | None) -> lakefs_sdk.CommitList:
        with translated(action=f"read the log of '{ref}'", repository=repository, ref=ref):
            return connection.sdk.refs_api.log_commits(
                repository, ref, after=after, amount=amount, first_parent=first_parent
            )

    return islice(iter_pages(fetch), limit)


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
    """Object-level differences from ``left_ref`` to ``right_ref`` (committed state of both).

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        left_ref: The ref compared from.
        right_ref: The ref compared to.
        prefix: Only paths starting with this string.
        diff_type: ``"two_dot"`` (what differs) or ``"three_dot"`` (what
            ``right_ref`` changed since the common ancestor; conflicts show).
        page_size: Entries fetched per request.
    """

    def fetch(after: str | None) -> lakefs_sdk.DiffList:
        with translated(action=f"diff '{left_ref}'..'{right_ref}'", repository=repository, ref=right_ref):
            return connection.sdk.refs_api.diff_refs(
                repository, left_ref, right_ref, after=after, amount=page_size, prefix=prefix, type=diff_type
            )

    return iter_pages(fetch)


def iter_uncommitted(
    connection: LakeFSConnection, repository: str, branch: str, *, page_size: int = PAGE_SIZE
) -> Iterator[lakefs_sdk.Diff]:
    """Staged, not yet committed changes on ``branch``.

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        branch: The branch.
        page_size: Entries fetched per request.
    """

    def fetch(after: str | None) -> lakefs_sdk.DiffList:
        with translated(action=f"list uncommitted changes on '{branch}'", repository=repository, ref=branch):
            return connection.sdk.branches_api.diff_branch(repository, branch, after=after, amount=page_size)

    return iter_pages(fetch)


def has_uncommitted_changes(connection: LakeFSConnection, repository: str, branch: str) -> bool:
    """Whether ``branch`` has anything staged, read with a one-entry page.

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        branch: The branch.
    """
    return next(iter_uncommitted(connection, repository, branch, page_size=1), None) is not None


def default_branch(connection: LakeFSConnection, repository: str) -> str:
    """The repository's default branch: the one lakeFS never deletes.

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
    """
    validate_repository(repository)
    with translated(
        action=f"read repository '{repository}'", repository=repository, missing=f"repository '{repository}'"
    ):
        return str(connection.sdk.repositories_api.get_repository(repository).default_branch)


def refuse_default_branch(connection: LakeFSConnection, repository: str, branch: str) -> None:
    """Before deleting ``branch``: ``BadInputError`` if it is the repository's default branch.

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        branch: The branch about to be deleted.
    """
    validate_branch(branch)
    if branch == default_branch(connection, repository):
        raise default_branch_refused(repository, branch)
