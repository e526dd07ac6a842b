"""The README's Airflow DAGs run as written (with the test's repository)."""

from __future__ import annotations

from pathlib import Path

import lakefs

from lakefs_wap.run_branch import KEY_KIND
from tests.airflow.conftest import run_dag, task_states
from tests.test_readme import readme_block


def readme_dag(heading: str, repo: lakefs.Repository, tmp_path: Path) -> Path:
    dag_file = tmp_path / f"readme_{heading.strip('# ').split()[0].lower()}_dag.py"
    dag_file.write_text(readme_block(heading).replace('"example-repo"', repr(repo.id)))
    return dag_file


def test_readme_dag_publishes_and_cleans_up(airflow_db, lakefs_conn_id, repo: lakefs.Repository, tmp_path) -> None:
    dag_run = run_dag(readme_dag("### A DAG", repo, tmp_path), "orders_to_lakefs")

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    published = [o.path for o in repo.branch("main").objects()]
    assert len(published) == 1
    assert published[0].startswith("raw/orders_")
    assert [b.id for b in repo.branches()] == ["main"]


def test_readme_run_branch_group_publishes_once(airflow_db, lakefs_conn_id, repo: lakefs.Repository, tmp_path) -> None:
    dag_run = run_dag(readme_dag("### Branch per run", repo, tmp_path), "orders_wap")

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    (published,) = [o.path for o in repo.branch("main").objects()]
    assert published.startswith("raw/orders/")
    assert len([c for c in repo.branch("main").log() if (c.metadata or {}).get(KEY_KIND) == "publish"]) == 1
    assert [b.id for b in repo.branches()] == ["main"]
