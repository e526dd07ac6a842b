"""Where a run stands, derived from its branch head and its records in lakeFS.

``read_status`` is the one place that turns what lakeFS holds into a
``RunState``: the head commit's ``lakefs_wap.kind`` says how far the run got
on its branch, the records say what reached the target, and a passed verdict
whose merge landed without a record still counts as published.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

import lakefs_sdk

from lakefs_wap.keys import KEY_BASE, KEY_REASON, KEY_RUN_COMMIT, CommitKind
from lakefs_wap.outcomes import RunOutcomes, live_publish
from lakefs_wap.record import Outcome, RunRecord
from lakefs_wap.verdict import Verdict, recorded_gates


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
    """A run's state and the commits and records that show it (see ``RunBranch.status``)."""

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


OUTCOME_STATES = {
    Outcome.PUBLISHED: RunState.PUBLISHED,
    Outcome.UNCHANGED: RunState.UNCHANGED,
    Outcome.REVERTED: RunState.REVERTED,
}


def read_status(outcomes: RunOutcomes) -> RunStatus:
    """The run's status: two reads (its records and its head), more only where the head asks."""
    run = outcomes.run
    records = tuple(outcomes.read())
    head = run.head_commit()
    live = live_publish(records)
    status = RunStatus(
        RunState.ABSENT,
        branch=run.branch,
        run_key=run.run_key,
        head_commit=str(head.id) if head is not None else None,
        merge_commit=live.commit_id if live is not None else None,
        publishes=tuple(r for r in records if r.outcome is Outcome.PUBLISHED),
        records=records,
    )
    if head is None:
        return replace(status, state=OUTCOME_STATES[records[-1].outcome]) if records else status
    verdict = Verdict.recorded_by(head, run.run_key)
    if verdict is not None:
        return _judged(outcomes, head, verdict, status)
    metadata = head.metadata or {}
    if run.is_mine(head, CommitKind.FAILED):
        return replace(
            status,
            state=RunState.FAILED,
            base_commit=metadata.get(KEY_BASE),
            run_commit=metadata.get(KEY_RUN_COMMIT),
            reason=metadata.get(KEY_REASON),
            failed_gates=tuple(g.as_text() for g in recorded_gates(metadata) or () if not g.passed),
        )
    if run.is_mine(head, CommitKind.DATA):
        return replace(status, state=RunState.COMMITTED, base_commit=metadata.get(KEY_BASE), run_commit=str(head.id))
    return _unmarked(outcomes, head, status)


def _judged(outcomes: RunOutcomes, head: lakefs_sdk.Commit, verdict: Verdict, status: RunStatus) -> RunStatus:
    """The head is a verdict: gated, or published / unchanged if the verdict's outcome is known."""
    gated = verdict.gated_commit
    status = replace(status, base_commit=verdict.base_commit or None, run_commit=gated)
    records = status.records
    if any(r.outcome is not Outcome.REVERTED and r.is_for(gated) for r in records):
        return replace(status, state=OUTCOME_STATES[records[-1].outcome])
    landed = outcomes.find_landed_publish(gated, int(head.creation_date)) if verdict.passed else None
    if landed is not None:  # merged, its record lost: published all the same
        return replace(status, state=RunState.PUBLISHED, merge_commit=landed)
    return replace(status, state=RunState.GATED, gates_passed=verdict.passed, failed_gates=verdict.failed)


def _unmarked(outcomes: RunOutcomes, head: lakefs_sdk.Commit, status: RunStatus) -> RunStatus:
    """The head is not the run's own mark: the fork point, or commits the user made directly."""
    base = outcomes.run.merge_base(outcomes.run.source_branch)
    status = replace(status, base_commit=base)
    if head.id != base:  # commits of the user's own, not yet marked by commit()
        return replace(status, state=RunState.COMMITTED, run_commit=str(head.id))
    if status.records:  # reopened after an outcome, nothing new on it yet
        return replace(status, state=OUTCOME_STATES[status.records[-1].outcome])
    return replace(status, state=RunState.OPEN)


__all__ = ["OUTCOME_STATES", "RunState", "RunStatus", "read_status"]
