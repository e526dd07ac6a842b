from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from lakefs_provider.links.lakefs_link import LakeFSLink
from lakefs_provider.operators._publishing import PublishingOperator
from lakefs_wap import BadInputError, ServerUnavailableError, operations


class LakeFSMergeOperator(PublishingOperator):
    """Merge ``source_ref`` into ``destination_branch``.

    Returns (XCom) the merge commit id. ``strategy`` is ``"dest-wins"`` or
    ``"source-wins"`` to settle conflicts, ``squash_merge`` folds the source's
    commits into one. A conflict fails the task listing the conflicting paths
    and changes nothing; so does a failing lakeFS pre-merge hook, with its
    output. A retry after an earlier try already merged returns that merge.
    """

    template_fields: Sequence[str] = (
        "repo",
        "source_ref",
        "destination_branch",
        "msg",
        "metadata",
        "strategy",
        "lakefs_conn_id",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"metadata": "json"}
    operator_extra_links = (LakeFSLink(),)

    def __init__(
        self,
        *,
        repo: str,
        source_ref: str,
        destination_branch: str,
        msg: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        strategy: str | None = None,
        squash_merge: bool = False,
        allow_empty: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.repo = repo
        self.source_ref = source_ref
        self.destination_branch = destination_branch
        self.msg = msg
        self.metadata = metadata
        self.strategy = strategy
        self.squash_merge = squash_merge
        self.allow_empty = allow_empty
        self.check_assets(repo, destination_branch)

    def execute(self, context: Any) -> str:
        self.check_assets(self.repo, self.destination_branch)
        try:
            merge_id = operations.merge(
                self.connection,
                self.repo,
                self.source_ref,
                self.destination_branch,
                message=self.msg or f"Merge '{self.source_ref}' into '{self.destination_branch}'",
                metadata=self.commit_metadata(context, self.metadata),
                strategy=self.strategy or None,
                squash_merge=self.squash_merge,
                allow_empty=self.allow_empty,
            )
        except (BadInputError, ServerUnavailableError) as error:
            if isinstance(error, BadInputError) and error.status is None:
                raise  # refused before sending (a bad name or argument): nothing was merged
            # "no changes" after an earlier try merged (or a lost answer): find that merge.
            earlier = self.earlier_try_commit(context, self.repo, self.destination_branch)
            if earlier is None:
                raise
            self.log.info("An earlier try of this task already merged: %s", earlier)
            merge_id = earlier
        self.log.info("Merged '%s' into '%s': %s", self.source_ref, self.destination_branch, merge_id)
        self.link_to_commit(context, self.repo, merge_id)
        self.record_publication(context, self.repo, self.destination_branch, merge_id, source_ref=self.source_ref)
        return merge_id


# The name airflow-provider-lakefs gave this operator before 0.42, which the
# Airflow page of the lakeFS documentation still shows.
MergeOperator = LakeFSMergeOperator
