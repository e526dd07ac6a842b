"""The steps of a run branch as Airflow tasks: open, commit, publish, clean up.

They are what ``lakefs_run_branch(...)`` wires around a DAG author's tasks,
and can be used directly too. Every step rebuilds the run from lakeFS and the
Airflow run id (``<dag_id>/<run_id>``), so any of them can be retried or
cleared and re-run: the same run always means the same branch, one commit
of each change, one merge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from lakefs_provider.links.lakefs_link import LakeFSLink
from lakefs_provider.operators._publishing import PublishingOperator
from lakefs_provider.operators.with_metadata_operator import WithLakeFSMetadataOperator
from lakefs_provider.version_compat import AirflowFailException
from lakefs_wap import RunBranch, RunState, RunStateError, operations
from lakefs_wap.names import validate_branch, validate_repository

BRANCH_KEY = "branch"
BASE_COMMIT_KEY = "base_commit"
OUTCOME_KEY = "outcome"


def is_templated(value: object) -> bool:
    return isinstance(value, str) and "{{" in value


def check_run_branch_arguments(
    *,
    repo: str,
    source_branch: str,
    target_branch: str | None,
    prefix: str,
    strategy: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Refuse bad arguments when the DAG is parsed, long before any data is written.

    Templated values ("{{ ... }}") are checked by lakeFS-side validation when rendered.
    """
    if not is_templated(repo):
        validate_repository(repo)
    if not is_templated(source_branch):
        validate_branch(source_branch, role="source branch")
    if target_branch and not is_templated(target_branch):
        validate_branch(target_branch, role="target branch")
    if not is_templated(prefix):
        validate_branch(prefix, role="run-branch prefix")
    if not is_templated(strategy):
        operations.validate_strategy(strategy)
    if isinstance(metadata, Mapping):  # a template string is checked once rendered
        operations.metadata_strings(metadata)


def airflow_run_id(context: Any) -> str:
    ti = context["ti"]
    return f"{ti.dag_id}/{ti.run_id}"


