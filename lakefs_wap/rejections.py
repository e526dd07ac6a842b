"""Errors that describe lakeFS refusing a merge or commit: a conflict, a hook.

lakeFS's answer alone says little (a 409 with a merge result, a 412 naming an
action run), so these builders ask lakeFS for the details a user needs, best
effort: the conflicting paths, each failed hook's output.
"""

from __future__ import annotations

import logging
import re

import lakefs_sdk.exceptions as sdk

from lakefs_wap.connection import LakeFSConnection
from lakefs_wap.errors import FailedHook, HookRejectedError, MergeConflictError, server_message_of
from lakefs_wap.refs import iter_diff
from lakefs_wap.text import first_and_more

logger = logging.getLogger("lakefs_wap.operations")

CONFLICTS_LISTED = 20
_CONFLICTS_COUNTED = 10_000
_HOOK_RUN_ID = re.compile(r"run id '([^']+)'")
_HOOK_OUTPUT_KEPT = 2000


def merge_conflict(
    connection: LakeFSConnection,
    repository: str,
    source_ref: str,
    destination_branch: str,
    error: sdk.ApiException,
) -> MergeConflictError:
    """Describe a 409 from a merge, listing conflicting paths found with a three-dot diff.

    Args:
        connection: The lakeFS connection, for the diff.
        repository: The repository's name.
        source_ref: What was merged.
        destination_branch: What it was merged into.
        error: lakeFS's 409.

    Returns:
        The error naming the first ``CONFLICTS_LISTED`` paths and how many
        there are (``10000+`` when counting stopped there).
    """
    paths, total, listed_all = _conflicting_paths(connection, repository, source_ref, destination_branch)
    counted = total if listed_all else None
    if paths:
        # A listing cut short by a failure names only what it found: no "and K more".
        listing = first_and_more(paths, counted, limit=CONFLICTS_LISTED)
        capped = "+" if total >= _CONFLICTS_COUNTED else ""
        what = f"{total}{capped} path(s) changed on both sides: {listing}"
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


def _conflicting_paths(
    connection: LakeFSConnection, repository: str, source_ref: str, destination_branch: str
) -> tuple[list[str], int, bool]:
    """The first ``CONFLICTS_LISTED`` conflicting paths, how many were counted, and whether the listing ended well."""
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
    except Exception:  # the conflict itself is the news; listing it is best effort
        return paths, total, False
    return paths, total, True


def hook_rejected(
    connection: LakeFSConnection, repository: str, ref: str | None, error: sdk.ApiException
) -> HookRejectedError:
    """Describe a 412 (a lakeFS action's hook failed), with each failed hook's output.

    Args:
        connection: The lakeFS connection, to read the action run.
        repository: The repository's name.
        ref: The branch the commit or merge was for.
        error: lakeFS's 412, whose message names the action run.

    Returns:
        The error with the action run id and the last lines each failed hook printed.
    """
    server = server_message_of(error)
    match = _HOOK_RUN_ID.search(server)
    run_id = match.group(1) if match else None
    failed = _failed_hooks(connection, repository, run_id) if run_id else []
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


def _failed_hooks(connection: LakeFSConnection, repository: str, run_id: str) -> list[FailedHook]:
    failed: list[FailedHook] = []
    try:
        hooks = connection.sdk.actions_api.list_run_hooks(repository, run_id).results
        for hook in hooks:
            if hook.status != "failed":
                continue
            output = connection.sdk.actions_api.get_run_hook_output(repository, run_id, hook.hook_run_id)
            text = bytes(output).decode("utf-8", errors="replace").strip()
            failed.append(FailedHook(action=hook.action, hook_id=hook.hook_id, output=text[-_HOOK_OUTPUT_KEPT:]))
    except Exception as error:  # the rejection is the news; its details are best effort
        logger.debug("could not read the output of action run %s: %s", run_id, error)
    return failed


__all__ = ["CONFLICTS_LISTED", "hook_rejected", "merge_conflict"]
