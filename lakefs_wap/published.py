"""What was published on a target branch: the newest publish of a run, and undoing it.

Lookups by run key read the run's records (one request at any history length);
without one, they walk the newest ``search_limit`` commits of the target.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lakefs_sdk

from lakefs_wap import operations
from lakefs_wap.connection import LakeFSConnection
from lakefs_wap.errors import RunStateError
from lakefs_wap.keys import KEY_KIND, KEY_REVERTS, KEY_RUN_KEY, CommitKind
from lakefs_wap.names import validate_branch, validate_repository
from lakefs_wap.outcomes import live_publish
from lakefs_wap.record import read_records
from lakefs_wap.refs import iter_log

# How far back the convenience lookups without a run key go; lookups by run key never scan.
DEFAULT_SEARCH_LIMIT = 5000


def find_published_run(
    connection: LakeFSConnection,
    repository: str,
    target_branch: str,
    run_key: str | None = None,
    *,
    search_limit: int = DEFAULT_SEARCH_LIMIT,
) -> lakefs_sdk.Commit | None:
    """The merge commit of ``run_key``'s newest live publish (one request), or, with no run key,
    the newest publish commit among the newest ``search_limit`` commits of ``target_branch``."""
    validate_repository(repository)
    validate_branch(target_branch, role="target branch")
    if run_key is not None:
        live = live_publish(read_records(connection, repository, run_key))
        return operations.get_commit(connection, repository, live.commit_id) if live is not None else None
    reverted: set[str] = set()
    for commit in iter_log(connection, repository, target_branch, limit=search_limit):
        metadata = commit.metadata or {}
        if metadata.get(KEY_KIND) == CommitKind.REVERT.value:
            reverted.update(filter(None, metadata.get(KEY_REVERTS, "").split(",")))
        elif metadata.get(KEY_KIND) == CommitKind.PUBLISH.value and commit.id not in reverted:
            return commit
    return None


def revert_published_run(
    connection: LakeFSConnection,
    repository: str,
    target_branch: str,
    run_key: str | None = None,
    *,
    message: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    search_limit: int = DEFAULT_SEARCH_LIMIT,
) -> str:
    """Revert every publish of ``run_key`` on ``target_branch`` (the newest published run when None).

    Reverting again returns the existing revert commit.
    """
    from lakefs_wap.revert import revert_run

    if run_key is None:
        newest = find_published_run(connection, repository, target_branch, search_limit=search_limit)
        if newest is None:
            raise RunStateError(
                f"no publish found in the newest {search_limit} commits of '{target_branch}' "
                f"in repository '{repository}'; nothing to revert.",
                repository=repository,
                ref=target_branch,
            )
        run_key = (newest.metadata or {}).get(KEY_RUN_KEY, "")
    return revert_run(connection, repository, target_branch, run_key, message=message, metadata=metadata)


__all__ = ["DEFAULT_SEARCH_LIMIT", "find_published_run", "revert_published_run"]
