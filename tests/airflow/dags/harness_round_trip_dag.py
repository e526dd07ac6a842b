"""A DAG that proves the Airflow test harness: a connection from
AIRFLOW_CONN_LAKEFS_DEFAULT, params from run_conf, and a task that does a
branch/commit/merge round trip on the real lakeFS server."""

from __future__ import annotations

import lakefs
from airflow.sdk import Param, dag, get_current_context, task

from lakefs_provider.version_compat import BaseHook


@dag(dag_id="harness_round_trip", schedule=None, params={"repo": Param("", type="string")})
def harness_round_trip() -> None:
    @task
    def write_and_publish() -> str:
        context = get_current_context()
        connection = BaseHook.get_connection("lakefs_default")
        client = lakefs.Client(host=connection.host, username=connection.login, password=connection.password)
        repo = lakefs.Repository(context["params"]["repo"], client=client)
        branch = repo.branch("harness-run").create(source_reference="main", exist_ok=True)
        branch.object("from-airflow.txt").upload(data=context["run_id"].encode())
        branch.commit(message="written by Airflow", metadata={"airflow_run_id": context["run_id"]})
        return branch.merge_into(repo.branch("main"), message="publish harness-run")

    write_and_publish()


harness_round_trip()
