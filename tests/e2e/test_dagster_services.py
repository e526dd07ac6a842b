"""The Dagster example definitions on the real Dagster services, driven through the webserver's GraphQL API and UI.

One stack (``tools/dagster_stack.py``: code server, webserver, daemon, with a
``QueuedRunCoordinator``, so every run here waits until the daemon dequeues it)
serves the module, with the example's lakeFS resource pointed at the session's
lakeFS and its ``lakefs-wap-demo`` repository:

1. a good run of the example's assets is published: one merge commit on
   ``main`` carrying the Dagster run's metadata, the objects there, the run
   branch gone, and the same facts in the materialization's metadata;
2. with the failed-run sensor running in the daemon, a run with bad data fails
   its blocking checks: ``main`` does not move, and the sensor marks the kept
   run branch failed;
3. a headless Chromium shows the publish asset's lakeFS metadata on its page.

Runs use the in-process executor: on two busy cores each step's own process
(the default) spends most of a minute importing pandas and Dagster.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lakefs
import pytest

from lakefs_wap import ConnectionSettings, RunBranch, RunState, connect
from lakefs_wap.run_branch import KEY_KIND
from tests.e2e.browser import SCREENSHOT_DIR, Browser
from tools.dagster_stack import DagsterStack, LakeFSTarget
from tools.lakefs_server import ServerAccess
from tools.stack import DAGSTER_LOCATION, DEMO_REPOSITORY

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

ROWS = 20_000  # above the example's 1,000-row check, quick on two cores
RUN_TIMEOUT = 300.0
SENSOR = "lakefs_failed_runs"
PUBLISH_ASSET = "publish_orders"
REPOSITORY = "__repository__"  # the repository name Dagster gives a Definitions object
ASSET_JOB = "__ASSET_JOB"  # the implicit job of all the Definitions' assets and checks
UI_URL_KEY = "::lakefs::Dagster::url[url:ui]"


# --- talking to Dagster ---------------------------------------------------------------

_LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
  }
}
"""

_RUN = """
query Run($runId: ID!) {
  runOrError(runId: $runId) { __typename ... on Run { status } ... on PythonError { message } }
}
"""

_EVENTS = """
query Events($runId: ID!) {
  logsForRun(runId: $runId) {
    ... on EventConnection {
      events {
        __typename
        ... on MessageEvent { message }
        ... on AssetCheckEvaluationEvent { evaluation { checkName success } }
      }
    }
  }
}
"""

_METADATA_ENTRY = """
  label
  ... on TextMetadataEntry { text }
  ... on UrlMetadataEntry { url }
  ... on PathMetadataEntry { path }
  ... on IntMetadataEntry { intValue }
"""

_MATERIALIZATIONS = (
    """
query Materializations($path: [String!]!) {
  assetOrError(assetKey: {path: $path}) {
    __typename
    ... on Asset { assetMaterializations(limit: 10) { runId metadataEntries { """
    + _METADATA_ENTRY
    + """ } } }
  }
}
"""
)

_SENSOR_SELECTOR = {"repositoryLocationName": DAGSTER_LOCATION, "repositoryName": REPOSITORY, "sensorName": SENSOR}

_START_SENSOR = """
mutation Start($selector: SensorSelector!) {
  startSensor(sensorSelector: $selector) {
    __typename ... on Sensor { sensorState { status } } ... on PythonError { message }
  }
}
"""

_SENSOR_TICKS = """
query Ticks($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename ... on Sensor { sensorState { ticks(limit: 20) { status timestamp error { message } } } }
  }
}
"""


def launch(stack: DagsterStack, raw_orders_config: dict[str, Any]) -> str:
    """Launch the asset job with ``raw_orders_config``; the run id. It starts QUEUED: the daemon starts it."""
    params = {
        "selector": {"repositoryLocationName": DAGSTER_LOCATION, "repositoryName": REPOSITORY, "jobName": ASSET_JOB},
        "runConfigData": {
            "ops": {"raw_orders": {"config": raw_orders_config}},
            "execution": {"config": {"in_process": {}}},
        },
    }
    result = stack.graphql(_LAUNCH, {"params": params})["launchRun"]
    assert result["__typename"] == "LaunchRunSuccess", f"Dagster refused the run: {result}"
    run = result["run"]
    # The instance's QueuedRunCoordinator: only the daemon can start it now.
    assert run["status"] == "QUEUED", run
    return str(run["runId"])


