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
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import lakefs_sdk

from lakefs_wap import operations
from lakefs_wap.connection import LakeFSConnection
from lakefs_wap.errors import (
    BadInputError,
    ConflictError,
    GateFailedError,
    NotFoundError,
    NothingToCommitError,
    RunStateError,
    is_no_changes,
    translated,
)
from lakefs_wap.gates import Gate, GateContext, GateReport, failed_gates_in, run_gates, validate_gates
from lakefs_wap.keys import (
    KEY_BASE,
    KEY_CHANGES,
    KEY_GATED_COMMIT,
    KEY_GATED_METARANGE,
    KEY_GATES,
    KEY_GATES_PASSED,
    KEY_KIND,
    KEY_REASON,
    KEY_REVERTS,
    KEY_RUN_COMMIT,
    KEY_RUN_ID,
    KEY_RUN_KEY,
    KEY_SOURCE_BRANCH,
    RESERVED_PREFIX,
    CommitKind,
)
from lakefs_wap.names import run_branch_name, validate_branch, validate_repository
from lakefs_wap.record import (
    Outcome,
    RunRecord,
    is_run_commit,
    iter_commits_since,
    next_sequence,
    read_records,
    record_tag,
    write_record,
)
from lakefs_wap.refs import has_uncommitted_changes, iter_log

logger = logging.getLogger("lakefs_wap.run_branch")

_REASON_LIMIT = 2000
_COMMITS_NAMED = 10

# How far back the convenience lookups without a run key go; lookups by run key never scan.
DEFAULT_SEARCH_LIMIT = 5000


class RunState(str, Enum):
    ABSENT = "absent"  # no branch and nothing recorded: never opened, or discarded unpublished
    OPEN = "open"  # branch exists, the run has not committed yet
    COMMITTED = "committed"  # the run's newest commit is data, not yet gated
    GATED = "gated"  # gates judged the newest data commit (see gates_passed)
    FAILED = "failed"  # kept for debugging with a reason
    PUBLISHED = "published"  # merged into the target branch
    UNCHANGED = "unchanged"  # gated and found to change nothing on the target; no merge
    REVERTED = "reverted"  # every publish of the run was reverted


@dataclass(frozen=True)
class RunStatus:
    state: RunState
    branch: str
    run_key: str
    base_commit: str | None = None
    head_commit: str | None = None
    run_commit: str | None = None
    gates_passed: bool | None = None
    merge_commit: str | None = None  # the newest publish that is not reverted
    reason: str | None = None
    failed_gates: tuple[str, ...] = ()
    publishes: tuple[RunRecord, ...] = field(default=())  # every publish of the run, oldest first
    records: tuple[RunRecord, ...] = field(default=())  # every recorded outcome, oldest first


_OUTCOME_STATES = {
    Outcome.PUBLISHED: RunState.PUBLISHED,
    Outcome.UNCHANGED: RunState.UNCHANGED,
    Outcome.REVERTED: RunState.REVERTED,
}


