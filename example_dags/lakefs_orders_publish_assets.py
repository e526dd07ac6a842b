"""A gated publish that announces the lakeFS asset it changed: the producer side of asset lineage.

What it shows
    ``lakefs_run_branch(..., assets=[ORDERS])``: the run writes the day's orders
    as CSV under ``curated/orders/`` on its own branch, two gates check it, and
    the publish merges it into ``main``. After the merge, the publish task sends
    an asset event for ``lakefs://lakefs-wap-demo/main/curated/orders`` only if
    the merge changed something there; the event's ``extra`` carries the merge
    commit id. ``lakefs_orders_on_publish`` is scheduled on that asset.

    The day's orders are the same for the same day (the generator is seeded
    with the date), so a second run for a day already published changes
    nothing on ``main``: it is recorded as unchanged and sends no event.

    Why a DAG of its own, not ``lakefs_orders_ingestion`` with ``assets=``: an
    asset names one repository when the file is parsed, while the ingestion's
    repository is a param chosen per run; a run into another repository would
    fail its publish. Here the repository is fixed when the file is parsed
    (``LAKEFS_WAP_DEMO_REPO``, default ``lakefs-wap-demo``), like the asset.

How to run
    Needs ``lakefs-wap[airflow]``, a ``lakefs_default`` connection and the
    repository with a ``main`` branch. Unpause ``lakefs_orders_on_publish``, then
    trigger this DAG (param ``rows``, default 1,000).
"""

from __future__ import annotations

import csv
import io
import os
import random

import pendulum
from airflow.sdk import Asset, Param, dag, get_current_context, task

from lakefs_provider.hooks.lakefs_hook import LakeFSHook
from lakefs_provider.run_branch_group import lakefs_run_branch
from lakefs_wap import NoDeletions, OnlyUnderPrefixes, objects

REPO = os.environ.get("LAKEFS_WAP_DEMO_REPO", "lakefs-wap-demo")
ORDERS = Asset(f"lakefs://{REPO}/main/curated/orders")


@dag(
    dag_id="lakefs_orders_publish_assets",
    schedule=None,
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    params={"rows": Param(1_000, type="integer", minimum=1, description="orders to write for the day")},
    tags=["lakefs", "write-audit-publish", "assets", "example"],
)
def lakefs_orders_publish_assets() -> None:
    gates = [OnlyUnderPrefixes(["curated/orders/"]), NoDeletions()]
    with lakefs_run_branch(repo=REPO, gates=gates, prefix="orders-assets", assets=[ORDERS]) as run:

        @task
        def write_orders(branch: str) -> str:
            context = get_current_context()
            # A run triggered without a logical date (Airflow 3's default) has no ``ds``: use the
            # day it was queued for.
            ds = context.get("ds") or context["dag_run"].run_after.strftime("%Y-%m-%d")
            generator = random.Random(ds)  # noqa: S311 - demo data, the same for the same day
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow(["order_id", "customer_id", "quantity", "unit_price"])
            for order_id in range(int(context["params"]["rows"])):
                price = round(generator.uniform(1, 250), 2)
                writer.writerow([order_id, generator.randint(1, 5_000), generator.randint(1, 9), price])
            path = f"curated/orders/date={ds}/orders.csv"
            objects.upload(LakeFSHook().get_conn(), REPO, branch, path, text.getvalue(), content_type="text/csv")
            return path

        write_orders(run.branch)


lakefs_orders_publish_assets()
