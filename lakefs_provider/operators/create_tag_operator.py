from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lakefs_provider.links.lakefs_link import LakeFSLink
from lakefs_provider.operators._base import LakeFSBaseOperator
from lakefs_wap import operations


class LakeFSCreateTagOperator(LakeFSBaseOperator):
    """Tag ``ref`` in ``repo`` as ``tag``. Returns (XCom) the tagged commit id.

    Tagging the same commit again succeeds (retry-safe); a tag that already
    points elsewhere fails the task, since tags never move.
    """

    template_fields: Sequence[str] = ("repo", "tag", "ref", "lakefs_conn_id")
    operator_extra_links = (LakeFSLink(),)

    def __init__(self, *, repo: str, tag: str, ref: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.repo = repo
        self.tag = tag
        self.ref = ref

    def execute(self, context: Any) -> str:
        commit_id = operations.create_tag(self.connection, self.repo, self.tag, self.ref)
        self.log.info("Tagged %s in '%s' as '%s'", commit_id, self.repo, self.tag)
        self.link_to_commit(context, self.repo, commit_id)
        return commit_id
