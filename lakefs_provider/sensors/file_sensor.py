from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lakefs_provider.sensors._base import LakeFSBaseSensor
from lakefs_provider.triggers.file_trigger import LakeFSFileTrigger
from lakefs_wap import BadInputError
from lakefs_wap.watch import find_object


class LakeFSFileSensor(LakeFSBaseSensor):
    """Wait until the object ``path`` exists on ``ref``, or any object under ``prefix`` does.

    On a branch, uncommitted (staged) objects count. Returns (XCom) the path
    found. ``branch=`` is accepted for ``ref=``, as airflow-provider-lakefs
    named it.
    """

    template_fields: Sequence[str] = ("repo", "ref", "path", "prefix", "lakefs_conn_id")

    def __init__(
        self,
        *,
        repo: str,
        ref: str | None = None,
        path: str | None = None,
        prefix: str | None = None,
        branch: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if ref is not None and branch is not None and ref != branch:
            raise BadInputError(f"task '{self.task_id}': give ref= or branch= (its old name), not both.")
        if (path is None) == (prefix is None):
            raise BadInputError(f"task '{self.task_id}': give exactly one of path= or prefix=.")
        self.repo = repo
        self.ref = ref if ref is not None else (branch or "main")
        self.path = path
        self.prefix = prefix

    def check(self, context: Any) -> str | None:
        found = find_object(self.connection, self.repo, self.ref, path=self.path, prefix=self.prefix)
        if found is None:
            self.log.info("Nothing yet at %s on '%s'", self.path or f"{self.prefix}*", self.ref)
        return found

    def trigger(self, context: Any) -> LakeFSFileTrigger:
        return LakeFSFileTrigger(
            repo=self.repo,
            ref=self.ref,
            path=self.path,
            prefix=self.prefix,
            lakefs_conn_id=self.lakefs_conn_id,
            poke_interval=float(self.poke_interval),
        )


# The name airflow-provider-lakefs gave this sensor.
FileSensor = LakeFSFileSensor
