"""What happened on a branch between two heads, as one event per commit.

The synchronous half of the commit event trigger: given the head a watcher
saw last and the head it sees now, which commits landed on the branch, oldest
first, and which of them changed something under the watched prefixes.

"Landed on the branch" follows the branch's first parents: a publish is one
merge commit on ``main``, not the run branch's commits it brings along. The
prefix filter diffs each commit against its first parent, because lakeFS's
prefix-filtered log leaves merge commits out, and publishes are merge commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import lakefs_sdk

from lakefs_wap import LakeFSConnection, NotFoundError
from lakefs_wap.errors import translated
from lakefs_wap.operations import branch_head, get_commit
from lakefs_wap.refs import iter_diff

# At most this many commits are read in one step. More commits than this
# landing between two polls (or a branch moved onto a history this far from
# the last one seen) fire for the newest WINDOW only, with a warning.
WINDOW = 1000


@dataclass(frozen=True)
class BranchStep:
    """How a branch moved from ``previous`` to ``head``.

    ``events``: the payloads to fire, oldest first. ``note``: why the step is
    not the plain "these commits landed" (a warning for the log), or None.
    """

    head: str
    events: tuple[dict[str, Any], ...]
    note: str | None = None


def head_or_none(connection: LakeFSConnection, repository: str, branch: str) -> str | None:
    """The branch's head; None while the branch or its repository does not exist.

    The same question, with the same answers, as the commit sensor's when it
    waits for a missing branch, so both share one poll (see ``shared_poll``).
    """
    try:
        return branch_head(connection, repository, branch)
    except NotFoundError:
        return None


def branch_step(
    connection: LakeFSConnection,
    repository: str,
    branch: str,
    previous: str,
    head: str,
    prefixes: Sequence[str] | None,
) -> BranchStep:
    """The commits from ``previous`` (excluded) to ``head`` (included) on ``branch``'s first-parent line,
    those touching ``prefixes`` (by plain string prefix, as lakeFS filters) as event payloads, oldest first."""
    gone = BranchStep(
        head=head,
        events=(),
        note=f"commit {previous[:12]} seen last on '{branch}' no longer exists in '{repository}': "
        f"watching from the head {head[:12]} on, without events for what came before it",
    )
    try:
        line = _first_parent_line(connection, repository, head, stop_at=previous)
    except NotFoundError:
        if _exists(connection, repository, previous):
            raise  # the head is what is missing: the branch moved on while we looked
        return gone
    ids = [commit.id for commit in line]
    note = None
    if previous in ids:
        new = line[: ids.index(previous)]
    else:
        # ``previous`` is not on head's first-parent line within the window: the
        # branch was reset or moved onto another history, or a burst larger than
        # the window landed. Where the two histories meet tells which.
        base = _merge_base(connection, repository, previous, head)
        if base is None:
            return gone
        if base == head:
            return BranchStep(
                head=head,
                events=(),
                note=f"'{branch}' in '{repository}' was reset backwards from {previous[:12]} to {head[:12]}: "
                "no event; what lands after it fires as usual",
            )
        if base in ids:
            new = line[: ids.index(base)]
            note = (
                f"'{branch}' in '{repository}' moved from {previous[:12]} onto another history (reset or "
                f"force-moved): events for the {len(new)} commits after their common ancestor {base[:12]}"
            )
        else:
            # Farther than the window, or ``previous`` reached only through a second
            # parent: walking on could mean re-firing old history. The head stands for all.
            new = line[:1]
            note = (
                f"'{branch}' in '{repository}' moved from {previous[:12]} to {head[:12]}, and {previous[:12]} is "
                f"not within {WINDOW} commits of its first-parent line (a larger burst, or reached only through "
                "a merge's second parent): one event, for the head"
            )
    events = tuple(
        _payload(repository, branch, commit)
        for commit in reversed(new)
        if not prefixes or _touches(connection, repository, commit, prefixes)
    )
    return BranchStep(head=head, events=events, note=note)


def _first_parent_line(
    connection: LakeFSConnection, repository: str, head: str, *, stop_at: str
) -> list[lakefs_sdk.Commit]:
    """``head``'s first-parent line, newest first, down to ``stop_at`` (included) or WINDOW commits."""
    with translated(action=f"read the log of '{head}'", repository=repository, ref=head):
        page = connection.sdk.refs_api.log_commits(
            repository, head, amount=WINDOW, limit=True, first_parent=True, stop_at=stop_at
        )
    return list(page.results)


def _exists(connection: LakeFSConnection, repository: str, commit_id: str) -> bool:
    try:
        get_commit(connection, repository, commit_id)
    except NotFoundError:
        return False
    return True


def _merge_base(connection: LakeFSConnection, repository: str, previous: str, head: str) -> str | None:
    """Where the histories of ``previous`` and ``head`` meet; None if ``previous`` is gone."""
    try:
        with translated(
            action=f"find the common ancestor of {previous[:12]} and {head[:12]}",
            repository=repository,
            ref=previous,
            missing=f"commit {previous[:12]}",
        ):
            result = connection.sdk.refs_api.find_merge_base(repository, previous, head)
    except NotFoundError:
        return None
    return str(result.base_commit_id)


def _touches(connection: LakeFSConnection, repository: str, commit: lakefs_sdk.Commit, prefixes: Sequence[str]) -> bool:
    """Whether ``commit`` changed anything under ``prefixes``, compared with its first parent."""
    if not commit.parents:
        return False  # a repository's first commit is empty
    parent = commit.parents[0]
    return any(
        next(iter_diff(connection, repository, parent, commit.id, prefix=prefix, page_size=1), None) is not None
        for prefix in prefixes
    )


def _payload(repository: str, branch: str, commit: lakefs_sdk.Commit) -> dict[str, Any]:
    """What the event carries: enough to read exactly this commit, small enough for every asset event row.

    Commit metadata is left out: it may hold a gate report of many KiB, and the
    commit id leads to it.
    """
    return {
        "repository": repository,
        "branch": branch,
        "commit_id": commit.id,
        "parent_commit_id": commit.parents[0] if commit.parents else None,
        "merge": len(commit.parents) > 1,
        "message": commit.message,
        "committer": commit.committer,
        "creation_date": datetime.fromtimestamp(commit.creation_date, tz=timezone.utc).isoformat(),
    }


__all__ = ["WINDOW", "BranchStep", "branch_step", "head_or_none"]
