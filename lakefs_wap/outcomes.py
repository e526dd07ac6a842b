"""A run's outcomes on its target: what is recorded, what landed, and what to answer a repeat with.

The records themselves are tags (``record``); this module keeps the
bookkeeping one run's steps share: recording an outcome once, finding a merge
whose answer was lost, and turning a repeated step into the recorded result.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import lakefs_sdk

from lakefs_wap import refusals
from lakefs_wap.keys import KEY_GATED_COMMIT, CommitKind
from lakefs_wap.record import (
    Outcome,
    RunRecord,
    iter_commits_since,
    next_sequence,
    read_records,
    record_tag,
    write_record,
)
from lakefs_wap.run_view import RunView
from lakefs_wap.verdict import Verdict

logger = logging.getLogger("lakefs_wap.run_branch")


def live_publish(records: Sequence[RunRecord]) -> RunRecord | None:
    """The newest publish not followed by a revert."""
    live: RunRecord | None = None
    for record in records:
        if record.outcome is Outcome.PUBLISHED:
            live = record
        elif record.outcome is Outcome.REVERTED:
            live = None
    return live


def outcome_for(gated: str, records: Sequence[RunRecord]) -> RunRecord | None:
    """The newest publish or unchanged record of this very gated commit, reverted or not."""
    for record in reversed(records):
        if record.outcome is not Outcome.REVERTED and record.is_for(gated):
            return record
    return None


class RunOutcomes:
    """The recorded outcomes of the run ``run`` views."""

    def __init__(self, run: RunView) -> None:
        self.run = run

    def read(self) -> list[RunRecord]:
        """Every recorded outcome, oldest first (one request)."""
        return read_records(self.run.connection, self.run.repository, self.run.run_key)

    def record(self, outcome: Outcome, sequence: int, gated: str, commit_id: str) -> str:
        """Record an outcome of the gated commit, pointing at ``commit_id``; return ``commit_id``."""
        tag = record_tag(self.run.run_key, sequence, outcome, gated)
        write_record(self.run.connection, self.run.repository, tag, commit_id)
        return commit_id

    def find_landed_publish(self, gated: str, since: int) -> str | None:
        """The merge of ``gated`` into the target made since ``since`` (server time), if any:
        a publish whose answer or record was lost. Walks only the target's commits since then."""
        run = self.run
        for commit in iter_commits_since(run.connection, run.repository, run.target_branch, since):
            if run.is_mine(commit, CommitKind.PUBLISH) and (commit.metadata or {}).get(KEY_GATED_COMMIT) == gated:
                return str(commit.id)
        return None

    def recover_unrecorded_publish(self, head: lakefs_sdk.Commit, records: list[RunRecord]) -> str | None:
        """For a passed verdict with no record: the merge an interrupted publish made, recorded now."""
        verdict = Verdict.recorded_by(head, self.run.run_key)
        if verdict is None or not verdict.passed or outcome_for(verdict.gated_commit, records) is not None:
            return None
        found = self.find_landed_publish(verdict.gated_commit, int(head.creation_date))
        if found is not None:
            self.record(Outcome.PUBLISHED, next_sequence(records), verdict.gated_commit, found)
            logger.warning("run %s was merged as %s but not recorded; recorded it now", self.run.run_key, found)
        return found

    def record_unchanged(self, gated: str, records: list[RunRecord] | None = None) -> str:
        """Record that the gated commit changes nothing on the target; return the target's head."""
        records = self.read() if records is None else records
        if self.earlier_result(gated, records) is None:
            self.record(Outcome.UNCHANGED, next_sequence(records), gated, gated)
        target_head = self.run.target_head()
        logger.info(
            "run %s changed nothing on '%s'; recorded as unchanged, no merge (target at %s)",
            self.run.run_key,
            self.run.target_branch,
            target_head,
        )
        return target_head

    def earlier_result(self, gated: str, records: list[RunRecord]) -> str | None:
        """What an earlier publish of this very gated commit returned, if one is recorded.

        A publish that was reverted since cannot be repeated by merging the same
        commit (lakeFS sees nothing new in it); that is refused with what to do.
        """
        record = outcome_for(gated, records)
        if record is None:
            return None
        reverted = any(r.outcome is Outcome.REVERTED and r.sequence > record.sequence for r in records)
        if reverted and record.outcome is Outcome.PUBLISHED:
            raise refusals.published_and_reverted(self.run, gated, record.commit_id)
        if record.outcome is Outcome.PUBLISHED:
            return record.commit_id
        return self.run.target_head()

    def latest_result(self, records: list[RunRecord] | None = None) -> str | None:
        """What the newest recorded outcome (not a revert) returned, or None when there is none."""
        kept = [r for r in (self.read() if records is None else records) if r.outcome is not Outcome.REVERTED]
        if not kept:
            return None
        if kept[-1].outcome is Outcome.PUBLISHED:
            return kept[-1].commit_id
        return self.run.target_head()


__all__ = ["RunOutcomes", "live_publish", "outcome_for"]
