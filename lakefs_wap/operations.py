"""The lakeFS write operations lakefs-wap builds on, each validated and translated.

Every function checks names locally before sending anything, turns SDK and
transport failures into ``lakefs_wap.errors``, and, where lakeFS's answer
allows it, converges when repeated: creating a branch that exists returns its
head, deleting one that is gone succeeds, tagging the same commit twice is one
tag. Both the run-branch lifecycle and the Airflow hook call these.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar

import lakefs_sdk
import lakefs_sdk.exceptions as sdk

from lakefs_wap.connection import LakeFSConnection
from lakefs_wap.errors import (
    BadInputError,
    ConflictError,
    FailedHook,
    HookRejectedError,
    MergeConflictError,
    NotFoundError,
    NothingToCommitError,
    ServerUnavailableError,
    is_no_changes,
    server_message_of,
    translated,
)
from lakefs_wap.limits import check_commit_metadata
from lakefs_wap.names import validate_branch, validate_ref, validate_repository, validate_tag
from lakefs_wap.refs import iter_diff, refuse_default_branch

logger = logging.getLogger("lakefs_wap.operations")

MergeStrategy = Literal["dest-wins", "source-wins"]
MERGE_STRATEGIES = ("dest-wins", "source-wins")
CONFLICTS_LISTED = 20
_CONFLICTS_COUNTED = 10_000
_HOOK_RUN_ID = re.compile(r"run id '([^']+)'")
T = TypeVar("T")


def write_once(
    connection: LakeFSConnection,
    send: Callable[[], T],
    landed: Callable[[], T | None],
    *,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Send a write that adds a commit each time it lands, so that it lands once.

    The transport does not repeat such a request after an ambiguous failure (a
    lost answer, a timeout, a 5xx: lakeFS may have acted). Here, after one,
    ``landed`` looks at lakeFS with reads only and returns the result of the
    earlier attempt if it took effect; only if it did not is the write sent
    again, within the connection's retry policy. This is the one place where
    "look before repeating" lives.
    """
    policy = connection.settings.retry
    attempt = 1
    while True:
        try:
            return send()
        except ServerUnavailableError:
            found = landed()
            if found is not None:
                logger.warning("lakeFS %s took effect although its answer was lost; not repeating it", what)
                return found
            if attempt >= policy.max_attempts:
                raise
            delay = policy.delay_before(attempt + 1)
            logger.warning("lakeFS %s did not take effect (attempt %d); sending it again", what, attempt)
            sleep(delay)
            attempt += 1


def head_matching(
    connection: LakeFSConnection, repository: str, branch: str, message: str | None, metadata: Mapping[str, str]
) -> lakefs_sdk.Commit | None:
    """The head of ``branch`` if it carries exactly this message and metadata (a landed write), else None."""
    head = get_commit(connection, repository, branch)
    if dict(head.metadata or {}) == dict(metadata) and (message is None or head.message == message):
        return head
    return None


def validate_strategy(strategy: str | None, *, repository: str | None = None) -> str | None:
    """A lakeFS merge strategy, or None for lakeFS's default; anything else is refused."""
    if strategy is not None and strategy not in MERGE_STRATEGIES:
        raise BadInputError(
            f"unknown merge strategy {strategy!r}: use one of {MERGE_STRATEGIES} or None for the default.",
            repository=repository,
        )
    return strategy


def metadata_strings(metadata: Mapping[str, Any] | None, *, what: str = "metadata") -> dict[str, str]:
    """lakeFS metadata is string to string; scalars are converted, anything else is refused."""
    result: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not key:
            raise BadInputError(f"{what} keys must be non-empty strings, got {key!r}.")
        if isinstance(value, str):
            result[key] = value
        elif isinstance(value, (bool, int, float)):
            result[key] = str(value)
        else:
            raise BadInputError(
                f"{what} value for {key!r} is a {type(value).__name__}; lakeFS stores strings only. "
                "Convert it first, for example with json.dumps()."
            )
    return dict(check_commit_metadata(result, what=what))


def commit_as_dict(commit: lakefs_sdk.Commit) -> dict[str, Any]:
    """A commit as plain, JSON-friendly data (what operators return as XCom)."""
    return {
        "id": commit.id,
        "message": commit.message,
        "metadata": dict(commit.metadata or {}),
        "parents": list(commit.parents),
        "creation_date": commit.creation_date,
        "committer": commit.committer,
        "meta_range_id": commit.meta_range_id,
    }


def get_commit(connection: LakeFSConnection, repository: str, ref: str) -> lakefs_sdk.Commit:
    validate_repository(repository)
    validate_ref(ref)
    with translated(action=f"read commit '{ref}'", repository=repository, ref=ref, missing=f"ref '{ref}'"):
        return connection.sdk.commits_api.get_commit(repository, ref)


def branch_head(connection: LakeFSConnection, repository: str, branch: str) -> str:
    validate_repository(repository)
    validate_branch(branch)
    with translated(
        action=f"read branch '{branch}'",
        repository=repository,
        ref=branch,
        missing=f"repository '{repository}' and branch '{branch}'",
    ):
        return str(connection.sdk.branches_api.get_branch(repository, branch).commit_id)


def branch_head_or_none(connection: LakeFSConnection, repository: str, branch: str) -> str | None:
    try:
        return branch_head(connection, repository, branch)
    except NotFoundError:
        ensure_repository(connection, repository)
        return None


