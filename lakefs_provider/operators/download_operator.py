from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lakefs_provider.operators._base import LakeFSBaseOperator
from lakefs_wap import objects


class LakeFSDownloadOperator(LakeFSBaseOperator):
    """Download the object at ``path`` on ``ref`` to the local file ``destination``.

    Streams with bounded memory and writes the file atomically (a failed
    download leaves no partial file). Returns (XCom) the destination path.
    """

    template_fields: Sequence[str] = ("repo", "ref", "path", "destination", "lakefs_conn_id")

    def __init__(self, *, repo: str, ref: str, path: str, destination: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.repo = repo
        self.ref = ref
        self.path = path
        self.destination = destination

    def execute(self, context: Any) -> str:
        written = objects.download(self.connection, self.repo, self.ref, self.path, self.destination)
        self.log.info("Downloaded '%s' from '%s' (%d bytes) to %s", self.path, self.ref, written, self.destination)
        return self.destination

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """For the OpenLineage provider: the object read."""
        from lakefs_provider import openlineage as ol

        endpoint = self.connection.settings.endpoint
        return ol.operator_lineage(inputs=[ol.input_dataset(endpoint, self.repo, self.ref, self.path)])
