from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from lakefs_provider.links.lakefs_link import LakeFSLink
from lakefs_provider.operators._publishing import PublishingOperator
from lakefs_wap.revert import revert_commit


class LakeFSRevertOperator(PublishingOperator):
    """Revert the changes of ``ref`` (a commit, tag or branch head) on ``branch``.

    Returns (XCom) the revert commit id. For a merge commit ``parent_number``
    defaults to 1 (the branch merged into), so reverting a published merge
    needs no extra argument. The revert changes exactly the paths ``ref``
    changed and nothing else (lakeFS's own revert is not used: in v1.84 it can
    also remove later commits' objects); it is refused, naming the paths, if
    later commits changed the same paths. A retry returns the recorded revert.

    ``assets``: the ``lakefs://<repo>/<branch>/<path>`` assets the revert may change;
    an asset event is sent for each one it did change, so their consumers see the rollback.
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
        self.check_assets(repo, branch)

    def execute(self, context: Any) -> str:
        self.check_assets(self.repo, self.branch)
        new_head = revert_commit(
            self.connection,
            self.repo,
            self.branch,
            self.ref,
            parent_number=self.parent_number,
            message=self.msg or None,
            metadata=self.commit_metadata(context, self.metadata),
        )
        self.log.info("Reverted %s on '%s': %s", self.ref, self.branch, new_head)
        self.link_to_commit(context, self.repo, new_head)
        self.record_publication(context, self.repo, self.branch, new_head)
        return new_head
