"""Dagster runs against the real lakeFS: gated publish, blocking checks, re-execution,
the multiprocess executor, partitions, metadata, bad configuration."""

import lakefs
import pandas as pd
import pytest
from dagster import (
    AllPartitionMapping,
    AssetIn,
    DagsterInstance,
    DailyPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    ReexecutionOptions,
    StaticPartitionsDefinition,
    asset,
    execute_job,
    materialize,
    reconstructable,
)

from dagster_lakefs import LakeFSIOManager, LakeFSResource
from dagster_lakefs.publish import PREFIX, UI_URL_KEY
from lakefs_wap import RunState
from lakefs_wap.run_branch import KEY_KIND
from tests.dagster import wap_defs


def publishes(repo: lakefs.Repository) -> list[lakefs.Commit]:
    return [c for c in repo.branch("main").log() if (c.metadata or {}).get(KEY_KIND) == "publish"]


def resolved_lakefs() -> LakeFSResource:
    """The test resource with its EnvVars resolved, for use outside a run."""
    return wap_defs.lakefs_resource().process_config_and_initialize()


def wap_assets() -> list:
    return [wap_defs.orders, wap_defs.order_count, wap_defs.publish, wap_defs.orders_have_rows]


def resources() -> dict:
    return {"lakefs": wap_defs.lakefs_resource(), "io_manager": LakeFSIOManager(lakefs=wap_defs.lakefs_resource())}


def test_checks_pass_main_gets_every_asset_in_one_merge_with_dagster_metadata(
    lakefs_env, repo, dagster_instance: DagsterInstance
) -> None:
    result = materialize(wap_assets(), resources=resources(), instance=dagster_instance)

    assert result.success
    assert sorted(o.path for o in repo.branch("main").objects()) == [
        "dagster/order_count.txt",
        "dagster/orders.parquet",
    ]
    (merge,) = publishes(repo)
    metadata = merge.metadata or {}
    assert metadata[PREFIX + "run_id"] == result.run_id
    assert metadata[UI_URL_KEY] == f"http://localhost:3000/runs/{result.run_id}"
    assert metadata["lakefs_wap.gates_passed"] == "true"
    assert [b.id for b in repo.branches()] == ["main"]
    published = result.asset_materializations_for_node("lakefs_publish")[0].metadata
    assert published["lakefs/merge_commit"].value == merge.id


def test_every_materialization_link_resolves_after_the_run_is_published(
    lakefs_env, repo, dagster_instance: DagsterInstance
) -> None:
    result = materialize(wap_assets(), resources=resources(), instance=dagster_instance)
    assert result.success
    assert [b.id for b in repo.branches()] == ["main"]  # the run branch is gone
    uris = [
        materialization.metadata["dagster/uri"].value
        for node in ("orders", "order_count")
        for materialization in result.asset_materializations_for_node(node)
    ]
    assert len(uris) == 2
    for uri in uris:
        repository, ref, path = str(uri).removeprefix("lakefs://").split("/", 2)
        assert repository == repo.id
        assert repo.ref(ref).object(path).exists(), uri


def test_output_metadata_is_present_and_correct(lakefs_env, lakefs_server, repo, dagster_instance) -> None:
    result = materialize([wap_defs.orders], resources=resources(), instance=dagster_instance)

    metadata = result.asset_materializations_for_node("orders")[0].metadata
    branch = metadata["lakefs/branch"].value
    assert branch == resolved_lakefs().run_branch(dagster_instance.get_run_by_id(result.run_id)).branch
    # Links name where the value lives once published: the run branch is deleted then.
    assert metadata["dagster/uri"].value == f"lakefs://{repo.id}/main/dagster/orders.parquet"
    assert metadata["lakefs/url"].value == (
        f"{lakefs_server.endpoint}/repositories/{repo.id}/object?ref=main&path=dagster%2Forders.parquet"
    )
    assert metadata["lakefs/run_branch_url"].value == (
        f"{lakefs_server.endpoint}/repositories/{repo.id}/object?ref={branch}&path=dagster%2Forders.parquet"
    )
    assert metadata["lakefs/source_commit"].value == repo.branch("main").get_commit().id
    assert metadata["lakefs/format"].value == "parquet"
    stored = repo.branch(branch).object("dagster/orders.parquet").stat()
    assert metadata["lakefs/size_bytes"].value == stored.size_bytes
    assert metadata["dagster/row_count"].value == 50
    columns = {c.name: c.type for c in metadata["dagster/column_schema"].value.columns}
    assert columns == {"order_id": "int64", "amount": "double"}
    assert lakefs_server.secret_access_key not in str(dict(metadata))


