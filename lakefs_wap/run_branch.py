"""The write-audit-publish lifecycle of one pipeline run on its own lakeFS branch.

    run = RunBranch(connection, "lake", run_id="manual__2026-11-22T10:00:00+00:00")
    run.open()                        # branch from main's current commit
    ...write objects to run.branch...
    run.commit("ingest orders")       # commit what the run wrote
    run.gate([NoDeletions(), TableRowCount(min_rows=1)])   # audit; raises GateFailedError
    run.publish()                     # one merge of exactly the gated commit into main
    run.discard(only_if_published=True)   # delete the branch (or run.mark_failed(why) to keep it)

Every step may be repeated after a crash, a timeout or an orchestrator retry
and converges on the same result: no duplicate branches, commits or merges.
Nothing is kept in this process: each step reads what it needs from lakeFS.
The branch's head commit says where the run stands (its ``lakefs_wap.*``
metadata, see ``keys``), and each outcome on the target is a tag (see
``record``), so no step reads history in proportion to its length.

What is published is the commit the gates judged, never the branch head: a
commit made after the verdict makes ``publish`` refuse and name it, until the
gates judge it too. A run that changed nothing passes through to the
``unchanged`` state, without a merge. A re-run of a published run (same run
id) publishes its new data with a further merge, recorded against the same run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import lakefs_sdk

from lakefs_wap import operations, refusals
from lakefs_wap.connection import LakeFSConnection
from lakefs_wap.errors import (
    BadInputError,
    ConflictError,
    GateFailedError,
    NothingToCommitError,
    RunStateError,
    is_no_changes,
    translated,
)
from lakefs_wap.gates import Gate, GateContext, GateReport, run_gates, validate_gates
from lakefs_wap.keys import (
    KEY_BASE,
    KEY_CHANGES,
    KEY_GATED_COMMIT,
    KEY_GATES,
    KEY_KIND,
    KEY_REASON,
    KEY_REVERTS,
    KEY_RUN_COMMIT,
    KEY_RUN_ID,
    KEY_RUN_KEY,
    RESERVED_PREFIX,
    CommitKind,
)
from lakefs_wap.names import run_branch_name, validate_branch, validate_repository
from lakefs_wap.outcomes import RunOutcomes, outcome_for
from lakefs_wap.published import DEFAULT_SEARCH_LIMIT, find_published_run, revert_published_run
from lakefs_wap.record import Outcome, RunRecord, next_sequence
from lakefs_wap.refs import iter_log
from lakefs_wap.run_status import RunState, RunStatus, read_status
from lakefs_wap.run_view import RunView
from lakefs_wap.verdict import NO_CHANGES, Verdict

logger = logging.getLogger("lakefs_wap.run_branch")

_REASON_LIMIT = 2000


class RunBranch:
    """One run's branch in ``repository``, created from ``source_branch`` and
    published into ``target_branch`` (the source, unless given).

    Args:
        connection: the lakeFS connection (``lakefs_wap.connect()``).
        repository: the repository the run writes to.
        run_id: the orchestrator's run id; the same run id always means the same branch.
        source_branch: the branch the run starts from.
        target_branch: the branch a passing run is merged into (the source, unless given).
        prefix: the branch name's prefix (``run_branch_name(run_id, prefix)``).
        branch: an existing branch to treat as the run's, instead of the derived name.
        search_limit: how far back lookups without a run key look (never used by the lifecycle).

    The branch name doubles as the run key that marks the run's commits and records.

    Example:
        >>> run = RunBranch(connection, "lake", run_id="manual__2026-11-22")  # doctest: +SKIP
        >>> run.open(); run.commit("ingest"); run.gate([NoDeletions()]); run.publish()  # doctest: +SKIP
    """

    def __init__(
        self,
        connection: LakeFSConnection,
        repository: str,
        run_id: str,
        *,
        source_branch: str = "main",
        target_branch: str | None = None,
        prefix: str = "run",
        branch: str | None = None,
        search_limit: int = DEFAULT_SEARCH_LIMIT,
    ) -> None:
        self.connection = connection
        self.repository = validate_repository(repository)
        if not isinstance(run_id, str) or not run_id.strip():
            raise BadInputError(f"invalid run id {run_id!r}: a run branch needs a non-empty run id.")
        self.run_id = run_id
        self.source_branch = validate_branch(source_branch, role="source branch")
        self.target_branch = validate_branch(target_branch or source_branch, role="target branch")
        self.branch = validate_branch(branch, role="run branch") if branch else run_branch_name(run_id, prefix)
        if self.branch in (self.source_branch, self.target_branch):
            raise BadInputError(f"run branch '{self.branch}' would be the source or target branch itself.")
        self.search_limit = search_limit
        self._run = RunView(connection, self.repository, run_id, self.branch, self.source_branch, self.target_branch)
        self._outcomes = RunOutcomes(self._run)

    def __repr__(self) -> str:
        return (
            f"RunBranch(repository={self.repository!r}, branch={self.branch!r}, "
            f"source={self.source_branch!r}, target={self.target_branch!r})"
        )

    @property
    def run_key(self) -> str:
        """What marks the run's commits and records: the branch name."""
        return self.branch

    # ----- reading where the run stands ------------------------------------------------

    def head(self) -> str | None:
        """The run branch's head commit id, or None when the branch does not exist."""
        commit = self._run.head_commit()
        return str(commit.id) if commit is not None else None

    def base_commit(self) -> str:
        """The commit of the source branch this run started from."""
        return self._run.base_of(self._run.require_head("asking where it started"))

    def records(self) -> list[RunRecord]:
        """Every recorded outcome of this run (publishes, unchanged verdicts, reverts), oldest first."""
        return self._outcomes.read()

    def published_commit(self) -> str | None:
        """The newest merge commit that published this run and was not reverted, if any."""
        return self.status().merge_commit

    def status(self) -> RunStatus:
        """Where the run stands (see ``lakefs_wap.run_status``)."""
        return read_status(self._outcomes)

    # ----- the lifecycle --------------------------------------------------------------

    def open(self) -> str:
        """Create the run branch from the source's current commit; return the base commit id.

        Opening again returns the same branch and the same base commit. A
        target other than the source must exist already: a typo is caught
        here, before any data is written.
        """
        if self.target_branch != self.source_branch:
            operations.branch_head(self.connection, self.repository, self.target_branch)
        try:
            with translated(
                action=f"create branch '{self.branch}' from '{self.source_branch}'",
                repository=self.repository,
                ref=self.branch,
                missing=f"repository '{self.repository}' and source branch '{self.source_branch}'",
            ):
                created = self.connection.sdk.branches_api.create_branch(
                    self.repository,
                    lakefs_sdk.BranchCreation(name=self.branch, source=self.source_branch),  # type: ignore[call-arg]
                )
            return str(created).strip().strip('"')
        except ConflictError:
            return self.base_commit()

    def commit(
        self, message: str | None = None, metadata: Mapping[str, Any] | None = None, *, allow_empty: bool = False
    ) -> lakefs_sdk.Commit:
        """Commit what the run staged, marked as this run's.

        With nothing staged: a repeat returns the run's existing data commit;
        commits made directly on the branch (e.g. by the user's own tasks)
        are marked as this run's with an empty commit; and a run that wrote
        nothing at all gets an empty data commit marked ``changes=none``, so
        gates still run (``ChangedSomething()`` fails it) and publishing it
        ends ``unchanged`` without a merge.
        """
        base = self._run.merge_base(self.source_branch)
        full_metadata = {
            **self._user_metadata(metadata),
            **self._run.identity(),
            KEY_KIND: CommitKind.DATA.value,
            KEY_BASE: base,
        }
        text = message or f"lakefs-wap: run {self.run_id}"
        try:
            return operations.commit(
                self.connection, self.repository, self.branch, text, full_metadata, allow_empty=allow_empty
            )
        except NothingToCommitError:
            pass
        head = self._run.require_head("committing")
        existing = self._existing_data_commit(head)
        if existing is not None:
            logger.info("nothing new staged on %s; returning the run's commit %s", self.branch, existing.id)
            return existing
        if head.id == base:
            logger.info("run %s wrote nothing; recording an empty commit (changes=none)", self.run_key)
            full_metadata[KEY_CHANGES] = NO_CHANGES
        return operations.commit(self.connection, self.repository, self.branch, text, full_metadata, allow_empty=True)

    def _existing_data_commit(self, head: lakefs_sdk.Commit) -> lakefs_sdk.Commit | None:
        """The run's data commit at or just under the head (a verdict or failure mark sits on it)."""
        if self._run.is_mine(head, CommitKind.DATA):
            return head
        if self._run.is_mine(head, CommitKind.GATES, CommitKind.FAILED) and head.parents:
            previous = operations.get_commit(self.connection, self.repository, head.parents[0])
            if self._run.is_mine(previous, CommitKind.DATA):
                return previous
        return None

    def gate(self, gates: Sequence[Gate], *, base_ref: str | None = None, raise_on_failure: bool = True) -> GateReport:
        """Run every gate against the branch's newest commit and record the verdict in lakeFS.

        The verdict goes into an empty commit on the run branch naming the
        judged commit (``lakefs_wap.gated_commit``); ``publish`` merges exactly
        that commit. Gates compare with the commit the run started from, or
        with ``base_ref`` when given. An outage while gating propagates and
        records nothing: it is no verdict on the data.

        Args:
            gates: a list of gates (built-in gates or callables taking a ``GateContext``).
            base_ref: the ref to compare with instead of the run's base commit.
            raise_on_failure: raise ``GateFailedError`` when a gate fails (else return the report).

        Returns:
            The ``GateReport`` of every gate.
        """
        gates = validate_gates(gates)
        head = self._run.require_head("gating")
        self._run.refuse_uncommitted(refusals.UNCOMMITTED_BEFORE_GATING)
        gated, base, changes = self._what_to_judge(head, base_ref)
        report = run_gates(GateContext(self.connection, self.repository, run_ref=gated, base_ref=base), gates)
        self._record_verdict(head, Verdict.of_report(report, gated_metarange=str(head.meta_range_id), changes=changes))
        if not report.passed and raise_on_failure:
            raise self.gate_failure(report)
        return report

    def _what_to_judge(self, head: lakefs_sdk.Commit, base_ref: str | None) -> tuple[str, str, str | None]:
        """The commit to judge, the ref to judge it against, and its ``changes`` mark."""
        verdict = Verdict.recorded_by(head, self.run_key)
        if verdict is not None and verdict.is_current(head):  # judged before: judge the same commit again
            gated, base, changes = verdict.gated_commit, verdict.base_commit or None, verdict.changes
        else:
            gated, base = str(head.id), None
            changes = (head.metadata or {}).get(KEY_CHANGES) if self._run.is_mine(head, CommitKind.DATA) else None
        if not base_ref and base is None and self.target_branch != self.source_branch:
            # The merge brings the target everything the gated commit has and the target lacks,
            # including what the source had that the target never got: judge all of it.
            base = self._run.merge_base(self.target_branch, gated)
        return gated, base_ref or base or self._run.base_of(head), changes

    def gate_failure(self, report: GateReport) -> GateFailedError:
        """The error a failed ``report`` of this run is raised as, naming the run, branch and every verdict."""
        return refusals.gate_failure(self._run, report)

    def _record_verdict(self, head: lakefs_sdk.Commit, verdict: Verdict) -> None:
        metadata = {**self._run.identity(), KEY_KIND: CommitKind.GATES.value, **verdict.as_metadata()}
        if dict(head.metadata or {}) == metadata:
            return  # the same verdict on the same commit is already recorded
        operations.commit(
            self.connection,
            self.repository,
            self.branch,
            f"lakefs-wap: gates {'passed' if verdict.passed else 'failed'} for run {self.run_id}",
            metadata,
            allow_empty=True,
        )

    def publish(
        self,
        message: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        *,
        strategy: str | None = None,
        squash_merge: bool = False,
        require_gates: bool = True,
    ) -> str:
        """Merge the gated commit into the target in one merge; return the merge commit id.

        Publishing again returns the same merge. A run whose gated commit
        changes nothing on the target is recorded ``unchanged`` and the
        target's head is returned, with no merge. Refused, naming why and
        what to do: gates that failed or never ran (unless ``require_gates``
        is False), commits or uncommitted changes made after the verdict.
        On a merge conflict both branches are left as they are and
        ``MergeConflictError`` names the paths.

        Args:
            message: the merge commit's message.
            metadata: extra metadata for the merge commit (keys may not start with ``lakefs_wap.``).
            strategy: lakeFS's merge strategy for conflicts (``"source-wins"`` or ``"dest-wins"``).
            squash_merge: squash the run into one commit on the target.
            require_gates: refuse unless a passing verdict covers the branch head.
        """
        operations.validate_strategy(strategy, repository=self.repository)
        extra = self._user_metadata(metadata)
        head = self._run.head_commit()
        if head is None:
            return self._latest_result_or_refuse()
        verdict = Verdict.recorded_by(head, self.run_key)
        if verdict is None:
            earlier = self._nothing_new_since_outcome(head)
            if earlier is not None:
                return earlier
            if require_gates:
                raise self._not_gated(head)
            gated, base, judged = str(head.id), self._run.base_of(head), {}
        else:
            if not verdict.is_current(head):
                raise refusals.moved_after_verdict(self._run, head)
            if require_gates and not verdict.passed:
                raise refusals.gates_failed(self._run, verdict)
            if verdict.changed_nothing:
                return self._outcomes.record_unchanged(verdict.gated_commit)
            gated, base, judged = verdict.gated_commit, verdict.base_commit, verdict.result_metadata()
        self._run.refuse_uncommitted(refusals.UNCOMMITTED_AFTER_VERDICT)
        merge_metadata = {
            **extra,
            **self._run.identity(),
            KEY_KIND: CommitKind.PUBLISH.value,
            KEY_BASE: base,
            KEY_GATED_COMMIT: gated,
            KEY_RUN_COMMIT: gated,
            **judged,
        }
        return self._merge_gated(head, gated, merge_metadata, message, strategy, squash_merge)

    def _merge_gated(
        self,
        head: lakefs_sdk.Commit,
        gated: str,
        merge_metadata: dict[str, str],
        message: str | None,
        strategy: str | None,
        squash_merge: bool,
    ) -> str:
        since = int(head.creation_date)

        def landed() -> str | None:
            return self._outcomes.find_landed_publish(gated, since)

        records = self._outcomes.read()
        earlier = self._outcomes.earlier_result(gated, records)
        if earlier is not None:
            return earlier
        sequence = next_sequence(records)
        found = landed() if squash_merge else None  # a squash merge repeated is a second merge: look first
        if found is None:
            try:
                found = operations.merge(
                    self.connection,
                    self.repository,
                    gated,
                    self.target_branch,
                    message=message or f"lakefs-wap: publish run {self.run_id}",
                    metadata=merge_metadata,
                    strategy=strategy,
                    squash_merge=squash_merge,
                    landed=landed,
                )
            except BadInputError as error:
                if not is_no_changes(error):
                    raise
                found = landed()  # an earlier attempt merged and its answer was lost, or nothing to merge
                if found is None:
                    return self._outcomes.record_unchanged(gated, records)
            logger.info("published run %s into '%s' as %s", self.run_key, self.target_branch, found)
        return self._outcomes.record(Outcome.PUBLISHED, sequence, gated, found)

    def _latest_result_or_refuse(self) -> str:
        """A publish repeated after the branch was cleaned up returns what was recorded."""
        result = self._outcomes.latest_result()
        if result is None:
            raise refusals.nothing_to_publish(self._run)
        return result

    def _nothing_new_since_outcome(self, head: lakefs_sdk.Commit) -> str | None:
        """For a branch reopened after an outcome with nothing new on it: that outcome."""
        if self._run.is_mine(head, CommitKind.DATA, CommitKind.FAILED):
            return None
        if head.id != self._run.merge_base(self.source_branch):
            return None
        return self._outcomes.latest_result()

    def _not_gated(self, head: lakefs_sdk.Commit) -> RunStateError:
        after = self._commits_after_verdict(head)
        if after is not None:
            return refusals.moved_after_verdict(self._run, head, after)
        return refusals.not_gated(self._run, head)

    def _commits_after_verdict(self, head: lakefs_sdk.Commit) -> list[str] | None:
        """Commits on the branch above its newest verdict, or None when it has no verdict."""
        fork = self._run.merge_base(self.source_branch)
        after: list[str] = []
        for commit in iter_log(self.connection, self.repository, head.id, page_size=50, first_parent=True):
            if commit.id == fork:
                return None
            if self._run.is_mine(commit, CommitKind.GATES):
                return after
            after.append(refusals.describe_commit(commit))
        return None

    def discard(self, *, only_if_published: bool = False) -> bool:
        """Delete the run branch; False if it was already gone.

        With ``only_if_published`` (what cleanup after a publish uses) the
        branch is deleted only if everything on it reached the target: a
        commit or an uncommitted change the target does not hold makes it
        raise ``RunStateError`` naming it, and the branch stays.
        """
        if only_if_published:
            self._check_nothing_unpublished()
        return operations.delete_branch(self.connection, self.repository, self.branch, missing_ok=True)

    def _check_nothing_unpublished(self) -> None:
        head = self._run.head_commit()
        if head is None:
            return
        self._run.refuse_uncommitted(refusals.uncommitted_on_discard(self._run))
        verdict = Verdict.recorded_by(head, self.run_key)
        if verdict is not None and verdict.is_current(head):
            records = self._outcomes.read()
            if self._outcomes_cover(head, verdict, records):
                return
        elif self._run.merge_base(self.target_branch, head.id) == head.id:
            return  # everything on the branch is on the target already
        raise refusals.unpublished_commits(self._run, head)

    def _outcomes_cover(self, head: lakefs_sdk.Commit, verdict: Verdict, records: list[RunRecord]) -> bool:
        """Whether the judged commit has a recorded outcome (recording a lost publish now if need be)."""
        if outcome_for(verdict.gated_commit, records) is not None:
            return True
        return self._outcomes.recover_unrecorded_publish(head, records) is not None

    def mark_failed(self, reason: str) -> str | None:
        """Keep the branch for debugging and record why the run failed; return the marker commit id.

        Whatever the run left staged is committed with the marker, so the
        branch shows exactly what the run wrote. Returns None when there is
        no branch to mark (it never opened, or was discarded).
        """
        head = self._run.head_commit()
        if head is None:
            return None
        if self._outcomes.recover_unrecorded_publish(head, self._outcomes.read()) is not None:
            return None  # it was published after all: nothing failed
        reason_text = (reason or "no reason given")[:_REASON_LIMIT]
        metadata = head.metadata or {}
        if self._run.is_mine(head, CommitKind.FAILED) and metadata.get(KEY_REASON) == reason_text:
            return str(head.id)
        marker_metadata = {
            **self._run.identity(),
            KEY_KIND: CommitKind.FAILED.value,
            KEY_REASON: reason_text,
            KEY_RUN_COMMIT: str(head.id),
            **{key: metadata[key] for key in (KEY_BASE, KEY_GATES) if metadata.get(key)},
        }
        marker = operations.commit(
            self.connection,
            self.repository,
            self.branch,
            f"lakefs-wap: run {self.run_id} failed",
            marker_metadata,
            allow_empty=True,
        )
        return str(marker.id)

    def revert(self, message: str | None = None, metadata: Mapping[str, Any] | None = None) -> str:
        """Undo every publish of this run on the target; return the revert commit id.

        Exactly the paths the run changed go back to what they were before it;
        later changes by others stay. See ``lakefs_wap.revert``.
        """
        from lakefs_wap.revert import revert_run

        return revert_run(
            self.connection, self.repository, self.target_branch, self.run_key, message=message, metadata=metadata
        )

    def _user_metadata(self, metadata: Mapping[str, Any] | None) -> dict[str, str]:
        strings = operations.metadata_strings(metadata)
        reserved = sorted(key for key in strings if key.startswith(RESERVED_PREFIX))
        if reserved:
            raise refusals.reserved_metadata(self._run, reserved)
        return strings


__all__ = [
    "DEFAULT_SEARCH_LIMIT",
    "KEY_BASE",
    "KEY_GATED_COMMIT",
    "KEY_KIND",
    "KEY_REASON",
    "KEY_REVERTS",
    "KEY_RUN_COMMIT",
    "KEY_RUN_ID",
    "KEY_RUN_KEY",
    "CommitKind",
    "RunBranch",
    "RunState",
    "RunStatus",
    "find_published_run",
    "revert_published_run",
]
