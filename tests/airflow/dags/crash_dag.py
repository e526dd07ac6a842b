"""lakefs_run_branch with retries on every task, for the crash tests: lakeFS dies under a task and comes back.

``lakefs_crash`` retries at once; ``lakefs_crash_late_retry`` waits long enough for lakeFS to be back.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from lakefs_provider.hooks.lakefs_hook import LakeFSHook
from lakefs_provider.run_branch_group import lakefs_run_branch
from lakefs_wap import NoDeletions, objects


def crash_dag(dag_id: str, retry_delay: timedelta) -> Any:
    @dag(
        dag_id=dag_id,
        schedule=None,
        params={"repo": Param("", type="string")},
        default_args={"retries": 2, "retry_delay": retry_delay},
    )
    def lakefs_crash() -> None:
        with lakefs_run_branch(repo="{{ params.repo }}", gates=[NoDeletions()], prefix="crash") as run:

            @task
            def write(branch: str) -> None:
                repo = get_current_context()["params"]["repo"]
                objects.upload(LakeFSHook().get_conn(), repo, branch, "data/orders.csv", b"id\n1\n2\n")

            write(run.branch)

    return lakefs_crash()


crash_dag("lakefs_crash", timedelta(seconds=0))
crash_dag("lakefs_crash_late_retry", timedelta(seconds=2))
