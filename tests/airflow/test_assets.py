"""lakeFS assets: the ``lakefs://`` scheme, and the asset events of publishes, with real Airflow and lakeFS.

A publish sends one event per declared asset whose data it changed, with the
merge commit, the run key and the gates' verdict in the event's extra; a run that
changes nothing sends none; a revert is a publish too. Airflow's own scheduler
code then queues the DAG scheduled on the asset and creates its run, whose
triggering event names the commit to read.
"""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any

import pytest

from lakefs_provider.assets.events import declared_assets, made_in_this_series
from lakefs_provider.assets.lakefs import LakeFSLocation, create_asset, parse_uri
from lakefs_wap import BadInputError, InvalidNameError
from tests.airflow.conftest import TEST_DAGS, load_dag, run_dag, task_states
from tests.conftest import AIRFLOW_DAGS_FOLDER

DAG_FILE = TEST_DAGS / "asset_publish_dag.py"


# ----- the URI scheme --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("lakefs://Repo/main/x", "invalid repository name 'Repo'"),
        ("lakefs://repo/main", "names no path under 'main'"),
        ("lakefs://repo", "names no ref"),
        ("lakefs://repo/main/a/../b", "'..' segment"),
        ("lakefs://repo/main/a//b", "empty segment"),
        ("lakefs://repo:8000/main/x", "is the repository name, not a server"),
        ("lakefs://key:secret@repo/main/x", "is the repository name, not a server"),
        ("lakefs://repo/main/x?version=2", "'?query'"),
        ("lakefs://repo/ma%20in/x", "invalid ref"),
        ("s3://repo/main/x", "scheme is 's3'"),
    ],
)
def test_bad_uris_are_refused_naming_the_rule(uri: str, problem: str) -> None:
    with pytest.raises(InvalidNameError) as refused:
        parse_uri(uri)
    assert problem in str(refused.value)
    assert "lakefs://<repository>/<ref>/<path>" in str(refused.value)
    assert "secret" not in str(refused.value)


def test_an_airflow_asset_with_a_bad_lakefs_uri_fails_the_dag_file() -> None:
    from airflow.sdk import Asset

    with pytest.raises(ValueError, match=r"invalid lakeFS asset URI 'lakefs://repo/main/a/\.\./b'"):
        Asset("lakefs://repo/main/a/../b")


def test_a_ref_with_an_encoded_slash_is_refused() -> None:
    from airflow.sdk import Asset

    # Decoded, this ref would be "tags/v1", and the normalized URI would name ref "tags".
    with pytest.raises(ValueError, match="encoded '/'"):
        Asset("lakefs://lake/tags%2Fv1/x")


@pytest.mark.parametrize("assets", [["lakefs://lake/main/curated/orders/"], {"lakefs://lake/main/curated/orders": 1}])
def test_a_publish_refuses_assets_airflow_would_store_under_two_names(assets: object) -> None:
    # Airflow drops the trailing "/" from the URI but keeps it in the name, and tells assets apart
    # by both: the publish's events would never reach a DAG scheduled on the URI.
    with pytest.raises(BadInputError, match="assets"):
        declared_assets(assets, task_id="publish")  # type: ignore[arg-type]


def test_uris_are_normalized_and_round_trip() -> None:
    from airflow.sdk import Asset

    spaced = Asset("lakefs://lake/main/raw/day one/date=2026-11-01.csv")
    assert spaced.uri == "lakefs://lake/main/raw/day%20one/date=2026-11-01.csv"
    assert parse_uri(spaced.uri) == LakeFSLocation("lake", "main", "raw/day one/date=2026-11-01.csv")
    assert parse_uri("lakefs://lake/main//rooted/a.csv").path == "/rooted/a.csv"
    made = create_asset(repository="lake", ref="main", path="raw/day one/", extra={"owner": "data"})
    assert (made.uri, made.extra) == ("lakefs://lake/main/raw/day%20one", {"owner": "data"})


def test_an_asset_covers_whole_segments_only() -> None:
    orders = parse_uri("lakefs://lake/main/curated/orders")
    assert orders.covers("curated/orders")
    assert orders.covers("curated/orders/part-0.csv")
    assert not orders.covers("curated/orders2/part-0.csv")
    assert not orders.covers("curated/orders.csv")


def test_the_scheme_is_registered_with_airflow() -> None:
    try:  # where tasks look them up from Airflow 3.1 on
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime as Manager
    except ImportError:
        from airflow.providers_manager import ProvidersManager as Manager  # type: ignore[assignment]

    manager = Manager()
    assert manager.asset_uri_handlers["lakefs"].__module__ == "lakefs_provider.assets.lakefs"
    assert manager.asset_factories["lakefs"].__name__ == "create_asset"
    assert manager.asset_to_openlineage_converters["lakefs"].__name__ == "convert_asset_to_openlineage"


# ----- declaring the assets of a publish ---------------------------------------------------------