def test_failed_blocking_check_leaves_main_untouched_and_reexecution_publishes_once(
    lakefs_env, lakefs_server, repo, dagster_instance, monkeypatch
) -> None:
    main_before = repo.branch("main").get_commit().id
    monkeypatch.setenv("TEST_ORDERS_ROWS", "3")  # fewer than the blocking check wants

    with execute_job(reconstructable(wap_defs.job), instance=dagster_instance, raise_on_error=False) as failed:
        assert not failed.success
        failed_run_id = failed.run_id
        checks = [e for e in failed.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
        assert [c.event_specific_data.passed for c in checks] == [False]

    assert repo.branch("main").get_commit().id == main_before
    failed_run = dagster_instance.get_run_by_id(failed_run_id)
    run = resolved_lakefs().run_branch(failed_run)
    assert run.branch in {b.id for b in repo.branches()}  # kept for debugging
    assert run.status().state is RunState.OPEN

    # Fix the data on the kept branch, then re-execute from failure: same branch, one publish.
    good = repo.branch(run.branch).object("dagster/orders.parquet")
    good.upload(data=pd.DataFrame({"order_id": range(20), "amount": [2.0] * 20}).to_parquet(index=False))
    options = ReexecutionOptions.from_failure(failed_run_id, dagster_instance)
    with execute_job(reconstructable(wap_defs.job), instance=dagster_instance, reexecution_options=options) as rerun:
        assert rerun.success
        rerun_id = rerun.run_id

    rerun_run = dagster_instance.get_run_by_id(rerun_id)
    assert rerun_run.root_run_id == failed_run_id
    assert resolved_lakefs().run_branch(rerun_run).branch == run.branch
    (merge,) = publishes(repo)
    assert (merge.metadata or {})[PREFIX + "root_run_id"] == failed_run_id
    assert repo.branch("main").object("dagster/order_count.txt").reader(mode="r").read() == "20"
    assert [b.id for b in repo.branches()] == ["main"]


DAYS = StaticPartitionsDefinition(["2026-11-01", "2026-11-02"])


@asset(partitions_def=DAYS)
def daily_sales(context) -> pd.DataFrame:
    day = context.partition_key
    return pd.DataFrame({"day": [day] * 3, "sales": [1.0, 2.0, 3.0]})


@asset(ins={"daily_sales": AssetIn(partition_mapping=AllPartitionMapping())})
def sales_total(daily_sales: dict[str, pd.DataFrame]) -> str:
    return ",".join(f"{day}={frame['sales'].sum()}" for day, frame in sorted(daily_sales.items()))


def test_partitions_round_trip_and_later_runs_read_earlier_runs_from_main(lakefs_env, repo, dagster_instance) -> None:
    from dagster_lakefs import lakefs_publish

    publish_day = lakefs_publish([daily_sales], name="publish_day")
    for day in ("2026-11-01", "2026-11-02"):
        result = materialize(
            [daily_sales, publish_day], partition_key=day, resources=resources(), instance=dagster_instance
        )
        assert result.success
        metadata = result.asset_materializations_for_node("daily_sales")[0].metadata
        assert metadata["dagster/partition_row_count"].value == 3
    assert sorted(o.path for o in repo.branch("main").objects()) == [
        "dagster/daily_sales/2026-11-01.parquet",
        "dagster/daily_sales/2026-11-02.parquet",
    ]

    # A new run that materializes only the total loads both partitions, written and
    # published by earlier runs, from the snapshot of main its branch forked from.
    total = materialize([daily_sales.to_source_asset(), sales_total], resources=resources(), instance=dagster_instance)
    assert total.success
    assert total.output_for_node("sales_total") == "2026-11-01=6.0,2026-11-02=6.0"


REGIONS = MultiPartitionsDefinition(
    {"date": DailyPartitionsDefinition(start_date="2026-11-01"), "region": StaticPartitionsDefinition(["eu", "us"])}
)


@asset(partitions_def=REGIONS)
def regional(context) -> bytes:
    key = context.partition_key
    return f"{key.keys_by_dimension['region']}@{key.keys_by_dimension['date']}".encode()


@asset(partitions_def=REGIONS)
def regional_copy(regional: bytes) -> bytes:
    return regional.upper()


def test_multi_dimensional_partitions_round_trip(lakefs_env, repo, dagster_instance) -> None:
    key = MultiPartitionKey({"date": "2026-11-03", "region": "eu"})
    result = materialize([regional, regional_copy], partition_key=key, resources=resources(), instance=dagster_instance)

    assert result.success
    branch = result.asset_materializations_for_node("regional")[0].metadata["lakefs/branch"].value
    stored = sorted(o.path for o in repo.branch(branch).objects(prefix="dagster/"))
    assert stored == [
        "dagster/regional/date=2026-11-03/region=eu.bin",
        "dagster/regional_copy/date=2026-11-03/region=eu.bin",
    ]
    assert repo.branch(branch).object(stored[1]).reader(mode="rb").read() == b"EU@2026-11-03"


@asset
def anything() -> dict:
    return {"nested": [1, 2, 3]}


@asset
def reads_anything(anything: dict) -> str:
    return str(anything["nested"])


def test_other_values_are_pickled_and_loaded_back(lakefs_env, repo, dagster_instance) -> None:
    result = materialize([anything, reads_anything], resources=resources(), instance=dagster_instance)
    assert result.success
    assert result.output_for_node("reads_anything") == "[1, 2, 3]"
    assert result.asset_materializations_for_node("anything")[0].metadata["lakefs/format"].value == "pickle"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"repository": "no-such-repo"}, "'no-such-repo'"),
        ({"secret_access_key": "wrong-secret-4711"}, "did not accept the credentials"),
        ({"repository": "Bad_Name"}, "invalid repository name 'Bad_Name'"),
    ],
)
def test_bad_resource_configuration_fails_at_setup(lakefs_server, repo, dagster_instance, change, message) -> None:
    settings = {
        "endpoint": lakefs_server.endpoint,
        "access_key_id": lakefs_server.access_key_id,
        "secret_access_key": lakefs_server.secret_access_key,
        "repository": repo.id,
        **change,
    }
    lakefs_resource = LakeFSResource(**settings)
    result = materialize(
        [wap_defs.orders],
        resources={"lakefs": lakefs_resource, "io_manager": LakeFSIOManager(lakefs=lakefs_resource)},
        instance=dagster_instance,
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_failure)
    text = str(failure.event_specific_data)
    assert "LakeFSResource is misconfigured" in text
    assert message in text
    assert "wrong-secret-4711" not in text
    assert lakefs_server.secret_access_key not in text


