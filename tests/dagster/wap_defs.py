"""Definitions for the Dagster tests, importable by the multiprocess executor's
step processes: everything they need comes from environment variables."""

import os

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetSelection,
    Definitions,
    EnvVar,
    asset,
    asset_check,
    define_asset_job,
    multiprocess_executor,
)

from dagster_lakefs import LakeFSIOManager, LakeFSResource, lakefs_failed_run_sensor, lakefs_publish
from lakefs_wap import NoDeletions, OnlyUnderPrefixes

MIN_ORDERS = 10


@asset
def orders() -> pd.DataFrame:
    rows = int(os.environ.get("TEST_ORDERS_ROWS", "50"))
    return pd.DataFrame({"order_id": range(rows), "amount": [1.5] * rows})


@asset_check(asset=orders, blocking=True)
def orders_have_rows(orders: pd.DataFrame) -> AssetCheckResult:
    return AssetCheckResult(passed=len(orders) >= MIN_ORDERS, metadata={"rows": len(orders)})


@asset
def order_count(orders: pd.DataFrame) -> str:
    return str(len(orders))


publish = lakefs_publish([orders, order_count], gates=[OnlyUnderPrefixes(["dagster/"]), NoDeletions()])


def lakefs_resource() -> LakeFSResource:
    return LakeFSResource(
        endpoint=EnvVar("TEST_LAKEFS_ENDPOINT"),
        access_key_id=EnvVar("TEST_LAKEFS_ACCESS_KEY_ID"),
        secret_access_key=EnvVar("TEST_LAKEFS_SECRET_ACCESS_KEY"),
        repository=EnvVar("TEST_LAKEFS_REPOSITORY"),
    )


wap_job = define_asset_job("wap_job", selection=AssetSelection.all(), executor_def=multiprocess_executor)

defs = Definitions(
    assets=[orders, order_count, publish],
    asset_checks=[orders_have_rows],
    jobs=[wap_job],
    sensors=[lakefs_failed_run_sensor()],
    resources={"lakefs": lakefs_resource(), "io_manager": LakeFSIOManager(lakefs=lakefs_resource())},
)


def job():  # for reconstructable(): rebuilt in every step process
    return defs.resolve_job_def("wap_job")
