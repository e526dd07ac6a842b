"""Commit-driven: one DAG run for each new commit on ``main`` that touches ``curated/``, no sensor running.

What it shows
    An ``Asset`` with an ``AssetWatcher``: ``LakeFSCommitEventTrigger`` runs in
    the triggerer and fires once per new commit on ``main`` of the
    ``lakefs-wap-demo`` repository that changed something under ``curated/``
    (a publish of ``lakefs_orders_ingestion`` is one such commit: its merge).
    Each event becomes an asset event, and the asset schedules this DAG. The
    task reads the commit id from the triggering event and lists what
    ``curated/`` holds at exactly that commit, an immutable snapshot whatever
    lands on ``main`` meanwhile.

    The watcher fires at most one event per poll, so each commit gets its own
    run; the task still handles every triggering event it is given, in case
    several share a run (an event reaching Airflow while the asset is still
    queued joins the next event's run).

How to run
    Needs the scheduler and a triggerer (``airflow standalone`` has both).
    Unpause it, then run ``lakefs_orders_ingestion``: its publish starts a run
    here. ``LAKEFS_WAP_DEMO_REPO`` names another repository and
    ``LAKEFS_WAP_WATCH_INTERVAL`` the seconds between polls (default 30); both
    are read when the DAG file is parsed: a watcher's arguments are fixed then.
"""

from __future__ import annotations

import os
from typing import Any

from airflow.sdk import Asset, AssetWatcher, dag, get_current_context, task

from lakefs_provider.hooks.lakefs_hook import LakeFSHook
from lakefs_provider.triggers.commit_event_trigger import LakeFSCommitEventTrigger

REPO = os.environ.get("LAKEFS_WAP_DEMO_REPO", "lakefs-wap-demo")
# Seconds between polls of main's head; keep it longer than the scheduler's loop so
# that each commit gets a run of its own (see the README).
_interval = os.environ.get("LAKEFS_WAP_WATCH_INTERVAL", "30")
try:
    INTERVAL = float(_interval)
except ValueError:
    raise ValueError(f"LAKEFS_WAP_WATCH_INTERVAL must be a number of seconds, such as 30; got {_interval!r}") from None

curated_on_main = Asset(
    f"lakefs://{REPO}/main/curated",
    watchers=[
        AssetWatcher(
            name="lakefs_main_curated_commits",
            trigger=LakeFSCommitEventTrigger(repo=REPO, branch="main", prefixes=["curated/"], poke_interval=INTERVAL),
        )
    ],
)


@dag(dag_id="lakefs_main_watcher", schedule=[curated_on_main], catchup=False, tags=["lakefs", "example"])
def lakefs_main_watcher() -> None:
    @task
    def curated_at_each_commit() -> list[dict[str, Any]]:
        events = get_current_context()["triggering_asset_events"][curated_on_main]
        connection = LakeFSHook().get_conn()
        snapshots = []
        for event in events:
            commit = event.extra["payload"]  # what the trigger fired with
            listing = connection.sdk.objects_api.list_objects(REPO, commit["commit_id"], prefix="curated/", amount=1000)
            size = sum(stored.size_bytes or 0 for stored in listing.results)
            print(
                f"commit {commit['commit_id'][:12]} on {commit['branch']} ({commit['message']!r}): "
                f"{len(listing.results)} objects under curated/, {size:,} bytes"
            )
            snapshots.append({"commit_id": commit["commit_id"], "objects": len(listing.results), "bytes": size})
        return snapshots

    curated_at_each_commit()


lakefs_main_watcher()
