"""``lakefs_run_branch``: write-audit-publish as a task group in a few lines of DAG.

    with lakefs_run_branch(repo="lake", gates=[NoDeletions(), TableRowCount(min_rows=1)]) as run:
        ingest = write_orders(branch=run.branch)          # your tasks write to run.branch

wires, inside a task group::

    open >> [your tasks] >> commit >> gate >> publish >> cleanup (teardown of open)

- **open** creates the DAG run's branch from ``source_branch`` (the same
  branch for every try and every re-run of this DAG run);
- **commit** commits what your tasks wrote, with the Airflow run's metadata;
- **gate** runs the lakefs-wap gates; a failed gate fails the task, no retries
  (an outage while gating is an ordinary error: the task's retries apply);
- **publish** merges exactly the gated commit into ``target_branch`` once
  (repeating returns the same merge); a run that changed nothing ends
  ``unchanged``, green, without a merge;
- **cleanup** always runs, as Airflow teardown: after a publish it deletes the
  branch (``delete_on_success``) if everything on it reached the target,
  otherwise it keeps the branch and marks it failed with the reason. Clearing
  the failed tasks re-runs them on the same branch, and the run publishes once.
  Clearing a published run re-runs it: new data is published by a further
  merge recorded against the same run; identical data ends ``unchanged``.

Your tasks are wired by where they stand: a task with nothing upstream in the
group runs after open, a task with nothing downstream runs before commit, and a
task you put after ``run.commit`` (a SQL check, Great Expectations...) becomes
a gate of its own: publish waits for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakefs_provider.hooks.lakefs_hook import LakeFSHook
from lakefs_provider.operators.quality_gate_operator import LakeFSQualityGateOperator
from lakefs_provider.operators.run_branch_operators import (
    BASE_COMMIT_KEY,
    BRANCH_KEY,
    LakeFSCleanupRunBranchOperator,
    LakeFSCommitRunBranchOperator,
    LakeFSOpenRunBranchOperator,
    LakeFSPublishRunBranchOperator,
    check_run_branch_arguments,
)
from lakefs_provider.version_compat import TaskGroup, XComArg
from lakefs_wap.gates import Gate, validate_gates

if TYPE_CHECKING:
    from airflow.sdk import Asset


@dataclass(frozen=True)
class RunBranchGroup:
    """The tasks of one run-branch group, and how your tasks reach the branch."""

    group: TaskGroup
    open: LakeFSOpenRunBranchOperator
    commit: LakeFSCommitRunBranchOperator
    gate: LakeFSQualityGateOperator
    publish: LakeFSPublishRunBranchOperator
    cleanup: LakeFSCleanupRunBranchOperator

    @property
    def branch(self) -> Any:
        """The run branch's name as an XComArg: pass it to TaskFlow tasks or operator fields."""
        return XComArg(self.open, key=BRANCH_KEY)

    @property
    def branch_template(self) -> str:
        """The run branch's name as a Jinja template, for templated strings."""
        return f"{{{{ ti.xcom_pull(task_ids='{self.open.task_id}', key='{BRANCH_KEY}') }}}}"

    @property
    def base_commit(self) -> Any:
        """The commit of the source branch the run started from (XComArg)."""
        return XComArg(self.open, key=BASE_COMMIT_KEY)


@contextmanager
def lakefs_run_branch(
    group_id: str = "lakefs_run",
    *,
    repo: str,
    gates: Sequence[Gate] = (),
    source_branch: str = "main",
    target_branch: str | None = None,
    prefix: str = "run",
    lakefs_conn_id: str = LakeFSHook.default_conn_name,
    commit_message: str | None = None,
    commit_metadata: Mapping[str, Any] | None = None,
    publish_message: str | None = None,
    strategy: str | None = None,
    squash_merge: bool = False,
    delete_on_success: bool = True,
    assets: Asset | str | Iterable[Asset | str] | None = None,
    tooltip: str = "lakeFS run branch: write, audit, publish",
) -> Iterator[RunBranchGroup]:
    """A task group that runs your tasks on a lakeFS branch of their own and publishes them gated.

    ``gates`` are lakefs-wap gates (built-ins or callables); with none, only
    your own check tasks placed after ``run.commit`` gate the publish.
    ``assets`` are the ``lakefs://<repo>/<target branch>/<path>`` assets the run
    may change: publish sends an asset event for each one its merge changed.
    """
    check_run_branch_arguments(
        repo=repo,
        source_branch=source_branch,
        target_branch=target_branch,
        prefix=prefix,
        strategy=strategy,
        metadata=commit_metadata,
    )
    gates = validate_gates(gates)
    common: dict[str, Any] = {
        "repo": repo,
        "source_branch": source_branch,
        "target_branch": target_branch,
        "prefix": prefix,
        "lakefs_conn_id": lakefs_conn_id,
    }
    with TaskGroup(group_id=group_id, tooltip=tooltip) as group:
        open_task = LakeFSOpenRunBranchOperator(task_id="open", **common)
        commit = LakeFSCommitRunBranchOperator(task_id="commit", msg=commit_message, metadata=commit_metadata, **common)
        gate = LakeFSQualityGateOperator(
            task_id="gate",
            repo=repo,
            ref=f"{{{{ ti.xcom_pull(task_ids='{open_task.task_id}', key='{BRANCH_KEY}') }}}}",
            gates=gates,
            source_branch=source_branch,
            run_id="{{ ti.dag_id }}/{{ ti.run_id }}",
            lakefs_conn_id=lakefs_conn_id,
        )
        publish = LakeFSPublishRunBranchOperator(
            task_id="publish",
            msg=publish_message,
            strategy=strategy,
            squash_merge=squash_merge,
            assets=assets,
            **common,
        )
        cleanup = LakeFSCleanupRunBranchOperator(
            task_id="cleanup", delete_on_success=delete_on_success, task_group_id=group.group_id, **common
        )
        run = RunBranchGroup(group, open_task, commit, gate, publish, cleanup)
        commit >> gate >> publish >> cleanup
        yield run
        _wire_members(run)
        # Not on_failure_fail_dagrun: that would make this teardown the run's only leaf, and
        # its success would turn a run whose gate failed green. A cleanup that finds data
        # left unpublished fails as a task, naming it.
        cleanup.as_teardown(setups=open_task)


def _wire_members(run: RunBranchGroup) -> None:
    """Place the DAG author's tasks between open, commit and publish."""
    ours = {run.open, run.commit, run.gate, run.publish, run.cleanup}
    in_group = {task.task_id for task in _tasks(run.group)}
    after_commit = run.commit.get_flat_relative_ids(upstream=False)
    for member in run.group.children.values():
        if member in ours:
            continue
        roots: list[Any] = list(member.get_roots()) if isinstance(member, TaskGroup) else [member]
        leaves: list[Any] = list(member.get_leaves()) if isinstance(member, TaskGroup) else [member]
        if not any(upstream in in_group for root in roots for upstream in root.upstream_task_ids):
            run.open >> roots
        if any(leaf.downstream_task_ids & in_group for leaf in leaves):
            continue
        if any(leaf.task_id in after_commit for leaf in leaves):
            leaves >> run.publish  # a check of the committed run: publish waits for it
        else:
            leaves >> run.commit


def _tasks(group: TaskGroup) -> Iterator[Any]:
    for child in group.children.values():
        if isinstance(child, TaskGroup):
            yield from _tasks(child)
        else:
            yield child
