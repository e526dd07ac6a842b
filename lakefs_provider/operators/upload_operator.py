from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lakefs_provider.operators._base import LakeFSBaseOperator
from lakefs_wap import BadInputError, objects


class LakeFSUploadOperator(LakeFSBaseOperator):
    """Write one object to ``branch`` at ``path`` (staged; commit it with LakeFSCommitOperator).

    Give either ``content`` (bytes, or text written as UTF-8) or
    ``source_file``, a local file streamed with bounded memory whatever its
    size. Returns (XCom) ``{"path", "checksum", "size_bytes", "content_type"}``.
    Uploading the same content again leaves the branch as it was, so retries
    are safe.
    """

    template_fields: Sequence[str] = ("repo", "branch", "path", "content", "source_file", "lakefs_conn_id")

    def __init__(
        self,
        *,
        repo: str,
        branch: str,
        path: str,
        content: bytes | str | None = None,
        source_file: str | None = None,
        content_type: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.repo = repo
        self.branch = branch
        self.path = path
        self.content = content
        self.source_file = source_file
        self.content_type = content_type

    def execute(self, context: Any) -> dict[str, Any]:
        if (self.content is None) == (self.source_file is None):
            raise BadInputError(
                f"task '{self.task_id}': give exactly one of content= (bytes or text) or source_file= (a local path)."
            )
        source: bytes | str | Path
        if self.source_file is not None:
            source = Path(self.source_file)
            if not source.is_file():
                raise BadInputError(f"task '{self.task_id}': source_file '{self.source_file}' is not a readable file.")
        else:
            source = self.content  # type: ignore[assignment]
        stats = objects.upload(
            self.connection, self.repo, self.branch, self.path, source, content_type=self.content_type
        )
        self.log.info("Uploaded %s bytes to '%s' on '%s' in '%s'", stats.size_bytes, self.path, self.branch, self.repo)
        return {
            "path": stats.path,
            "checksum": stats.checksum,
            "size_bytes": stats.size_bytes,
            "content_type": stats.content_type,
        }
