"""OpenLineage datasets for lakeFS data, built only when the OpenLineage provider asks for them.

Nothing here is imported by the operators until Airflow's OpenLineage listener
calls their ``get_openlineage_facets_on_*`` methods, so a deployment without
``apache-airflow-providers-openlineage`` pays nothing and imports nothing of it.

One naming rule, used by the operators and by the ``lakefs://`` asset converter:

- namespace: ``lakefs://<host>[:<port>][<path>]`` of the lakeFS endpoint
  (``https://lakefs.example.com`` gives ``lakefs://lakefs.example.com``), so the
  same data read over http or https is one dataset, and two lakeFS servers never
  share a name;
- name: ``<repository>/<ref>/<path>``, or ``<repository>/<ref>`` for a whole branch
  (a merge or a revert changes the branch, whatever the paths);
- version: the lakeFS commit id the data is at, where the operator knows it.

The gates' verdict becomes a ``dataQualityAssertions`` facet of the data they judged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol
from urllib.parse import urlsplit


class JudgedGate(Protocol):
    """One gate's result: a ``GateResult`` or a recorded ``lakefs_wap.RecordedGate``."""

    @property
    def name(self) -> str: ...

    @property
    def passed(self) -> bool: ...


NAMESPACE_SCHEME = "lakefs"


def namespace(endpoint: str) -> str:
    """The OpenLineage namespace of a lakeFS server, from its endpoint URL (credentials never included)."""
    parts = urlsplit(endpoint.strip().rstrip("/"))
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{NAMESPACE_SCHEME}://{host}{port}{parts.path}"


def dataset_name(repository: str, ref: str, path: str | None = None) -> str:
    return f"{repository}/{ref}/{path}" if path else f"{repository}/{ref}"


def _facets(version: str | None) -> dict[str, Any]:
    from openlineage.client.facet_v2 import dataset_version_dataset

    return {"version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=version)} if version else {}


def dataset(endpoint: str, repository: str, ref: str, path: str | None = None, *, version: str | None = None) -> Any:
    """A plain dataset (what the asset converter returns)."""
    from openlineage.client.event_v2 import Dataset

    return Dataset(namespace=namespace(endpoint), name=dataset_name(repository, ref, path), facets=_facets(version))


def input_dataset(
    endpoint: str,
    repository: str,
    ref: str,
    path: str | None = None,
    *,
    version: str | None = None,
    gates: Iterable[JudgedGate] | None = None,
) -> Any:
    """A dataset a task read; ``gates`` are the gates' results on it (a ``GateReport``'s results or a
    recorded ``Verdict``'s gates)."""
    from openlineage.client.event_v2 import InputDataset

    assertions = gate_assertions(gates)
    return InputDataset(
        namespace=namespace(endpoint),
        name=dataset_name(repository, ref, path),
        facets=_facets(version),
        inputFacets={"dataQualityAssertions": assertions} if assertions is not None else {},
    )


def output_dataset(
    endpoint: str, repository: str, ref: str, path: str | None = None, *, version: str | None = None
) -> Any:
    from openlineage.client.event_v2 import OutputDataset

    return OutputDataset(
        namespace=namespace(endpoint), name=dataset_name(repository, ref, path), facets=_facets(version)
    )


def gate_assertions(gates: Iterable[JudgedGate] | None) -> Any:
    """The gates' results as a data-quality assertions facet: one assertion per gate, named after it;
    None gives no facet."""
    if gates is None:
        return None
    from openlineage.client.facet_v2 import data_quality_assertions_dataset as dq

    return dq.DataQualityAssertionsDatasetFacet(
        assertions=[dq.Assertion(assertion=gate.name, success=gate.passed) for gate in gates]
    )


def operator_lineage(inputs: Iterable[Any] = (), outputs: Iterable[Any] = ()) -> Any:
    from airflow.providers.openlineage.extractors import OperatorLineage

    return OperatorLineage(inputs=list(inputs), outputs=list(outputs))


def default_endpoint() -> str:
    """The endpoint of the ``lakefs_default`` connection, read without contacting lakeFS."""
    from lakefs_provider.hooks.lakefs_hook import LakeFSHook, settings_from_connection

    connection = LakeFSHook.get_connection(LakeFSHook.default_conn_name)
    return settings_from_connection(connection).endpoint
