from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lakefs_provider.links.lakefs_link import LakeFSLink
from lakefs_provider.operators._base import LakeFSBaseOperator
from lakefs_wap import operations


class LakeFSCreateBranchOperator(LakeFSBaseOperator):
    """Create ``branch`` in ``repo`` from ``source_branch``.

    Returns (XCom) the new branch's head commit id. If the branch already
    exists (for example, a retry after the first try created it) its current
    head is returned: the task is safe to retry.
    """

    template_fields: Sequence[str] = ("repo", "branch", "source_branch", "lakefs_conn_id")
    operator_extra_links = (LakeFSLink(),)

    def __init__(self, *, repo: str, branch: str, source_branch: str = "main", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.repo = repo
        self.branch = branch
        self.source_branch = source_branch

    def execute(self, context: Any) -> str:
        self.log.info("Creating branch '%s' from '%s' in repository '%s'", self.branch, self.source_branch, self.repo)
        head = operations.create_branch(self.connection, self.repo, self.branch, self.source_branch)
        self.link_to_branch(context, self.repo, self.branch)
        return head


# The name airflow-provider-lakefs gave this operator before 0.42, which the
# Airflow page of the lakeFS documentation still shows.
CreateBranchOperator = LakeFSCreateBranchOperator
