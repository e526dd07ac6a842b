"""The publish step: one asset that depends on every asset it publishes.

    publish = lakefs_publish([raw_orders, curated_orders], gates=[NoDeletions()])
    defs = Definitions(assets=[raw_orders, curated_orders, publish], asset_checks=[...],
                       resources={"lakefs": lakefs, "io_manager": LakeFSIOManager(lakefs=lakefs)})

It runs only after its upstream assets and their blocking asset checks
succeeded (a failed blocking check stops it, so the target branch is not
touched). It commits the run branch with the Dagster run's metadata, runs the
lakefs-wap gates, merges exactly the gated commit into the target branch once,
and deletes the branch if everything on it was published. A run that changed
nothing ends ``unchanged``: green, no merge. If a gate fails, or the run cannot
be published as it stands, the branch is kept and marked failed, and the step
fails without retries. An outage (lakeFS unreachable, 5xx after retries,
rejected credentials) is not a verdict: the branch is left as it is and the
step fails with a retryable error, so Dagster's retries or a re-execution
carry on where it stopped.

Every gate is a blocking asset check of the publish asset (``gate_checks``):
its verdict is reported as an asset check evaluation whether or not the run
is then published, once per run even when Dagster retries the step. The
materialization's data version is the target branch's commit holding the
run's data (the merge, or the unchanged head), and its ``dagster/uri`` is the
target branch, ``lakefs://<repository>/<target branch>``.
"""

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    DagsterEventType,
    DataVersion,
    Failure,
    MaterializeResult,
    MetadataValue,
    Output,
    RunFailureSensorContext,
    SensorDefinition,
    asset,
    run_failure_sensor,
)

from dagster_lakefs.gate_checks import gate_check_specs, results_of_recorded_verdict, results_of_report
from dagster_lakefs.resource import LakeFSResource
from lakefs_wap import LakeFSWapError, RunBranch, RunState, operations
from lakefs_wap.errors import is_infrastructure_error
from lakefs_wap.gates import Gate, validate_gates
from lakefs_wap.keys import KEY_GATED_COMMIT as GATED
from lakefs_wap.links import commit_url

PREFIX = "::lakefs::Dagster::"
UI_URL_KEY = PREFIX + "url[url:ui]"


def dagster_run_metadata(context: AssetExecutionContext, lakefs: LakeFSResource) -> dict[str, str]:
    run = context.run
    metadata = {
        PREFIX + "run_id": run.run_id,
        PREFIX + "job": run.job_name,
        UI_URL_KEY: lakefs.run_url(run.run_id),
    }
    if run.root_run_id:
        metadata[PREFIX + "root_run_id"] = run.root_run_id
    return metadata


def lakefs_publish(
    assets: Sequence[AssetsDefinition | AssetKey | str],
    *,
    name: str = "lakefs_publish",
    gates: Sequence[Gate] = (),
    resource_key: str = "lakefs",
    message: str | None = None,
    metadata: Mapping[str, str] | None = None,
    strategy: str | None = None,
    squash_merge: bool = False,
    delete_branch: bool = True,
    group_name: str | None = None,
) -> AssetsDefinition:
    """An asset that publishes this run's branch once ``assets`` (and their blocking checks) succeeded.

    Each gate is also a blocking asset check of this asset, named after the
    gate, whose result Dagster records with every verdict. Gates, their check
    names, the merge strategy and the metadata are checked here, when the
    definitions load, before any run writes anything.
    """
    gates = validate_gates(gates)
    operations.validate_strategy(strategy)
    operations.metadata_strings(metadata, what="lakefs_publish metadata")
    keys: list[AssetKey] = []
    for item in assets:
        if isinstance(item, AssetsDefinition):
            keys.extend(item.keys)
        else:
            keys.append(AssetKey.from_coercible(item))
    specs = gate_check_specs(gates, AssetKey([name]))

    @asset(
        name=name,
        deps=keys,
        group_name=group_name,
        required_resource_keys={resource_key},
        description=f"Publish the run's lakeFS branch (gated) once {len(keys)} asset(s) are materialized.",
        kinds={"lakefs"},
        check_specs=specs,
    )
    def publish(context: AssetExecutionContext) -> Iterator[MaterializeResult | AssetCheckResult | Output]:  # type: ignore[type-arg]
        lakefs: LakeFSResource = getattr(context.resources, resource_key)
        run = lakefs.run_branch(context.run)
        run_metadata = {**dagster_run_metadata(context, lakefs), **dict(metadata or {})}
        text = message or f"Dagster run {context.run.run_id} of {context.run.job_name}"
        verdict: list[AssetCheckResult] = []
        try:
            earlier = published_without_branch(run)
            if earlier is not None:
                # An earlier attempt published and deleted the branch: report that
                # publish and its recorded verdict, never a verdict on a fresh branch.
                merge, recorded = earlier
                context.log.info(f"run branch '{run.branch}' was published already, by merge {merge}")
                verdict = results_of_recorded_verdict(specs, recorded, gated_commit=recorded.get(GATED, "")) or []
                yield MaterializeResult(
                    metadata=published_metadata(run, RunState.PUBLISHED, merge, recorded.get(GATED, "")),
                    data_version=DataVersion(merge),
                )
                yield from report_checks(context, verdict)
                return
            run.open()
            commit = run.commit(text, run_metadata)
            report = run.gate(gates, raise_on_failure=False)
            verdict = results_of_report(specs, report)
            if not report.passed:
                raise run.gate_failure(report)
            merge = run.publish(text, run_metadata, strategy=strategy, squash_merge=squash_merge)
            outcome = run.status().state
            if delete_branch:
                run.discard(only_if_published=True)
        except LakeFSWapError as error:
            # The gates' verdict stands whatever became of the publish: report it.
            yield from report_checks(context, verdict)
            if is_infrastructure_error(error):
                raise Failure(
                    description=f"lakeFS was unavailable while publishing run branch '{run.branch}'; "
                    f"nothing was published or marked failed, retry or re-execute the run: {error}",
                    allow_retries=True,
                ) from error
            run.mark_failed(str(error))
            raise Failure(
                description=f"lakeFS publish of run branch '{run.branch}' failed; the branch is kept: {error}",
                allow_retries=False,
            ) from error
        context.log.info(report.summary())
        if outcome is RunState.UNCHANGED:
            context.log.info(f"run branch '{run.branch}' changed nothing on '{run.target_branch}': no merge")
        yield MaterializeResult(
            metadata={
                **published_metadata(run, outcome, merge, str(commit.id)),
                "lakefs/branch": run.branch,
                "lakefs/gates": report.summary(),
            },
            # The commit of the target that holds the run's data: a run that
            # changed nothing keeps the version, anything published moves it.
            data_version=DataVersion(merge),
        )
        # After the materialization, so that each evaluation names the one it judged.
        yield from report_checks(context, verdict)

    return publish


