"""Asset lineage on the real Airflow services: publishes that announce lakeFS assets, and a commit watcher.

1. ``lakefs_orders_publish_assets`` publishes a day of orders with
   ``assets=[lakefs://<repo>/main/curated/orders]``: its merge sends one asset
   event, and ``lakefs_orders_on_publish`` (scheduled on the asset) runs once and
   returns the merge commit from the event. The same day again changes nothing
   on ``main``: no event, no run.
2. ``lakefs_main_watcher`` (an ``AssetWatcher`` with ``LakeFSCommitEventTrigger``,
   running in the triggerer): a commit under ``curated/`` on ``main`` is one run
   naming that commit; a commit under ``raw/`` only is none; two quick curated
   commits are two runs, one commit each.

These need the scheduler to make asset-triggered runs, which the session's
stack turns off (``schedule_runs=False`` keeps the ingestion's daily schedule
quiet). So this module runs a stack of its own with schedules on: every DAG
arrives paused, and only the ones unpaused here run. The stack's
``LAKEFS_WAP_DEMO_REPO`` points the asset examples at a repository of their own,
away from what the other end-to-end tests read on ``lakefs-wap-demo``.
"""

from __future__ import annotations

import os
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import lakefs
import pytest

from tests.e2e.test_airflow_services import explain, run_path, trigger, wait_for_run, xcom
from tools.airflow_api import AirflowAPI
from tools.airflow_stack import AirflowStack, LakeFSTarget
from tools.lakefs_server import ServerAccess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

PRODUCER = "lakefs_orders_publish_assets"
CONSUMER = "lakefs_orders_on_publish"
WATCHER = "lakefs_main_watcher"
REPOSITORY = "lakefs-wap-lineage"
ORDERS_URI = f"lakefs://{REPOSITORY}/main/curated/orders"
CURATED_URI = f"lakefs://{REPOSITORY}/main/curated"
# The example polls every 30 s; 10 s keeps this short and is still longer than a scheduler
# loop, which the README asks for so that each commit gets a run of its own.
WATCH_INTERVAL = 10.0
DAY = "2026-11-21"
# A few scheduler loops (one is about a second, more on a busy machine): long enough for a
# run that was going to be made to appear.
QUIET = 15.0

T = TypeVar("T")


# --- waiting ------------------------------------------------------------------------------


def wait_until(what: str, probe: Callable[[], T | None], *, timeout: float) -> T:
    """``probe()`` until it gives something other than None (or False); fails naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() >= deadline:
            pytest.fail(f"{what}: not within {timeout:.0f}s (last: {found!r})")
        time.sleep(1)


def runs(api: AirflowAPI, dag_id: str) -> list[dict[str, Any]]:
    """The DAG's runs, oldest first."""
    listing = api.get(f"dags/{dag_id}/dagRuns?limit=100&order_by=run_after")
    return list(listing["dag_runs"])


