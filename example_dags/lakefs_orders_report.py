"""Event-driven: wait for new curated data on ``main``, then build a report from it.

What it shows
    A deferrable ``LakeFSCommitSensor`` waits in the triggerer (no worker slot
    held) for the next commit on ``main`` that touches ``curated/``, which with
    ``lakefs_orders_ingestion`` means: a run passed its gates and was published.
    The report task reads the curated order partitions at exactly that commit
    (an immutable snapshot, whatever lands on ``main`` meanwhile) and returns
    daily revenue as XCom.

    Param ``after_commit`` starts the wait after a given commit; empty means
    "after main's head when the sensor first looks".

How to run
    Trigger it, then run ``lakefs_orders_ingestion``; the report fires once the
    ingestion publishes. Needs a triggerer for deferrable mode.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from lakefs_provider.hooks.lakefs_hook import LakeFSHook
from lakefs_provider.sensors.commit_sensor import LakeFSCommitSensor
from lakefs_wap import objects


@dag(
    dag_id="lakefs_orders_report",
    schedule=None,
    params={
        "repo": Param("lakefs-wap-demo", type="string"),
        "after_commit": Param("", type="string", description="wait for commits after this one (empty: main's head)"),
    },
    tags=["lakefs", "example"],
)
def lakefs_orders_report() -> None:
    wait = LakeFSCommitSensor(
        task_id="wait_for_curated_data",
        repo="{{ params.repo }}",
        branch="main",
        prev_commit_id="{{ params.after_commit or '' }}",
        prefixes=["curated/"],
        deferrable=True,
        poke_interval=30,
        timeout=6 * 60 * 60,
    )

    @task
    def daily_revenue(commit_id: str) -> dict[str, Any]:
        import pandas as pd

        params = get_current_context()["params"]
        connection = LakeFSHook().get_conn()
        listing = connection.sdk.objects_api.list_objects(params["repo"], commit_id, prefix="curated/orders/")
        frames = []
        with tempfile.TemporaryDirectory() as scratch:
            for number, stored in enumerate(o for o in listing.results if o.path.endswith(".parquet")):
                local = Path(scratch) / f"{number}.parquet"
                objects.download(connection, params["repo"], commit_id, stored.path, local)
                frames.append(pd.read_parquet(local, columns=["ordered_at", "amount"]))
        orders = pd.concat(frames)
        by_day = orders.groupby(orders["ordered_at"].dt.strftime("%Y-%m-%d"))["amount"].sum().round(2)
        return {"commit": commit_id, "orders": len(orders), "revenue_by_day": by_day.to_dict()}

    daily_revenue(wait.output)


lakefs_orders_report()
