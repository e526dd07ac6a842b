from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lakefs_provider.operators._base import LakeFSBaseOperator
from lakefs_wap import operations


class LakeFSGetCommitOperator(LakeFSBaseOperator):
    """Look up the commit ``ref`` points to (a branch, tag or commit id).

    Returns (XCom) the commit as a dict: ``id``, ``message``, ``metadata``,
    ``parents``, ``creation_date`` (unix seconds), ``committer``, ``meta_range_id``.
    """

    template_fields: Sequence[str] = ("repo", "ref", "lakefs_conn_id")

    def __init__(self, *, repo: str, ref: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.repo = repo
        self.ref = ref

    def execute(self, context: Any) -> dict[str, Any]:
        return operations.commit_as_dict(operations.get_commit(self.connection, self.repo, self.ref))