def ensure_repository(connection: LakeFSConnection, repository: str) -> None:
    """Raise a not-found error that names the repository when it does not exist."""
    validate_repository(repository)
    with translated(action=f"find repository '{repository}'", repository=repository, missing=f"'{repository}'"):
        connection.sdk.repositories_api.get_repository(repository)


def create_branch(
    connection: LakeFSConnection, repository: str, branch: str, source: str, *, exist_ok: bool = True
) -> str:
    """Create ``branch`` from ``source`` and return its head commit id.

    With ``exist_ok`` an existing branch is returned as it is (its head may
    differ from ``source``'s): repeating the call converges.
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
    """Delete ``branch``; return False when it was already gone (and ``missing_ok``)."""
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
    """Commit what is staged on ``branch``; ``NothingToCommitError`` when nothing is."""
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
            raise NothingToCommitError(
                f"nothing to commit on branch '{branch}' in repository '{repository}': it has no uncommitted "
                "changes. Write something first, or pass allow_empty=True for an empty commit.",
                repository=repository,
                ref=branch,
                status=400,
                server_message=error.server_message,
            ) from error
        raise


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

    A conflict raises ``MergeConflictError`` listing the conflicting paths; a
    failing pre-merge hook raises ``HookRejectedError`` with its output. In
    both cases lakeFS changed nothing. After a lost answer, ``landed`` finds
    the merge if it happened (by default: the destination's head carries this
    merge's message and metadata).
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

    def head_is_this_merge() -> str | None:
        if not strings:
            return None  # nothing marks this merge apart from others: cannot tell, so do not guess
        found = head_matching(connection, repository, destination_branch, message, strings)
        return str(found.id) if found is not None else None

    return write_once(connection, send, landed or head_is_this_merge, what=f"merge into '{destination_branch}'")


def merge_conflict(
    connection: LakeFSConnection,
    repository: str,
    source_ref: str,
    destination_branch: str,
    error: sdk.ApiException,
) -> MergeConflictError:
    """Describe a 409 from a merge, listing conflicting paths found with a three-dot diff."""
    paths: list[str] = []
    total = 0
    try:
        for entry in iter_diff(connection, repository, destination_branch, source_ref, diff_type="three_dot"):
            if entry.type != "conflict":
                continue
            total += 1
            if len(paths) < CONFLICTS_LISTED:
                paths.append(entry.path)
            if total >= _CONFLICTS_COUNTED:
                break
        counted: int | None = total
    except Exception:  # the conflict itself is the news; listing it is best effort
        counted = None
    if paths:
        more = f" and {total - len(paths)} more" if counted and total > len(paths) else ""
        listing = ", ".join(repr(p) for p in paths) + more
        what = f"{total}{'+' if total >= _CONFLICTS_COUNTED else ''} path(s) changed on both sides: {listing}"
    else:
        what = "lakeFS reported a conflict but the conflicting paths could not be listed"
    return MergeConflictError(
        f"merge conflict merging '{source_ref}' into '{destination_branch}' in repository '{repository}': {what}. "
        "Neither branch was changed. Resolve by re-running on top of the new "
        f"'{destination_branch}', or merge with strategy='source-wins' or 'dest-wins' if one side should win.",
        repository=repository,
        source_ref=source_ref,
        destination_branch=destination_branch,
        conflicting_paths=paths,
        total_conflicts=counted,
        server_message=server_message_of(error),
    )


def hook_rejected(
    connection: LakeFSConnection, repository: str, ref: str | None, error: sdk.ApiException
) -> HookRejectedError:
    """Describe a 412 (a lakeFS action's hook failed), with each failed hook's output."""
    server = server_message_of(error)
    match = _HOOK_RUN_ID.search(server)
    run_id = match.group(1) if match else None
    failed: list[FailedHook] = []
    if run_id:
        try:
            hooks = connection.sdk.actions_api.list_run_hooks(repository, run_id).results
            for hook in hooks:
                if hook.status != "failed":
                    continue
                output = connection.sdk.actions_api.get_run_hook_output(repository, run_id, hook.hook_run_id)
                text = bytes(output).decode("utf-8", errors="replace").strip()
                failed.append(FailedHook(action=hook.action, hook_id=hook.hook_id, output=text[-2000:]))
        except Exception as error:  # the rejection is the news; its details are best effort
            logger.debug("could not read the output of action run %s: %s", run_id, error)
    details = "".join(f"\n--- {h.action}/{h.hook_id} output:\n{h.output}" for h in failed)
    return HookRejectedError(
        f"a lakeFS action rejected the operation on '{ref}' in repository '{repository}': {server}. "
        f"See the action run {run_id!r} in the lakeFS UI (Actions tab) and fix what the hook reports.{details}",
        repository=repository,
        ref=ref,
        action_run_id=run_id,
        failed_hooks=failed,
        server_message=server,
    )


def create_tag(connection: LakeFSConnection, repository: str, tag: str, ref: str) -> str:
    """Tag ``ref``; return the tagged commit id. Tagging the same commit again is a no-op."""
    validate_repository(repository)
    validate_tag(tag)
    validate_ref(ref)
    target = str(get_commit(connection, repository, ref).id)
    tag_commit(connection, repository, tag, target)
    return str(target)


def tag_commit(connection: LakeFSConnection, repository: str, tag: str, commit_id: str) -> None:
    """Create ``tag`` at ``commit_id``; a tag that already points there is the same tag (a retry)."""
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
