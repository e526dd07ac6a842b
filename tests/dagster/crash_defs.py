"""Definitions for the Dagster crash test, importable by ``reconstructable``: one asset and its
publish, run in process. Each lakeFS request is tried once, so a crash fails the step at once
and re-execution is what recovers."""

from dagster import AssetSelection, Definitions, EnvVar, asset, define_asset_job, in_process_executor

from dagster_lakefs import LakeFSIOManager, LakeFSResource, lakefs_publish
from lakefs_wap import NoDeletions

ORDERS = "id\n1\n2\n"


@asset
def orders() -> str:
    return ORDERS


publish = lakefs_publish([orders], gates=[NoDeletions()])


def lakefs_resource() -> LakeFSResource:
    return LakeFSResource(
        endpoint=EnvVar("TEST_LAKEFS_ENDPOINT"),
        access_key_id=EnvVar("TEST_LAKEFS_ACCESS_KEY_ID"),
        secret_access_key=EnvVar("TEST_LAKEFS_SECRET_ACCESS_KEY"),
        repository=EnvVar("TEST_LAKEFS_REPOSITORY"),
        max_retries=1,
    )


crash_job = define_asset_job("crash_job", selection=AssetSelection.all(), executor_def=in_process_executor)

defs = Definitions(
    assets=[orders, publish],
    jobs=[crash_job],
    resources={"lakefs": lakefs_resource(), "io_manager": LakeFSIOManager(lakefs=lakefs_resource())},
)


def job():  # for reconstructable()
    return defs.resolve_job_def("crash_job")
