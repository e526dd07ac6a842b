from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lakefs_provider.sensors._base import LakeFSBaseSensor
from lakefs_provider.triggers.commit_trigger import LakeFSCommitTrigger
from lakefs_wap import NotFoundError, operations
from lakefs_wap.refs import iter_log
from lakefs_wap.watch import new_commit_since


class LakeFSCommitSensor(LakeFSBaseSensor):
    """Wait for a new commit on ``branch``; returns (XCom) the branch's head commit id then.

    "New" means after ``prev_commit_id`` when given, otherwise after the
    branch's head at the sensor's first poke. In ``reschedule`` mode that head
    is found again on each poke as the newest commit made before the first
    poke started (lakeFS commit times have one-second resolution; pass
    ``prev_commit_id`` where that matters). With ``prefixes``, only commits
    touching those prefixes count. While the branch or the repository does not
    exist yet, the sensor waits for it, as airflow-provider-lakefs's did; with
    ``branch_exists=True`` a missing one fails the task at once instead.
    """

    template_fields: Sequence[str] = ("repo", "branch", "prev_commit_id", "prefixes", "lakefs_conn_id")

    def __init__(
        self,
        *,
        repo: str,
        branch: str,
        prev_commit_id: str | None = None,
        prefixes: Sequence[str] | None = None,
        branch_exists: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.repo = repo
        self.branch = branch
        self.prev_commit_id = prev_commit_id
        self.prefixes = prefixes
        self.branch_exists = branch_exists
        self._first_head: str | None = None

    def _baseline(self, context: Any) -> str | None:
        """The commit to compare against, or None on the first poke (which records it)."""
        if self.prev_commit_id:
            return self.prev_commit_id
        if self.reschedule:
            # Each poke is a fresh process that remembers nothing: find the
            # head as of the first poke, which Airflow records for us.
            first_poke = context["ti"].get_first_reschedule_date(context)
        elif self._first_head is not None:
            return self._first_head
        else:
            first_poke = None
        if first_poke is not None:
            cutoff = first_poke.timestamp()
            for commit in iter_log(self.connection, self.repo, self.branch):
                if commit.creation_date <= cutoff:
                    return str(commit.id)
        self._first_head = operations.branch_head(self.connection, self.repo, self.branch)
        self.log.info("Waiting for commits on '%s' after its head %s", self.branch, self._first_head)
        return None

    def check(self, context: Any) -> str | None:
        try:
            baseline = self._baseline(context)
        except NotFoundError:
            if self.branch_exists:
                raise
            self._log_missing()
            return None
        if baseline is None:
            return None
        try:
            return new_commit_since(self.connection, self.repo, self.branch, baseline, self.prefixes)
        except NotFoundError:
            if self.branch_exists:
                raise
            self._log_missing()  # deleted since the first poke: wait for it to come back
            return None

    def _log_missing(self) -> None:
        self.log.info(
            "Branch '%s' or repository '%s' does not exist (yet); waiting. Pass branch_exists=True to fail instead.",
            self.branch,
            self.repo,
        )

    def trigger(self, context: Any) -> LakeFSCommitTrigger:
        # No baseline means the branch did not exist at the first poke: the
        # trigger takes the head it first sees, as the first poke would have.
        return LakeFSCommitTrigger(
            repo=self.repo,
            branch=self.branch,
            prev_commit_id=self.prev_commit_id or self._first_head,
            branch_exists=self.branch_exists,
            prefixes=self.prefixes,
            lakefs_conn_id=self.lakefs_conn_id,
            poke_interval=float(self.poke_interval),
        )


# The name airflow-provider-lakefs gave this sensor.
CommitSensor = LakeFSCommitSensor
