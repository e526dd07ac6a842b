"""The Airflow harness runs real DAG files with dag.test() against the real lakeFS."""

from __future__ import annotations

import lakefs

from tests.airflow.conftest import TEST_DAGS, run_dag


def test_dag_run_reaches_lakefs_through_env_connection(airflow_db, lakefs_conn_id, repo: lakefs.Repository) -> None:
    dag_run = run_dag(TEST_DAGS / "harness_round_trip_dag.py", "harness_round_trip", run_conf={"repo": repo.id})

    assert dag_run.state == "success"
    main = repo.branch("main")
    written = main.object("from-airflow.txt").reader(mode="r").read()
    assert written == dag_run.run_id
    published = [c for c in main.log() if (c.metadata or {}).get("airflow_run_id") == dag_run.run_id]
    assert len(published) == 1
