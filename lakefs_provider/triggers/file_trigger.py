from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from lakefs_provider.triggers.base import LakeFSPollingTrigger
from lakefs_wap import LakeFSConnection, NotFoundError
from lakefs_wap.watch import find_object


class LakeFSFileTrigger(LakeFSPollingTrigger):
    """Fires with the path found when ``path`` exists on ``ref``, or any object under ``prefix`` does.

    It sees staged objects, which do not move the branch head, so it cannot
    wait on the head as the commit trigger does: triggers looking for the same
    path (or prefix) on the same ref share one lookup per interval. With
    ``ref_exists=False`` a missing ref or repository is waited for.
    """

    def __init__(
        self,
        *,
        repo: str,
        ref: str,
        path: str | None = None,
        prefix: str | None = None,
        ref_exists: bool = True,
        lakefs_conn_id: str = "lakefs_default",
        poke_interval: float = 60.0,
    ) -> None:
        super().__init__(lakefs_conn_id=lakefs_conn_id, poke_interval=poke_interval)
        self.repo = repo
        self.ref = ref
        self.path = path
        self.prefix = prefix
        self.ref_exists = ref_exists

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "repo": self.repo,
                "ref": self.ref,
                "path": self.path,
                "prefix": self.prefix,
                "ref_exists": self.ref_exists,
                "lakefs_conn_id": self.lakefs_conn_id,
                "poke_interval": self.poke_interval,
            },
        )

    def check(self, connection: LakeFSConnection) -> str | None:
        try:
            return find_object(connection, self.repo, self.ref, path=self.path, prefix=self.prefix)
        except NotFoundError:
            if self.ref_exists:
                raise
            return None

    def poll_key(self) -> Hashable:
        # A missing ref is an answer to one poll and an error to the other: they cannot share.
        kind = "find_object" if self.ref_exists else "find_object_if_ref"
        return (kind, self.repo, self.ref, self.path, self.prefix)

    def poll(self, connection: LakeFSConnection) -> str | None:
        return self.check(connection)

    def describe(self) -> str:
        what = f"'{self.path}'" if self.path else f"objects under '{self.prefix}'"
        return f"{what} on '{self.ref}' in '{self.repo}'"
