"""What every lakeFS operator shares: the connection id, the hook, run metadata, the link."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import BaseOperator

from lakefs_provider.hooks.lakefs_hook import LakeFSHook, UsesLakeFSHook
from lakefs_provider.links.lakefs_link import LakeFSLink, branch_url, commit_url
from lakefs_provider.run_metadata import DAG_ID_KEY, RUN_ID_KEY, TASK_ID_KEY, airflow_run_metadata
from lakefs_wap.refs import iter_log

# How far back a retry looks for the commit its earlier try made; other
# writers may have committed since, but not hundreds of times.
_RETRY_LOOKBACK = 200


class LakeFSBaseOperator(UsesLakeFSHook, BaseOperator):
    """Base of the lakeFS operators. ``lakefs_conn_id`` names the Airflow connection."""

    ui_color = "#7fd0c4"

    def __init__(self, *, lakefs_conn_id: str = LakeFSHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lakefs_conn_id = lakefs_conn_id

    def link_to_commit(self, context: Any, repository: str, commit_id: str) -> None:
        LakeFSLink.persist(context, commit_url(self.connection.settings.endpoint, repository, commit_id))

    def link_to_branch(self, context: Any, repository: str, branch: str) -> None:
        LakeFSLink.persist(context, branch_url(self.connection.settings.endpoint, repository, branch))


class WithAirflowMetadata(LakeFSBaseOperator):
    """Operators that write commits: they record the Airflow run on them unless told not to."""

    def __init__(self, *, add_airflow_metadata: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_airflow_metadata = add_airflow_metadata

    def commit_metadata(self, context: Any, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
        """The user's metadata, plus the Airflow run's (the user's keys win)."""
        run = airflow_run_metadata(context) if self.add_airflow_metadata else {}
        return {**run, **dict(metadata or {})}

    def earlier_try_commit(self, context: Any, repository: str, branch: str, **expected: str) -> str | None:
        """The newest commit on ``branch`` that an earlier try of this task wrote
        (with ``expected`` metadata too), among the most recent ones."""
        for commit in iter_log(self.connection, repository, branch, limit=_RETRY_LOOKBACK):
            found = commit.metadata or {}
            if self.made_by_this_task(found, context) and all(found.get(k) == v for k, v in expected.items()):
                return str(commit.id)
        return None

    @staticmethod
    def made_by_this_task(commit_metadata: Mapping[str, str] | None, context: Any) -> bool:
        """Whether a commit was written by an earlier try of this very task in this run."""
        ti = context["ti"]
        found = commit_metadata or {}
        return bool(
            found.get(DAG_ID_KEY) == ti.dag_id
            and found.get(RUN_ID_KEY) == ti.run_id
            and found.get(TASK_ID_KEY) == ti.task_id
        )