def test_assets_on_another_branch_fail_the_dag_file() -> None:
    from lakefs_provider.operators.merge_operator import LakeFSMergeOperator

    with pytest.raises(BadInputError, match=r"can never change lakefs://lake/dev/curated/orders"):
        LakeFSMergeOperator(
            task_id="merge",
            repo="lake",
            source_ref="feature",
            destination_branch="main",
            assets=["lakefs://lake/dev/curated/orders"],
        )


def test_assets_must_be_lakefs_assets() -> None:
    from airflow.sdk import Asset

    from lakefs_provider.operators.merge_operator import LakeFSMergeOperator

    with pytest.raises(BadInputError, match="is not a lakeFS asset"):
        LakeFSMergeOperator(
            task_id="merge", repo="lake", source_ref="f", destination_branch="main", assets=[Asset("s3://b/k")]
        )
    with pytest.raises(BadInputError, match="assets item 0 is a int"):
        LakeFSMergeOperator(task_id="merge", repo="lake", source_ref="f", destination_branch="main", assets=[3])
    with pytest.raises(BadInputError, match="needs add_airflow_metadata=True"):
        LakeFSMergeOperator(
            task_id="merge",
            repo="lake",
            source_ref="f",
            destination_branch="main",
            assets="lakefs://lake/main/x",
            add_airflow_metadata=False,
        )


def test_declared_assets_become_one_alias_outlet_not_outlets() -> None:
    from airflow.sdk import Asset, AssetAlias

    from lakefs_provider.operators.merge_operator import LakeFSMergeOperator

    operator = LakeFSMergeOperator(
        task_id="merge",
        repo="lake",
        source_ref="f",
        destination_branch="main",
        assets="lakefs://lake/main/x",
        outlets=[Asset("s3://bucket/other")],
    )
    assert operator.outlets == [Asset("s3://bucket/other"), AssetAlias(name="lakefs-wap/merge")]


def _context(
    *, made_in_try: int, try_number: int, max_tries: int, retries: int
) -> tuple[dict[str, Any], dict[str, str]]:
    ti = types.SimpleNamespace(
        dag_id="d",
        run_id="r",
        task_id="t",
        map_index=-1,
        try_number=try_number,
        max_tries=max_tries,
        task=types.SimpleNamespace(retries=retries),
    )
    metadata = {
        "::lakefs::Airflow::dag_id": "d",
        "::lakefs::Airflow::dag_run_id": "r",
        "::lakefs::Airflow::task_id": "t",
        "::lakefs::Airflow::try_number": str(made_in_try),
    }
    return {"ti": ti}, metadata


@pytest.mark.parametrize(
    ("made_in_try", "try_number", "max_tries", "retries", "announce"),
    [
        (1, 1, 0, 0, True),  # the first try made it
        (1, 2, 2, 2, True),  # a retry after the try that merged failed: that try sent nothing
        (1, 2, 1, 0, False),  # cleared after it succeeded: Airflow set max_tries = 1 + 0, a new series
        (2, 4, 4, 2, False),  # cleared after the second try succeeded, with retries
        (3, 4, 4, 2, True),  # ...and the new series' own first try made it
    ],
)
def test_a_commit_is_announced_by_the_series_of_tries_that_made_it(
    made_in_try: int, try_number: int, max_tries: int, retries: int, announce: bool
) -> None:
    context, metadata = _context(made_in_try=made_in_try, try_number=try_number, max_tries=max_tries, retries=retries)
    assert made_in_this_series(context, metadata) is announce


def test_a_commit_of_another_task_is_never_announced() -> None:
    context, metadata = _context(made_in_try=1, try_number=1, max_tries=0, retries=0)
    assert not made_in_this_series(context, {**metadata, "::lakefs::Airflow::task_id": "other"})
    assert not made_in_this_series(context, {**metadata, "::lakefs::Airflow::map_index": "0"})
    assert not made_in_this_series(context, {})


# ----- publishing, with real Airflow and lakeFS ------------------------------------------------


@pytest.fixture
def asset_repo(repo: Any, lakefs_conn_id: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("LAKEFS_WAP_ASSET_REPO", repo.id)
    return repo


def _events(uri: str) -> list[Any]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id).where(AssetModel.uri == uri)
        ).all()
        return [types.SimpleNamespace(extra=row.extra, source_task_id=row.source_task_id, id=row.id) for row in rows]


def _sync_dag_file(dag_file: Path) -> None:
    """Write the file's DAGs to the metadata DB, as the DAG processor does, and unpause them."""
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    from lakefs_provider.version_compat import AIRFLOW_V_3_1_PLUS

    target = AIRFLOW_DAGS_FOLDER / dag_file.name
    load_dag(dag_file, "asset_consumer")  # copies the file into the DAGs folder
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    DagBundlesManager().sync_bundles_to_db()
    if AIRFLOW_V_3_1_PLUS:
        from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

        bag = BundleDagBag(dag_folder=str(target), bundle_path=AIRFLOW_DAGS_FOLDER, bundle_name="dags-folder")
        sync_bag_to_db(bag, "dags-folder", None)
    else:
        from airflow.models.dagbag import DagBag

        DagBag(dag_folder=str(target)).sync_to_db("dags-folder", None)
    with create_session() as session:
        for model in session.query(DagModel).filter(DagModel.dag_id.in_(["asset_consumer"])):
            model.is_paused = False


