"""The Airflow DAGs of the README and the docs run as written (with the test's repository)."""

from __future__ import annotations

from pathlib import Path

import lakefs
import pytest

from lakefs_wap.keys import KEY_KIND
from tests.airflow.conftest import run_dag, task_states
from tests.test_docs import snippet


def snippet_dag(page: str, name: str, repo: lakefs.Repository, tmp_path: Path) -> Path:
    dag_file = tmp_path / f"docs_{name.replace('-', '_')}_dag.py"
    dag_file.write_text(snippet(page, name).replace('"example-repo"', repr(repo.id)))
    return dag_file


def test_operators_dag_publishes_and_cleans_up(airflow_db, lakefs_conn_id, repo: lakefs.Repository, tmp_path) -> None:
    dag_run = run_dag(snippet_dag("docs/airflow.md", "airflow-dag", repo, tmp_path), "orders_to_lakefs")

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    published = [o.path for o in repo.branch("main").objects()]
    assert len(published) == 1
    assert published[0].startswith("raw/orders_")
    assert [b.id for b in repo.branches()] == ["main"]


# The same DAG is the README's example, the getting-started page's and the Airflow page's.
@pytest.mark.parametrize("page", ["README.md", "docs/getting-started.md", "docs/airflow.md"])
def test_run_branch_group_dag_publishes_once(
    airflow_db, lakefs_conn_id, repo: lakefs.Repository, tmp_path, page: str
) -> None:
    dag_run = run_dag(snippet_dag(page, "airflow-run-branch", repo, tmp_path), "orders_wap")

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    (published,) = [o.path for o in repo.branch("main").objects()]
    assert published.startswith("raw/orders/")
    assert len([c for c in repo.branch("main").log() if (c.metadata or {}).get(KEY_KIND) == "publish"]) == 1
    assert [b.id for b in repo.branches()] == ["main"]
