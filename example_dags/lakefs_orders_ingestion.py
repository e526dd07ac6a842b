"""Branch-per-run ingestion of daily orders into lakeFS, published only when every gate passes.

What it shows
    ``lakefs_run_branch`` turns the DAG's tasks into a write-audit-publish run:
    each DAG run writes to its own lakeFS branch, four quality gates check what
    the run changed, and only a run that passes all of them is merged into
    ``main`` in one merge. A failed run leaves ``main`` untouched and its branch
    behind, marked failed with the reason.

    1. ``land_raw_orders`` generates the day's orders (300,000 rows by default;
       there is no outside data here) and writes them as CSV under ``raw/``.
    2. ``curate_orders`` reads the CSV back from the run branch, types and enriches
       it with pandas, and writes parquet under ``curated/``: the day's partition
       and the ``customers`` table, rewritten every day.
    3. Gates: changes only under ``raw/`` and ``curated/``, no deletions, at least
       1,000 rows in every curated table, and every curated parquet file keeps its
       schema from ``main``.

    Trigger it with ``{"bad_data": true}`` to write a tiny partition and a
    ``customers`` table whose ``lifetime_value`` became text: two gates fail, the
    task log lists both, and ``main`` does not move. Clear the failed tasks after
    fixing the data (trigger with ``bad_data`` false for the same run) and the
    run publishes once, on the same branch.

How to run
    Needs ``lakefs-wap[airflow,tables]``, a ``lakefs_default`` connection, and a
    repository (param ``repo``, default ``lakefs-wap-demo``) with a ``main`` branch.
    ``airflow dags test lakefs_orders_ingestion`` runs it once.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pendulum
from airflow.sdk import Context, Param, dag, get_current_context, task

from lakefs_provider.hooks.lakefs_hook import LakeFSHook
from lakefs_provider.run_branch_group import lakefs_run_branch
from lakefs_wap import NoDeletions, OnlyUnderPrefixes, ParquetSchemaUnchanged, TableRowCount, objects


def run_day(context: Context) -> str:
    """The day a run ingests: its logical date, or the day it was queued for when it has none
    (Airflow 3 triggers manual runs without a logical date unless one is given)."""
    return context.get("ds") or context["dag_run"].run_after.strftime("%Y-%m-%d")


GATES = [
    OnlyUnderPrefixes(["raw/", "curated/"]),
    NoDeletions(),
    TableRowCount(min_rows=1000, prefixes=["curated/"]),
    ParquetSchemaUnchanged(prefixes=["curated/"]),
]


@dag(
    dag_id="lakefs_orders_ingestion",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    params={
        "repo": Param("lakefs-wap-demo", type="string", description="lakeFS repository to ingest into"),
        "rows": Param(300_000, type="integer", minimum=1, description="orders to generate for the day"),
        "bad_data": Param(False, type="boolean", description="write data that fails two gates"),
    },
    tags=["lakefs", "write-audit-publish", "example"],
)
def lakefs_orders_ingestion() -> None:
    with lakefs_run_branch(repo="{{ params.repo }}", gates=GATES, prefix="orders") as run:

        @task
        def land_raw_orders(branch: str) -> str:
            import numpy as np
            import pandas as pd

            context = get_current_context()
            params, ds = context["params"], run_day(context)
            rows = 10 if params["bad_data"] else int(params["rows"])
            generator = np.random.default_rng(int(ds.replace("-", "")))  # the same day makes the same data
            orders = pd.DataFrame(
                {
                    "order_id": np.arange(rows, dtype="int64"),
                    "customer_id": generator.integers(1, 5_000, rows),
                    "quantity": generator.integers(1, 10, rows),
                    "unit_price": generator.uniform(1, 250, rows).round(2),
                    "ordered_at": pd.Timestamp(ds, tz="UTC")
                    + pd.to_timedelta(generator.integers(0, 86_400, rows), "s"),
                }
            )
            path = f"raw/orders/date={ds}/orders.csv"
            with tempfile.TemporaryDirectory() as scratch:
                local = Path(scratch) / "orders.csv"
                orders.to_csv(local, index=False)
                objects.upload(LakeFSHook().get_conn(), params["repo"], branch, path, local, content_type="text/csv")
            return path

        @task
        def curate_orders(branch: str, raw_path: str) -> list[str]:
            import pandas as pd

            context = get_current_context()
            params, ds = context["params"], run_day(context)
            connection = LakeFSHook().get_conn()
            with tempfile.TemporaryDirectory() as scratch:
                raw = Path(scratch) / "orders.csv"
                objects.download(connection, params["repo"], branch, raw_path, raw)
                orders = pd.read_csv(raw, parse_dates=["ordered_at"])
                orders["amount"] = (orders["quantity"] * orders["unit_price"]).round(2)
                customers = orders.groupby("customer_id", as_index=False).agg(
                    orders=("order_id", "count"), lifetime_value=("amount", "sum")
                )
                if params["bad_data"]:
                    customers["lifetime_value"] = customers["lifetime_value"].astype(str)
                written = []
                for name, table in (
                    (f"curated/orders/date={ds}/orders.parquet", orders),
                    ("curated/customers.parquet", customers),
                ):
                    local = Path(scratch) / name.replace("/", "_")
                    table.to_parquet(local, index=False)
                    objects.upload(connection, params["repo"], branch, name, local)
                    written.append(name)
            return written

        curate_orders(branch=run.branch, raw_path=land_raw_orders(branch=run.branch))


lakefs_orders_ingestion()
