"""The write-audit-publish lifecycle of one pipeline run on its own lakeFS branch.

    run = RunBranch(connection, "lake", run_id="manual__2026-11-22T10:00:00+00:00")
    run.open()                        # branch from main's current commit
    ...write objects to run.branch...
    run.commit("ingest orders")       # commit what the run wrote
    run.gate([NoDeletions(), TableRowCount(min_rows=1)])   # audit; raises GateFailedError
    run.publish()                     # one merge into main
    run.discard()                     # delete the branch (or run.mark_failed(why) to keep it)

Every step may be repeated after a crash, a timeout or an orchestrator retry
and converges on the same result: no duplicate branches, commits or merges.
Nothing is kept in this process: each step reads what it needs from lakeFS,
where the run leaves a trail of commit metadata (keys ``lakefs_wap.*``):

- ``kind=data`` on the run's commits, with the run id, run key and base commit;
- ``kind=gates`` on an empty commit recording every gate's result;
- ``kind=failed`` on an empty commit when the run is kept for debugging;
- ``kind=publish`` on the merge commit in the target branch;
- ``kind=revert`` on the commit that reverted a published run.

The base commit (where the run started) is the merge base of the run branch
and its source branch until the run commits, and is recorded in the run's
commits from then on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import lakefs_sdk

from lakefs_wap import operations
from lakefs_wap.connection import LakeFSConnection
from lakefs_wap.errors import (
    BadInputError,
    GateFailedError,
    NothingToCommitError,
    RunStateError,
    ServerUnavailableError,
    translated,
)
from lakefs_wap.gates import Gate, GateContext, GateReport, failed_gates_in, run_gates
from lakefs_wap.names import run_branch_name, validate_branch, validate_repository
from lakefs_wap.refs import has_uncommitted_changes, iter_log

logger = logging.getLogger("lakefs_wap.run_branch")

KEY_KIND = "lakefs_wap.kind"
KEY_RUN_ID = "lakefs_wap.run_id"
KEY_RUN_KEY = "lakefs_wap.run_key"
KEY_BASE = "lakefs_wap.base_commit"
KEY_RUN_COMMIT = "lakefs_wap.run_commit"
KEY_GATED_COMMIT = "lakefs_wap.gated_commit"
KEY_GATES_PASSED = "lakefs_wap.gates_passed"
KEY_REASON = "lakefs_wap.reason"
KEY_REVERTS = "lakefs_wap.reverts"
KEY_SOURCE_BRANCH = "lakefs_wap.source_branch"
_REASON_LIMIT = 2000

# How far back in a branch's history lookups go before giving up; a run's
# own commits and its merge are normally within the newest few.
DEFAULT_SEARCH_LIMIT = 5000


class CommitKind(str, Enum):
    DATA = "data"
    GATES = "gates"
    FAILED = "failed"
    PUBLISH = "publish"
    REVERT = "revert"


class RunState(str, Enum):
    ABSENT = "absent"  # no branch and nothing published: never opened, or discarded
    OPEN = "open"  # branch exists, the run has not committed yet
    COMMITTED = "committed"  # the run's newest commit is data, not yet gated
    GATED = "gated"  # gates ran on the newest data commit (see gates_passed)
    FAILED = "failed"  # kept for debugging with a reason
    PUBLISHED = "published"  # merged into the target branch


@dataclass(frozen=True)
class RunStatus:
    state: RunState
    branch: str
    run_key: str
    base_commit: str | None = None
    head_commit: str | None = None
    run_commit: str | None = None
    gates_passed: bool | None = None
    merge_commit: str | None = None
    reason: str | None = None
    failed_gates: tuple[str, ...] = ()


def _kind(commit: lakefs_sdk.Commit) -> str | None:
    return (commit.metadata or {}).get(KEY_KIND)


def _run_key(commit: lakefs_sdk.Commit) -> str | None:
    return (commit.metadata or {}).get(KEY_RUN_KEY)


class RunBranch:
    """One run's branch in ``repository``, created from ``source_branch`` and
    published into ``target_branch`` (the source, unless given).

    The branch name is derived from ``run_id`` and ``prefix`` by
    ``run_branch_name``; the same run id always means the same branch. The
    name doubles as the run key that marks the run's commits. ``branch``
    names an existing branch to treat as the run's instead.
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

    def _identity(self) -> dict[str, str]:
        return {KEY_RUN_ID: self.run_id, KEY_RUN_KEY: self.run_key, KEY_SOURCE_BRANCH: self.source_branch}

    # ----- reading state from lakeFS -------------------------------------------------

    def head(self) -> str | None:
        return operations.branch_head_or_none(self.connection, self.repository, self.branch)

    def _merge_base_with_source(self) -> str:
        with translated(
            action=f"find where '{self.branch}' forked from '{self.source_branch}'",
            repository=self.repository,
            ref=self.branch,
        ):
            result = self.connection.sdk.refs_api.find_merge_base(self.repository, self.branch, self.source_branch)
        return str(result.base_commit_id)

    def _own_commits(self) -> Iterator[lakefs_sdk.Commit]:
        """This run's commits on its branch, newest first, stopping at the fork point."""
        fork = self._merge_base_with_source()
        for commit in iter_log(self.connection, self.repository, self.branch, limit=self.search_limit):
            if commit.id == fork:
                return
            if _run_key(commit) == self.run_key:
                yield commit

    def base_commit(self) -> str:
        """The commit of the source branch this run started from."""
        for commit in self._own_commits():
            base = (commit.metadata or {}).get(KEY_BASE)
            if base:
                return base
        return self._merge_base_with_source()

    def _latest(self, *kinds: CommitKind) -> lakefs_sdk.Commit | None:
        wanted = {kind.value for kind in kinds}
        return next((c for c in self._own_commits() if _kind(c) in wanted), None)

    def published_commit(self) -> str | None:
        """The merge commit that published this run into the target, if any."""
        record = self._publish_record()
        return record.id if record else None

    def _publish_record(self) -> lakefs_sdk.Commit | None:
        return find_published_run(
            self.connection, self.repository, self.target_branch, self.run_key, search_limit=self.search_limit
        )

    def _plain_commits_head(self) -> lakefs_sdk.Commit | None:
        """The branch head, when the branch has commits of its own that no run step made
        (e.g. written with plain commit operators): that is what there is to gate."""
        head = operations.get_commit(self.connection, self.repository, self.branch)
        return head if head.id != self._merge_base_with_source() else None

    def _published_run_commit(self) -> lakefs_sdk.Commit | None:
        """The data commit a past publish of this run merged, read from the merge's metadata."""
        record = self._publish_record()
        run_commit = (record.metadata or {}).get(KEY_RUN_COMMIT) if record is not None else None
        return operations.get_commit(self.connection, self.repository, run_commit) if run_commit else None

    def status(self) -> RunStatus:
        record = self._publish_record()
        if record is not None:
            return RunStatus(
                RunState.PUBLISHED,
                self.branch,
                self.run_key,
                base_commit=(record.metadata or {}).get(KEY_BASE),
                head_commit=self.head(),
                run_commit=(record.metadata or {}).get(KEY_RUN_COMMIT),
                merge_commit=record.id,
            )
        return self._unpublished_status()

    def _unpublished_status(self) -> RunStatus:
        head = self.head()
        if head is None:
            return RunStatus(RunState.ABSENT, self.branch, self.run_key)
        own = list(self._own_commits())
        latest_data = next((c for c in own if _kind(c) == CommitKind.DATA.value), None)
        newest = own[0] if own else None
        base = (latest_data.metadata or {}).get(KEY_BASE) if latest_data else self._merge_base_with_source()
        common: dict[str, Any] = {
            "branch": self.branch,
            "run_key": self.run_key,
            "base_commit": base,
            "head_commit": head,
            "run_commit": latest_data.id if latest_data else None,
        }
        metadata = (newest.metadata or {}) if newest is not None else {}
        if newest is not None and _kind(newest) == CommitKind.FAILED.value:
            return RunStatus(RunState.FAILED, reason=metadata.get(KEY_REASON), **common)
        if newest is None or latest_data is None:
            return RunStatus(RunState.OPEN, **common)
        if _kind(newest) == CommitKind.GATES.value and metadata.get(KEY_GATED_COMMIT) == latest_data.id:
            return RunStatus(
                RunState.GATED,
                gates_passed=metadata.get(KEY_GATES_PASSED) == "true",
                failed_gates=tuple(failed_gates_in(metadata)),
                **common,
            )
        return RunStatus(RunState.COMMITTED, **common)

    # ----- the lifecycle --------------------------------------------------------------

    def open(self) -> str:
        """Create the run branch from the source's current commit; return the base commit id.

        Opening again returns the same branch and the same base commit.
        """
        operations.create_branch(self.connection, self.repository, self.branch, self.source_branch, exist_ok=True)
        return self.base_commit()

    def commit(
        self, message: str | None = None, metadata: Mapping[str, Any] | None = None, *, allow_empty: bool = False
    ) -> lakefs_sdk.Commit:
        """Commit what the run staged, marked as this run's.

        If nothing is staged and an earlier attempt already committed, that
        commit is returned. If others committed on the run branch directly,
        an empty commit marks the run's state as this run's.
        """
        base = self.base_commit()
        full_metadata = {
            **operations.metadata_strings(metadata),
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
            previous = self._latest(CommitKind.DATA)
            if previous is not None:
                logger.info("nothing new staged on %s; returning the run's commit %s", self.branch, previous.id)
                return previous
            published = self._published_run_commit()
            if published is not None:
                logger.info("run %s is already published; returning its commit %s", self.run_key, published.id)
                return published
            head = operations.branch_head(self.connection, self.repository, self.branch)
            if head == base:
                raise
            # Commits made directly on the run branch (e.g. by the user's own
            # tasks) carry the run's data; mark them as this run's.
            return operations.commit(
                self.connection, self.repository, self.branch, text, full_metadata, allow_empty=True
            )

    def gate(self, gates: Sequence[Gate], *, base_ref: str | None = None, raise_on_failure: bool = True) -> GateReport:
        """Run every gate against the run's newest commit and record the report in lakeFS.

        The report goes into an empty commit on the run branch (metadata
        ``lakefs_wap.gates``), so it shows in the lakeFS UI and travels into
        the target's history when the run is published. Gates compare with
        the commit the run started from, or with ``base_ref`` when given.
        """
        run_commit = self._latest(CommitKind.DATA) or self._published_run_commit() or self._plain_commits_head()
        if run_commit is None:
            raise RunStateError(
                f"run branch '{self.branch}' in repository '{self.repository}' has no commit of this run to gate; "
                "call commit() first.",
                repository=self.repository,
                ref=self.branch,
            )
        if has_uncommitted_changes(self.connection, self.repository, self.branch):
            raise RunStateError(
                f"run branch '{self.branch}' has uncommitted changes; commit them before gating, "
                "so that what is gated is exactly what would be published.",
                repository=self.repository,
                ref=self.branch,
            )
        base = base_ref or (run_commit.metadata or {}).get(KEY_BASE) or self._merge_base_with_source()
        context = GateContext(self.connection, self.repository, run_ref=run_commit.id, base_ref=base)
        report = run_gates(context, gates)
        self._record(report, run_commit.id)
        if not report.passed and raise_on_failure:
            raise GateFailedError(
                f"quality gates failed for run '{self.run_id}' on branch '{self.branch}' "
                f"in repository '{self.repository}':\n{report.summary()}",
                repository=self.repository,
                ref=self.branch,
                results=report.results,
            )
        return report

    def _record(self, report: GateReport, run_commit: str) -> None:
        metadata = {
            **self._identity(),
            KEY_KIND: CommitKind.GATES.value,
            KEY_GATED_COMMIT: run_commit,
            **report.as_metadata(),
        }
        head = operations.get_commit(self.connection, self.repository, self.branch)
        if head.metadata == metadata:
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
        """Merge the run into the target branch in one merge; return the merge commit id.

        Publishing a run that is already published returns the existing merge
        commit. With ``require_gates`` (the default) the newest data commit
        must have a passing gate report. On a merge conflict both branches are
        left as they are and ``MergeConflictError`` names the paths.
        """
        existing = self.published_commit()
        if existing is not None:
            logger.info("run %s is already published as %s", self.run_key, existing)
            return existing
        status = self._unpublished_status()
        if status.state in (RunState.ABSENT, RunState.OPEN):
            raise RunStateError(
                f"run branch '{self.branch}' in repository '{self.repository}' is {status.state.value}: "
                "nothing of this run is committed, so there is nothing to publish.",
                repository=self.repository,
                ref=self.branch,
            )
        if require_gates and not (status.state is RunState.GATED and status.gates_passed):
            why = "its gates failed" if status.state is RunState.GATED else f"it is {status.state.value}, not gated"
            raise RunStateError(
                f"run '{self.run_id}' (branch '{self.branch}') cannot be published: {why}. Run gate() on the "
                "newest commit first, or publish(require_gates=False) to merge without gates.",
                repository=self.repository,
                ref=self.branch,
            )
        if has_uncommitted_changes(self.connection, self.repository, self.branch):
            raise RunStateError(
                f"run branch '{self.branch}' has uncommitted changes that would not be published; "
                "commit (and gate) them, or reset the branch.",
                repository=self.repository,
                ref=self.branch,
            )
        merge_metadata = {
            **operations.metadata_strings(metadata),
            **self._identity(),
            KEY_KIND: CommitKind.PUBLISH.value,
            KEY_BASE: status.base_commit or "",
            KEY_RUN_COMMIT: status.run_commit or "",
        }
        gates_commit = operations.get_commit(self.connection, self.repository, self.branch)
        for key in ("lakefs_wap.gates", KEY_GATES_PASSED):
            if key in (gates_commit.metadata or {}):
                merge_metadata[key] = (gates_commit.metadata or {})[key]
        try:
            return operations.merge(
                self.connection,
                self.repository,
                self.branch,
                self.target_branch,
                message=message or f"lakefs-wap: publish run {self.run_id}",
                metadata=merge_metadata,
                strategy=strategy,
                squash_merge=squash_merge,
            )
        except (BadInputError, ServerUnavailableError):
            # A merge whose answer was lost may have happened; a repeat then
            # reports "no changes". Either way, look before failing.
            existing = self.published_commit()
            if existing is not None:
                return existing
            raise

    def discard(self) -> bool:
        """Delete the run branch; False if it was already gone."""
        return operations.delete_branch(self.connection, self.repository, self.branch, missing_ok=True)

    def mark_failed(self, reason: str) -> str | None:
        """Keep the branch for debugging and record why the run failed; return the marker commit id.

        Whatever the run left staged is committed with the marker, so the
        branch shows exactly what the run wrote. Returns None when there is
        no branch to mark (it never opened, or was discarded).
        """
        head = self.head()
        if head is None:
            return None
        reason_text = (reason or "no reason given")[:_REASON_LIMIT]
        newest = operations.get_commit(self.connection, self.repository, self.branch)
        metadata = newest.metadata or {}
        if (
            _kind(newest) == CommitKind.FAILED.value
            and _run_key(newest) == self.run_key
            and metadata.get(KEY_REASON) == reason_text
        ):
            return str(newest.id)
        marker = operations.commit(
            self.connection,
            self.repository,
            self.branch,
            f"lakefs-wap: run {self.run_id} failed",
            {
                **self._identity(),
                KEY_KIND: CommitKind.FAILED.value,
                KEY_REASON: reason_text,
                KEY_BASE: self.base_commit(),
            },
            allow_empty=True,
        )
        return str(marker.id)

    def revert(self, message: str | None = None, metadata: Mapping[str, Any] | None = None) -> str:
        """Undo this run's publish on the target branch; return the revert commit id."""
        return revert_published_run(
            self.connection,
            self.repository,
            self.target_branch,
            self.run_key,
            message=message,
            metadata=metadata,
            search_limit=self.search_limit,
        )


def find_published_run(
    connection: LakeFSConnection,
    repository: str,
    target_branch: str,
    run_key: str | None = None,
    *,
    search_limit: int = DEFAULT_SEARCH_LIMIT,
) -> lakefs_sdk.Commit | None:
    """The merge commit that published ``run_key`` (or the newest published run when None)."""
    for commit in iter_log(connection, repository, target_branch, limit=search_limit):
        if _kind(commit) == CommitKind.PUBLISH.value and (run_key is None or _run_key(commit) == run_key):
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
    """Revert a published run on ``target_branch`` by its run key (the newest one when None).

    Reverting again returns the existing revert commit.
    """
    validate_repository(repository)
    validate_branch(target_branch, role="target branch")
    merge_commit: lakefs_sdk.Commit | None = None
    for commit in iter_log(connection, repository, target_branch, limit=search_limit):
        commit_metadata = commit.metadata or {}
        if _kind(commit) == CommitKind.REVERT.value and (
            run_key is None or commit_metadata.get(KEY_RUN_KEY) == run_key
        ):
            if run_key is not None:
                return str(commit.id)
            continue  # with no run key, the newest not-yet-reverted run is meant
        if _kind(commit) == CommitKind.PUBLISH.value and (run_key is None or _run_key(commit) == run_key):
            if run_key is None and _already_reverted(connection, repository, target_branch, commit.id, search_limit):
                continue
            merge_commit = commit
            break
    if merge_commit is None:
        which = f"run '{run_key}'" if run_key else "any run"
        raise RunStateError(
            f"no publish of {which} found in the newest {search_limit} commits of '{target_branch}' "
            f"in repository '{repository}'; nothing to revert.",
            repository=repository,
            ref=target_branch,
        )
    key = _run_key(merge_commit) or ""
    parent_number = 1 if len(merge_commit.parents) > 1 else 0
    return operations.revert(
        connection,
        repository,
        target_branch,
        merge_commit.id,
        parent_number=parent_number,
        message=message or f"lakefs-wap: revert run {(merge_commit.metadata or {}).get(KEY_RUN_ID, key)}",
        metadata={
            **operations.metadata_strings(metadata),
            KEY_KIND: CommitKind.REVERT.value,
            KEY_RUN_KEY: key,
            KEY_REVERTS: merge_commit.id,
        },
    )


def _already_reverted(
    connection: LakeFSConnection, repository: str, branch: str, merge_commit: str, search_limit: int
) -> bool:
    for commit in iter_log(connection, repository, branch, limit=search_limit):
        if commit.id == merge_commit:
            return False
        if (commit.metadata or {}).get(KEY_REVERTS) == merge_commit:
            return True
    return False
