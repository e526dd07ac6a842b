from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lakefs_provider.operators._base import LakeFSBaseOperator
from lakefs_wap import BadInputError, objects

DEFAULT_MAX_BYTES = 1024 * 1024


class LakeFSGetObjectOperator(LakeFSBaseOperator):
    """Read a small text object at ``path`` on ``ref``; returns (XCom) its text.

    XComs are for small values: objects over ``max_bytes`` (1 MiB by default)
    fail with a pointer to LakeFSDownloadOperator instead of bloating the
    metadata database.
    """

    template_fields: Sequence[str] = ("repo", "ref", "path", "lakefs_conn_id")

    def __init__(
        self,
        *,
        repo: str,
        ref: str,
        path: str,
        max_bytes: int = DEFAULT_MAX_BYTES,
        encoding: str = "utf-8",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.repo = repo
        self.ref = ref
        self.path = path
        self.max_bytes = max_bytes
        self.encoding = encoding

    def execute(self, context: Any) -> str:
        connection = self.connection
        size = objects.stat(connection, self.repo, self.ref, self.path).size_bytes or 0
        if size > self.max_bytes:
            raise BadInputError(
                f"'{self.path}' on '{self.ref}' is {size:,} bytes, over max_bytes={self.max_bytes:,}: "
                "use LakeFSDownloadOperator to fetch it to a file, or raise max_bytes."
            )
        return objects.read_bytes(connection, self.repo, self.ref, self.path).decode(self.encoding)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """For the OpenLineage provider: the object read."""
        from lakefs_provider import openlineage as ol

        endpoint = self.connection.settings.endpoint
        return ol.operator_lineage(inputs=[ol.input_dataset(endpoint, self.repo, self.ref, self.path)])