def _queued_for(dag_id: str) -> list[str]:
    from airflow.models.asset import AssetDagRunQueue, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return list(
            session.scalars(
                select(AssetModel.uri)
                .join(AssetDagRunQueue, AssetDagRunQueue.asset_id == AssetModel.id)
                .where(AssetDagRunQueue.target_dag_id == dag_id)
            )
        )


def _scheduler_creates_asset_triggered_runs() -> list[Any]:
    """One pass of the scheduler's own run creation; returns the consumer's runs' triggering events' extras."""
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.sqlalchemy import prohibit_commit
    from sqlalchemy import select

    runner = SchedulerJobRunner(job=Job())
    with create_session() as session, prohibit_commit(session) as guard:
        runner._create_dagruns_for_dags(guard, session)
        guard.commit()
    with create_session() as session:
        runs = session.scalars(select(DagRun).where(DagRun.dag_id == "asset_consumer")).all()
        return [[event.extra for event in run.consumed_asset_events] for run in runs]


def test_a_publish_announces_exactly_the_assets_it_changed(asset_repo: Any, airflow_db: None) -> None:
    from airflow.sdk import Asset

    orders = Asset(f"lakefs://{asset_repo.id}/main/curated/orders").uri
    customers = Asset(f"lakefs://{asset_repo.id}/main/curated/customers").uri
    _sync_dag_file(DAG_FILE)

    dag_run = run_dag(DAG_FILE, "asset_publisher", run_conf={"rows": "1,9.50"})

    assert task_states(dag_run)["lakefs_run.publish"] == "success"
    merge = asset_repo.branch("main").get_commit()
    assert merge.metadata["lakefs_wap.kind"] == "publish"
    (event,) = _events(orders)
    assert _events(customers) == []
    assert event.source_task_id == "lakefs_run.publish"
    extra = event.extra
    assert extra["commit_id"] == merge.id
    assert extra["run_key"] == merge.metadata["lakefs_wap.run_key"]
    assert extra["source_commit"] == merge.metadata["lakefs_wap.gated_commit"]
    assert extra["gates_passed"] is True
    assert [(g["name"], g["passed"]) for g in json.loads(extra["gates"])] == [
        ("only_under_prefixes", True),
        ("table_row_count", True),
    ]
    assert (extra["repository"], extra["branch"], extra["path"]) == (asset_repo.id, "main", "curated/orders")

    # Airflow's scheduler logic queues the consumer and creates its run from the event.
    assert _queued_for("asset_consumer") == [orders]
    assert [[e["commit_id"] for e in extras] for extras in _scheduler_creates_asset_triggered_runs()] == [[merge.id]]

    # The same DAG run again with the same data: nothing changes on main, nothing is announced.
    again = run_dag(DAG_FILE, "asset_publisher", run_conf={"rows": "1,9.50"}, logical_date=dag_run.logical_date)
    assert task_states(again)["lakefs_run.publish"] == "success"
    assert asset_repo.branch("main").get_commit().id == merge.id
    assert len(_events(orders)) == 1

    # New data: a further merge, a further event naming it.
    newer = run_dag(DAG_FILE, "asset_publisher", run_conf={"rows": "2,3.25"}, logical_date=dag_run.logical_date)
    assert task_states(newer)["lakefs_run.publish"] == "success"
    second_merge = asset_repo.branch("main").get_commit().id
    assert second_merge != merge.id
    assert [e.extra["commit_id"] for e in _events(orders)] == [merge.id, second_merge]
    assert _events(customers) == []


def test_a_revert_announces_the_assets_it_put_back(asset_repo: Any, airflow_db: None) -> None:
    from airflow.sdk import Asset

    orders = Asset(f"lakefs://{asset_repo.id}/main/curated/orders").uri
    run_dag(DAG_FILE, "asset_publisher", run_conf={"rows": "1,9.50"})
    merge = asset_repo.branch("main").get_commit().id

    rollback = run_dag(DAG_FILE, "asset_rollback", run_conf={"commit": merge})

    assert task_states(rollback)["revert"] == "success"
    revert = asset_repo.branch("main").get_commit()
    assert revert.id != merge
    events = _events(orders)
    assert [(e.extra["commit_id"], e.source_task_id) for e in events] == [
        (merge, "lakefs_run.publish"),
        (revert.id, "revert"),
    ]
    assert events[-1].extra["task"] == "LakeFSRevertOperator"
    assert _events(Asset(f"lakefs://{asset_repo.id}/main/curated/customers").uri) == []
