"""`make demo` keeps working: the real example DAGs and Dagster assets, run here against the session's server.

The demo's own lakeFS is replaced by the session's (``LAKEFS_ENDPOINT``); the
Airflow and Dagster runs, the child processes and the report are the real ones.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import lakefs
import pytest

from lakefs_wap import ConnectionSettings, RunBranch, RunState, connect
from tools import demo
from tools.demo_repository import ensure_demo_repository
from tools.lakefs_server import ServerAccess

ROOT = Path(__file__).resolve().parent.parent

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
    # The UIs those links open stop with the demo: the report says so, and how to keep them.
    # (This lakeFS is the session's, which outlives the demo: its links keep working.)
    last_lines = [line for line in out.splitlines() if line.strip()][-2:]
    assert last_lines[0] == (
        "The Airflow UI and Dagster UI links above work only while those servers run, and the demo stops them "
        "now: `KEEP_RUNNING=1 make demo` keeps them running."
    ), out
    assert last_lines[1].startswith("Demo finished in "), out

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


def demo_environment(server: ServerAccess, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAKEFS_", "KEEP_RUNNING"))}
    env.update(
        LAKEFS_ENDPOINT=server.endpoint,
        LAKEFS_ACCESS_KEY_ID=server.access_key_id,
        LAKEFS_SECRET_ACCESS_KEY=server.secret_access_key,
        LAKEFS_STORAGE_NAMESPACE_PREFIX=server.namespace_prefix,
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


def test_wrong_keys_are_one_clear_line_naming_the_endpoint(lakefs_server: ServerAccess) -> None:
    wrong_secret = "not-the-secret-of-this-lakefs-0123456789"  # noqa: S105
    result = subprocess.run(
        [sys.executable, "-m", "tools.demo", "--rows", str(ROWS)],
        cwd=ROOT,
        env=demo_environment(lakefs_server, LAKEFS_SECRET_ACCESS_KEY=wrong_secret),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("demo: "), result.stderr
    assert lakefs_server.endpoint in lines[0]
    assert "did not accept the keys" in lines[0]
    assert "LAKEFS_ACCESS_KEY_ID and LAKEFS_SECRET_ACCESS_KEY" in lines[0]
    assert wrong_secret not in result.stdout + result.stderr


@contextlib.contextmanager
def demo_process(env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """The demo in a process group of its own, as a terminal runs it: Ctrl-C goes to the whole group."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.demo", "--rows", str(ROWS)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_ctrl_c_during_the_runs_stops_everything_without_a_traceback(
    lakefs_server: ServerAccess, lakefs_client: lakefs.Client
) -> None:
    with demo_process(demo_environment(lakefs_server)) as process:
        assert process.stdout is not None
        seen = []
        for line in process.stdout:
            seen.append(line)
            if line.startswith("[dagster] materializing"):  # a child process is running its example
                break
        else:
            pytest.fail(f"the demo never started its Dagster run:\n{''.join(seen)}")
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        out, err = process.communicate(timeout=120)
        out = "".join(seen) + out
        match = re.search(r"Created repository (lakefs-wap-demo-[0-9a-f]{8})", out)
        if match:
            lakefs.Repository(match.group(1), client=lakefs_client).delete()
    assert process.returncode == 130, out + err
    assert "Traceback" not in out + err, out + err
    assert err.strip().splitlines()[-1] == "demo: interrupted; stopped everything the demo started", err
    # Nothing the demo started outlives it: its process group is empty.
    deadline = time.monotonic() + 10
    while True:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "a process the demo started is still running"
        time.sleep(0.2)


def test_ensuring_the_demo_repository_twice_and_racing_converges(
    lakefs_server: ServerAccess, lakefs_client: lakefs.Client
) -> None:
    name = f"ensure-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(max_workers=2) as pool:
        created = list(pool.map(lambda _: ensure_demo_repository(lakefs_server, name), range(2)))
    assert sorted(created) == [False, True]  # one created it, the other found it (a 409)
    assert ensure_demo_repository(lakefs_server, name) is False
    repository = lakefs.Repository(name, client=lakefs_client).properties
    assert repository.default_branch == "main"
    assert repository.storage_namespace == lakefs_server.storage_namespace(name)