def wait_for_run(stack: DagsterStack, run_id: str, *, timeout: float = RUN_TIMEOUT) -> str:
    """Poll the run until it ends; its final status (SUCCESS, FAILURE or CANCELED)."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        run = stack.graphql(_RUN, {"runId": run_id})["runOrError"]
        assert run["__typename"] == "Run", run
        status = str(run["status"])
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(2)
    pytest.fail(
        f"run {run_id} did not end within {timeout:.0f}s (statuses seen: {' -> '.join(seen)})\n{stack.log_tails()}"
    )


def run_messages(stack: DagsterStack, run_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = stack.graphql(_EVENTS, {"runId": run_id})["logsForRun"]["events"]
    return events


def failure_report(stack: DagsterStack, run_id: str) -> str:
    lines = [f"{e['__typename']}: {e.get('message', '')}" for e in run_messages(stack, run_id)]
    return "\n".join(lines[-25:]) + "\n" + stack.log_tails()


def entry_value(entry: dict[str, Any]) -> Any:
    for key in ("text", "url", "path", "intValue"):
        if key in entry:
            return entry[key]
    return None


def materialization_metadata(stack: DagsterStack, asset: str, run_id: str) -> dict[str, Any]:
    """The metadata of ``asset``'s materialization by ``run_id``, as label -> value."""
    answer = stack.graphql(_MATERIALIZATIONS, {"path": [asset]})["assetOrError"]
    assert answer["__typename"] == "Asset", answer
    for materialization in answer["assetMaterializations"]:
        if materialization["runId"] == run_id:
            return {entry["label"]: entry_value(entry) for entry in materialization["metadataEntries"]}
    pytest.fail(f"no materialization of {asset} by run {run_id}: {answer}")


def sensor_ticks(stack: DagsterStack) -> list[dict[str, Any]]:
    sensor = stack.graphql(_SENSOR_TICKS, {"selector": _SENSOR_SELECTOR})["sensorOrError"]
    assert sensor["__typename"] == "Sensor", sensor
    ticks: list[dict[str, Any]] = sensor["sensorState"]["ticks"]
    return ticks


def wait_until(condition: Any, *, timeout: float, what: str, stack: DagsterStack) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(2)
    pytest.fail(f"{what} did not happen within {timeout:.0f}s\n{stack.log_tails()}")


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dagster_repository(lakefs_server: ServerAccess, lakefs_client: lakefs.Client) -> lakefs.Repository:
    """The repository the example definitions write to, with a ``main`` branch (shared with the Airflow e2e tests)."""
    return lakefs.Repository(DEMO_REPOSITORY, client=lakefs_client).create(
        storage_namespace=lakefs_server.storage_namespace(DEMO_REPOSITORY), default_branch="main", exist_ok=True
    )


@pytest.fixture(scope="module")
def dagster_stack(lakefs_server: ServerAccess, dagster_repository: lakefs.Repository) -> Iterator[DagsterStack]:
    target = LakeFSTarget(
        lakefs_server.endpoint, lakefs_server.access_key_id, lakefs_server.secret_access_key, dagster_repository.id
    )
    keep_logs = os.environ.get("LAKEFS_WAP_E2E_LOGS")
    started = time.monotonic()
    with DagsterStack(target, keep_logs_in=Path(keep_logs) if keep_logs else None) as stack:
        print(f"\n[e2e] Dagster stack ready in {time.monotonic() - started:.0f}s at {stack.url}")
        yield stack


@pytest.fixture(scope="module")
def good_run(dagster_stack: DagsterStack) -> str:
    """A run of the example with good data, ended; its id."""
    run_id = launch(dagster_stack, {"rows": ROWS})
    status = wait_for_run(dagster_stack, run_id)
    assert status == "SUCCESS", f"the good run ended {status}:\n{failure_report(dagster_stack, run_id)}"
    # Queued by the webserver, then started by the daemon's dequeuing (RUN_STARTING).
    kinds = [e["__typename"] for e in run_messages(dagster_stack, run_id)]
    assert kinds.index("RunEnqueuedEvent") < kinds.index("RunStartingEvent") < kinds.index("RunStartEvent"), kinds
    return run_id


def run_branch(lakefs_server: ServerAccess, run_id: str) -> RunBranch:
    """The example's run branch of a Dagster run, as LakeFSResource names it (prefix ``dagster``)."""
    settings = ConnectionSettings(lakefs_server.endpoint, lakefs_server.access_key_id, lakefs_server.secret_access_key)
    return RunBranch(connect(settings), DEMO_REPOSITORY, run_id, source_branch="main", prefix="dagster")


# --- the tests ------------------------------------------------------------------------


