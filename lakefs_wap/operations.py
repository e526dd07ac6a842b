"""The lakeFS write operations lakefs-wap builds on, each validated and translated.

Every function checks names locally before sending anything, turns SDK and
transport failures into ``lakefs_wap.errors``, and, where lakeFS's answer
allows it, converges when repeated: creating a branch that exists returns its
head, deleting one that is gone succeeds, tagging the same commit twice is one
tag. Both the run-branch lifecycle and the Airflow hook call these.

The rules they build on have modules of their own: sending a commit or merge
once (``lakefs_wap.write_once``), describing a refused merge
(``lakefs_wap.rejections``), names and merge strategies (``lakefs_wap.names``),
metadata (``lakefs_wap.limits``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import lakefs_sdk
import lakefs_sdk.exceptions as sdk

from lakefs_wap.connection import LakeFSConnection
from lakefs_wap.errors import (
    BadInputError,
    ConflictError,
    NotFoundError,
    NothingToCommitError,
    is_no_changes,
    translated,
)
from lakefs_wap.limits import metadata_strings
from lakefs_wap.names import (
    validate_branch,
    validate_ref,
    validate_repository,
    validate_strategy,
    validate_tag,
)
from lakefs_wap.refs import get_commit, refuse_default_branch
from lakefs_wap.rejections import hook_rejected, merge_conflict
from lakefs_wap.write_once import head_matching, write_once

# get_commit, metadata_strings and validate_strategy live in refs, limits and
# names now; the lifecycle, the Airflow provider and the Dagster publish step
# still reach them here.
__all__ = [
    "branch_head",
    "commit",
    "commit_as_dict",
    "create_branch",
    "create_tag",
    "delete_branch",
    "ensure_repository",
    "get_commit",
    "merge",
    "metadata_strings",
    "tag_commit",
    "validate_strategy",
]


def commit_as_dict(commit: lakefs_sdk.Commit) -> dict[str, Any]:
    """A commit as plain, JSON-friendly data (what operators return as XCom).

    Args:
        commit: A commit as the SDK returns it (``get_commit``, ``commit``).

    Returns:
        ``id``, ``message``, ``metadata``, ``parents``, ``creation_date``,
        ``committer`` and ``meta_range_id``.
    """
    return {
        "id": commit.id,
        "message": commit.message,
        "metadata": dict(commit.metadata or {}),
        "parents": list(commit.parents),
        "creation_date": commit.creation_date,
        "committer": commit.committer,
        "meta_range_id": commit.meta_range_id,
    }


def branch_head(connection: LakeFSConnection, repository: str, branch: str) -> str:
    """The commit id at the head of ``branch``.

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        branch: The branch's name.

    Raises:
        NotFoundError: The repository or branch does not exist.
    """
    validate_repository(repository)
    validate_branch(branch)
    with translated(
        action=f"read branch '{branch}'",
        repository=repository,
        ref=branch,
        missing=f"repository '{repository}' and branch '{branch}'",
    ):
        return str(connection.sdk.branches_api.get_branch(repository, branch).commit_id)


def ensure_repository(connection: LakeFSConnection, repository: str) -> None:
    """Raise a not-found error that names the repository when it does not exist.

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.

    Raises:
        NotFoundError: Naming ``repository``.
    """
    validate_repository(repository)
    with translated(action=f"find repository '{repository}'", repository=repository, missing=f"'{repository}'"):
        connection.sdk.repositories_api.get_repository(repository)


def create_branch(
    connection: LakeFSConnection, repository: str, branch: str, source: str, *, exist_ok: bool = True
) -> str:
    """Create ``branch`` from ``source`` and return its head commit id.

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        branch: The new branch's name (``lakefs_wap.names.validate_branch``).
        source: The branch, tag or commit it starts from.
        exist_ok: Return an existing branch as it is (its head may differ from
            ``source``'s), so that repeating the call converges; else a conflict.

    Raises:
        ConflictError: The branch exists and ``exist_ok`` is False.
        NotFoundError: The repository or ``source`` does not exist.

    Example:
        >>> create_branch(connection, "lake", "run-1", "main")  # doctest: +SKIP
        'c1f0...'
    """
    validate_repository(repository)
    validate_branch(branch)
    validate_ref(source, role="source ref")
    try:
        with translated(
            action=f"create branch '{branch}' from '{source}'",
            repository=repository,
            ref=branch,
            missing=f"repository '{repository}' and source '{source}'",
        ):
            created = connection.sdk.branches_api.create_branch(
                repository,
                lakefs_sdk.BranchCreation(name=branch, source=source),  # type: ignore[call-arg]
            )
    except ConflictError:
        if not exist_ok:
            raise
        return branch_head(connection, repository, branch)
    # lakeFS answers 201 with the new branch's commit id as plain text.
    return str(created).strip().strip('"') or branch_head(connection, repository, branch)


def delete_branch(connection: LakeFSConnection, repository: str, branch: str, *, missing_ok: bool = True) -> bool:
    """Delete ``branch``; return False when it was already gone (and ``missing_ok``).

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        branch: The branch to delete; never the repository's default branch.
        missing_ok: A branch already gone is success (a repeated delete).

    Raises:
        BadInputError: ``branch`` is the repository's default branch.
        NotFoundError: The repository does not exist, or the branch does not
            and ``missing_ok`` is False.
    """
    validate_repository(repository)
    validate_branch(branch)
    refuse_default_branch(connection, repository, branch)
    try:
        with translated(
            action=f"delete branch '{branch}'",
            repository=repository,
            ref=branch,
            missing=f"repository '{repository}' and branch '{branch}'",
        ):
            connection.sdk.branches_api.delete_branch(repository, branch)
    except NotFoundError:
        ensure_repository(connection, repository)
        if missing_ok:
            return False
        raise
    return True


def commit(
    connection: LakeFSConnection,
    repository: str,
    branch: str,
    message: str,
    metadata: Mapping[str, Any] | None = None,
    *,
    allow_empty: bool = False,
) -> lakefs_sdk.Commit:
    """Commit what is staged on ``branch``, once even when an answer is lost.

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        branch: The branch to commit on.
        message: The commit message; not empty.
        metadata: Commit metadata; scalars become strings (``lakefs_wap.limits.metadata_strings``).
        allow_empty: Commit even when nothing is staged.

    Returns:
        The new commit (or the one an earlier, lost-answer attempt made).

    Raises:
        NothingToCommitError: Nothing is staged and ``allow_empty`` is False.
        BadInputError: An empty message or bad metadata; nothing was sent.

    Example:
        >>> commit(connection, "lake", "run-1", "orders of 2026-01-01", {"rows": 3}).id  # doctest: +SKIP
        'c1f0...'
    """
    validate_repository(repository)
    validate_branch(branch)
    if not isinstance(message, str) or not message.strip():
        raise BadInputError(f"a commit on '{branch}' needs a non-empty message.", repository=repository, ref=branch)
    strings = metadata_strings(metadata)
    creation = lakefs_sdk.CommitCreation(  # type: ignore[call-arg]
        message=message, metadata=strings, allow_empty=allow_empty
    )

    def send() -> lakefs_sdk.Commit:
        with translated(
            action=f"commit on branch '{branch}'",
            repository=repository,
            ref=branch,
            missing=f"repository '{repository}' and branch '{branch}'",
        ):
            return connection.sdk.commits_api.commit(repository, branch, creation)

    try:
        return write_once(
            connection,
            send,
            lambda: head_matching(connection, repository, branch, message, strings),
            what=f"commit on '{branch}'",
        )
    except BadInputError as error:
        if is_no_changes(error):
            raise _nothing_to_commit(repository, branch, error) from error
        raise


def _nothing_to_commit(repository: str, branch: str, error: BadInputError) -> NothingToCommitError:
    return NothingToCommitError(
        f"nothing to commit on branch '{branch}' in repository '{repository}': it has no uncommitted "
        "changes. Write something first, or pass allow_empty=True for an empty commit.",
        repository=repository,
        ref=branch,
        status=400,
        server_message=error.server_message,
    )


def merge(
    connection: LakeFSConnection,
    repository: str,
    source_ref: str,
    destination_branch: str,
    *,
    message: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    strategy: str | None = None,
    squash_merge: bool = False,
    allow_empty: bool = False,
    force: bool = False,
    landed: Callable[[], str | None] | None = None,
) -> str:
    """Merge ``source_ref`` into ``destination_branch`` and return the merge commit id.

    In both refusals below lakeFS changed nothing.

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        source_ref: The branch, tag or commit to merge.
        destination_branch: The branch that receives the merge.
        message: The merge commit's message; lakeFS's default when None.
        metadata: The merge commit's metadata; it also tells a landed merge
            apart after a lost answer.
        strategy: ``"dest-wins"``, ``"source-wins"`` or None (a conflict fails).
        squash_merge: One commit of the changes instead of a merge commit.
        allow_empty: Merge even when it changes nothing.
        force: Merge even into a branch with uncommitted changes.
        landed: After a lost answer, finds the merge if it happened; by default
            the destination's head carrying this merge's message and metadata.

    Raises:
        MergeConflictError: Paths changed on both sides (listed on the error).
        HookRejectedError: A pre-merge hook failed (its output on the error).
    """
    validate_repository(repository)
    validate_ref(source_ref, role="source ref")
    validate_branch(destination_branch, role="destination branch")
    validate_strategy(strategy, repository=repository)
    strings = metadata_strings(metadata)
    request = lakefs_sdk.Merge(
        message=message,
        metadata=strings,
        strategy=strategy,
        squash_merge=squash_merge,
        allow_empty=allow_empty,
        force=force,
    )

    def send() -> str:
        return _send_merge(connection, repository, source_ref, destination_branch, request)

    def head_is_this_merge() -> str | None:
        if not strings:
            return None  # nothing marks this merge apart from others: cannot tell, so do not guess
        found = head_matching(connection, repository, destination_branch, message, strings)
        return str(found.id) if found is not None else None

    return write_once(connection, send, landed or head_is_this_merge, what=f"merge into '{destination_branch}'")


def _send_merge(
    connection: LakeFSConnection, repository: str, source_ref: str, destination_branch: str, request: lakefs_sdk.Merge
) -> str:
    """One merge request; a conflict or a failed hook becomes the error that describes it."""
    with translated(
        action=f"merge '{source_ref}' into '{destination_branch}'",
        repository=repository,
        ref=destination_branch,
        missing=f"repository '{repository}', '{source_ref}' and '{destination_branch}'",
    ):
        try:
            result = connection.sdk.refs_api.merge_into_branch(
                repository, source_ref, destination_branch, merge=request
            )
        except sdk.ApiException as error:
            if error.status == 409:
                raise merge_conflict(connection, repository, source_ref, destination_branch, error) from error
            if error.status == 412:
                raise hook_rejected(connection, repository, destination_branch, error) from error
            raise
    return str(result.reference)


def create_tag(connection: LakeFSConnection, repository: str, tag: str, ref: str) -> str:
    """Tag ``ref``; return the tagged commit id. Tagging the same commit again is a no-op.

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        tag: The tag's name (``lakefs_wap.names.validate_tag``).
        ref: The branch, tag or commit to tag; resolved to its commit first.

    Raises:
        ConflictError: The tag already points at another commit.
    """
    validate_repository(repository)
    validate_tag(tag)
    validate_ref(ref)
    target = str(get_commit(connection, repository, ref).id)
    tag_commit(connection, repository, tag, target)
    return str(target)


def tag_commit(connection: LakeFSConnection, repository: str, tag: str, commit_id: str) -> None:
    """Create ``tag`` at ``commit_id``; a tag that already points there is the same tag (a retry).

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        tag: The tag's name.
        commit_id: The full commit id to tag.

    Raises:
        ConflictError: The tag already points at another commit; tags do not move.
    """
    try:
        with translated(action=f"create tag '{tag}' at {commit_id[:12]}", repository=repository, ref=tag):
            connection.sdk.tags_api.create_tag(repository, lakefs_sdk.TagCreation(id=tag, ref=commit_id))
    except ConflictError:
        with translated(action=f"read tag '{tag}'", repository=repository, ref=tag):
            existing = str(connection.sdk.tags_api.get_tag(repository, tag).commit_id)
        if existing != commit_id:
            raise ConflictError(
                f"tag '{tag}' in repository '{repository}' already points at {existing}, not at {commit_id}. "
                "Tags do not move; pick another name or delete the tag first.",
                repository=repository,
                ref=tag,
                status=409,
            ) from None