def test_bad_io_manager_prefix_fails_at_setup(lakefs_env, dagster_instance) -> None:
    result = materialize(
        [wap_defs.orders],
        resources={
            "lakefs": wap_defs.lakefs_resource(),
            "io_manager": LakeFSIOManager(lakefs=wap_defs.lakefs_resource(), prefix="../up"),
        },
        instance=dagster_instance,
        raise_on_error=False,
    )
    assert not result.success
    assert "prefix '../up' is not a usable object path prefix" in str(
        next(e for e in result.all_events if e.is_failure).event_specific_data
    )


def test_secret_is_not_in_the_resource_repr(lakefs_server) -> None:
    resource = LakeFSResource(
        endpoint=lakefs_server.endpoint,
        access_key_id="AKIA",
        secret_access_key="repr-secret-123",  # noqa: S106 - a fake, to prove it never shows
        repository="some-repo",
    )
    assert "repr-secret-123" not in repr(resource)


@pytest.mark.parametrize("delete_branches", [False, True])
def test_failed_run_sensor_marks_or_deletes_the_branch(
    lakefs_env, repo, dagster_instance, monkeypatch, delete_branches
) -> None:
    from dagster import DagsterEventType, build_run_status_sensor_context

    from dagster_lakefs import lakefs_failed_run_sensor

    monkeypatch.setenv("TEST_ORDERS_ROWS", "3")
    failed = materialize(wap_assets(), resources=resources(), instance=dagster_instance, raise_on_error=False)
    assert not failed.success
    dagster_run = dagster_instance.get_run_by_id(failed.run_id)
    failure = dagster_instance.all_logs(failed.run_id, of_type=DagsterEventType.RUN_FAILURE)[0].dagster_event
    context = build_run_status_sensor_context(
        sensor_name="lakefs_failed_runs",
        dagster_event=failure,
        dagster_instance=dagster_instance,
        dagster_run=dagster_run,
        resources={"lakefs": resolved_lakefs()},
    ).for_run_failure()

    lakefs_failed_run_sensor(delete_branches=delete_branches)(context)

    run = resolved_lakefs().run_branch(dagster_run)
    if delete_branches:
        assert [b.id for b in repo.branches()] == ["main"]
    else:
        status = run.status()
        assert status.state is RunState.FAILED
        assert (status.reason or "").startswith(f"Dagster run {failed.run_id} failed: ")
    assert [c.message for c in repo.branch("main").log()] == ["Repository created"]


