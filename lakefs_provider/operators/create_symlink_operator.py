from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lakefs_provider.hooks.lakefs_hook import create_symlink_file
from lakefs_provider.operators._base import LakeFSBaseOperator


class LakeFSCreateSymlinkOperator(LakeFSBaseOperator):
    """Write Hive-style symlink manifests for ``branch`` to the repository's storage namespace.

    Engines that read tables through symlink manifests (Hive, Athena, Presto)
    then see the branch's objects. With ``location`` (a path prefix), only
    that part of the branch is covered. Returns (XCom) where lakeFS wrote the
    manifests. Writing them again overwrites them, so retries are safe.
    """

    template_fields: Sequence[str] = ("repo", "branch", "location", "lakefs_conn_id")

    def __init__(self, *, repo: str, branch: str, location: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.repo = repo
        self.branch = branch
        self.location = location

    def execute(self, context: Any) -> str:
        written_to = create_symlink_file(self.connection, self.repo, self.branch, self.location)
        self.log.info("Symlink files of '%s' in '%s' written to %s", self.branch, self.repo, written_to)
        return written_to
