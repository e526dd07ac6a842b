"""Tasks that must fail, each with a message naming what is wrong."""

from __future__ import annotations

from airflow.sdk import Param, dag

from lakefs_provider.operators.commit_operator import LakeFSCommitOperator
from lakefs_provider.operators.create_branch_operator import LakeFSCreateBranchOperator
from lakefs_provider.operators.get_commit_operator import LakeFSGetCommitOperator


@dag(dag_id="lakefs_bad_inputs", schedule=None, params={"repo": Param("", type="string")})
def lakefs_bad_inputs() -> None:
    LakeFSCreateBranchOperator(task_id="invalid_branch", repo="{{ params.repo }}", branch="feature/{{ ds }}")
    LakeFSCommitOperator(task_id="unknown_repo", repo="no-such-repo", branch="main", msg="m")
    LakeFSGetCommitOperator(
        task_id="wrong_secret", repo="{{ params.repo }}", ref="main", lakefs_conn_id="lakefs_bad_secret"
    )
    LakeFSGetCommitOperator(
        task_id="missing_connection", repo="{{ params.repo }}", ref="main", lakefs_conn_id="nowhere"
    )


lakefs_bad_inputs()
