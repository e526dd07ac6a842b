"""Why a run step refuses, in words that say what to do next.

Each function builds the error one refusal raises; the lifecycle steps in
``run_branch`` decide when. Keeping the wording here keeps every message about
a run alike, and the steps short.
"""

from __future__ import annotations

import lakefs_sdk

from lakefs_wap.errors import BadInputError, GateFailedError, RunStateError
from lakefs_wap.gates import GateReport
from lakefs_wap.keys import RESERVED_PREFIX, CommitKind
from lakefs_wap.run_view import RunView
from lakefs_wap.text import first_and_more
from lakefs_wap.verdict import Verdict


def _first_line(commit: lakefs_sdk.Commit, default: str = "") -> str:
    return commit.message.splitlines()[0] if commit.message else default


def _cannot_publish(run: RunView, why: str) -> RunStateError:
    return RunStateError(
        f"run '{run.run_id}' (branch '{run.branch}') cannot be published: {why}",
        repository=run.repository,
        ref=run.branch,
    )


def reserved_metadata(run: RunView, reserved: list[str]) -> BadInputError:
    return BadInputError(
        f"metadata keys starting with '{RESERVED_PREFIX}' are lakefs-wap's own record of the run and cannot "
        f"be set by hand: {reserved}. Rename them.",
        repository=run.repository,
        ref=run.branch,
    )


def gate_failure(run: RunView, report: GateReport) -> GateFailedError:
    """The error a failed ``report`` is raised as, naming the run, branch and every gate's verdict."""
    return GateFailedError(
        f"quality gates failed for run '{run.run_id}' on branch '{run.branch}' "
        f"in repository '{run.repository}':\n{report.summary()}",
        repository=run.repository,
        ref=run.branch,
        results=report.results,
    )


def gates_failed(run: RunView, verdict: Verdict) -> RunStateError:
    return _cannot_publish(
        run,
        f"its gates failed ({'; '.join(verdict.failed) or 'see the gates commit'}). Fix the data and "
        "re-run, or publish(require_gates=False) to merge without passing gates.",
    )


def not_gated(run: RunView, head: lakefs_sdk.Commit) -> RunStateError:
    what = "it was marked failed" if run.is_mine(head, CommitKind.FAILED) else "it is not gated"
    return _cannot_publish(
        run,
        f"{what}. Run gate() on the newest commit first, or publish(require_gates=False) to merge without gates.",
    )


def moved_after_verdict(run: RunView, head: lakefs_sdk.Commit, after: list[str] | None = None) -> RunStateError:
    """The branch gained commits (``after``, newest first) or data with the verdict itself."""
    named = after if after is not None else [f"{head.id[:12]} (data committed with the verdict)"]
    return _cannot_publish(
        run,
        "the branch moved after the gates' verdict, and these commits were not gated: "
        f"{first_and_more(named, show=str)}. Run gate() again so they are judged too, "
        "or reset the branch to the gated commit.",
    )


def describe_commit(commit: lakefs_sdk.Commit) -> str:
    """``<short id> (<first line of its message>)``, as refusals list commits."""
    return f"{commit.id[:12]} ({_first_line(commit)})"


def published_and_reverted(run: RunView, gated: str, merge: str) -> RunStateError:
    return RunStateError(
        f"run '{run.run_id}': its gated commit {gated[:12]} was published as {merge[:12]} and "
        "reverted since; merging the same commit again would change nothing. To publish this data again, "
        "discard the run branch and re-run, so the data is written and gated anew.",
        repository=run.repository,
        ref=run.branch,
    )


def nothing_to_publish(run: RunView) -> RunStateError:
    return RunStateError(
        f"run branch '{run.branch}' does not exist in repository '{run.repository}' and the run has no "
        "recorded publish: nothing to publish. Open, write, commit and gate the run first.",
        repository=run.repository,
        ref=run.branch,
    )


def unpublished_commits(run: RunView, head: lakefs_sdk.Commit) -> RunStateError:
    return RunStateError(
        f"run branch '{run.branch}' in repository '{run.repository}' holds commits not on '{run.target_branch}' "
        f"(head {head.id[:12]}: {_first_line(head, 'no message')}); it is kept. "
        "Gate and publish them, or discard() the branch deliberately.",
        repository=run.repository,
        ref=run.branch,
    )


UNCOMMITTED_BEFORE_GATING = "commit them before gating, so that what is gated is exactly what would be published."
UNCOMMITTED_AFTER_VERDICT = (
    "they came after the gates' verdict and would not be published. Commit them and gate again, or reset the branch."
)


def uncommitted_on_discard(run: RunView) -> str:
    return (
        f"they are not on '{run.target_branch}', so the branch is kept. "
        "Commit, gate and publish them, or discard() the branch deliberately."
    )


__all__ = [
    "UNCOMMITTED_AFTER_VERDICT",
    "UNCOMMITTED_BEFORE_GATING",
    "describe_commit",
    "gate_failure",
    "gates_failed",
    "moved_after_verdict",
    "not_gated",
    "nothing_to_publish",
    "published_and_reverted",
    "reserved_metadata",
    "uncommitted_on_discard",
    "unpublished_commits",
]
