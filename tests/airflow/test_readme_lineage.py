"""The Airflow page's lineage snippets are real DAG files: Airflow imports them without error.

Their behaviour (asset events of a publish, one event per commit) is tested in
test_assets.py and test_commit_event_trigger.py; this keeps the documentation's copies
of those shapes true to the installed Airflow and to our sanitizer of lakeFS URIs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.models.dagbag import DagBag

from tests.test_docs import snippet

PAGE = "docs/airflow.md"
SNIPPETS = {
    "airflow-assets": {"ingest_orders", "orders_report"},
    "airflow-commit-event-trigger": {"on_every_curated_commit"},
}


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_lineage_dag_imports(airflow_db, name: str, tmp_path: Path) -> None:
    dag_file = tmp_path / "docs_lineage_dag.py"
    dag_file.write_text(snippet("docs/airflow.md", name))

    bag = DagBag(dag_folder=str(dag_file))

    assert bag.import_errors == {}
    assert set(bag.dag_ids) == SNIPPETS[name]


def test_object_storage_task_builds(tmp_path: Path) -> None:
    namespace: dict[str, object] = {}
    exec(compile(snippet("docs/airflow.md", "airflow-object-storage"), PAGE, "exec"), namespace)  # noqa: S102

    assert callable(namespace["copy_orders"])


def test_a_bad_lakefs_asset_in_a_docs_dag_fails_its_import(airflow_db, tmp_path: Path) -> None:
    dag_file = tmp_path / "docs_lineage_dag.py"
    dag_file.write_text(
        snippet("docs/airflow.md", "airflow-assets").replace(
            "lakefs://example-repo/main/", "lakefs://Example_Repo/main/"
        )
    )

    bag = DagBag(dag_folder=str(dag_file))

    assert bag.import_errors, "an invalid repository name in a lakefs:// asset must fail the DAG file"
