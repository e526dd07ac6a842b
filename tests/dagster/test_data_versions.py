"""Data versions and URIs with real Dagster and lakeFS: a stored value's version is its lakeFS
checksum and the publish's is the commit holding the run's data, so versions (and Dagster's
staleness) change exactly when the published data changed."""

import lakefs
import pytest
from dagster import AssetKey, DagsterInstance, DataVersion, materialize
from dagster._core.definitions.data_version import StaleStatus

# Dagster's own helper for asking what its UI shows as stale (there is no public API for it).
from dagster._utils.test.data_versions import get_stale_status_resolver

from dagster_lakefs import LakeFSIOManager, lakefs_publish
from lakefs_wap import NoDeletions
from tests.dagster import wap_defs

ORDERS, COUNT, PUBLISH = AssetKey("orders"), AssetKey("order_count"), AssetKey("lakefs_publish")
publish = lakefs_publish([wap_defs.orders, wap_defs.order_count], gates=[NoDeletions()])
ASSETS = [wap_defs.orders, wap_defs.order_count, publish]


def resources() -> dict:
    return {"lakefs": wap_defs.lakefs_resource(), "io_manager": LakeFSIOManager(lakefs=wap_defs.lakefs_resource())}


def run_all(instance: DagsterInstance) -> str:
    result = materialize(ASSETS, resources=resources(), instance=instance)
    assert result.success
    return result.run_id


def version(instance: DagsterInstance, key: AssetKey) -> str:
    event = instance.get_latest_materialization_event(key)
    assert event is not None
    assert event.asset_materialization is not None
    return (event.asset_materialization.tags or {})["dagster/data_version"]


def uri(instance: DagsterInstance, key: AssetKey) -> str:
    event = instance.get_latest_materialization_event(key)
    assert event is not None
    assert event.asset_materialization is not None
    return str(event.asset_materialization.metadata["dagster/uri"].value)


def stale(instance: DagsterInstance, key: AssetKey) -> StaleStatus:
    return get_stale_status_resolver(instance, ASSETS).get_status(key)


def test_same_data_same_version_new_data_new_version(
    lakefs_env, repo: lakefs.Repository, dagster_instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_all(dagster_instance)
    first = {key: version(dagster_instance, key) for key in (ORDERS, COUNT, PUBLISH)}
    # The value's version is the checksum of the object now on main; the publish's, the merge.
    main = repo.branch("main")
    assert first[ORDERS] == main.object("dagster/orders.parquet").stat().checksum
    assert first[PUBLISH] == main.get_commit().id
    assert uri(dagster_instance, ORDERS) == f"lakefs://{repo.id}/main/dagster/orders.parquet"
    assert uri(dagster_instance, PUBLISH) == f"lakefs://{repo.id}/main"

    run_all(dagster_instance)  # the same data again: nothing changed, no version moves
    assert {key: version(dagster_instance, key) for key in (ORDERS, COUNT, PUBLISH)} == first
    assert repo.branch("main").get_commit().id == first[PUBLISH]  # unchanged: no second merge

    monkeypatch.setenv("TEST_ORDERS_ROWS", "60")  # new data: every version moves
    run_all(dagster_instance)
    third = {key: version(dagster_instance, key) for key in (ORDERS, COUNT, PUBLISH)}
    assert all(third[key] != first[key] for key in third), (first, third)
    assert third[PUBLISH] == repo.branch("main").get_commit().id
    assert uri(dagster_instance, ORDERS) == f"lakefs://{repo.id}/main/dagster/orders.parquet"


def test_staleness_follows_the_data_not_the_runs(
    lakefs_env, dagster_instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_all(dagster_instance)
    assert stale(dagster_instance, COUNT) == StaleStatus.FRESH

    # Rewriting the same orders leaves what was computed from them fresh...
    assert materialize([wap_defs.orders], resources=resources(), instance=dagster_instance).success
    assert stale(dagster_instance, COUNT) == StaleStatus.FRESH

    # ...and different orders make it stale.
    monkeypatch.setenv("TEST_ORDERS_ROWS", "70")
    assert materialize([wap_defs.orders], resources=resources(), instance=dagster_instance).success
    assert stale(dagster_instance, COUNT) == StaleStatus.STALE


def test_the_assets_own_data_version_wins(lakefs_env, dagster_instance: DagsterInstance) -> None:
    from dagster import Output, asset

    @asset
    def versioned() -> Output[str]:
        return Output("v", data_version=DataVersion("mine"))

    assert materialize([versioned], resources=resources(), instance=dagster_instance).success
    assert version(dagster_instance, AssetKey("versioned")) == "mine"
