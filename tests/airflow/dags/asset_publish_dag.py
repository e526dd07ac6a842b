"""A publisher and a consumer of lakeFS assets, and a rollback that is one more publish.

``asset_publisher`` writes ``curated/orders/part-0.csv`` on its run branch and
publishes it gated; of its declared assets only ``curated/orders`` changes, so only
that asset gets an event. ``asset_consumer`` is scheduled on that asset and reads
the orders at exactly the commit its triggering event names. ``asset_rollback``
reverts a publish (``conf={"commit": ...}``), which changes the asset again.

Asset URIs are fixed when the file is parsed, so the repository comes from
``LAKEFS_WAP_ASSET_REPO`` (the tests set it to their throw-away repository).
"""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.sdk import Asset, dag, get_current_context, task

from lakefs_provider.hooks.lakefs_hook import LakeFSHook
from lakefs_provider.operators.revert_operator import LakeFSRevertOperator
from lakefs_provider.run_branch_group import lakefs_run_branch
from lakefs_wap import OnlyUnderPrefixes, TableRowCount, objects

REPO = os.environ.get("LAKEFS_WAP_ASSET_REPO", "example-repo")
ORDERS = Asset(f"lakefs://{REPO}/main/curated/orders")
CUSTOMERS = Asset(f"lakefs://{REPO}/main/curated/customers")
ORDERS_FILE = "curated/orders/part-0.csv"
START = pendulum.datetime(2026, 11, 1, tz="UTC")


@dag(dag_id="asset_publisher", schedule=None, start_date=START, catchup=False)
def asset_publisher() -> None:
    gates = [OnlyUnderPrefixes(["curated/"]), TableRowCount(min_rows=1)]
    with lakefs_run_branch(repo=REPO, gates=gates, prefix="assets", assets=[ORDERS, CUSTOMERS]) as run:

        @task
        def write_orders(branch: str) -> None:
            rows = (get_current_context()["dag_run"].conf or {}).get("rows", "1,9.50")
            objects.upload(LakeFSHook().get_conn(), REPO, branch, ORDERS_FILE, f"order_id,amount\n{rows}\n")

        write_orders(run.branch)


@dag(dag_id="asset_consumer", schedule=[ORDERS], start_date=START, catchup=False)
def asset_consumer() -> None:
    @task
    def read_published_orders(**context: Any) -> dict[str, str]:
        event = context["triggering_asset_events"][ORDERS][-1]
        commit = event.extra["commit_id"]
        data = objects.read_buffer(LakeFSHook().get_conn(), REPO, commit, ORDERS_FILE)
        return {"commit": commit, "orders": bytes(data).decode()}

    read_published_orders()


@dag(dag_id="asset_rollback", schedule=None, start_date=START, catchup=False)
def asset_rollback() -> None:
    LakeFSRevertOperator(
        task_id="revert", repo=REPO, branch="main", ref="{{ dag_run.conf['commit'] }}", assets=[ORDERS, CUSTOMERS]
    )


asset_publisher()
asset_consumer()
asset_rollback()