def test_an_outage_while_publishing_is_retryable_and_marks_nothing(
    lakefs_env, repo, dagster_instance: DagsterInstance, proxy, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_LAKEFS_ENDPOINT", proxy.endpoint)
    proxy.inject("GET", r"/diff", 503, times=1000)  # lakeFS down for the gates, after the assets were stored
    main_before = repo.branch("main").get_commit().id

    result = materialize(wap_assets(), resources=resources(), instance=dagster_instance, raise_on_error=False)

    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_key == "lakefs_publish"
    assert "unavailable" in str(failure.event_specific_data.error.message).lower()
    assert repo.branch("main").get_commit().id == main_before
    proxy.faults.clear()
    run = resolved_lakefs().run_branch(dagster_instance.get_run_by_id(result.run_id))
    status = run.status()
    assert status.state is RunState.COMMITTED  # no failed marker, no verdict: an outage decides nothing
    assert not [c for c in repo.branch(run.branch).log() if (c.metadata or {}).get(KEY_KIND) in ("failed", "gates")]


def test_each_store_and_load_costs_at_most_two_requests_and_the_branch_opens_once(
    lakefs_env, repo, dagster_instance: DagsterInstance, proxy, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_LAKEFS_ENDPOINT", proxy.endpoint)
    assets = [wap_defs.orders, wap_defs.order_count, wap_defs.orders_have_rows]

    result = materialize(assets, resources=resources(), instance=dagster_instance)

    assert result.success
    branch = resolved_lakefs().run_branch(dagster_instance.get_run_by_id(result.run_id)).branch
    requests = [(r.method, r.path.split("?")[0]) for r in proxy.seen]
    on_branch = [(method, path) for method, path in requests if f"/{branch}" in path]
    stores = [r for r in on_branch if r[0] == "POST" and r[1].endswith("/objects")]
    listings = [r for r in on_branch if r[1].endswith("/objects/ls")]
    reads = [r for r in on_branch if r[0] == "GET" and r[1].endswith("/objects")]
    creates = [r for r in requests if r[0] == "POST" and r[1].endswith("/branches")]
    # Two values stored (upload + a look for a stale other format each); the
    # DataFrame loaded twice (asset check and order_count), each by one GET,
    # since the input's type names the format.
    assert (len(stores), len(listings), len(reads)) == (2, 2, 2), on_branch
    assert len(creates) == 1, requests
    stored = repo.branch(branch).object("dagster/orders.parquet").reader(mode="rb").read()
    assert stored[:4] == b"PAR1"


def test_values_round_trip_whole_index_and_buffers_included(
    lakefs_env, repo, dagster_instance: DagsterInstance
) -> None:
    from dagster import asset

    indexed = pd.DataFrame({"v": [1, 2]}, index=pd.Index(["x", "y"], name="k"))

    @asset
    def keyed() -> pd.DataFrame:
        return indexed

    @asset
    def raw_view() -> memoryview:
        return memoryview(b"\x00binary\xff")

    @asset
    def seen(keyed: pd.DataFrame, raw_view: bytes) -> str:
        assert keyed.equals(indexed), keyed
        assert list(keyed.index) == ["x", "y"]
        assert keyed.index.name == "k"
        return raw_view.hex()

    result = materialize([keyed, raw_view, seen], resources=resources(), instance=dagster_instance)

    assert result.success
    assert result.output_for_node("seen") == b"\x00binary\xff".hex()
