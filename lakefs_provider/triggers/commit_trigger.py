from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from lakefs_provider.triggers.base import LakeFSPollingTrigger
from lakefs_provider.triggers.shared_poll import shared_call
from lakefs_wap import ConnectionSettings, LakeFSConnection
from lakefs_wap.names import validate_prefixes, validate_ref
from lakefs_wap.operations import branch_head
from lakefs_wap.watch import new_commit_since


class LakeFSCommitTrigger(LakeFSPollingTrigger):
    """Fires with ``branch``'s head once it has commits after ``prev_commit_id``
    (only commits touching ``prefixes`` count, when given).

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
        prev_commit_id: str,
        prefixes: Sequence[str] | None = None,
        lakefs_conn_id: str = "lakefs_default",
        poke_interval: float = 60.0,
    ) -> None:
        super().__init__(lakefs_conn_id=lakefs_conn_id, poke_interval=poke_interval)
        self.repo = repo
        self.branch = branch
        self.prev_commit_id = prev_commit_id
        self.prefixes = list(validate_prefixes(prefixes, what="prefixes")) if prefixes else None
        self._head_looked_at: str | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "repo": self.repo,
                "branch": self.branch,
                "prev_commit_id": self.prev_commit_id,
                "prefixes": self.prefixes,
                "lakefs_conn_id": self.lakefs_conn_id,
                "poke_interval": self.poke_interval,
            },
        )

    def check(self, connection: LakeFSConnection) -> str | None:
        return new_commit_since(connection, self.repo, self.branch, self.prev_commit_id, self.prefixes)

    def validate(self) -> None:
        validate_ref(self.prev_commit_id, role="baseline commit")

    def poll_key(self) -> Hashable:
        return ("branch_head", self.repo, self.branch)

    def poll(self, connection: LakeFSConnection) -> str:
        return branch_head(connection, self.repo, self.branch)

    async def found(self, settings: ConnectionSettings, polled: Any) -> str | None:
        if polled in (self.prev_commit_id, self._head_looked_at):
            return None  # the same head gives the same answer: the log behind a commit never changes
        self._head_looked_at = polled
        same_question = ("new_commit_since", self.repo, self.branch, self.prev_commit_id, tuple(self.prefixes or ()))
        return await shared_call(settings, same_question, self.check)

    def describe(self) -> str:
        scope = f" touching {self.prefixes}" if self.prefixes else ""
        return f"commits on '{self.branch}' in '{self.repo}' after {self.prev_commit_id[:12]}{scope}"
