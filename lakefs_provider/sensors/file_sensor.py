from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lakefs_provider.sensors._base import LakeFSBaseSensor
from lakefs_provider.triggers.file_trigger import LakeFSFileTrigger
from lakefs_wap import BadInputError, NotFoundError
from lakefs_wap.watch import find_object


class LakeFSFileSensor(LakeFSBaseSensor):
    """Wait until the object ``path`` exists on ``ref``, or any object under ``prefix`` does.

    On a branch, uncommitted (staged) objects count. Returns (XCom) the path
    found. ``branch=`` is accepted for ``ref=``, as airflow-provider-lakefs
    named it. While the ref or the repository does not exist yet, the sensor
    waits for it, as airflow-provider-lakefs's did; with ``ref_exists=True`` a
    missing one fails the task at once instead.
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
        ref_exists: bool = False,
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
        self.ref_exists = ref_exists

    def check(self, context: Any) -> str | None:
        try:
            found = find_object(self.connection, self.repo, self.ref, path=self.path, prefix=self.prefix)
        except NotFoundError:
            if self.ref_exists:
                raise
            self.log.info(
                "Ref '%s' or repository '%s' does not exist (yet); waiting. Pass ref_exists=True to fail instead.",
                self.ref,
                self.repo,
            )
            return None
        if found is None:
            self.log.info("Nothing yet at %s on '%s'", self.path or f"{self.prefix}*", self.ref)
        return found

    def trigger(self, context: Any) -> LakeFSFileTrigger:
        return LakeFSFileTrigger(
            repo=self.repo,
            ref=self.ref,
            path=self.path,
            prefix=self.prefix,
            ref_exists=self.ref_exists,
            lakefs_conn_id=self.lakefs_conn_id,
            poke_interval=float(self.poke_interval),
        )


# The name airflow-provider-lakefs gave this sensor.
FileSensor = LakeFSFileSensor