def triggering_events(api: AirflowAPI, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    return list(api.get(f"{run_path(dag_id, run_id)}/upstreamAssetEvents")["asset_events"])


def asset_id(api: AirflowAPI, uri: str) -> int:
    query = urllib.parse.urlencode({"uri_pattern": uri, "limit": 100})
    matching = [asset for asset in api.get(f"assets?{query}")["assets"] if asset["uri"] == uri]
    assert len(matching) == 1, f"Airflow knows {len(matching)} assets with URI {uri}: {matching}"
    return int(matching[0]["id"])


def asset_events(api: AirflowAPI, uri: str) -> list[dict[str, Any]]:
    return list(api.get(f"assets/events?asset_id={asset_id(api, uri)}&limit=100&order_by=timestamp")["asset_events"])


def watermark(api: AirflowAPI, uri: str) -> str | None:
    """The last commit the watcher of ``uri`` handled, as it keeps it in the asset's state store (Airflow 3.3)."""
    entries = api.get(f"assets/{asset_id(api, uri)}/state-store")["asset_state_store"]
    values = [entry["value"] for entry in entries if entry["key"].startswith("lakefs_provider.commit_event_trigger:")]
    return str(values[0]) if values else None


def commit_directly(repository: lakefs.Repository, path: str, message: str) -> str:
    """What a user (or another tool) does on ``main`` without Airflow: upload one object, commit."""
    main = repository.branch("main")
    main.object(path).upload(data=f"{message}\n".encode())
    return str(main.commit(message=message).get_commit().id)


# --- the module's stack ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def lineage_stack(lakefs_server: ServerAccess) -> Iterator[AirflowStack]:
    target = LakeFSTarget(lakefs_server.endpoint, lakefs_server.access_key_id, lakefs_server.secret_access_key)
    keep_logs = os.environ.get("LAKEFS_WAP_E2E_LOGS")
    settings = {"LAKEFS_WAP_DEMO_REPO": REPOSITORY, "LAKEFS_WAP_WATCH_INTERVAL": str(WATCH_INTERVAL)}
    started = time.monotonic()
    with AirflowStack(
        target,
        schedule_runs=True,  # asset-triggered runs are made by the same scheduler step as scheduled ones
        extra_env=settings,
        keep_logs_in=Path(keep_logs) / "lineage" if keep_logs else None,
    ) as stack:
        stack.wait_for_dags((PRODUCER, CONSUMER, WATCHER))
        print(f"\n[e2e] lineage Airflow stack ready in {time.monotonic() - started:.0f}s")
        yield stack


@pytest.fixture(scope="module")
def api(lineage_stack: AirflowStack) -> AirflowAPI:
    return AirflowAPI(lineage_stack.access)


@pytest.fixture(scope="module")
def repository(lakefs_server: ServerAccess, lakefs_client: lakefs.Client) -> lakefs.Repository:
    return lakefs.Repository(REPOSITORY, client=lakefs_client).create(
        storage_namespace=lakefs_server.storage_namespace(REPOSITORY), default_branch="main", exist_ok=True
    )


def unpause(api: AirflowAPI, *dag_ids: str) -> None:
    for dag_id in dag_ids:
        api.patch(f"dags/{dag_id}", {"is_paused": False})


# --- 1. a publish's asset events --------------------------------------------------------


@pytest.fixture(scope="module")
def first_publish(api: AirflowAPI, repository: lakefs.Repository) -> dict[str, Any]:
    """One producer run for ``DAY`` with the consumer unpaused; what it published."""
    unpause(api, PRODUCER, CONSUMER)
    before = str(repository.branch("main").get_commit().id)
    started = time.monotonic()
    run_id = trigger(api, PRODUCER, f"{DAY}T00:00:00Z", {"rows": 1000})
    state = wait_for_run(api, PRODUCER, run_id)
    assert state == "success", explain(api, PRODUCER, run_id)
    print(f"\n[e2e] producer run took {time.monotonic() - started:.0f}s")
    return {"run_id": run_id, "before": before, "merge": str(repository.branch("main").get_commit().id)}


def test_a_publish_that_changed_the_asset_runs_its_consumer_once_with_the_merge_commit(
    api: AirflowAPI, repository: lakefs.Repository, first_publish: dict[str, Any]
) -> None:
    merge = first_publish["merge"]
    assert merge != first_publish["before"], "the producer's publish did not move main"
    assert xcom(api, PRODUCER, first_publish["run_id"], "lakefs_run.publish") == merge
    # One event, from the publish task, carrying the merge.
    (event,) = asset_events(api, ORDERS_URI)
    assert (event["source_dag_id"], event["source_task_id"]) == (PRODUCER, "lakefs_run.publish"), event
    assert event["extra"]["commit_id"] == merge, event
    extra = event["extra"]
    merged = repository.ref(merge).get_commit()
    assert (extra["repository"], extra["branch"], extra["path"]) == (REPOSITORY, "main", "curated/orders"), extra
    # What the merge commit records of the run, as lakefs-wap wrote it there.
    recorded = merged.metadata or {}
    assert extra["source_commit"] == recorded["lakefs_wap.gated_commit"], (extra, recorded)
    assert extra["run_key"] == recorded["lakefs_wap.run_key"], (extra, recorded)
    assert extra["gates"] == recorded["lakefs_wap.gates"], (extra, recorded)
    assert extra["gates_passed"] is True, extra
    assert extra["task"] == "LakeFSPublishRunBranchOperator", extra
    assert merge in extra["url"], extra

    started = time.monotonic()
    made = wait_until("a run of the consumer", lambda: runs(api, CONSUMER), timeout=120)
    assert len(made) == 1, f"one publish made {len(made)} consumer runs: {made}"
    consumer_run = made[0]
    assert consumer_run["run_type"] == "asset_triggered", consumer_run
    state = wait_for_run(api, CONSUMER, consumer_run["dag_run_id"], timeout=180)
    print(f"\n[e2e] consumer run made and finished {time.monotonic() - started:.0f}s after the publish")
    assert state == "success", explain(api, CONSUMER, consumer_run["dag_run_id"])
    assert xcom(api, CONSUMER, consumer_run["dag_run_id"], "published_commit") == merge
    # Exactly one, some scheduler loops later too.
    time.sleep(QUIET)
    assert len(runs(api, CONSUMER)) == 1, runs(api, CONSUMER)


def test_a_publish_that_changed_nothing_sends_no_event_and_runs_nothing(
    api: AirflowAPI, repository: lakefs.Repository, first_publish: dict[str, Any]
) -> None:
    # The same day again, six hours later: the same orders, nothing to change on main.
    run_id = trigger(api, PRODUCER, f"{DAY}T06:00:00Z", {"rows": 1000})
    state = wait_for_run(api, PRODUCER, run_id)
    assert state == "success", explain(api, PRODUCER, run_id)
    assert xcom(api, PRODUCER, run_id, "lakefs_run.publish", "outcome") == "unchanged"
    assert str(repository.branch("main").get_commit().id) == first_publish["merge"]
    # Events are recorded when the task finishes: none more than the first publish's.
    assert [event["extra"]["commit_id"] for event in asset_events(api, ORDERS_URI)] == [first_publish["merge"]]
    time.sleep(QUIET)
    assert len(runs(api, CONSUMER)) == 1, runs(api, CONSUMER)


# --- 2. the commit watcher ----------------------------------------------------------------


@pytest.fixture(scope="module")
def watching(api: AirflowAPI, repository: lakefs.Repository, first_publish: dict[str, Any]) -> str:
    """The watcher unpaused and polling ``main`` in the triggerer; the head it watches from."""
    head = str(repository.branch("main").get_commit().id)
    unpause(api, WATCHER)
    # An unpaused DAG's watchers get their triggers at the file's next parse: ask for it now.
    api.request("PUT", f"parseDagFile/{api.get(f'dags/{WATCHER}')['file_token']}")
    started = time.monotonic()
    mark = wait_until(
        "the watcher's first poll of main (its state store entry)", lambda: watermark(api, CURATED_URI), timeout=180
    )
    print(f"\n[e2e] watcher polling main {time.monotonic() - started:.0f}s after unpausing")
    assert mark == head, f"the watcher started from {mark}, not main's head {head}"
    return head


def watcher_commits(api: AirflowAPI, run: dict[str, Any]) -> list[str]:
    """The commits one watcher run reported handling (its task's XCom)."""
    return [snapshot["commit_id"] for snapshot in xcom(api, WATCHER, run["dag_run_id"], "curated_at_each_commit")]


def reported_by(api: AirflowAPI, listed: list[dict[str, Any]]) -> list[str]:
    """The commits the finished runs among ``listed`` reported, in run order; fails on a failed run."""
    reported = []
    for run in listed:
        assert run["state"] != "failed", explain(api, WATCHER, run["dag_run_id"])
        if run["state"] == "success":
            reported += watcher_commits(api, run)
    return reported


def finished_watcher_runs(api: AirflowAPI, count: int) -> list[dict[str, Any]]:
    """Until the watcher has ``count`` runs, all finished successfully; fails on a failed one."""
    found = wait_until(
        f"{count} run(s) of {WATCHER}",
        lambda: listed if len(listed := runs(api, WATCHER)) >= count else None,
        timeout=WATCH_INTERVAL * 3 + 90,
    )
    for run in found:
        state = wait_for_run(api, WATCHER, run["dag_run_id"], timeout=180)
        assert state == "success", explain(api, WATCHER, run["dag_run_id"])
    return found


def test_watcher_runs_once_per_curated_commit_and_never_for_raw_only(
    api: AirflowAPI, repository: lakefs.Repository, watching: str
) -> None:
    started = time.monotonic()
    first = commit_directly(repository, "curated/watched/one.csv", "curated one")
    (run,) = finished_watcher_runs(api, 1)
    print(f"\n[e2e] watcher run for a curated commit finished {time.monotonic() - started:.0f}s after it")
    assert run["run_type"] == "asset_triggered", run
    assert watcher_commits(api, run) == [first]
    assert [event["extra"]["payload"]["commit_id"] for event in triggering_events(api, WATCHER, run["dag_run_id"])] == [
        first
    ]

    # raw/ only: the watcher looks at it (its mark moves past it) and fires nothing.
    raw_only = commit_directly(repository, "raw/watched/one.csv", "raw only")
    wait_until("the watcher passing the raw/ commit", lambda: watermark(api, CURATED_URI) == raw_only, timeout=90)
    time.sleep(QUIET)
    assert len(runs(api, WATCHER)) == 1, runs(api, WATCHER)

    # Two curated commits in quick succession: one event each, one poll apart, so two runs.
    second = commit_directly(repository, "curated/watched/two.csv", "curated two")
    third = commit_directly(repository, "curated/watched/three.csv", "curated three")
    started = time.monotonic()
    later = wait_until(
        "watcher runs reporting both quick commits",
        lambda: found if {second, third} <= set(reported_by(api, found := runs(api, WATCHER)[1:])) else None,
        timeout=WATCH_INTERVAL * 4 + 120,
    )
    print(f"\n[e2e] watcher runs for two quick commits finished {time.monotonic() - started:.0f}s after them")
    # Every commit in a triggering event, once, oldest first (the README's promise whatever the runs).
    assert reported_by(api, later) == [second, third]
    # And a run each, as long as the poll interval is longer than a scheduler loop.
    assert [watcher_commits(api, run) for run in later] == [[second], [third]]
    time.sleep(QUIET)
    assert len(runs(api, WATCHER)) == 3, runs(api, WATCHER)
