"""LakeFSQualityGateOperator on its own: a branch written with the classic operators, a commit id."""

from __future__ import annotations

import json

import pytest

from lakefs_provider.operators.quality_gate_operator import REPORT_KEY
from tests.airflow.conftest import TEST_DAGS, run_dag, task_states, xcom


@pytest.mark.parametrize(("rows", "passes"), [("id\n1\n2\n", True), ("id\n1\n", False)])
def test_gate_on_a_classically_built_branch(airflow_db, lakefs_conn_id, repo, rows: str, passes: bool) -> None:
    main_before = repo.branch("main").get_commit().id
    dag_run = run_dag(
        TEST_DAGS / "standalone_gate_dag.py", "lakefs_standalone_gate", run_conf={"repo": repo.id, "rows": rows}
    )

    states = task_states(dag_run)
    report = xcom(dag_run, "gate", key=REPORT_KEY)
    assert report["passed"] is passes
    assert [r["name"] for r in report["results"]] == ["no_deletions", "table_row_count"]
    gate_commit = repo.branch("manual").get_commit()
    assert (gate_commit.metadata or {})["lakefs_wap.gates_passed"] == json.dumps(passes)
    if passes:
        assert states == {name: "success" for name in ("create", "upload", "commit", "gate", "merge")}
        assert repo.branch("main").object("raw/x.csv").reader(mode="r").read() == rows
    else:
        assert states["gate"] == "failed"
        assert states["merge"] == "upstream_failed"
        assert repo.branch("main").get_commit().id == main_before
