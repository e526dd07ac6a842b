"""lakefs-wap gates as Dagster asset checks of the publish asset, with real Dagster and lakeFS:
one blocking check per gate, one evaluation per gate and run, whatever becomes of the publish."""

from typing import Any

import lakefs
import pandas as pd
import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetKey,
    AssetSelection,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    EnvVar,
    ReexecutionOptions,
    RetryPolicy,
    asset,
    define_asset_job,
    execute_job,
    materialize,
    reconstructable,
)

from dagster_lakefs import LakeFSIOManager, LakeFSResource, lakefs_publish
from lakefs_wap import (
    BadInputError,
    GateContext,
    NoDeletions,
    OnlyUnderPrefixes,
    RunState,
    TableRowCount,
    objects,
    operations,
)
from lakefs_wap.gates import Gate
from lakefs_wap.run_branch import KEY_KIND
from tests.dagster import crash_defs, wap_defs

PUBLISH = AssetKey("lakefs_publish")


def has_orders(context: GateContext) -> bool:
    """the orders table was written"""
    return context.exists("dagster/orders.parquet")


GATES: list[Gate] = [OnlyUnderPrefixes(["dagster/"]), NoDeletions(), has_orders]


def evaluations(instance: DagsterInstance, run_id: str) -> list[AssetCheckEvaluation]:
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records
    found = [r.event_log_entry.dagster_event.event_specific_data for r in records if r.event_log_entry.dagster_event]
    return [evaluation for evaluation in found if isinstance(evaluation, AssetCheckEvaluation)]


def verdicts(instance: DagsterInstance, run_id: str) -> dict[str, bool]:
    """The publish asset's check results in the run, refusing any reported twice."""
    found = [e for e in evaluations(instance, run_id) if e.asset_key == PUBLISH]
    names = [e.check_name for e in found]
    assert len(names) == len(set(names)), f"a gate was reported twice: {names}"
    return {e.check_name: e.passed for e in found}


def publishes(repo: lakefs.Repository) -> list[lakefs.Commit]:
    return [c for c in repo.branch("main").log() if (c.metadata or {}).get(KEY_KIND) == "publish"]


def resources(**settings: Any) -> dict[str, Any]:
    lakefs_resource = LakeFSResource(
        endpoint=EnvVar("TEST_LAKEFS_ENDPOINT"),
        access_key_id=EnvVar("TEST_LAKEFS_ACCESS_KEY_ID"),
        secret_access_key=EnvVar("TEST_LAKEFS_SECRET_ACCESS_KEY"),
        repository=EnvVar("TEST_LAKEFS_REPOSITORY"),
        **settings,
    )
    return {"lakefs": lakefs_resource, "io_manager": LakeFSIOManager(lakefs=lakefs_resource)}


def test_each_gate_is_a_blocking_check_of_the_publish_asset_named_after_it() -> None:
    publish = lakefs_publish([wap_defs.orders], gates=[*GATES, TableRowCount(name="curated-rows")])
    specs = {spec.name: spec for spec in publish.check_specs}
    assert list(specs) == ["only_under_prefixes", "no_deletions", "has_orders", "curated_rows"]
    assert all(spec.blocking and spec.asset_key == PUBLISH for spec in specs.values())
    assert specs["has_orders"].description == "lakefs-wap gate has_orders: the orders table was written"


def test_gates_whose_check_names_collide_are_refused_when_the_definitions_load() -> None:
    with pytest.raises(BadInputError, match=r"gates 1 and 2 would both be the asset check 'table_row_count'"):
        lakefs_publish([wap_defs.orders], gates=[TableRowCount(), TableRowCount(prefixes=["raw/"])])


def test_passing_gates_are_reported_as_check_evaluations_with_the_judged_commit(
    lakefs_env, repo, dagster_instance: DagsterInstance
) -> None:
    publish = lakefs_publish([wap_defs.orders], gates=GATES)
    result = materialize([wap_defs.orders, publish], resources=resources(), instance=dagster_instance)

    assert result.success
    assert verdicts(dagster_instance, result.run_id) == {
        "only_under_prefixes": True,
        "no_deletions": True,
        "has_orders": True,
    }
    (merge,) = publishes(repo)
    gated = (merge.metadata or {})["lakefs_wap.gated_commit"]
    for evaluation in evaluations(dagster_instance, result.run_id):
        assert evaluation.metadata["lakefs/gated_commit"].value == gated
        assert evaluation.blocking
    only_under = next(e for e in evaluations(dagster_instance, result.run_id) if e.check_name == "only_under_prefixes")
    # Reported with the materialization they judged, not against an older one.
    (materialization,) = result.asset_materializations_for_node("lakefs_publish")
    assert materialization.metadata["lakefs/merge_commit"].value == merge.id
    assert only_under.target_materialization_data is not None
    assert only_under.target_materialization_data.run_id == result.run_id


