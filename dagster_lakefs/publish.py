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
"""

from collections.abc import Mapping, Sequence

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    RunFailureSensorContext,
    SensorDefinition,
    asset,
    run_failure_sensor,
)

from dagster_lakefs.resource import LakeFSResource
from lakefs_wap import LakeFSWapError, RunState, operations
from lakefs_wap.errors import is_infrastructure_error
from lakefs_wap.gates import Gate, validate_gates

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

    Gates, the merge strategy and the metadata are checked here, when the
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

    @asset(
        name=name,
        deps=keys,
        group_name=group_name,
        required_resource_keys={resource_key},
        description=f"Publish the run's lakeFS branch (gated) once {len(keys)} asset(s) are materialized.",
        kinds={"lakefs"},
    )
    def publish(context: AssetExecutionContext) -> MaterializeResult:  # type: ignore[type-arg]
        lakefs: LakeFSResource = getattr(context.resources, resource_key)
        run = lakefs.run_branch(context.run)
        run_metadata = {**dagster_run_metadata(context, lakefs), **dict(metadata or {})}
        text = message or f"Dagster run {context.run.run_id} of {context.run.job_name}"
        try:
            run.open()
            commit = run.commit(text, run_metadata)
            report = run.gate(gates)
            merge = run.publish(text, run_metadata, strategy=strategy, squash_merge=squash_merge)
            outcome = run.status().state
            if delete_branch:
                run.discard(only_if_published=True)
        except LakeFSWapError as error:
            if is_infrastructure_error(error):
                raise Failure(
                    description=f"lakeFS was unavailable while publishing run branch '{run.branch}'; "
                    f"nothing was decided, retry or re-execute the run: {error}",
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
        endpoint = run.connection.settings.endpoint
        return MaterializeResult(
            metadata={
                "lakefs/outcome": outcome.value,
                "lakefs/merge_commit": merge,
                "lakefs/run_commit": commit.id,
                "lakefs/branch": run.branch,
                "lakefs/target_branch": run.target_branch,
                "lakefs/gates": report.summary(),
                "lakefs/url": MetadataValue.url(f"{endpoint}/repositories/{run.repository}/commits/{merge}"),
            }
        )

    return publish


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
