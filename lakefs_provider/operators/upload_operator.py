from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, cast

from lakefs_provider.hooks.lakefs_hook import refuse_path_as_content
from lakefs_provider.operators._base import LakeFSBaseOperator
from lakefs_wap import BadInputError, objects


class LakeFSUploadOperator(LakeFSBaseOperator):
    """Write one object to ``branch`` at ``path`` (staged; commit it with LakeFSCommitOperator).

    Give either ``content`` (bytes, text written as UTF-8, or a binary file
    object) or ``source_file``, a local file streamed with bounded memory
    whatever its size. Returns (XCom) the object's physical address, as
    airflow-provider-lakefs did, and pushes ``{"path", "checksum",
    "size_bytes", "content_type", "physical_address"}`` under the XCom key
    ``stats``. Uploading the same content again leaves the branch as it was,
    so retries are safe.
    """

    STATS_KEY = "stats"

    template_fields: Sequence[str] = ("repo", "branch", "path", "content", "source_file", "lakefs_conn_id")

    def __init__(
        self,
        *,
        repo: str,
        branch: str,
        path: str,
        content: bytes | str | IO[bytes] | None = None,
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

    def execute(self, context: Any) -> str:
        if (self.content is None) == (self.source_file is None):
            raise BadInputError(
                f"task '{self.task_id}': give exactly one of content= (bytes, text or a binary file object) "
                "or source_file= (a local path)."
            )
        source: bytes | str | IO[bytes] | Path
        if self.source_file is not None:
            source = Path(self.source_file)
            if not source.is_file():
                raise BadInputError(f"task '{self.task_id}': source_file '{self.source_file}' is not a readable file.")
        elif isinstance(self.content, (bytes, str)):
            refuse_path_as_content(self.content, where=f"task '{self.task_id}'")
            source = self.content
        elif not callable(getattr(self.content, "read", None)):
            raise BadInputError(
                f"task '{self.task_id}': cannot upload content of type {type(self.content).__name__}: give bytes, "
                "text or a binary file object. With render_template_as_native_obj=True a rendered string that "
                "looks like JSON, a list or a number arrives as that value: serialize it (json.dumps) or give bytes."
            )
        else:
            stream = cast("IO[bytes]", self.content)  # not None: checked above
            if stream.seekable():
                # A retry in the same process gets the stream the first try read to its end.
                stream.seek(0)
            source = stream
        stats = objects.upload(
            self.connection, self.repo, self.branch, self.path, source, content_type=self.content_type
        )
        self.log.info("Uploaded %s bytes to '%s' on '%s' in '%s'", stats.size_bytes, self.path, self.branch, self.repo)
        context["ti"].xcom_push(
            key=self.STATS_KEY,
            value={
                "path": stats.path,
                "checksum": stats.checksum,
                "size_bytes": stats.size_bytes,
                "content_type": stats.content_type,
                "physical_address": stats.physical_address,
            },
        )
        return str(stats.physical_address)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """For the OpenLineage provider: the object written (uncommitted, so without a version)."""
        from lakefs_provider import openlineage as ol

        endpoint = self.connection.settings.endpoint
        return ol.operator_lineage(outputs=[ol.output_dataset(endpoint, self.repo, self.branch, self.path)])