class _RunBranchStep(WithLakeFSMetadataOperator):
    template_fields: Sequence[str] = ("repo", "source_branch", "target_branch", "prefix", "lakefs_conn_id")

    def __init__(
        self,
        *,
        repo: str,
        source_branch: str = "main",
        target_branch: str | None = None,
        prefix: str = "run",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_run_branch_arguments(repo=repo, source_branch=source_branch, target_branch=target_branch, prefix=prefix)
        self.repo = repo
        self.source_branch = source_branch
        self.target_branch = target_branch
        self.prefix = prefix

    def run_branch(self, context: Any) -> RunBranch:
        return RunBranch(
            self.connection,
            self.repo,
            airflow_run_id(context),
            source_branch=self.source_branch,
            target_branch=self.target_branch or None,
            prefix=self.prefix,
        )


class LakeFSOpenRunBranchOperator(_RunBranchStep):
    """Create (or find again) this DAG run's branch from the source branch's head.

    Returns (XCom) ``{"branch": name, "base_commit": id}``, and pushes each
    under its own XCom key too, so ``XComArg(task, key="branch")`` and
    ``ti.xcom_pull(task_ids=..., key="branch")`` give the name alone.
    """

    operator_extra_links = (LakeFSLink(),)

    def execute(self, context: Any) -> dict[str, str]:
        run = self.run_branch(context)
        base = run.open()
        self.log.info("Run branch '%s' in '%s' starts from %s", run.branch, self.repo, base)
        self.link_to_branch(context, self.repo, run.branch)
        context["ti"].xcom_push(key=BRANCH_KEY, value=run.branch)
        context["ti"].xcom_push(key=BASE_COMMIT_KEY, value=base)
        return {BRANCH_KEY: run.branch, BASE_COMMIT_KEY: base}


class LakeFSCommitRunBranchOperator(_RunBranchStep):
    """Commit what the run's tasks wrote to its branch, with the Airflow run's metadata.

    Returns (XCom) the commit id; a retry with nothing new staged returns the same commit.
    """

    template_fields: Sequence[str] = (*_RunBranchStep.template_fields, "msg", "metadata")
    template_fields_renderers: ClassVar[dict[str, str]] = {"metadata": "json"}
    operator_extra_links = (LakeFSLink(),)

    def __init__(
        self,
        *,
        msg: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        allow_empty: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(metadata, Mapping):  # a template string is checked once rendered
            operations.metadata_strings(metadata)
        self.msg = msg
        self.metadata = metadata
        self.allow_empty = allow_empty
        self.made_commit: tuple[str, str, str] | None = None

    def execute(self, context: Any) -> str:
        run = self.run_branch(context)
        commit = run.commit(
            self.msg or f"{context['ti'].dag_id}: {context['ti'].run_id}",
            self.commit_metadata(context, self.metadata),
            allow_empty=self.allow_empty,
        )
        self.link_to_commit(context, self.repo, commit.id)
        self.made_commit = (run.repository, run.branch, str(commit.id))
        return str(commit.id)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """For the OpenLineage provider: the run branch, at the commit made."""
        from lakefs_provider import openlineage as ol

        if self.made_commit is None:
            return ol.operator_lineage()
        repository, branch, commit = self.made_commit
        output = ol.output_dataset(self.connection.settings.endpoint, repository, branch, version=commit)
        return ol.operator_lineage(outputs=[output])


class LakeFSPublishRunBranchOperator(PublishingOperator, _RunBranchStep):
    """Merge exactly the gated commit into the target branch in one merge; returns (XCom) the merge commit id.

    Refuses a run whose gates did not pass (``require_gates``), and a branch
    that moved after the verdict (commits or uncommitted writes the gates never
    judged). A run already published returns its existing merge commit; a run
    whose gated data changes nothing on the target ends ``unchanged`` (no
    merge; the target's head is returned). The outcome (``published`` or
    ``unchanged``) is pushed under the XCom key ``outcome``.
    """

    template_fields: Sequence[str] = (*_RunBranchStep.template_fields, "msg", "metadata", "strategy")
    template_fields_renderers: ClassVar[dict[str, str]] = {"metadata": "json"}
    operator_extra_links = (LakeFSLink(),)

    def __init__(
        self,
        *,
        msg: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        strategy: str | None = None,
        squash_merge: bool = False,
        require_gates: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_run_branch_arguments(
            repo=self.repo,
            source_branch=self.source_branch,
            target_branch=self.target_branch,
            prefix=self.prefix,
            strategy=strategy,
            metadata=metadata,
        )
        self.msg = msg
        self.metadata = metadata
        self.strategy = strategy
        self.squash_merge = squash_merge
        self.require_gates = require_gates
        self.check_assets(self.repo, self.target_branch or self.source_branch)

    def execute(self, context: Any) -> str:
        run = self.run_branch(context)
        self.check_assets(run.repository, run.target_branch)
        try:
            merge_id = run.publish(
                self.msg or None,
                self.commit_metadata(context, self.metadata),
                strategy=self.strategy or None,
                squash_merge=self.squash_merge,
                require_gates=self.require_gates,
            )
        except RunStateError as error:
            # Not publishable as it stands (ungated commits, failed gates): retrying changes nothing.
            raise AirflowFailException(str(error)) from error
        outcome = run.status().state
        if outcome is RunState.UNCHANGED:
            self.log.info(
                "Run branch '%s' changed nothing on '%s': nothing to publish, recorded as unchanged (target at %s)",
                run.branch,
                run.target_branch,
                merge_id,
            )
        else:
            self.log.info("Published run branch '%s' into '%s': %s", run.branch, run.target_branch, merge_id)
        context["ti"].xcom_push(key=OUTCOME_KEY, value=outcome.value)
        self.link_to_commit(context, self.repo, merge_id)
        self.record_publication(
            context,
            run.repository,
            run.target_branch,
            merge_id,
            source_ref=run.branch,
            changed_data=outcome is not RunState.UNCHANGED,
        )
        return merge_id


class LakeFSCleanupRunBranchOperator(_RunBranchStep):
    """Tidy up after the run, whatever happened (use it as a teardown task).

    Published or unchanged: delete the branch (``delete_on_success``), but
    only if everything on it reached the target; a branch holding commits or
    writes the target does not have is kept and the task fails, naming them,
    so no run ends green with data left unpublished. Not published: keep
    the branch and mark it failed with why (the failing gates' messages, or
    the tasks that failed), so it can be inspected and the run re-run.
    Returns (XCom) what it did.
    """

    def __init__(self, *, delete_on_success: bool = True, task_group_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.delete_on_success = delete_on_success
        self.task_group_id = task_group_id

    def execute(self, context: Any) -> str:
        run = self.run_branch(context)
        status = run.status()
        if status.state in (RunState.PUBLISHED, RunState.UNCHANGED):
            if not self.delete_on_success:
                return "kept"
            try:
                deleted = run.discard(only_if_published=True)
            except RunStateError as error:
                raise AirflowFailException(str(error)) from error
            if deleted:
                self.log.info("Run %s (%s); deleted '%s'", status.state.value, status.merge_commit, run.branch)
                return "deleted"
            return "kept"
        if status.state is RunState.ABSENT:
            return "absent"
        reason = self._failure_reason(context, status)
        run.mark_failed(reason)
        self.log.warning("Run not published; kept '%s' for debugging, marked failed: %s", run.branch, reason)
        return f"marked failed: {reason}"

    def _failure_reason(self, context: Any, status: Any) -> str:
        if status.failed_gates:
            return f"quality gates failed: {'; '.join(status.failed_gates)}"
        failed = self._failed_tasks(context)
        if failed:
            return f"task(s) failed before publish: {', '.join(failed)} (run state: {status.state.value})"
        return f"the run stopped before publish (run state: {status.state.value})"

    def _failed_tasks(self, context: Any) -> list[str]:
        ti = context["ti"]
        if self.task_group_id is None or self.dag is None:
            return []
        # The group's task ids, not task_group_id=: Airflow 3.0's API server looks the
        # group up in the serialized DAG, which dag.test() does not store, and answers 404.
        group = self.dag.task_group_dict[self.task_group_id]
        task_ids = [task.task_id for task in group.iter_tasks()]
        states = ti.get_task_states(dag_id=ti.dag_id, task_ids=task_ids, run_ids=[ti.run_id])
        by_task = states.get(ti.run_id, {})
        # Only the tasks that failed themselves: the upstream_failed ones are their echo.
        return sorted(task for task, state in by_task.items() if state == "failed")
