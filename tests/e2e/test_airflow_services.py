"""The example DAGs on the real Airflow services, driven through Airflow's REST API and its UI.

The module's runs build on each other, as a user's day would:

1. ``lakefs_orders_report`` is triggered first: its commit sensor defers and
   waits in the triggerer process for new curated data on ``main``;
2. ``lakefs_orders_ingestion`` with good data: every task succeeds and one
   merge commit lands on ``main``; that publish wakes the report, which reads
   exactly that commit;
3. ``lakefs_orders_ingestion`` with ``bad_data``: the gate fails, the run fails,
   ``main`` does not move, the run branch is kept;
4. ``lakefs_rollback`` reverts the good run on ``main``.

Then a headless Chromium checks the UI: the ``lakefs`` connection form and the
**lakeFS** extra link of a run-branch task.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lakefs
import pytest
from selenium.webdriver.remote.webelement import WebElement

from lakefs_provider.get_provider_info import get_provider_info
from tests.e2e.browser import SCREENSHOT_DIR, Browser
from tools.airflow_api import AirflowAPI
from tools.airflow_stack import AirflowStack
from tools.lakefs_server import ServerAccess
from tools.stack import DEMO_REPOSITORY

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

INGESTION = "lakefs_orders_ingestion"
REPORT = "lakefs_orders_report"
ROLLBACK = "lakefs_rollback"
ROWS = 2000  # enough for the gates' 1,000-row minimum, quick on two cores
GOOD_DAY = "2026-11-21"
BAD_DAY = "2026-11-22"
RUN_TIMEOUT = 420.0
INGESTION_TASKS = {
    "lakefs_run.open",
    "lakefs_run.land_raw_orders",
    "lakefs_run.curate_orders",
    "lakefs_run.commit",
    "lakefs_run.gate",
    "lakefs_run.publish",
    "lakefs_run.cleanup",
}


# --- talking to Airflow --------------------------------------------------------------


def trigger(api: AirflowAPI, dag_id: str, logical_date: str | None, conf: dict[str, Any]) -> str:
    """Trigger a run of ``dag_id``; its run id."""
    body: dict[str, Any] = {"logical_date": logical_date, "conf": conf}
    return str(api.post(f"dags/{dag_id}/dagRuns", body)["dag_run_id"])


def run_path(dag_id: str, run_id: str) -> str:
    return f"dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}"


def task_instances(api: AirflowAPI, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
    listing = api.get(f"{run_path(dag_id, run_id)}/taskInstances?limit=100")
    return {ti["task_id"]: ti for ti in listing["task_instances"]}


def task_states(api: AirflowAPI, dag_id: str, run_id: str) -> dict[str, str | None]:
    return {task_id: ti["state"] for task_id, ti in task_instances(api, dag_id, run_id).items()}


def wait_for_run(api: AirflowAPI, dag_id: str, run_id: str, *, timeout: float = RUN_TIMEOUT) -> str:
    """Until the run ends; its final state. Fails with every task's state when time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        state = str(api.get(run_path(dag_id, run_id))["state"])
        if state in ("success", "failed"):
            return state
        if time.monotonic() >= deadline:
            pytest.fail(
                f"{dag_id} run {run_id} still {state} after {timeout:.0f}s; tasks: {task_states(api, dag_id, run_id)}"
            )
        time.sleep(2)


