"""Roll back a published run: one revert commit on ``main``, found by the run's key.

What it shows
    Every run published by ``lakefs_run_branch`` leaves a merge commit on the
    target branch carrying the run's key (its branch name) in
    ``lakefs_wap.run_key``. This DAG reverts one such run, so ``main`` holds
    exactly what it held before that run was published, without touching runs
    published after it (if they changed the same paths, lakeFS refuses and the
    task says so). Reverting the same run again returns the same revert commit.

    Params: ``run_key`` to revert a given run (shown in the lakeFS UI on the
    merge commit, or derive it from an ingestion run id with ``ingestion_run_id``);
    leave both empty to revert the newest published run not yet reverted.

How to run
    ``airflow dags trigger lakefs_rollback --conf '{"ingestion_run_id": "scheduled__2026-11-21T00:00:00+00:00"}'``
"""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from lakefs_provider.hooks.lakefs_hook import LakeFSHook
from lakefs_wap import revert_published_run, run_branch_name

INGESTION_DAG = "lakefs_orders_ingestion"
INGESTION_PREFIX = "orders"


@dag(
    dag_id="lakefs_rollback",
    schedule=None,
    params={
        "repo": Param("lakefs-wap-demo", type="string"),
        "branch": Param("main", type="string", description="the branch the run was published to"),
        "run_key": Param("", type="string", description="run key (run branch name) to revert"),
        "ingestion_run_id": Param("", type="string", description=f"or: the {INGESTION_DAG} run id to revert"),
    },
    tags=["lakefs", "write-audit-publish", "example"],
)
def lakefs_rollback() -> None:
    @task
    def revert_run() -> dict[str, str]:
        params = get_current_context()["params"]
        run_key = params["run_key"] or None
        if not run_key and params["ingestion_run_id"]:
            run_key = run_branch_name(f"{INGESTION_DAG}/{params['ingestion_run_id']}", prefix=INGESTION_PREFIX)
        revert = revert_published_run(
            LakeFSHook().get_conn(),
            params["repo"],
            params["branch"],
            run_key,
            message=f"Roll back {run_key or 'the newest published run'}",
        )
        return {"run_key": run_key or "(newest)", "revert_commit": revert}

    revert_run()


lakefs_rollback()
