"""lakeFS killed while Airflow publishes a run branch (the merge lands, its answer is lost),
restarted by a timer: the DAG run succeeds and main gets exactly one publish."""

from __future__ import annotations

import json
from typing import Any

import lakefs
import pytest

from tests.airflow.conftest import TEST_DAGS, run_dag, task_states, try_numbers
from tests.crash_bed import CrashBed, crash_point
from tests.fault_proxy import CrashMode

RESTART_AFTER = 0.3
KIND = "lakefs_wap.kind"


def give_airflow(bed: CrashBed, monkeypatch: pytest.MonkeyPatch, extra: dict[str, Any]) -> None:
    """The crash bed as Airflow's ``lakefs_default`` connection."""
    access = bed.access
    connection = {
        "conn_type": "lakefs",
        "host": access.endpoint,
        "login": access.access_key_id,
        "password": access.secret_access_key,
        "extra": extra,
    }
    monkeypatch.setenv("AIRFLOW_CONN_LAKEFS_DEFAULT", json.dumps(connection))


@pytest.fixture
def bed(crash_bed: CrashBed) -> CrashBed:
    crash_bed.reset()
    return crash_bed


def assert_published_once(repo: lakefs.Repository, dag_run: Any) -> None:
    assert dag_run.state == "success", task_states(dag_run)
    publishes = [c for c in repo.branch("main").log() if (c.metadata or {}).get(KIND) == "publish"]
    assert len(publishes) == 1, [(c.id, c.message) for c in publishes]
    assert (publishes[0].metadata or {})["lakefs_wap.run_id"] == f"{dag_run.dag_id}/{dag_run.run_id}"
    assert repo.branch("main").object("data/orders.csv").reader().read() == b"id\n1\n2\n"
    assert [b.id for b in repo.branches()] == ["main"]  # cleanup deleted the run branch


def test_the_client_outlasts_the_restart_and_the_run_publishes_once(
    airflow_db, bed: CrashBed, monkeypatch: pytest.MonkeyPatch
) -> None:
    give_airflow(bed, monkeypatch, {})  # the connection's default retries
    repo = bed.new_repository("airflow-crash")
    crash = bed.crash_at(crash_point("publish-merge"), CrashMode.ANSWER_LOST, restart_after=RESTART_AFTER)

    dag_run = run_dag(TEST_DAGS / "crash_dag.py", "lakefs_crash", run_conf={"repo": repo.id})

    assert crash.hits == 1
    assert_published_once(repo, dag_run)


def test_the_client_gives_up_and_airflows_retry_publishes_once(
    airflow_db, bed: CrashBed, monkeypatch: pytest.MonkeyPatch
) -> None:
    give_airflow(bed, monkeypatch, {"max_retries": 1})  # every request tried once: the task fails
    repo = bed.new_repository("airflow-crash-retry")
    crash = bed.crash_at(crash_point("publish-merge"), CrashMode.ANSWER_LOST, restart_after=RESTART_AFTER)

    dag_run = run_dag(TEST_DAGS / "crash_dag.py", "lakefs_crash_late_retry", run_conf={"repo": repo.id})

    assert crash.hits == 1
    assert try_numbers(dag_run)["lakefs_run.publish"] >= 2, "the first try of publish should have failed"
    assert_published_once(repo, dag_run)
