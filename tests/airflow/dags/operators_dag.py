"""Every lakeFS operator in one DAG, run by tests with dag.test() against the real server.

Commit, merge and revert run as subclasses that crash right after their first
try wrote to lakeFS, like a worker lost before Airflow heard back: Airflow
retries them, and the retry must converge instead of failing or writing twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Param, dag

from lakefs_provider.operators.commit_operator import LakeFSCommitOperator
from lakefs_provider.operators.create_branch_operator import LakeFSCreateBranchOperator
from lakefs_provider.operators.create_tag_operator import LakeFSCreateTagOperator
from lakefs_provider.operators.delete_branch_operator import LakeFSDeleteBranchOperator
from lakefs_provider.operators.download_operator import LakeFSDownloadOperator
from lakefs_provider.operators.get_commit_operator import LakeFSGetCommitOperator
from lakefs_provider.operators.get_object_operator import LakeFSGetObjectOperator
from lakefs_provider.operators.merge_operator import LakeFSMergeOperator
from lakefs_provider.operators.revert_operator import LakeFSRevertOperator
from lakefs_provider.operators.upload_operator import LakeFSUploadOperator


class CrashesAfterFirstWrite:
    """Mixin: the first try does its lakeFS work, then the worker 'dies'."""

    def execute(self, context: Any) -> Any:
        result = super().execute(context)  # type: ignore[misc]
        if context["ti"].try_number == 1:
            raise RuntimeError("worker lost after writing to lakeFS")
        return result


class FlakyCommit(CrashesAfterFirstWrite, LakeFSCommitOperator):
    pass


class FlakyMerge(CrashesAfterFirstWrite, LakeFSMergeOperator):
    pass


class FlakyRevert(CrashesAfterFirstWrite, LakeFSRevertOperator):
    pass


RETRY: dict[str, Any] = {"retries": 1, "retry_delay": timedelta(seconds=0)}


@dag(
    dag_id="lakefs_operators",
    schedule=None,
    params={
        "repo": Param("", type="string"),
        "source_file": Param("", type="string"),
        "download_to": Param("", type="string"),
    },
)
def lakefs_operators() -> None:
    repo = "{{ params.repo }}"
    create = LakeFSCreateBranchOperator(task_id="create_branch", repo=repo, branch="etl", source_branch="main")
    upload_text = LakeFSUploadOperator(
        task_id="upload_text", repo=repo, branch="etl", path="raw/hello.txt", content="hello {{ run_id }}"
    )
    upload_file = LakeFSUploadOperator(
        task_id="upload_file", repo=repo, branch="etl", path="raw/orders.csv", source_file="{{ params.source_file }}"
    )
    commit = FlakyCommit(
        task_id="commit", repo=repo, branch="etl", msg="ingest {{ ds }}", metadata={"source": "operators_dag"}, **RETRY
    )
    get_commit = LakeFSGetCommitOperator(task_id="get_commit", repo=repo, ref="etl")
    get_object = LakeFSGetObjectOperator(task_id="get_object", repo=repo, ref="etl", path="raw/hello.txt")
    merge = FlakyMerge(
        task_id="merge", repo=repo, source_ref="etl", destination_branch="main", msg="publish etl", **RETRY
    )
    tag = LakeFSCreateTagOperator(
        task_id="tag", repo=repo, tag="release-{{ ds_nodash }}", ref="{{ ti.xcom_pull(task_ids='merge') }}"
    )
    download = LakeFSDownloadOperator(
        task_id="download", repo=repo, ref="main", path="raw/orders.csv", destination="{{ params.download_to }}"
    )
    revert = FlakyRevert(
        task_id="revert", repo=repo, branch="main", ref="{{ ti.xcom_pull(task_ids='merge') }}", **RETRY
    )
    delete = LakeFSDeleteBranchOperator(task_id="delete_branch", repo=repo, branch="etl")

    create >> [upload_text, upload_file] >> commit >> [get_commit, get_object] >> merge
    merge >> [tag, download] >> revert >> delete


lakefs_operators()
