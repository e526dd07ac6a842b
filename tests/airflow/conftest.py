"""Airflow test harness: a migrated SQLite metadata DB, connections given as
``AIRFLOW_CONN_<ID>`` JSON, and DAG files run through ``dag.test()``.

Airflow 3.3's ``dag.test()`` only runs DAGs found in the configured DAGs
folder, so ``run_dag`` places the file there first (root conftest sets
``AIRFLOW__CORE__DAGS_FOLDER`` to a session directory).
"""

from __future__ import annotations

import gc
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AIRFLOW_DAGS_FOLDER
from tools.lakefs_server import ServerAccess

HERE = Path(__file__).resolve().parent
TEST_DAGS = HERE / "dags"


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """``airflow db migrate`` once per session, on the session's SQLite file."""
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"`airflow db migrate` failed ({result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )


@pytest.fixture(autouse=True)
def _close_airflow_sessions() -> Iterator[None]:
    """Airflow's in-process task runs leave sessions open in worker threads; left to the
    garbage collector they are finalized at random later moments (after their SQLite
    connections closed), logging tracebacks inside unrelated tests. Finalize them here."""
    yield
    from sqlalchemy.orm import close_all_sessions

    close_all_sessions()
    gc.collect()


@pytest.fixture
def lakefs_conn_id(lakefs_server: ServerAccess, monkeypatch: pytest.MonkeyPatch) -> str:
    """An Airflow connection ``lakefs_default`` to the test server, given the way users give them in env."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_LAKEFS_DEFAULT",
        json.dumps(
            {
                "conn_type": "lakefs",
                "host": lakefs_server.endpoint,
                "login": lakefs_server.access_key_id,
                "password": lakefs_server.secret_access_key,
            }
        ),
    )
    return "lakefs_default"


def load_dag(dag_file: Path, dag_id: str) -> Any:
    """Copy ``dag_file`` into the DAGs folder and parse it the way Airflow does.

    Airflow's own DagBag is used so that DAGs made by ``@dag`` functions that
    are called but not assigned are found too, as they are in production.
    """
    from airflow.dag_processing.dagbag import DagBag

    target = AIRFLOW_DAGS_FOLDER / dag_file.name
    if target.resolve() != dag_file.resolve():
        shutil.copyfile(dag_file, target)
    bag = DagBag(dag_folder=str(target))
    if bag.import_errors:
        raise AssertionError(f"{dag_file} does not import: {bag.import_errors}")
    if dag_id not in bag.dags:
        raise LookupError(f"{dag_file} defines DAGs {sorted(bag.dags)}, not {dag_id!r}")
    return bag.dags[dag_id]


def run_dag(dag_file: Path, dag_id: str, **test_kwargs: Any) -> Any:
    """Run one DAG run in-process with ``dag.test()`` and return the DagRun."""
    return load_dag(dag_file, dag_id).test(**test_kwargs)


def xcom(dag_run: Any, task_id: str, key: str = "return_value") -> Any:
    """The XCom a task of a finished dag.test() run pushed."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_run.dag_id, task_ids=task_id, key=key)
        ).first()
    assert row is not None, f"no XCom {key!r} from task {task_id!r}"
    return XComModel.deserialize_value(row)


def task_states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in dag_run.get_task_instances()}


def try_numbers(dag_run: Any) -> dict[str, int]:
    return {ti.task_id: ti.try_number for ti in dag_run.get_task_instances()}