class RunBranch:
    """One run's branch in ``repository``, created from ``source_branch`` and
    published into ``target_branch`` (the source, unless given).

    The branch name is derived from ``run_id`` and ``prefix`` by
    ``run_branch_name``; the same run id always means the same branch. The
    name doubles as the run key that marks the run's commits and records.
    ``branch`` names an existing branch to treat as the run's instead.
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

    def __repr__(self) -> str:
        return (
            f"RunBranch(repository={self.repository!r}, branch={self.branch!r}, "
            f"source={self.source_branch!r}, target={self.target_branch!r})"
        )

    @property
    def run_key(self) -> str:
        return self.branch

    def _user_metadata(self, metadata: Mapping[str, Any] | None) -> dict[str, str]:
        strings = operations.metadata_strings(metadata)
        reserved = sorted(key for key in strings if key.startswith(RESERVED_PREFIX))
        if reserved:
            raise BadInputError(
                f"metadata keys starting with '{RESERVED_PREFIX}' are lakefs-wap's own record of the run and cannot "
                f"be set by hand: {reserved}. Rename them.",
                repository=self.repository,
                ref=self.branch,
            )
        return strings

    def _identity(self) -> dict[str, str]:
        return {KEY_RUN_ID: self.run_id, KEY_RUN_KEY: self.run_key, KEY_SOURCE_BRANCH: self.source_branch}

    # ----- reading state from lakeFS -------------------------------------------------

    def head(self) -> str | None:
        commit = self._head_commit()
        return str(commit.id) if commit is not None else None

    def _head_commit(self) -> lakefs_sdk.Commit | None:
        try:
            return operations.get_commit(self.connection, self.repository, self.branch)
        except NotFoundError:
            operations.ensure_repository(self.connection, self.repository)
            return None

    def _refuse_uncommitted(self, why: str) -> None:
        """Raise ``RunStateError`` saying ``why`` if the run branch has uncommitted changes."""
        if has_uncommitted_changes(self.connection, self.repository, self.branch):
            raise RunStateError(
                f"run branch '{self.branch}' in repository '{self.repository}' has uncommitted changes; {why}",
                repository=self.repository,
                ref=self.branch,
            )

    def _require_head(self, step: str) -> lakefs_sdk.Commit:
        head = self._head_commit()
        if head is None:
            raise RunStateError(
                f"run branch '{self.branch}' does not exist in repository '{self.repository}'; "
                f"open() the run before {step}.",
                repository=self.repository,
                ref=self.branch,
            )
        return head

    def _merge_base_with(self, other: str, ref: str | None = None) -> str:
        mine = ref or self.branch
        with translated(
            action=f"find where '{mine}' and '{other}' forked",
            repository=self.repository,
            ref=mine,
        ):
            result = self.connection.sdk.refs_api.find_merge_base(self.repository, mine, other)
        return str(result.base_commit_id)

    def base_commit(self) -> str:
        """The commit of the source branch this run started from."""
        head = self._require_head("asking where it started")
        return self._base_of(head)

    def _base_of(self, head: lakefs_sdk.Commit) -> str:
        if is_run_commit(head, self.run_key, CommitKind.DATA, CommitKind.GATES, CommitKind.FAILED):
            base = (head.metadata or {}).get(KEY_BASE)
            if base:
                return base
        return self._merge_base_with(self.source_branch)

    def records(self) -> list[RunRecord]:
        """Every recorded outcome of this run (publishes, unchanged verdicts, reverts), oldest first."""
        return read_records(self.connection, self.repository, self.run_key)

    def published_commit(self) -> str | None:
        """The newest merge commit that published this run and was not reverted, if any."""
        return self.status().merge_commit

    def status(self) -> RunStatus:
        records = tuple(self.records())
        head = self._head_commit()
        publishes = tuple(r for r in records if r.outcome is Outcome.PUBLISHED)
        live = _live_publish(records)
        common: dict[str, Any] = {
            "branch": self.branch,
            "run_key": self.run_key,
            "head_commit": str(head.id) if head is not None else None,
            "merge_commit": live.commit_id if live is not None else None,
            "publishes": publishes,
            "records": records,
        }
        if head is None:
            latest = records[-1] if records else None
            if latest is None:
                return RunStatus(RunState.ABSENT, **common)
            return RunStatus(_OUTCOME_STATES[latest.outcome], **common)
        metadata = head.metadata or {}
        if is_run_commit(head, self.run_key, CommitKind.GATES):
            gated = metadata.get(KEY_GATED_COMMIT, "")
            base = metadata.get(KEY_BASE)
            done = [r for r in records if r.outcome is not Outcome.REVERTED and r.is_for(gated)]
            if done:
                return RunStatus(_OUTCOME_STATES[records[-1].outcome], base_commit=base, run_commit=gated, **common)
            landed = (
                self._find_landed_publish(gated, int(head.creation_date))
                if metadata.get(KEY_GATES_PASSED) == "true"
                else None
            )
            if landed is not None:  # merged, its record lost: published all the same
                common["merge_commit"] = landed
                return RunStatus(RunState.PUBLISHED, base_commit=base, run_commit=gated, **common)
            return RunStatus(
                RunState.GATED,
                base_commit=base,
                run_commit=gated,
                gates_passed=metadata.get(KEY_GATES_PASSED) == "true",
                failed_gates=tuple(failed_gates_in(metadata)),
                **common,
            )
        if is_run_commit(head, self.run_key, CommitKind.FAILED):
            return RunStatus(
                RunState.FAILED,
                base_commit=metadata.get(KEY_BASE),
                run_commit=metadata.get(KEY_RUN_COMMIT),
                reason=metadata.get(KEY_REASON),
                failed_gates=tuple(failed_gates_in(metadata)),
                **common,
            )
        if is_run_commit(head, self.run_key, CommitKind.DATA):
            return RunStatus(RunState.COMMITTED, base_commit=metadata.get(KEY_BASE), run_commit=str(head.id), **common)
        base = self._merge_base_with(self.source_branch)
        if head.id != base:  # commits of the user's own, not yet marked by commit()
            return RunStatus(RunState.COMMITTED, base_commit=base, run_commit=str(head.id), **common)
        if records:  # reopened after an outcome, nothing new on it yet
            return RunStatus(_OUTCOME_STATES[records[-1].outcome], base_commit=base, **common)
        return RunStatus(RunState.OPEN, base_commit=base, **common)

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
        base = self._merge_base_with(self.source_branch)
        full_metadata = {
            **self._user_metadata(metadata),
            **self._identity(),
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
        head = self._require_head("committing")
        if is_run_commit(head, self.run_key, CommitKind.DATA):
            logger.info("nothing new staged on %s; returning the run's commit %s", self.branch, head.id)
            return head
        if is_run_commit(head, self.run_key, CommitKind.GATES, CommitKind.FAILED) and head.parents:
            previous = operations.get_commit(self.connection, self.repository, head.parents[0])
            if is_run_commit(previous, self.run_key, CommitKind.DATA):
                logger.info("nothing new staged on %s; returning the run's commit %s", self.branch, previous.id)
                return previous
        if head.id == base:
            logger.info("run %s wrote nothing; recording an empty commit (changes=none)", self.run_key)
            full_metadata[KEY_CHANGES] = "none"
        return operations.commit(self.connection, self.repository, self.branch, text, full_metadata, allow_empty=True)

    def gate(self, gates: Sequence[Gate], *, base_ref: str | None = None, raise_on_failure: bool = True) -> GateReport:
        """Run every gate against the branch's newest commit and record the verdict in lakeFS.

        The verdict goes into an empty commit on the run branch naming the
        judged commit (``lakefs_wap.gated_commit``); ``publish`` merges exactly
        that commit. Gates compare with the commit the run started from, or
        with ``base_ref`` when given. An outage while gating propagates and
        records nothing: it is no verdict on the data.
        """
        gates = validate_gates(gates)
        head = self._require_head("gating")
        self._refuse_uncommitted("commit them before gating, so that what is gated is exactly what would be published.")
        metadata = head.metadata or {}
        if is_run_commit(head, self.run_key, CommitKind.GATES) and head.meta_range_id == metadata.get(
            KEY_GATED_METARANGE
        ):
            gated, base, changes = metadata[KEY_GATED_COMMIT], metadata.get(KEY_BASE), metadata.get(KEY_CHANGES)
        else:
            gated, base = str(head.id), None
            changes = metadata.get(KEY_CHANGES) if is_run_commit(head, self.run_key, CommitKind.DATA) else None
        if not base_ref and base is None and self.target_branch != self.source_branch:
            # The merge brings the target everything the gated commit has and the target lacks,
            # including what the source had that the target never got: judge all of it.
            base = self._merge_base_with(self.target_branch, gated)
        base = base_ref or base or self._base_of(head)
        context = GateContext(self.connection, self.repository, run_ref=gated, base_ref=base)
        report = run_gates(context, gates)
        self._record_verdict(head, report, gated, base, changes)
        if not report.passed and raise_on_failure:
            raise self.gate_failure(report)
        return report

    def gate_failure(self, report: GateReport) -> GateFailedError:
        """The error a failed ``report`` of this run is raised as, naming the run, branch and every verdict."""
        return GateFailedError(
            f"quality gates failed for run '{self.run_id}' on branch '{self.branch}' "
            f"in repository '{self.repository}':\n{report.summary()}",
            repository=self.repository,
            ref=self.branch,
            results=report.results,
        )

    def _record_verdict(
        self, head: lakefs_sdk.Commit, report: GateReport, gated: str, base: str, changes: str | None
    ) -> None:
        metadata = {
            **self._identity(),
            KEY_KIND: CommitKind.GATES.value,
            KEY_GATED_COMMIT: gated,
            KEY_GATED_METARANGE: str(head.meta_range_id),
            KEY_BASE: base,
            **report.as_metadata(),
        }
        if changes:
            metadata[KEY_CHANGES] = changes
        if dict(head.metadata or {}) == metadata:
            return  # the same verdict on the same commit is already recorded
        verdict = "passed" if report.passed else "failed"
        operations.commit(
            self.connection,
            self.repository,
            self.branch,
            f"lakefs-wap: gates {verdict} for run {self.run_id}",
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
        """
        operations.validate_strategy(strategy, repository=self.repository)
        extra = self._user_metadata(metadata)
        head = self._head_commit()
        if head is None:
            return self._outcome_without_branch()
        if is_run_commit(head, self.run_key, CommitKind.GATES):
            head_metadata = head.metadata or {}
            gated = head_metadata[KEY_GATED_COMMIT]
            if head.meta_range_id != head_metadata.get(KEY_GATED_METARANGE):
                raise self._moved_after_verdict(head)
            if require_gates and head_metadata.get(KEY_GATES_PASSED) != "true":
                raise RunStateError(
                    f"run '{self.run_id}' (branch '{self.branch}') cannot be published: its gates failed "
                    f"({'; '.join(failed_gates_in(head_metadata)) or 'see the gates commit'}). Fix the data and "
                    "re-run, or publish(require_gates=False) to merge without passing gates.",
                    repository=self.repository,
                    ref=self.branch,
                )
            verdict = {k: head_metadata[k] for k in (KEY_GATES, KEY_GATES_PASSED) if k in head_metadata}
            base = head_metadata.get(KEY_BASE, "")
            if head_metadata.get(KEY_CHANGES) == "none":
                return self._record_unchanged(gated)
        else:
            published = self._nothing_new_since_outcome(head)
            if published is not None:
                return published
            if require_gates:
                raise self._not_gated(head)
            gated, verdict, base = str(head.id), {}, self._base_of(head)
        self._refuse_uncommitted(
            "they came after the gates' verdict and would not be published. Commit them and gate again, "
            "or reset the branch."
        )
        merge_metadata = {
            **extra,
            **self._identity(),
            KEY_KIND: CommitKind.PUBLISH.value,
            KEY_BASE: base,
            KEY_GATED_COMMIT: gated,
            KEY_RUN_COMMIT: gated,
            **verdict,
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
            return self._find_landed_publish(gated, since)

        records = self.records()
        earlier = self._recorded_for(gated, records)
        if earlier is not None:
            return earlier
        sequence = next_sequence(records)
        if squash_merge:
            # A squash merge repeated is a second merge, not "no changes": look first.
            found = landed()
            if found is not None:
                return self._record(Outcome.PUBLISHED, sequence, gated, found)
        try:
            merge_id = operations.merge(
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
            found = landed()
            if found is not None:  # an earlier attempt merged, and its answer was lost
                return self._record(Outcome.PUBLISHED, sequence, gated, found)
            return self._record_unchanged(gated, records)
        logger.info("published run %s into '%s' as %s", self.run_key, self.target_branch, merge_id)
        return self._record(Outcome.PUBLISHED, sequence, gated, merge_id)

    def _record(self, outcome: Outcome, sequence: int, gated: str, commit_id: str) -> str:
        """Record an outcome of the gated commit, pointing at ``commit_id``; return ``commit_id``."""
        write_record(self.connection, self.repository, record_tag(self.run_key, sequence, outcome, gated), commit_id)
        return commit_id

    def _find_landed_publish(self, gated: str, since: int) -> str | None:
        """The merge of ``gated`` into the target made since ``since`` (server time), if any:
        a publish whose answer or record was lost. Walks only the target's commits since then."""
        for commit in iter_commits_since(self.connection, self.repository, self.target_branch, since):
            if (
                is_run_commit(commit, self.run_key, CommitKind.PUBLISH)
                and (commit.metadata or {}).get(KEY_GATED_COMMIT) == gated
            ):
                return str(commit.id)
        return None

    def _recover_unrecorded_publish(self, head: lakefs_sdk.Commit, records: list[RunRecord]) -> str | None:
        """For a passed verdict with no record: the merge an interrupted publish made, recorded now."""
        metadata = head.metadata or {}
        if not is_run_commit(head, self.run_key, CommitKind.GATES) or metadata.get(KEY_GATES_PASSED) != "true":
            return None
        gated = metadata.get(KEY_GATED_COMMIT, "")
        if self._record_for(gated, records) is not None:
            return None
        found = self._find_landed_publish(gated, int(head.creation_date))
        if found is not None:
            self._record(Outcome.PUBLISHED, next_sequence(records), gated, found)
            logger.warning("run %s was merged as %s but not recorded; recorded it now", self.run_key, found)
        return found

    def _record_unchanged(self, gated: str, records: list[RunRecord] | None = None) -> str:
        """Record that the gated commit changes nothing on the target; return the target's head."""
        records = self.records() if records is None else records
        if self._recorded_for(gated, records) is None:
            self._record(Outcome.UNCHANGED, next_sequence(records), gated, gated)
        target_head = operations.branch_head(self.connection, self.repository, self.target_branch)
        logger.info(
            "run %s changed nothing on '%s'; recorded as unchanged, no merge (target at %s)",
            self.run_key,
            self.target_branch,
            target_head,
        )
        return target_head

    def _record_for(self, gated: str, records: list[RunRecord]) -> RunRecord | None:
        """The newest publish or unchanged record of this very gated commit, reverted or not."""
        for record in reversed(records):
            if record.outcome is not Outcome.REVERTED and record.is_for(gated):
                return record
        return None

    def _recorded_for(self, gated: str, records: list[RunRecord] | None = None) -> str | None:
        """The result of an earlier publish of this very gated commit, if one is recorded.

        A publish that was reverted since cannot be repeated by merging the same
        commit (lakeFS sees nothing new in it); that is refused with what to do.
        """
        records = self.records() if records is None else records
        record = self._record_for(gated, records)
        if record is None:
            return None
        reverted = any(r.outcome is Outcome.REVERTED and r.sequence > record.sequence for r in records)
        if reverted and record.outcome is Outcome.PUBLISHED:
            raise RunStateError(
                f"run '{self.run_id}': its gated commit {gated[:12]} was published as {record.commit_id[:12]} and "
                "reverted since; merging the same commit again would change nothing. To publish this data again, "
                "discard the run branch and re-run, so the data is written and gated anew.",
                repository=self.repository,
                ref=self.branch,
            )
        if record.outcome is Outcome.PUBLISHED:
            return record.commit_id
        return operations.branch_head(self.connection, self.repository, self.target_branch)

    def _outcome_without_branch(self) -> str:
        """A publish repeated after the branch was cleaned up returns what was recorded."""
        records = [r for r in self.records() if r.outcome is not Outcome.REVERTED]
        if not records:
            raise RunStateError(
                f"run branch '{self.branch}' does not exist in repository '{self.repository}' and the run has no "
                "recorded publish: nothing to publish. Open, write, commit and gate the run first.",
                repository=self.repository,
                ref=self.branch,
            )
        latest = records[-1]
        if latest.outcome is Outcome.PUBLISHED:
            return latest.commit_id
        return operations.branch_head(self.connection, self.repository, self.target_branch)

    def _nothing_new_since_outcome(self, head: lakefs_sdk.Commit) -> str | None:
        """For a branch reopened after an outcome with nothing new on it: that outcome."""
        if is_run_commit(head, self.run_key, CommitKind.DATA, CommitKind.FAILED):
            return None
        if head.id != self._merge_base_with(self.source_branch):
            return None
        records = [r for r in self.records() if r.outcome is not Outcome.REVERTED]
        if not records:
            return None
        return self._outcome_without_branch()

    def _not_gated(self, head: lakefs_sdk.Commit) -> RunStateError:
        after = self._commits_after_verdict(head)
        if after is not None:
            return self._moved_after_verdict(head, after)
        what = "it was marked failed" if is_run_commit(head, self.run_key, CommitKind.FAILED) else "it is not gated"
        return RunStateError(
            f"run '{self.run_id}' (branch '{self.branch}') cannot be published: {what}. Run gate() on the "
            "newest commit first, or publish(require_gates=False) to merge without gates.",
            repository=self.repository,
            ref=self.branch,
        )

    def _commits_after_verdict(self, head: lakefs_sdk.Commit) -> list[str] | None:
        """Commits on the branch above its newest verdict, or None when it has no verdict."""
        fork = self._merge_base_with(self.source_branch)
        after: list[str] = []
        for commit in iter_log(self.connection, self.repository, head.id, page_size=50, first_parent=True):
            if commit.id == fork:
                return None
            if is_run_commit(commit, self.run_key, CommitKind.GATES):
                return after
            after.append(f"{commit.id[:12]} ({commit.message.splitlines()[0] if commit.message else ''})")
        return None

    def _moved_after_verdict(self, head: lakefs_sdk.Commit, after: list[str] | None = None) -> RunStateError:
        named = after if after is not None else [f"{head.id[:12]} (data committed with the verdict)"]
        listing = ", ".join(named[:_COMMITS_NAMED]) + (
            f" and {len(named) - _COMMITS_NAMED} more" if len(named) > _COMMITS_NAMED else ""
        )
        return RunStateError(
            f"run '{self.run_id}' (branch '{self.branch}') cannot be published: the branch moved after the gates' "
            f"verdict, and these commits were not gated: {listing}. Run gate() again so they are judged too, "
            "or reset the branch to the gated commit.",
            repository=self.repository,
            ref=self.branch,
        )

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
        head = self._head_commit()
        if head is None:
            return
        where = f"run branch '{self.branch}' in repository '{self.repository}'"
        self._refuse_uncommitted(
            f"they are not on '{self.target_branch}', so the branch is kept. "
            "Commit, gate and publish them, or discard() the branch deliberately."
        )
        metadata = head.metadata or {}
        if is_run_commit(head, self.run_key, CommitKind.GATES) and head.meta_range_id == metadata.get(
            KEY_GATED_METARANGE
        ):
            records = self.records()
            if self._record_for(metadata.get(KEY_GATED_COMMIT, ""), records) is not None:
                return
            if self._recover_unrecorded_publish(head, records) is not None:
                return
        elif self._merge_base_with(self.target_branch, head.id) == head.id:
            return  # everything on the branch is on the target already
        raise RunStateError(
            f"{where} holds commits not on '{self.target_branch}' (head {head.id[:12]}: "
            f"{(head.message or '').splitlines()[0] if head.message else 'no message'}); it is kept. "
            "Gate and publish them, or discard() the branch deliberately.",
            repository=self.repository,
            ref=self.branch,
        )

    def mark_failed(self, reason: str) -> str | None:
        """Keep the branch for debugging and record why the run failed; return the marker commit id.

        Whatever the run left staged is committed with the marker, so the
        branch shows exactly what the run wrote. Returns None when there is
        no branch to mark (it never opened, or was discarded).
        """
        head = self._head_commit()
        if head is None:
            return None
        if self._recover_unrecorded_publish(head, self.records()) is not None:
            return None  # it was published after all: nothing failed
        reason_text = (reason or "no reason given")[:_REASON_LIMIT]
        metadata = head.metadata or {}
        if is_run_commit(head, self.run_key, CommitKind.FAILED) and metadata.get(KEY_REASON) == reason_text:
            return str(head.id)
        marker_metadata = {
            **self._identity(),
            KEY_KIND: CommitKind.FAILED.value,
            KEY_REASON: reason_text,
            KEY_RUN_COMMIT: str(head.id),
        }
        if metadata.get(KEY_BASE):
            marker_metadata[KEY_BASE] = metadata[KEY_BASE]
        if KEY_GATES in metadata:
            marker_metadata[KEY_GATES] = metadata[KEY_GATES]
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


def _live_publish(records: Sequence[RunRecord]) -> RunRecord | None:
    """The newest publish not followed by a revert."""
    live: RunRecord | None = None
    for record in records:
        if record.outcome is Outcome.PUBLISHED:
            live = record
        elif record.outcome is Outcome.REVERTED:
            live = None
    return live


def find_published_run(
    connection: LakeFSConnection,
    repository: str,
    target_branch: str,
    run_key: str | None = None,
    *,
    search_limit: int = DEFAULT_SEARCH_LIMIT,
) -> lakefs_sdk.Commit | None:
    """The merge commit of ``run_key``'s newest live publish (one request), or, with no run key,
    the newest publish commit among the newest ``search_limit`` commits of ``target_branch``."""
    validate_repository(repository)
    validate_branch(target_branch, role="target branch")
    if run_key is not None:
        live = _live_publish(read_records(connection, repository, run_key))
        return operations.get_commit(connection, repository, live.commit_id) if live is not None else None
    reverted: set[str] = set()
    for commit in iter_log(connection, repository, target_branch, limit=search_limit):
        metadata = commit.metadata or {}
        if metadata.get(KEY_KIND) == CommitKind.REVERT.value:
            reverted.update(filter(None, metadata.get(KEY_REVERTS, "").split(",")))
        elif metadata.get(KEY_KIND) == CommitKind.PUBLISH.value and commit.id not in reverted:
            return commit
    return None


def revert_published_run(
    connection: LakeFSConnection,
    repository: str,
    target_branch: str,
    run_key: str | None = None,
    *,
    message: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    search_limit: int = DEFAULT_SEARCH_LIMIT,
) -> str:
    """Revert every publish of ``run_key`` on ``target_branch`` (the newest published run when None).

    Reverting again returns the existing revert commit.
    """
    from lakefs_wap.revert import revert_run

    if run_key is None:
        newest = find_published_run(connection, repository, target_branch, search_limit=search_limit)
        if newest is None:
            raise RunStateError(
                f"no publish found in the newest {search_limit} commits of '{target_branch}' "
                f"in repository '{repository}'; nothing to revert.",
                repository=repository,
                ref=target_branch,
            )
        run_key = (newest.metadata or {}).get(KEY_RUN_KEY, "")
    return revert_run(connection, repository, target_branch, run_key, message=message, metadata=metadata)


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
