"""`make demo` keeps working: the real example DAGs and Dagster assets, run here against the session's server.

The demo's own lakeFS is replaced by the session's (``LAKEFS_ENDPOINT``); the
Airflow and Dagster runs, the child processes and the report are the real ones.
"""

from __future__ import annotations

import re

import lakefs
import pytest

from lakefs_wap import ConnectionSettings, RunBranch, RunState, connect
from tools import demo
from tools.lakefs_server import ServerAccess

ROWS = 1_500  # the smallest day whose curated tables still pass the 1,000-row gates


@pytest.fixture
def demo_output(
    lakefs_server: ServerAccess, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    monkeypatch.setenv("LAKEFS_ENDPOINT", lakefs_server.endpoint)
    monkeypatch.setenv("LAKEFS_ACCESS_KEY_ID", lakefs_server.access_key_id)
    monkeypatch.setenv("LAKEFS_SECRET_ACCESS_KEY", lakefs_server.secret_access_key)
    monkeypatch.setenv("LAKEFS_STORAGE_NAMESPACE_PREFIX", lakefs_server.namespace_prefix)
    monkeypatch.delenv("KEEP_RUNNING", raising=False)

    assert demo.main(["--rows", str(ROWS)]) == 0
    return capsys.readouterr().out


def test_demo_runs_both_orchestrators_and_reports_from_lakefs(
    demo_output: str, lakefs_server: ServerAccess, lakefs_client: lakefs.Client
) -> None:
    out = demo_output
    # Progress from the children, as they run.
    assert re.search(r"\[dagster\] run [0-9a-f-]{36}: success", out), out
    assert "[airflow] lakefs_orders_ingestion run manual__2026-11-21T00:00:00+00:00: success" in out
    assert "[airflow] lakefs_orders_ingestion run manual__2026-11-22T00:00:00+00:00: failed" in out
    assert re.search(r"\[airflow\] lakefs_rollback run manual__\S+: success", out), out

    # The report, read back from lakeFS.
    assert "published: merge" in out  # the Dagster run
    assert "2/2 gates passed" in out
    assert "4/4 gates passed" in out  # the good Airflow run
    assert "FAIL table_row_count" in out  # the bad run
    assert "FAIL parquet_schema_unchanged" in out
    assert "failed, NOT published: main unchanged by it" in out
    assert re.search(r"reverted: published as [0-9a-f]{12}, then reverted by [0-9a-f]{12}", out), out
    assert "main now holds 2 object(s): dagster/curated_orders.parquet, dagster/raw_orders.parquet" in out
    # Links back to each run in its orchestrator's UI, recorded on the commits.
    assert re.search(r"Airflow UI  http://127\.0\.0\.1:\d+/dags/lakefs_orders_ingestion/runs/manual__2026-11-21", out)
    assert re.search(r"Dagster UI  http://127\.0\.0\.1:\d+/runs/[0-9a-f-]{36}", out)
    assert lakefs_server.secret_access_key not in out

    # And lakeFS itself agrees: only the bad run's branch is left, marked failed.
    match = re.search(r"Created repository (lakefs-wap-demo-[0-9a-f]{8})", out)
    assert match, out
    repository = lakefs.Repository(match.group(1), client=lakefs_client)
    try:
        assert sorted(o.path for o in repository.branch("main").objects()) == [
            "dagster/curated_orders.parquet",
            "dagster/raw_orders.parquet",
        ]
        kept = [b.id for b in repository.branches() if b.id != "main"]
        assert len(kept) == 1, kept
        settings = ConnectionSettings(
            lakefs_server.endpoint, lakefs_server.access_key_id, lakefs_server.secret_access_key
        )
        bad_run_id = "lakefs_orders_ingestion/manual__2026-11-22T00:00:00+00:00"
        bad = RunBranch(connect(settings), repository.id, bad_run_id, prefix="orders")
        assert bad.branch == kept[0]
        assert bad.status().state is RunState.FAILED
    finally:
        repository.delete()