def published_metadata(run: RunBranch, outcome: RunState, merge: str, run_commit: str) -> dict[str, Any]:
    return {
        "lakefs/outcome": outcome.value,
        "lakefs/merge_commit": merge,
        "lakefs/run_commit": run_commit,
        "lakefs/target_branch": run.target_branch,
        # The published data where it stays, and the exact commit that holds it.
        "dagster/uri": MetadataValue.path(f"lakefs://{run.repository}/{run.target_branch}"),
        "lakefs/commit_uri": MetadataValue.path(f"lakefs://{run.repository}/{merge}"),
        "lakefs/url": MetadataValue.url(commit_url(run.connection.settings.ui_base_url, run.repository, merge)),
    }


def published_without_branch(run: RunBranch) -> tuple[str, dict[str, str]] | None:
    """The merge commit and its metadata if the run is published and its branch is gone.

    Costs one request when the branch exists, as it does on every first attempt:
    the assets' values were written to it.
    """
    if run.head() is not None:
        return None
    status = run.status()
    if status.state is not RunState.PUBLISHED or status.merge_commit is None:
        return None
    merge = operations.get_commit(run.connection, run.repository, status.merge_commit)
    return status.merge_commit, dict(merge.metadata or {})


def report_checks(
    context: AssetExecutionContext, results: list[AssetCheckResult]
) -> Iterator[AssetCheckResult | Output]:  # type: ignore[type-arg]
    """Report ``results``, less those an earlier attempt of this step reported for the same gated commit.

    Dagster retries a step within one run; the retry judges the same commit
    again and must not report its verdict twice. A check already reported
    still gets its (empty) output, which a blocking check must have: Dagster
    records one evaluation per check and run, the first. First attempts skip
    the look.
    """
    reported = reported_in_this_run(context) if results and context.retry_number > 0 else set()
    for result in results:
        key = AssetCheckKey(result.asset_key or context.asset_key, result.check_name or "")
        if (key, _gated_commit(result)) in reported:
            yield Output(None, output_name=context.assets_def.get_output_name_for_asset_check_key(key))
        else:
            yield result


def reported_in_this_run(context: AssetExecutionContext) -> set[tuple[AssetCheckKey, str | None]]:
    records = context.instance.get_records_for_run(
        context.run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    reported = set()
    for record in records:
        event = record.event_log_entry.dagster_event
        evaluation = event.event_specific_data if event is not None else None
        if isinstance(evaluation, AssetCheckEvaluation):
            commit = evaluation.metadata.get("lakefs/gated_commit")
            reported.add((evaluation.asset_check_key, str(commit.value) if commit is not None else None))
    return reported


def _gated_commit(result: AssetCheckResult) -> str | None:
    value = result.metadata.get("lakefs/gated_commit")
    return str(value.value) if isinstance(value, MetadataValue) else None


def lakefs_failed_run_sensor(*, name: str = "lakefs_failed_runs", delete_branches: bool = False) -> SensorDefinition:
    """A run-failure sensor that handles the failed run's branch by policy (resource key ``lakefs``).

    By default it keeps the branch and marks it failed with the run's failure
    message (to inspect, and to re-execute from failure on the same branch);
    ``delete_branches=True`` deletes it instead. Published runs are left alone.
    """

    @run_failure_sensor(name=name)
    def handle_failed_run(context: RunFailureSensorContext, lakefs: LakeFSResource) -> None:
        handle_failed_branch(context, lakefs, delete_branches=delete_branches)

    return handle_failed_run


def handle_failed_branch(context: RunFailureSensorContext, lakefs: LakeFSResource, *, delete_branches: bool) -> str:
    run = lakefs.run_branch(context.dagster_run)
    if run.status().state in (RunState.PUBLISHED, RunState.UNCHANGED, RunState.REVERTED, RunState.ABSENT):
        return "left alone"
    if delete_branches:
        run.discard()
        context.log.info(f"deleted run branch '{run.branch}' of failed run {context.dagster_run.run_id}")
        return "deleted"
    reason = context.failure_event.message or "the Dagster run failed"
    run.mark_failed(f"Dagster run {context.dagster_run.run_id} failed: {reason}")
    context.log.info(f"kept run branch '{run.branch}' and marked it failed")
    return "marked failed"


__all__ = ["lakefs_failed_run_sensor", "lakefs_publish"]
