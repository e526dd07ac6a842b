"""OpenLineage: the datasets the operators report, captured from real Airflow runs through the
OpenLineage client's file transport, and no cost or import error without the OpenLineage provider."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from lakefs_provider.openlineage import dataset_name, namespace
from tests.airflow.conftest import TEST_DAGS, load_dag
from tests.conftest import AIRFLOW_DAGS_FOLDER

PROVIDER_MODULES = [
    "lakefs_provider.get_provider_info",
    "lakefs_provider.assets.lakefs",
    "lakefs_provider.assets.events",
    "lakefs_provider.openlineage",
    "lakefs_provider.run_branch_group",
    "lakefs_provider.operators.merge_operator",
    "lakefs_provider.operators.revert_operator",
    "lakefs_provider.operators.commit_operator",
    "lakefs_provider.operators.upload_operator",
    "lakefs_provider.operators.download_operator",
    "lakefs_provider.operators.get_object_operator",
    "lakefs_provider.operators.quality_gate_operator",
    "lakefs_provider.operators.run_branch_operators",
]


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, **env},
    )


def test_the_namespace_is_the_lakefs_server() -> None:
    assert namespace("https://LakeFS.example.com") == "lakefs://lakefs.example.com"
    assert namespace("http://127.0.0.1:8000/") == "lakefs://127.0.0.1:8000"
    assert namespace("https://gateway.example.com/lakefs") == "lakefs://gateway.example.com/lakefs"
    assert namespace("https://key:secret@lakefs.example.com") == "lakefs://lakefs.example.com"
    assert dataset_name("lake", "main", "curated/orders") == "lake/main/curated/orders"
    assert dataset_name("lake", "main") == "lake/main"


def test_an_asset_becomes_the_dataset_the_operators_name(lakefs_conn_id: str, lakefs_server: Any) -> None:
    from airflow.sdk import Asset

    from lakefs_provider.assets.lakefs import convert_asset_to_openlineage

    converted = convert_asset_to_openlineage(Asset("lakefs://lake/main/raw/day%20one"), None)
    assert (converted.namespace, converted.name) == (namespace(lakefs_server.endpoint), "lake/main/raw/day one")


def test_no_import_error_and_nothing_imported_without_the_openlineage_provider() -> None:
    blocked = _python(
        f"""
        import importlib, importlib.metadata, sys
        import importlib_metadata
        # As if not installed: the modules do not import, and Airflow finds no such distribution.
        for name in ("openlineage", "airflow.providers.openlineage"):
            sys.modules[name] = None
        hidden = {{"apache-airflow-providers-openlineage", "openlineage-python", "openlineage-integration-common",
                  "openlineage-sql"}}
        for metadata in (importlib.metadata, importlib_metadata):
            def distributions(real=metadata.distributions, **kwargs):
                for dist in real(**kwargs):
                    if (dist.metadata["Name"] or "").lower().replace("_", "-") not in hidden:
                        yield dist
            metadata.distributions = distributions
        for module in {PROVIDER_MODULES!r}:
            importlib.import_module(module)
        from airflow.sdk import Asset, DAG
        from lakefs_provider.get_provider_info import get_provider_info
        from lakefs_provider.operators.merge_operator import LakeFSMergeOperator
        from lakefs_provider.run_branch_group import lakefs_run_branch
        assert get_provider_info()["asset-uris"][0]["schemes"] == ["lakefs"]
        assert Asset("lakefs://lake/main/curated/day one").uri == "lakefs://lake/main/curated/day%20one"
        with DAG("d", schedule=None):
            LakeFSMergeOperator(task_id="m", repo="lake", source_ref="f", destination_branch="main",
                                assets=["lakefs://lake/main/curated"])
            with lakefs_run_branch(repo="lake", assets=["lakefs://lake/main/curated"]):
                pass
        print("ok")
        """
    )
    assert blocked.returncode == 0, blocked.stderr[-3000:]
    assert blocked.stdout.strip().endswith("ok")

    # With the provider installed, importing ours costs nothing of it either (beyond the provider
    # metadata that Airflow's own provider discovery reads).
    loaded = _python(
        f"""
        import importlib, sys
        for module in {PROVIDER_MODULES!r}:
            importlib.import_module(module)
        discovery = {{"airflow.providers.openlineage", "airflow.providers.openlineage.get_provider_info"}}
        loaded = {{m for m in sys.modules if m.startswith(("openlineage", "airflow.providers.openlineage"))}}
        print(sorted(loaded - discovery))
        """
    )
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert loaded.stdout.strip().splitlines()[-1] == "[]"


@pytest.fixture
def lineage_events(
    repo: Any, lakefs_conn_id: str, airflow_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    """The COMPLETE and FAIL events of one run of ``lineage_publish``, as the OpenLineage provider
    emitted them. Run in a process of its own: the provider reads its transport once, when
    Airflow loads plugins, and the rest of the session runs without one."""
    monkeypatch.setenv("LAKEFS_WAP_ASSET_REPO", repo.id)
    load_dag(TEST_DAGS / "lineage_dag.py", "lineage_publish")  # into the DAGs folder
    events_file = tmp_path / "openlineage.jsonl"
    transport = json.dumps({"type": "file", "log_file_path": str(events_file), "append": True})
    run = _python(
        f"""
        from airflow.models.dagbag import DagBag
        bag = DagBag(dag_folder={str(AIRFLOW_DAGS_FOLDER / "lineage_dag.py")!r})
        dag_run = bag.dags["lineage_publish"].test()
        print("STATE", dag_run.state)
        """,
        AIRFLOW__OPENLINEAGE__TRANSPORT=transport,
        AIRFLOW__OPENLINEAGE__NAMESPACE="lakefs-wap-tests",
    )
    assert "STATE success" in run.stdout, run.stdout[-3000:] + run.stderr[-3000:]
    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
    return [event for event in events if event.get("eventType") in ("COMPLETE", "FAIL")]


def _by_task(events: list[dict[str, Any]], task_id: str) -> dict[str, Any]:
    (event,) = [e for e in events if e["job"]["name"] == f"lineage_publish.{task_id}"]
    return event


def _names(datasets: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(d["namespace"], d["name"], d.get("facets", {}).get("version", {}).get("datasetVersion")) for d in datasets]


def test_openlineage_events_name_the_datasets_and_versions(
    lineage_events: list[dict[str, Any]], repo: Any, lakefs_server: Any
) -> None:
    server = namespace(lakefs_server.endpoint)
    merge = repo.branch("main").get_commit()
    gated = merge.metadata["lakefs_wap.gated_commit"]
    run_branch = next(d["name"].split("/")[1] for d in _by_task(lineage_events, "lakefs_run.publish")["inputs"])
    assert run_branch.startswith("lineage-lineage_publish-")

    write = _by_task(lineage_events, "lakefs_run.write")
    assert _names(write["outputs"]) == [(server, f"{repo.id}/{run_branch}/curated/orders/part-0.csv", None)]

    commit = _by_task(lineage_events, "lakefs_run.commit")
    assert _names(commit["outputs"]) == [(server, f"{repo.id}/{run_branch}", gated)]

    gate = _by_task(lineage_events, "lakefs_run.gate")
    assert _names(gate["inputs"]) == [(server, f"{repo.id}/{run_branch}", gated)]
    assertions = gate["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert [(a["assertion"], a["success"]) for a in assertions] == [
        ("only_under_prefixes", True),
        ("table_row_count", True),
    ]

    publish = _by_task(lineage_events, "lakefs_run.publish")
    assert _names(publish["inputs"]) == [(server, f"{repo.id}/{run_branch}", gated)]
    published_assertions = publish["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert [(a["assertion"], a["success"]) for a in published_assertions] == [
        ("only_under_prefixes", True),
        ("table_row_count", True),
    ]
    assert _names(publish["outputs"]) == [(server, f"{repo.id}/main/curated/orders", merge.id)]
