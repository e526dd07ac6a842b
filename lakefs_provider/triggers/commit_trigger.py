from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from lakefs_provider.triggers.base import LakeFSPollingTrigger
from lakefs_provider.triggers.shared_poll import shared_call
from lakefs_wap import BadInputError, ConnectionSettings, LakeFSConnection, NotFoundError
from lakefs_wap.names import validate_prefixes, validate_ref
from lakefs_wap.operations import branch_head
from lakefs_wap.watch import new_commit_since


class LakeFSCommitTrigger(LakeFSPollingTrigger):
    """Fires with ``branch``'s head once it has commits after ``prev_commit_id``
    (only commits touching ``prefixes`` count, when given).

    With ``branch_exists=False`` a missing branch or repository is waited for,
    and without ``prev_commit_id`` the first head seen is the baseline.

    Every commit trigger on the branch shares one head read per interval; a
    trigger looks further (the full check, log included) only when the head
    moves to one it has not looked at, and triggers asking the same question
    (baseline and prefixes) at that moment share that look too.
    """

    def __init__(
        self,
        *,
        repo: str,
        branch: str,
        prev_commit_id: str | None,
        prefixes: Sequence[str] | None = None,
        branch_exists: bool = True,
        lakefs_conn_id: str = "lakefs_default",
        poke_interval: float = 60.0,
    ) -> None:
        super().__init__(lakefs_conn_id=lakefs_conn_id, poke_interval=poke_interval)
        self.repo = repo
        self.branch = branch
        self.prev_commit_id = prev_commit_id
        self.prefixes = list(validate_prefixes(prefixes, what="prefixes")) if prefixes else None
        self.branch_exists = branch_exists
        self._head_looked_at: str | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "repo": self.repo,
                "branch": self.branch,
                "prev_commit_id": self.prev_commit_id,
                "prefixes": self.prefixes,
                "branch_exists": self.branch_exists,
                "lakefs_conn_id": self.lakefs_conn_id,
                "poke_interval": self.poke_interval,
            },
        )

    def check(self, connection: LakeFSConnection) -> str | None:
        if self.prev_commit_id is None:
            return None
        return new_commit_since(connection, self.repo, self.branch, self.prev_commit_id, self.prefixes)

    def validate(self) -> None:
        if self.prev_commit_id is not None:
            validate_ref(self.prev_commit_id, role="baseline commit")
        elif self.branch_exists:
            raise BadInputError(
                f"commit trigger on '{self.branch}' in '{self.repo}': give prev_commit_id, "
                "or branch_exists=False to take the first head seen as the baseline."
            )

    def poll_key(self) -> Hashable:
        # A missing branch is an answer to one poll and an error to the other: they cannot share.
        return (
            ("branch_head", self.repo, self.branch) if self.branch_exists else ("head_if_any", self.repo, self.branch)
        )

    def poll(self, connection: LakeFSConnection) -> str | None:
        """The head; None while the branch or repository is missing, if that is waited for."""
        try:
            return branch_head(connection, self.repo, self.branch)
        except NotFoundError:
            if self.branch_exists:
                raise
            return None

    async def found(self, settings: ConnectionSettings, polled: Any) -> str | None:
        if polled is None:
            return None
        if self.prev_commit_id is None:
            # The branch has just appeared: its head now is the baseline. Kept in
            # memory only; a triggerer restart takes the head it sees then.
            self.prev_commit_id = polled
            return None
        if polled in (self.prev_commit_id, self._head_looked_at):
            return None  # the same head gives the same answer: the log behind a commit never changes
        self._head_looked_at = polled
        same_question = ("new_commit_since", self.repo, self.branch, self.prev_commit_id, tuple(self.prefixes or ()))
        return await shared_call(settings, same_question, self.check)

    def describe(self) -> str:
        scope = f" touching {self.prefixes}" if self.prefixes else ""
        after = self.prev_commit_id[:12] if self.prev_commit_id else "its head once it exists"
        return f"commits on '{self.branch}' in '{self.repo}' after {after}{scope}"
