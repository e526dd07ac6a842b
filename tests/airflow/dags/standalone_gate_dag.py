"""The gate operator on a branch built with the classic operators, before a plain merge."""

from __future__ import annotations

from airflow.sdk import Param, dag

from lakefs_provider.operators.commit_operator import LakeFSCommitOperator
from lakefs_provider.operators.create_branch_operator import LakeFSCreateBranchOperator
from lakefs_provider.operators.merge_operator import LakeFSMergeOperator
from lakefs_provider.operators.quality_gate_operator import LakeFSQualityGateOperator
from lakefs_provider.operators.upload_operator import LakeFSUploadOperator
from lakefs_wap import NoDeletions, TableRowCount


@dag(
    dag_id="lakefs_standalone_gate",
    schedule=None,
    params={"repo": Param("", type="string"), "rows": Param("id\n1\n2\n", type="string")},
)
def lakefs_standalone_gate() -> None:
    repo = "{{ params.repo }}"
    create = LakeFSCreateBranchOperator(task_id="create", repo=repo, branch="manual")
    upload = LakeFSUploadOperator(
        task_id="upload", repo=repo, branch="manual", path="raw/x.csv", content="{{ params.rows }}"
    )
    commit = LakeFSCommitOperator(task_id="commit", repo=repo, branch="manual", msg="manual load")
    gate = LakeFSQualityGateOperator(
        task_id="gate", repo=repo, ref="manual", gates=[NoDeletions(), TableRowCount(min_rows=2)]
    )
    merge = LakeFSMergeOperator(task_id="merge", repo=repo, source_ref="manual", destination_branch="main")
    create >> upload >> commit >> gate >> merge


lakefs_standalone_gate()
