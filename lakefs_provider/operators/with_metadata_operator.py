"""The base of operators that write commits: they record the Airflow run on them.

``WithLakeFSMetadataOperator`` is the name airflow-provider-lakefs gave this
base; custom operators built on it call ``enrich_metadata(context)`` to add the
run's ``::lakefs::Airflow::`` keys to ``self.metadata`` before committing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lakefs_provider.operators._base import LakeFSBaseOperator
from lakefs_provider.run_metadata import DAG_ID_KEY, RUN_ID_KEY, TASK_ID_KEY, airflow_run_metadata
from lakefs_wap.refs import iter_log

# How far back a retry looks for the commit its earlier try made; other
# writers may have committed since, but not hundreds of times.
_RETRY_LOOKBACK = 200


class WithLakeFSMetadataOperator(LakeFSBaseOperator):
    """Operators that write commits: they record the Airflow run on them unless
    ``add_airflow_metadata=False``."""

    metadata: Mapping[str, Any] | None = None

    def __init__(self, *, add_airflow_metadata: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_airflow_metadata = add_airflow_metadata

    def commit_metadata(self, context: Any, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
        """The user's metadata, plus the Airflow run's (the user's keys win)."""
        run = airflow_run_metadata(context) if self.add_airflow_metadata else {}
        return {**run, **dict(metadata or {})}

    def enrich_metadata(self, context: Any) -> None:
        """Add the Airflow run's keys to ``self.metadata`` (a new dict when it is None)."""
        self.metadata = {**airflow_run_metadata(context), **dict(self.metadata or {})}

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