def test_good_run_is_published_once_with_the_runs_metadata(
    dagster_stack: DagsterStack, dagster_repository: lakefs.Repository, lakefs_server: ServerAccess, good_run: str
) -> None:
    main = dagster_repository.branch("main")
    head = main.get_commit()
    assert len(head.parents) == 2, f"main's head is not a merge commit: {head}"
    metadata = head.metadata or {}
    assert metadata.get(KEY_KIND) == "publish"
    assert metadata.get("::lakefs::Dagster::run_id") == good_run
    assert metadata.get("::lakefs::Dagster::job") == ASSET_JOB
    # The link back to the run in this webserver's UI (LakeFSResource.dagster_url).
    assert metadata.get(UI_URL_KEY) == f"{dagster_stack.url}/runs/{good_run}"
    published = {o.path for o in main.objects(prefix="dagster/")}
    assert published == {"dagster/raw_orders.parquet", "dagster/curated_orders.parquet"}
    # Published and cleaned up: the state is read back from lakeFS alone.
    branch = run_branch(lakefs_server, good_run)
    assert branch.status().state is RunState.PUBLISHED
    assert branch.branch not in {b.id for b in dagster_repository.branches()}

    # The same facts, as Dagster recorded them.
    publish = materialization_metadata(dagster_stack, PUBLISH_ASSET, good_run)
    assert publish["lakefs/outcome"] == "published"
    assert publish["lakefs/merge_commit"] == head.id
    assert publish["lakefs/target_branch"] == "main"
    assert publish["lakefs/branch"] == branch.branch
    assert publish["lakefs/url"] == f"{lakefs_server.endpoint}/repositories/{DEMO_REPOSITORY}/commits/{head.id}"
    curated = materialization_metadata(dagster_stack, "curated_orders", good_run)
    assert curated["dagster/uri"] == f"lakefs://{DEMO_REPOSITORY}/main/dagster/curated_orders.parquet"
    assert curated["lakefs/branch"] == branch.branch
    assert curated["dagster/row_count"] == ROWS


def test_bad_run_fails_its_checks_and_main_stays_while_the_sensor_marks_the_branch(
    dagster_stack: DagsterStack, dagster_repository: lakefs.Repository, lakefs_server: ServerAccess, good_run: str
) -> None:
    started = dagster_stack.graphql(_START_SENSOR, {"selector": _SENSOR_SELECTOR})["startSensor"]
    assert started["__typename"] == "Sensor", started
    # A run-status sensor's first tick only sets its cursor: runs that fail
    # before that tick are never reported to it.
    wait_until(lambda: sensor_ticks(dagster_stack), timeout=120, what="the sensor's first tick", stack=dagster_stack)
    main_before = dagster_repository.branch("main").get_commit().id

    run_id = launch(dagster_stack, {"rows": ROWS, "bad_data": True})
    assert wait_for_run(dagster_stack, run_id) == "FAILURE"

    verdicts = {
        e["evaluation"]["checkName"]: e["evaluation"]["success"]
        for e in run_messages(dagster_stack, run_id)
        if e["__typename"] == "AssetCheckEvaluationEvent"
    }
    assert verdicts == {"raw_orders_row_count": False, "raw_orders_schema": False}
    assert dagster_repository.branch("main").get_commit().id == main_before
    branch = run_branch(lakefs_server, run_id)
    assert branch.branch in {b.id for b in dagster_repository.branches()}, "the failed run's branch was not kept"

    # The daemon runs the failed-run sensor in the code server; it marks the branch.
    status = wait_until(
        lambda: (s := branch.status()).state is RunState.FAILED and s,
        timeout=150,
        what=f"the sensor marking {branch.branch} failed",
        stack=dagster_stack,
    )
    assert run_id in (status.reason or ""), status
    assert not [t for t in sensor_ticks(dagster_stack) if t["status"] == "FAILURE"], sensor_ticks(dagster_stack)


def test_asset_page_shows_the_lakefs_metadata(
    dagster_stack: DagsterStack, dagster_repository: lakefs.Repository, good_run: str
) -> None:
    publish = materialization_metadata(dagster_stack, PUBLISH_ASSET, good_run)
    merge = str(publish["lakefs/merge_commit"])
    with Browser() as browser:
        browser.open(f"{dagster_stack.url}/assets/{PUBLISH_ASSET}")
        browser.wait_for_text("lakefs/merge_commit", timeout=90)
        browser.wait_for_text(merge, timeout=30)
        shot = browser.screenshot(SCREENSHOT_DIR / "dagster-asset-publish-orders.png")
        text = browser.page_text()
    for label in ("lakefs/outcome", "lakefs/target_branch", "lakefs/url"):
        assert label in text, f"{label} is not on the asset page (screenshot: {shot})"
    assert "published" in text
