"""The Dagster example Definitions, against the real lakeFS."""

import importlib.util
from pathlib import Path

import pytest
from dagster import materialize

from lakefs_wap.run_branch import KEY_KIND

EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "dagster_orders.py"


@pytest.fixture
def example(monkeypatch, lakefs_server, repo):
    monkeypatch.setenv("LAKEFS_ENDPOINT", lakefs_server.endpoint)
    monkeypatch.setenv("LAKEFS_ACCESS_KEY_ID", lakefs_server.access_key_id)
    monkeypatch.setenv("LAKEFS_SECRET_ACCESS_KEY", lakefs_server.secret_access_key)
    monkeypatch.setenv("LAKEFS_REPOSITORY", repo.id)
    spec = importlib.util.spec_from_file_location("dagster_orders_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_example(example, dagster_instance, *, bad: bool):
    defs = example.defs
    assets = [example.raw_orders, example.curated_orders, example.publish_orders]
    checks = [example.raw_orders_row_count, example.raw_orders_schema]
    return materialize(
        [*assets, *checks],
        resources=defs.resources,
        instance=dagster_instance,
        run_config={"ops": {"raw_orders": {"config": {"rows": 20_000, "bad_data": bad}}}},
        raise_on_error=False,
    )


def test_good_orders_are_published(example, repo, dagster_instance) -> None:
    result = run_example(example, dagster_instance, bad=False)

    assert result.success
    assert sorted(o.path for o in repo.branch("main").objects()) == [
        "dagster/curated_orders.parquet",
        "dagster/raw_orders.parquet",
    ]
    assert len([c for c in repo.branch("main").log() if (c.metadata or {}).get(KEY_KIND) == "publish"]) == 1
    assert result.asset_materializations_for_node("curated_orders")[0].metadata["dagster/row_count"].value == 20_000


def test_bad_orders_fail_both_checks_and_main_stays(example, repo, dagster_instance) -> None:
    main_before = repo.branch("main").get_commit().id
    result = run_example(example, dagster_instance, bad=True)

    assert not result.success
    verdicts = {
        e.event_specific_data.check_name: e.event_specific_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    assert verdicts == {"raw_orders_row_count": False, "raw_orders_schema": False}
    assert repo.branch("main").get_commit().id == main_before
    assert len(list(repo.branches())) == 2  # the run's branch is kept