def wait_for_task(
    api: AirflowAPI, dag_id: str, run_id: str, task_id: str, states: set[str], *, timeout: float = RUN_TIMEOUT
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        ti = task_instances(api, dag_id, run_id).get(task_id, {})
        if ti.get("state") in states:
            return ti
        if time.monotonic() >= deadline:
            pytest.fail(
                f"{dag_id}.{task_id} in run {run_id} is {ti.get('state')!r}, not one of {sorted(states)}, "
                f"after {timeout:.0f}s; tasks: {task_states(api, dag_id, run_id)}"
            )
        time.sleep(1)


def xcom(api: AirflowAPI, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
    entry = api.get(f"{run_path(dag_id, run_id)}/taskInstances/{task_id}/xcomEntries/{key}?deserialize=true")
    return entry["value"]


def task_log(api: AirflowAPI, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
    answer = api.get(f"{run_path(dag_id, run_id)}/taskInstances/{task_id}/logs/{try_number}?full_content=true")
    content = answer.get("content", [])
    if isinstance(content, str):
        return content
    return "\n".join(str(line.get("event", line)) if isinstance(line, dict) else str(line) for line in content)


def extra_links(api: AirflowAPI, dag_id: str, run_id: str, task_id: str) -> dict[str, str | None]:
    return dict(api.get(f"{run_path(dag_id, run_id)}/taskInstances/{task_id}/links")["extra_links"])


def explain(api: AirflowAPI, dag_id: str, run_id: str) -> str:
    """Every task's state and the logs of the failed ones: what a failing assertion needs to show."""
    states = task_states(api, dag_id, run_id)
    failed = [task for task, state in states.items() if state == "failed"]
    logs = "\n".join(f"--- {task} ---\n{task_log(api, dag_id, run_id, task)[-3000:]}" for task in failed)
    return f"tasks: {json.dumps(states, indent=1)}\n{logs}"


# --- the runs, in a user's order ----------------------------------------------------------


@dataclass(frozen=True)
class Run:
    dag_id: str
    run_id: str
    state: str
    main_before: str
    main_after: str


def head(repository: lakefs.Repository, branch: str = "main") -> Any:
    return repository.branch(branch).get_commit()


@pytest.fixture(scope="module")
def dags_unpaused(airflow_api: AirflowAPI) -> None:
    """The example DAGs arrive paused, as Airflow makes every new DAG: unpause them as a user would."""
    for dag_id in (INGESTION, REPORT, ROLLBACK):
        airflow_api.patch(f"dags/{dag_id}", {"is_paused": False})


@pytest.fixture(scope="module")
def report_run(airflow_api: AirflowAPI, dags_unpaused: None, demo_repository: lakefs.Repository) -> str:
    """A report run waiting, deferred, for the next curated commit on ``main``."""
    run_id = trigger(airflow_api, REPORT, None, {})
    wait_for_task(airflow_api, REPORT, run_id, "wait_for_curated_data", {"deferred", "success", "failed"})
    return run_id


@pytest.fixture(scope="module")
def good_run(airflow_api: AirflowAPI, report_run: str, demo_repository: lakefs.Repository) -> Run:
    before = head(demo_repository).id
    run_id = trigger(airflow_api, INGESTION, f"{GOOD_DAY}T00:00:00Z", {"rows": ROWS})
    state = wait_for_run(airflow_api, INGESTION, run_id)
    return Run(INGESTION, run_id, state, before, head(demo_repository).id)


@pytest.fixture(scope="module")
def bad_run(airflow_api: AirflowAPI, good_run: Run, demo_repository: lakefs.Repository) -> Run:
    before = head(demo_repository).id
    run_id = trigger(airflow_api, INGESTION, f"{BAD_DAY}T00:00:00Z", {"rows": ROWS, "bad_data": True})
    state = wait_for_run(airflow_api, INGESTION, run_id)
    return Run(INGESTION, run_id, state, before, head(demo_repository).id)


def test_all_four_services_run_as_separate_healthy_processes(
    airflow_stack: AirflowStack, airflow_api: AirflowAPI
) -> None:
    health = airflow_api.get("monitor/health")
    for part in ("metadatabase", "scheduler", "dag_processor", "triggerer"):
        assert health[part]["status"] == "healthy", health
    pids = airflow_stack.pids
    assert len(set(pids.values())) == 4, pids
    dags = {dag["dag_id"]: dag for dag in airflow_api.get("dags?limit=100")["dags"]}
    assert {INGESTION, REPORT, ROLLBACK} <= set(dags)
    # The folder also holds the Dagster example: it is no Airflow DAG and breaks nothing.
    assert not [dag_id for dag_id, dag in dags.items() if dag["fileloc"].endswith("dagster_orders.py")]
    assert airflow_api.get("importErrors")["total_entries"] == 0


def test_report_sensor_waits_deferred_in_the_triggerer(
    airflow_api: AirflowAPI, airflow_stack: AirflowStack, report_run: str
) -> None:
    sensor = task_instances(airflow_api, REPORT, report_run)["wait_for_curated_data"]
    assert sensor["state"] == "deferred", explain(airflow_api, REPORT, report_run)
    assert sensor["trigger"]["classpath"].startswith("lakefs_provider.triggers."), sensor["trigger"]
    # A triggerer claims new triggers on its next loop: seconds, more on a busy machine.
    deadline = time.monotonic() + 120
    while sensor["triggerer_job"] is None and sensor["state"] == "deferred":
        assert time.monotonic() < deadline, "no triggerer picked up the sensor's trigger within 120s"
        time.sleep(1)
        sensor = task_instances(airflow_api, REPORT, report_run)["wait_for_curated_data"]
    triggerer_job = sensor["triggerer_job"]
    assert triggerer_job is not None, f"the sensor left the triggerer's hands unclaimed: {sensor['state']}"
    assert triggerer_job["job_type"] == "TriggererJob"
    assert triggerer_job["state"] == "running"
    # That triggerer process (not the scheduler, not a worker) runs it: it writes
    # the trigger's log, named after its job, and the trigger polls lakeFS there.
    trigger_log = (
        airflow_stack.home
        / "logs"
        / f"dag_id={REPORT}"
        / f"run_id={report_run}"
        / "task_id=wait_for_curated_data"
        / f"attempt=1.log.trigger.{triggerer_job['id']}.log"
    )
    deadline = time.monotonic() + 90
    while "nothing yet" not in (trigger_log.read_text(errors="replace") if trigger_log.exists() else ""):
        assert time.monotonic() < deadline, f"the triggerer wrote no poll of lakeFS to {trigger_log}"
        time.sleep(1)


def test_good_run_publishes_one_merge_to_main(
    airflow_api: AirflowAPI, good_run: Run, demo_repository: lakefs.Repository
) -> None:
    assert good_run.state == "success", explain(airflow_api, INGESTION, good_run.run_id)
    states = task_states(airflow_api, INGESTION, good_run.run_id)
    assert set(states) == INGESTION_TASKS
    assert set(states.values()) == {"success"}, states
    merge = head(demo_repository)
    assert merge.id != good_run.main_before
    assert len(merge.parents) == 2, f"main's head is not a merge: {merge}"
    assert merge.parents[0] == good_run.main_before
    # The commit the publish task reported is the one on main, and it carries the run.
    published = xcom(airflow_api, INGESTION, good_run.run_id, "lakefs_run.publish")
    assert merge.id in json.dumps(published), published
    assert good_run.run_id in json.dumps(merge.metadata), merge.metadata
    on_main = {obj.path for obj in demo_repository.ref("main").objects(prefix="curated/")}
    assert f"curated/orders/date={GOOD_DAY}/orders.parquet" in on_main
    # cleanup deleted the published run's branch
    branch = xcom(airflow_api, INGESTION, good_run.run_id, "lakefs_run.open", "branch")
    assert branch not in {b.id for b in demo_repository.branches()}


def test_publish_wakes_the_deferred_report(airflow_api: AirflowAPI, report_run: str, good_run: Run) -> None:
    assert good_run.state == "success"
    state = wait_for_run(airflow_api, REPORT, report_run, timeout=180)
    assert state == "success", explain(airflow_api, REPORT, report_run)
    report = xcom(airflow_api, REPORT, report_run, "daily_revenue")
    assert report["commit"] == good_run.main_after
    assert report["orders"] == ROWS
    assert list(report["revenue_by_day"]) == [GOOD_DAY]


def test_bad_run_is_gated_out_and_its_branch_kept(
    airflow_api: AirflowAPI, bad_run: Run, demo_repository: lakefs.Repository
) -> None:
    assert bad_run.state == "failed"
    states = task_states(airflow_api, INGESTION, bad_run.run_id)
    assert states["lakefs_run.gate"] == "failed", explain(airflow_api, INGESTION, bad_run.run_id)
    assert states["lakefs_run.publish"] == "upstream_failed", states
    assert states["lakefs_run.land_raw_orders"] == states["lakefs_run.curate_orders"] == "success", states
    assert bad_run.main_after == bad_run.main_before, "main moved although the gate failed"
    gate_log = task_log(airflow_api, INGESTION, bad_run.run_id, "lakefs_run.gate")
    assert "lifetime_value" in gate_log, gate_log[-3000:]
    branch = xcom(airflow_api, INGESTION, bad_run.run_id, "lakefs_run.open", "branch")
    kept = demo_repository.branch(branch).get_commit()
    assert kept.id != bad_run.main_before
    assert any(key.startswith("lakefs_wap.") for key in kept.metadata), kept.metadata


def test_rollback_reverts_the_good_run_on_main(
    airflow_api: AirflowAPI, good_run: Run, bad_run: Run, demo_repository: lakefs.Repository
) -> None:
    before = head(demo_repository).id
    run_id = trigger(airflow_api, ROLLBACK, None, {"ingestion_run_id": good_run.run_id})
    state = wait_for_run(airflow_api, ROLLBACK, run_id)
    assert state == "success", explain(airflow_api, ROLLBACK, run_id)
    revert = xcom(airflow_api, ROLLBACK, run_id, "revert_run")
    reverted = head(demo_repository)
    assert revert["revert_commit"] == reverted.id
    assert reverted.parents == [before]
    assert not list(demo_repository.ref("main").objects(prefix="curated/orders/"))


def test_a_run_triggered_without_a_logical_date_publishes(
    airflow_api: AirflowAPI, good_run: Run, bad_run: Run, demo_repository: lakefs.Repository
) -> None:
    # What `airflow dags trigger` and the UI's trigger button do by default in Airflow 3:
    # the run has no logical date, so no "ds" in its context.
    before = head(demo_repository).id
    run_id = trigger(airflow_api, INGESTION, None, {"rows": ROWS})
    state = wait_for_run(airflow_api, INGESTION, run_id)
    assert state == "success", explain(airflow_api, INGESTION, run_id)
    published = head(demo_repository)
    assert published.id != before
    assert published.parents[0] == before


# --- the UI, in a headless Chromium -------------------------------------------------------


@pytest.fixture(scope="module")
def browser(airflow_stack: AirflowStack) -> Iterator[Browser]:
    """A Chromium signed in to the Airflow UI (the simple auth manager's JWT as its cookie)."""
    with Browser() as opened:
        opened.open(f"{airflow_stack.access.url}/api/v2/version")
        opened.driver.add_cookie({"name": "_token", "value": airflow_stack.access.token(), "path": "/"})
        yield opened


def screenshot_path(name: str) -> Path:
    return SCREENSHOT_DIR / f"airflow-{name}.png"


def lakefs_connection_type() -> dict[str, Any]:
    """What the provider declares about its ``lakefs`` connection form (the source the UI renders from)."""
    (declared,) = [kind for kind in get_provider_info()["connection-types"] if kind["connection-type"] == "lakefs"]
    return dict(declared)


def test_connection_form_shows_the_lakefs_fields(
    browser: Browser, airflow_stack: AirflowStack, airflow_api: AirflowAPI, lakefs_server: ServerAccess
) -> None:
    declared = lakefs_connection_type()
    behaviour = declared["ui-field-behaviour"]
    conn_id = "lakefs_form_check"
    airflow_api.post(
        "connections",
        {"connection_id": conn_id, "conn_type": "lakefs", "host": lakefs_server.endpoint, "login": "AKIAEXAMPLE"},
    )
    browser.open(f"{airflow_stack.access.url}/connections")
    browser.wait_for_text(conn_id, timeout=90)
    browser.click("button[aria-label='Edit Connection']")
    browser.wait_for_text("Standard Fields")
    dialog = "[role=dialog]"
    # Standard fields: relabeled, with their placeholders; schema and port hidden.
    for field_name, label in behaviour["relabeling"].items():
        browser.wait_for_text(label)
        field_input = browser.find(f"{dialog} input[name='{field_name}']")
        assert field_input.is_displayed(), field_name
        if field_name in behaviour["placeholders"]:
            assert field_input.get_attribute("placeholder") == behaviour["placeholders"][field_name]
    labels = {label.text.strip() for label in browser.find_all(f"{dialog} label") if label.is_displayed()}
    for hidden in behaviour["hidden-fields"]:
        assert not [e for e in browser.find_all(f"{dialog} [name='{hidden}']") if e.is_displayed()], hidden
        assert hidden.capitalize() not in labels, labels
    assert browser.find(f"{dialog} input[name='host']").get_attribute("value") == lakefs_server.endpoint
    browser.screenshot(screenshot_path("connection-standard-fields"))
    # Extra fields: every one the provider declares, with its label and description.
    browser.click_text("Extra Fields")
    for name, extra in declared["conn-fields"].items():
        browser.wait_for_text(extra["label"])
        browser.wait_for_text(extra["description"])
        assert browser.find_all(f"{dialog} [name='element_{name}']"), f"no input for the extra field {name}"
    browser.screenshot(screenshot_path("connection-extra-fields"))


def task_details_page(airflow_stack: AirflowStack, run: Run, task_id: str) -> str:
    run_id = urllib.parse.quote(run.run_id, safe="")
    return f"{airflow_stack.access.url}/dags/{run.dag_id}/runs/{run_id}/tasks/{task_id}/details"


def lakefs_link(browser: Browser, page: str) -> WebElement:
    """The task's **lakeFS** button under "Extra Links" on its details page."""
    browser.open(page)
    browser.wait_for_text("Extra Links", timeout=90)
    (link,) = [a for a in browser.find_all("a") if a.text.strip() == "lakeFS"]
    return link


def test_kept_run_branch_shows_the_lakefs_link_to_its_branch(
    browser: Browser,
    airflow_stack: AirflowStack,
    airflow_api: AirflowAPI,
    bad_run: Run,
    lakefs_server: ServerAccess,
    demo_repository: lakefs.Repository,
) -> None:
    branch = xcom(airflow_api, INGESTION, bad_run.run_id, "lakefs_run.open", "branch")
    expected = f"{lakefs_server.endpoint}/repositories/{DEMO_REPOSITORY}/objects?ref={branch}"
    assert extra_links(airflow_api, INGESTION, bad_run.run_id, "lakefs_run.open") == {"lakeFS": expected}
    link = lakefs_link(browser, task_details_page(airflow_stack, bad_run, "lakefs_run.open"))
    assert link.get_attribute("href") == expected
    browser.screenshot(screenshot_path("task-lakefs-link"))
    # The branch it names is the run's, kept in lakeFS after the failed gate.
    assert demo_repository.branch(branch).get_commit().id != bad_run.main_before
    # It opens lakeFS itself (this lakeFS has no web UI built: its placeholder page answers).
    before = set(browser.driver.window_handles)
    link.click()
    browser.switch_to_new_window(before)
    try:
        browser.wait_for_selector("body")
        assert browser.url == expected
        assert browser.driver.title == "lakeFS"
    finally:
        browser.driver.close()
        browser.driver.switch_to.window(next(iter(before)))


def test_publish_task_links_to_the_merge_commit(
    browser: Browser, airflow_stack: AirflowStack, good_run: Run, lakefs_server: ServerAccess
) -> None:
    expected = f"{lakefs_server.endpoint}/repositories/{DEMO_REPOSITORY}/commits/{good_run.main_after}"
    link = lakefs_link(browser, task_details_page(airflow_stack, good_run, "lakefs_run.publish"))
    assert link.get_attribute("href") == expected
