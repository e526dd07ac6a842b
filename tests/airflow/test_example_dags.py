"""The example DAGs, end to end through dag.test() against the real lakeFS."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import lakefs
import pendulum

from lakefs_provider.run_metadata import PREFIX
from lakefs_wap import RunBranch, RunState, connect
from lakefs_wap.run_branch import KEY_KIND
from tests.airflow.conftest import plain, run_dag, task_states, xcom

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"
INGESTION = "lakefs_orders_ingestion"
DAY_1 = pendulum.datetime(2026, 11, 20, tz="UTC")
DAY_2 = pendulum.datetime(2026, 11, 21, tz="UTC")
ROWS = 20_000


def ingest(repo: lakefs.Repository, day: pendulum.DateTime, *, bad: bool = False):
    return run_dag(
        EXAMPLES / "lakefs_orders_ingestion.py",
        INGESTION,
        run_conf={"repo": repo.id, "rows": ROWS, "bad_data": bad},
        logical_date=day,
        run_after=day,
    )


def publishes(repo: lakefs.Repository) -> list[lakefs.Commit]:
    return [c for c in repo.branch("main").log() if (c.metadata or {}).get(KEY_KIND) == "publish"]


def snapshot(repo: lakefs.Repository) -> dict[str, str]:
    return {o.path: getattr(o, "checksum", "") for o in repo.branch("main").objects()}


def run_branch_of(dag_run, repo: lakefs.Repository, lakefs_server) -> RunBranch:
    from lakefs_wap import ConnectionSettings

    settings = ConnectionSettings(lakefs_server.endpoint, lakefs_server.access_key_id, lakefs_server.secret_access_key)
    return RunBranch(connect(settings), repo.id, f"{INGESTION}/{dag_run.run_id}", prefix="orders")


def test_good_data_is_published_once_with_airflow_metadata_and_gates(airflow_db, lakefs_conn_id, lakefs_server, repo):
    dag_run = ingest(repo, DAY_1)

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    assert sorted(snapshot(repo)) == [
        "curated/customers.parquet",
        "curated/orders/date=2026-11-20/orders.parquet",
        "raw/orders/date=2026-11-20/orders.csv",
    ]
    (merge,) = publishes(repo)
    assert (merge.metadata or {})[PREFIX + "dag_id"] == INGESTION
    assert (merge.metadata or {})[PREFIX + "dag_run_id"] == dag_run.run_id
    assert (merge.metadata or {})["lakefs_wap.gates_passed"] == "true"
    gates = json.loads((merge.metadata or {})["lakefs_wap.gates"])
    assert [g["name"] for g in gates] == [
        "only_under_prefixes",
        "no_deletions",
        "table_row_count",
        "parquet_schema_unchanged",
    ]
    assert xcom(dag_run, "lakefs_run.publish") == merge.id
    assert xcom(dag_run, "lakefs_run.cleanup") == "deleted"
    assert [b.id for b in repo.branches()] == ["main"]
    assert run_branch_of(dag_run, repo, lakefs_server).status().state is RunState.PUBLISHED


def test_bad_data_is_stopped_and_the_fixed_rerun_publishes_once(
    airflow_db, lakefs_conn_id, lakefs_server, repo, caplog, capfd
):
    ingest(repo, DAY_1)
    main_before = repo.branch("main").get_commit().id

    capfd.readouterr()
    with caplog.at_level(logging.INFO):
        failed = ingest(repo, DAY_2, bad=True)
    captured = capfd.readouterr()
    logs = plain(caplog.text + captured.out + captured.err)
    states = task_states(failed)
    assert failed.state == "failed"
    assert states["lakefs_run.gate"] == "failed"
    assert states["lakefs_run.publish"] == "upstream_failed"
    assert states["lakefs_run.cleanup"] == "success"
    assert "2 of 4 quality gate(s) failed" in logs
    assert "FAIL table_row_count" in logs
    assert "FAIL parquet_schema_unchanged" in logs
    assert repo.branch("main").get_commit().id == main_before

    run = run_branch_of(failed, repo, lakefs_server)
    status = run.status()
    assert status.state is RunState.FAILED
    reason = status.reason or ""
    assert "quality gates failed" in reason
    assert "curated/customers.parquet' schema changed" in reason
    assert "fewer than 1000" in reason
    assert run.branch in {b.id for b in repo.branches()}

    fixed = ingest(repo, DAY_2, bad=False)  # the same DAG run, cleared and run again with good data
    assert fixed.run_id == failed.run_id
    assert set(task_states(fixed).values()) == {"success"}, task_states(fixed)
    day_2_publishes = [c for c in publishes(repo) if (c.metadata or {})[PREFIX + "dag_run_id"] == fixed.run_id]
    assert len(day_2_publishes) == 1
    assert "curated/orders/date=2026-11-21/orders.parquet" in snapshot(repo)
    assert [b.id for b in repo.branches()] == ["main"]


def test_rollback_restores_main_as_it_was_before_the_run(airflow_db, lakefs_conn_id, repo):
    ingest(repo, DAY_1)
    before_day_2 = snapshot(repo)
    day_2 = ingest(repo, DAY_2)
    assert snapshot(repo) != before_day_2

    rollback = run_dag(
        EXAMPLES / "lakefs_rollback.py",
        "lakefs_rollback",
        run_conf={"repo": repo.id, "ingestion_run_id": day_2.run_id},
    )

    assert set(task_states(rollback).values()) == {"success"}
    assert snapshot(repo) == before_day_2
    assert xcom(rollback, "revert_run")["revert_commit"] == repo.branch("main").get_commit().id


def test_report_waits_for_the_published_commit_and_builds_the_report(airflow_db, lakefs_conn_id, repo):
    before = repo.branch("main").get_commit().id
    ingestion = ingest(repo, DAY_1)
    published = xcom(ingestion, "lakefs_run.publish")

    report = run_dag(
        EXAMPLES / "lakefs_orders_report.py", "lakefs_orders_report", run_conf={"repo": repo.id, "after_commit": before}
    )

    assert set(task_states(report).values()) == {"success"}
    assert xcom(report, "wait_for_curated_data") == published
    built = xcom(report, "daily_revenue")
    assert built["commit"] == published
    assert built["orders"] == ROWS
    assert list(built["revenue_by_day"]) == ["2026-11-20"]
    assert built["revenue_by_day"]["2026-11-20"] > 0
