from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lakefs_provider.triggers.base import LakeFSPollingTrigger
from lakefs_wap import LakeFSConnection
from lakefs_wap.names import validate_prefixes
from lakefs_wap.watch import new_commit_since


class LakeFSCommitTrigger(LakeFSPollingTrigger):
    """Fires with ``branch``'s head once it has commits after ``prev_commit_id``
    (only commits touching ``prefixes`` count, when given)."""

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

    def describe(self) -> str:
        scope = f" touching {self.prefixes}" if self.prefixes else ""
        return f"commits on '{self.branch}' in '{self.repo}' after {self.prev_commit_id[:12]}{scope}"
