"""Dagster: the orders ingestion as assets, published to lakeFS only when blocking checks pass.

What it shows
    The Dagster side of lakefs-wap, mirroring ``lakefs_orders_ingestion``:

    - ``LakeFSIOManager`` stores every asset on the run's own branch
      (``dagster-<run id>-<hash>``), never on ``main`` directly;
    - ``raw_orders`` (generated, 300,000 rows) and ``curated_orders`` (typed and
      enriched with pandas) are parquet objects under ``dagster/``;
    - two blocking asset checks (enough rows, the expected schema) stop the run
      before ``lakefs_publish`` when they fail, so ``main`` is untouched and the
      branch stays for debugging (``lakefs_failed_runs`` marks it failed);
    - ``lakefs_publish`` commits the run with Dagster metadata, runs lakefs-wap
      gates (changes only under ``dagster/``, no deletions), merges into ``main``
      once, and deletes the branch;
    - each gate is also an asset check of ``publish_orders`` (``only_under_prefixes``,
      ``no_deletions``), so its verdict shows in the Dagster UI beside the two above;
    - data versions are the stored objects' lakeFS checksums: re-running with the
      same orders leaves ``curated_orders`` fresh, new orders make it stale.

    Run config ``{"ops": {"raw_orders": {"config": {"bad_data": true}}}}`` makes
    both checks fail. Fix the data on the kept branch (or the code) and
    re-execute the run from failure: it continues on the same branch and
    publishes once.

How to run
    Needs ``lakefs-wap[dagster,tables]``; set ``LAKEFS_ENDPOINT``,
    ``LAKEFS_ACCESS_KEY_ID``, ``LAKEFS_SECRET_ACCESS_KEY`` and ``LAKEFS_REPOSITORY``
    (a repository with a ``main`` branch), then ``dagster dev -f example_dags/dagster_orders.py``.
"""

import os

import numpy as np
import pandas as pd
from dagster import AssetCheckResult, AssetExecutionContext, Config, Definitions, EnvVar, asset, asset_check

from dagster_lakefs import LakeFSIOManager, LakeFSResource, lakefs_failed_run_sensor, lakefs_publish
from lakefs_wap import NoDeletions, OnlyUnderPrefixes

MIN_ROWS = 1_000
CURATED_SCHEMA = {
    "order_id": "int64",
    "customer_id": "int64",
    "quantity": "int64",
    "unit_price": "float64",
    "amount": "float64",
}


class OrdersConfig(Config):
    rows: int = 300_000
    bad_data: bool = False


@asset(group_name="orders")
def raw_orders(context: AssetExecutionContext, config: OrdersConfig) -> pd.DataFrame:
    """The day's orders as they arrive (generated: there is no outside data here)."""
    rows = 10 if config.bad_data else config.rows
    generator = np.random.default_rng(20261122)
    orders = pd.DataFrame(
        {
            "order_id": np.arange(rows, dtype="int64"),
            "customer_id": generator.integers(1, 5_000, rows),
            "quantity": generator.integers(1, 10, rows),
            "unit_price": generator.uniform(1, 250, rows).round(2),
        }
    )
    if config.bad_data:
        orders["unit_price"] = orders["unit_price"].astype(str)
    context.log.info(f"generated {rows} orders")
    return orders


@asset(group_name="orders")
def curated_orders(raw_orders: pd.DataFrame) -> pd.DataFrame:
    """Orders with their amount; unit prices that are not numbers become NaN."""
    curated = raw_orders.copy()
    curated["unit_price"] = pd.to_numeric(curated["unit_price"], errors="coerce")
    curated["amount"] = (curated["quantity"] * curated["unit_price"]).round(2)
    return curated


@asset_check(asset=raw_orders, blocking=True, description=f"at least {MIN_ROWS} orders arrived")
def raw_orders_row_count(raw_orders: pd.DataFrame) -> AssetCheckResult:
    return AssetCheckResult(passed=len(raw_orders) >= MIN_ROWS, metadata={"rows": len(raw_orders)})


@asset_check(asset=raw_orders, blocking=True, description="columns and types are the expected ones")
def raw_orders_schema(raw_orders: pd.DataFrame) -> AssetCheckResult:
    expected = {k: v for k, v in CURATED_SCHEMA.items() if k != "amount"}
    actual = {name: str(dtype) for name, dtype in raw_orders.dtypes.items()}
    return AssetCheckResult(passed=actual == expected, metadata={"expected": str(expected), "actual": str(actual)})


publish_orders = lakefs_publish(
    [raw_orders, curated_orders],
    name="publish_orders",
    gates=[OnlyUnderPrefixes(["dagster/"]), NoDeletions()],
    group_name="orders",
)

lakefs = LakeFSResource(
    endpoint=EnvVar("LAKEFS_ENDPOINT"),
    access_key_id=EnvVar("LAKEFS_ACCESS_KEY_ID"),
    secret_access_key=EnvVar("LAKEFS_SECRET_ACCESS_KEY"),
    repository=EnvVar("LAKEFS_REPOSITORY"),
    # Where your browser reaches lakeFS, for the links in Dagster's UI, when the
    # endpoint above is one only the code can reach (Docker's http://lakefs:8000).
    ui_url=os.environ.get("LAKEFS_UI_URL") or None,
)

defs = Definitions(
    assets=[raw_orders, curated_orders, publish_orders],
    asset_checks=[raw_orders_row_count, raw_orders_schema],
    sensors=[lakefs_failed_run_sensor()],
    resources={"lakefs": lakefs, "io_manager": LakeFSIOManager(lakefs=lakefs)},
)