def test_a_failing_gate_is_a_failed_check_and_nothing_is_published(
    lakefs_env, repo, dagster_instance: DagsterInstance
) -> None:
    main_before = repo.branch("main").get_commit().id
    publish = lakefs_publish([wap_defs.orders], gates=[OnlyUnderPrefixes(["elsewhere/"]), NoDeletions()])

    result = materialize(
        [wap_defs.orders, publish], resources=resources(), instance=dagster_instance, raise_on_error=False
    )

    assert not result.success
    assert verdicts(dagster_instance, result.run_id) == {"only_under_prefixes": False, "no_deletions": True}
    failed = next(e for e in evaluations(dagster_instance, result.run_id) if not e.passed)
    assert "dagster/orders.parquet" in str(failed.metadata["lakefs/message"].value)
    assert failed.description == failed.metadata["lakefs/message"].value
    assert failed.metadata["lakefs/metric/outside"].value == 1
    assert not result.asset_materializations_for_node("lakefs_publish")
    assert repo.branch("main").get_commit().id == main_before


@asset(deps=[wap_defs.orders])
def competing_write(lakefs: LakeFSResource) -> None:
    """Someone else changes the same object on main while the run is under way."""
    connection = lakefs.connection()
    other = pd.DataFrame({"order_id": [99], "amount": [0.5]}).to_parquet(index=False)
    objects.upload(connection, lakefs.repository, "main", "dagster/orders.parquet", other)
    operations.commit(connection, lakefs.repository, "main", "a competing write", {})


def test_gates_that_passed_are_reported_even_when_the_merge_then_fails(
    lakefs_env, repo, dagster_instance: DagsterInstance
) -> None:
    publish = lakefs_publish([wap_defs.orders, competing_write], gates=GATES)

    result = materialize(
        [wap_defs.orders, competing_write, publish],
        resources=resources(),
        instance=dagster_instance,
        raise_on_error=False,
    )

    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_key == "lakefs_publish"
    assert "conflict" in str(failure.event_specific_data.error.message).lower()
    assert verdicts(dagster_instance, result.run_id) == {
        "only_under_prefixes": True,
        "no_deletions": True,
        "has_orders": True,
    }
    assert not publishes(repo)


def test_a_retried_publish_reports_each_gate_once(lakefs_env, repo, dagster_instance, proxy, monkeypatch) -> None:
    monkeypatch.setenv("TEST_LAKEFS_ENDPOINT", proxy.endpoint)
    # The merge is refused once (503) after the gates judged the run; with one
    # attempt per request the step fails retryably and Dagster runs it again.
    proxy.inject("POST", r"/merge/", 503, times=1)
    publish = lakefs_publish([wap_defs.orders], gates=GATES)
    defs = Definitions(
        assets=[wap_defs.orders, publish],
        jobs=[define_asset_job("retrying", AssetSelection.all(), op_retry_policy=RetryPolicy(max_retries=1))],
        resources=resources(max_attempts=1),
    )

    result = defs.resolve_job_def("retrying").execute_in_process(instance=dagster_instance)

    assert result.success
    restarts = [e for e in result.all_events if e.event_type_value == "STEP_RESTARTED"]
    assert [e.step_key for e in restarts] == ["lakefs_publish"]
    assert verdicts(dagster_instance, result.run_id) == {
        "only_under_prefixes": True,
        "no_deletions": True,
        "has_orders": True,
    }
    assert len(publishes(repo)) == 1


def test_reexecuting_a_published_publish_reports_the_recorded_verdict_not_a_new_one(
    lakefs_env, repo, dagster_instance: DagsterInstance
) -> None:
    with execute_job(reconstructable(crash_defs.job), instance=dagster_instance) as first:
        assert first.success
        first_id = first.run_id
    (merge,) = publishes(repo)
    assert [b.id for b in repo.branches()] == ["main"]  # published, the run branch deleted

    options = ReexecutionOptions(parent_run_id=first_id, step_selection=["lakefs_publish"])
    with execute_job(reconstructable(crash_defs.job), instance=dagster_instance, reexecution_options=options) as again:
        assert again.success
        again_id = again.run_id

    # No fresh branch judged afresh (an empty diff would pass or fail gates on nothing):
    # the recorded verdict and publish are reported, and nothing new reaches lakeFS.
    assert verdicts(dagster_instance, again_id) == verdicts(dagster_instance, first_id)
    assert verdicts(dagster_instance, again_id) == {"no_deletions": True}
    assert [b.id for b in repo.branches()] == ["main"]
    assert [c.id for c in publishes(repo)] == [merge.id]
    materialization = dagster_instance.get_latest_materialization_event(PUBLISH)
    assert materialization is not None
    assert materialization.run_id == again_id
    assert materialization.asset_materialization is not None
    metadata = materialization.asset_materialization.metadata
    assert metadata["lakefs/merge_commit"].value == merge.id
    assert metadata["lakefs/outcome"].value == RunState.PUBLISHED.value
