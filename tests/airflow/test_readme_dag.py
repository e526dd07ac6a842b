"""The README's Airflow DAG runs as written (with the test's repository)."""

from __future__ import annotations

from pathlib import Path

import lakefs

from tests.airflow.conftest import run_dag, task_states
from tests.test_readme import readme_block


def test_readme_dag_publishes_and_cleans_up(
    airflow_db, lakefs_conn_id, repo: lakefs.Repository, tmp_path: Path
) -> None:
    dag_file = tmp_path / "readme_example_dag.py"
    dag_file.write_text(readme_block("### A DAG").replace('"example-repo"', repr(repo.id)))

    dag_run = run_dag(dag_file, "orders_to_lakefs")

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    published = [o.path for o in repo.branch("main").objects()]
    assert len(published) == 1
    assert published[0].startswith("raw/orders_")
    assert [b.id for b in repo.branches()] == ["main"]
