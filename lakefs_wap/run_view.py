"""Where one run lives in lakeFS, and the reads every lifecycle step starts from.

A ``RunView`` names the run (repository, branch, source and target) and reads
its state: the branch head, where it forked, whether anything is staged. It
keeps nothing between calls; every answer comes from lakeFS.
"""

from __future__ import annotations

from dataclasses import dataclass

import lakefs_sdk

from lakefs_wap import operations
from lakefs_wap.connection import LakeFSConnection
from lakefs_wap.errors import NotFoundError, RunStateError, translated
from lakefs_wap.keys import KEY_BASE, KEY_RUN_ID, KEY_RUN_KEY, KEY_SOURCE_BRANCH, CommitKind
from lakefs_wap.record import is_run_commit
from lakefs_wap.refs import has_uncommitted_changes


@dataclass(frozen=True)
class RunView:
    """One run's branch in ``repository``, made from ``source_branch``, published into ``target_branch``."""

    connection: LakeFSConnection
    repository: str
    run_id: str
    branch: str
    source_branch: str
    target_branch: str

    @property
    def run_key(self) -> str:
        """What marks the run's commits and records: its branch name."""
        return self.branch

    def identity(self) -> dict[str, str]:
        """The metadata that marks a commit as this run's."""
        return {KEY_RUN_ID: self.run_id, KEY_RUN_KEY: self.run_key, KEY_SOURCE_BRANCH: self.source_branch}

    def is_mine(self, commit: lakefs_sdk.Commit, *kinds: CommitKind) -> bool:
        return is_run_commit(commit, self.run_key, *kinds)

    def head_commit(self) -> lakefs_sdk.Commit | None:
        """The run branch's head, or None when there is no branch (a missing repository raises)."""
        try:
            return operations.get_commit(self.connection, self.repository, self.branch)
        except NotFoundError:
            operations.ensure_repository(self.connection, self.repository)
            return None

    def require_head(self, step: str) -> lakefs_sdk.Commit:
        head = self.head_commit()
        if head is None:
            raise RunStateError(
                f"run branch '{self.branch}' does not exist in repository '{self.repository}'; "
                f"open() the run before {step}.",
                repository=self.repository,
                ref=self.branch,
            )
        return head

    def target_head(self) -> str:
        return operations.branch_head(self.connection, self.repository, self.target_branch)

    def merge_base(self, other: str, ref: str | None = None) -> str:
        """Where ``ref`` (the run branch by default) and ``other`` forked."""
        mine = ref or self.branch
        with translated(action=f"find where '{mine}' and '{other}' forked", repository=self.repository, ref=mine):
            result = self.connection.sdk.refs_api.find_merge_base(self.repository, mine, other)
        return str(result.base_commit_id)

    def base_of(self, head: lakefs_sdk.Commit) -> str:
        """The source commit the run started from: recorded on its commits, else the fork point."""
        if self.is_mine(head, CommitKind.DATA, CommitKind.GATES, CommitKind.FAILED):
            base = (head.metadata or {}).get(KEY_BASE)
            if base:
                return base
        return self.merge_base(self.source_branch)

    def refuse_uncommitted(self, why: str) -> None:
        """Raise ``RunStateError`` saying ``why`` if the run branch has uncommitted changes."""
        if has_uncommitted_changes(self.connection, self.repository, self.branch):
            raise RunStateError(
                f"run branch '{self.branch}' in repository '{self.repository}' has uncommitted changes; {why}",
                repository=self.repository,
                ref=self.branch,
            )


__all__ = ["RunView"]
