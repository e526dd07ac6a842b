from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lakefs_provider.operators._base import LakeFSBaseOperator
from lakefs_wap import operations


class LakeFSDeleteBranchOperator(LakeFSBaseOperator):
    """Delete ``branch`` from ``repo``.

    Returns (XCom) True if this task deleted it, False if it was already gone
    (so retries succeed). An unknown repository still fails, and so does the
    repository's default branch, before anything is sent to delete it.
    """

    template_fields: Sequence[str] = ("repo", "branch", "lakefs_conn_id")

    def __init__(self, *, repo: str, branch: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.repo = repo
        self.branch = branch

    def execute(self, context: Any) -> bool:
        deleted = operations.delete_branch(self.connection, self.repo, self.branch)
        self.log.info("Branch '%s' in '%s' %s", self.branch, self.repo, "deleted" if deleted else "was already gone")
        return deleted
