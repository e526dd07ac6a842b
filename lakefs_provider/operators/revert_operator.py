from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from lakefs_provider.links.lakefs_link import LakeFSLink
from lakefs_provider.operators._base import WithAirflowMetadata
from lakefs_wap import operations

REVERTED_KEY = "lakefs_wap.reverts"


class LakeFSRevertOperator(WithAirflowMetadata):
    """Revert the changes of ``ref`` (a commit, tag or branch head) on ``branch``.

    Returns (XCom) the new commit id. For a merge commit ``parent_number``
    defaults to 1 (the branch merged into), so reverting a published merge
    needs no extra argument. A retry after an earlier try already reverted
    returns that revert commit.
    """

    template_fields: Sequence[str] = ("repo", "branch", "ref", "msg", "metadata", "lakefs_conn_id")
    template_fields_renderers: ClassVar[dict[str, str]] = {"metadata": "json"}
    operator_extra_links = (LakeFSLink(),)

    def __init__(
        self,
        *,
        repo: str,
        branch: str,
        ref: str,
        parent_number: int | None = None,
        msg: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.repo = repo
        self.branch = branch
        self.ref = ref
        self.parent_number = parent_number
        self.msg = msg
        self.metadata = metadata

    def execute(self, context: Any) -> str:
        connection = self.connection
        target = operations.get_commit(connection, self.repo, self.ref).id
        earlier = self.earlier_try_commit(context, self.repo, self.branch, **{REVERTED_KEY: target})
        if earlier is not None:
            self.log.info("An earlier try of this task already reverted %s: %s", target, earlier)
            new_head = earlier
        else:
            new_head = operations.revert(
                connection,
                self.repo,
                self.branch,
                target,
                parent_number=self.parent_number,
                message=self.msg or f"Revert {target[:12]} ({self.ref})",
                metadata={**self.commit_metadata(context, self.metadata), REVERTED_KEY: target},
            )
            self.log.info("Reverted %s on '%s': %s", target, self.branch, new_head)
        self.link_to_commit(context, self.repo, new_head)
        return new_head
