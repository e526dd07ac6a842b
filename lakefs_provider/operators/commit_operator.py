from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from lakefs_provider.links.lakefs_link import LakeFSLink
from lakefs_provider.operators.with_metadata_operator import WithLakeFSMetadataOperator
from lakefs_wap import NothingToCommitError, operations


class LakeFSCommitOperator(WithLakeFSMetadataOperator):
    """Commit what is staged on ``branch``, with ``msg`` and ``metadata``.

    Returns (XCom) the commit id. The commit records the Airflow run (dag id,
    run id, task id, try number, logical date, run URL) unless
    ``add_airflow_metadata=False``. When a retry finds nothing staged because
    an earlier try of this task already committed, that commit is returned
    instead of failing.
    """

    template_fields: Sequence[str] = ("repo", "branch", "msg", "metadata", "lakefs_conn_id")
    template_fields_renderers: ClassVar[dict[str, str]] = {"metadata": "json"}
    operator_extra_links = (LakeFSLink(),)

    def __init__(
        self,
        *,
        repo: str,
        branch: str,
        msg: str,
        metadata: Mapping[str, Any] | None = None,
        allow_empty: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.repo = repo
        self.branch = branch
        self.msg = msg
        self.metadata = metadata
        self.allow_empty = allow_empty
        self.commit_id: str | None = None

    def execute(self, context: Any) -> str:
        connection = self.connection
        metadata = self.commit_metadata(context, self.metadata)
        try:
            commit = operations.commit(
                connection, self.repo, self.branch, self.msg, metadata, allow_empty=self.allow_empty
            )
        except NothingToCommitError:
            head = operations.get_commit(connection, self.repo, self.branch)
            if not self.made_by_this_task(head.metadata, context):
                raise
            self.log.info("An earlier try of this task already committed %s; returning it", head.id)
            commit = head
        self.log.info("Committed %s on '%s' in '%s'", commit.id, self.branch, self.repo)
        self.link_to_commit(context, self.repo, commit.id)
        self.commit_id = str(commit.id)
        return self.commit_id

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """For the OpenLineage provider: the branch, at the commit made."""
        from lakefs_provider import openlineage as ol

        endpoint = self.connection.settings.endpoint
        branch = ol.output_dataset(endpoint, self.repo, self.branch, version=self.commit_id)
        return ol.operator_lineage(outputs=[branch])


# The name airflow-provider-lakefs gave this operator before 0.42, which the
# Airflow page of the lakeFS documentation still shows.
CommitOperator = LakeFSCommitOperator
