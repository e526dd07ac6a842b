"""Scheduled on a lakeFS asset: one run for each publish that changed ``curated/orders`` on ``main``.

What it shows
    The consumer side of asset lineage. ``lakefs_orders_publish_assets``
    declares ``lakefs://lakefs-wap-demo/main/curated/orders`` on its publish;
    each publish whose merge changed that path sends an asset event, and the
    event starts a run here. The task reads the merge commit from the triggering
    event's ``extra`` and returns it: read the data at that commit, which never
    changes, whatever lands on ``main`` later. A publish that changed nothing,
    or a run stopped by its gates, starts no run.

How to run
    Unpause it, then trigger ``lakefs_orders_publish_assets``.
    ``LAKEFS_WAP_DEMO_REPO`` names another repository (read when the DAG file is
    parsed, as the producer reads it).
"""

from __future__ import annotations

import os

from airflow.sdk import Asset, dag, get_current_context, task

REPO = os.environ.get("LAKEFS_WAP_DEMO_REPO", "lakefs-wap-demo")
ORDERS = Asset(f"lakefs://{REPO}/main/curated/orders")


@dag(dag_id="lakefs_orders_on_publish", schedule=[ORDERS], catchup=False, tags=["lakefs", "assets", "example"])
def lakefs_orders_on_publish() -> None:
    @task
    def published_commit() -> str:
        # The newest event is the latest publish; earlier ones (if several publishes
        # queued this run together) are older commits of the same branch.
        event = get_current_context()["triggering_asset_events"][ORDERS][-1]
        extra = event.extra
        print(f"orders published at {extra['commit_id']} by {extra['run_key']} (gates passed: {extra['gates_passed']})")
        return str(extra["commit_id"])

    published_commit()


lakefs_orders_on_publish()
