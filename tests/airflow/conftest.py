"""Airflow test harness: a migrated SQLite metadata DB, connections given as
``AIRFLOW_CONN_<ID>`` JSON, and DAG files run through ``dag.test()``.

Airflow 3.3's ``dag.test()`` only runs DAGs found in the configured DAGs
folder, so ``run_dag`` places the file there first (root conftest sets
``AIRFLOW__CORE__DAGS_FOLDER`` to a session directory).
"""

from __future__ import annotations

import gc
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AIRFLOW_DAGS_FOLDER
from tests.fault_proxy import FaultProxy
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


@pytest.fixture(scope="session", autouse=True)
def _reschedule_dates_as_in_production() -> Iterator[None]:
    """Airflow 3.0's API client builds the first-reschedule answer without validating it
    (``model_construct``), so ``dag.test()``, whose tasks get the client's answer in
    process, hands sensors the date as text, and Airflow's own sensor base then fails
    (``datetime - str``) on its second reschedule. A deployed task gets the answer through
    the supervisor's socket, validated into a datetime; this gives ``dag.test()`` the
    same, the way Airflow 3.1 and later build it."""
    from lakefs_provider.version_compat import AIRFLOW_V_3_1_PLUS

    if AIRFLOW_V_3_1_PLUS:
        yield
        return
    from airflow.sdk.api.client import TaskInstanceOperations
    from airflow.sdk.execution_time.comms import TaskRescheduleStartDate

    def get_reschedule_start_date(self: Any, id: Any, try_number: int = 1) -> Any:
        response = self.client.get(f"task-reschedules/{id}/start_date", params={"try_number": try_number})
        return TaskRescheduleStartDate(start_date=response.json())

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TaskInstanceOperations, "get_reschedule_start_date", get_reschedule_start_date)
        yield


@pytest.fixture(autouse=True)
def _close_airflow_sessions() -> Iterator[None]:
    """Airflow's in-process task runs leave sessions open in worker threads; left to the
    garbage collector they are finalized at random later moments (after their SQLite
    connections closed), logging tracebacks inside unrelated tests. Finalize them here."""
    yield
    from sqlalchemy.orm import close_all_sessions

    close_all_sessions()
    gc.collect()


def set_lakefs_default(monkeypatch: pytest.MonkeyPatch, server: ServerAccess, host: str) -> str:
    """Airflow connection ``lakefs_default`` to ``host`` with the server's keys, set in env as users do."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_LAKEFS_DEFAULT",
        json.dumps(
            {
                "conn_type": "lakefs",
                "host": host,
                "login": server.access_key_id,
                "password": server.secret_access_key,
            }
        ),
    )
    return "lakefs_default"


@pytest.fixture
def lakefs_conn_id(lakefs_server: ServerAccess, monkeypatch: pytest.MonkeyPatch) -> str:
    """``lakefs_default`` to the test server."""
    return set_lakefs_default(monkeypatch, lakefs_server, lakefs_server.endpoint)


@pytest.fixture
def proxied_conn_id(lakefs_server: ServerAccess, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch) -> str:
    """``lakefs_default`` pointing at the fault proxy in front of the real server."""
    return set_lakefs_default(monkeypatch, lakefs_server, proxy.endpoint)


def load_dag(dag_file: Path, dag_id: str) -> Any:
    """Copy ``dag_file`` into the DAGs folder and parse it the way Airflow does.

    Airflow's own DagBag is used so that DAGs made by ``@dag`` functions that
    are called but not assigned are found too, as they are in production.
    """
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow < 3.1 keeps it in airflow.models
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

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


# Airflow 3.0's task runner prints a failed task's exception with rich, in colour:
# each quoted name and number wrapped in escape codes.
_ANSI_STYLE = re.compile(r"\x1b\[[0-9;]*m")


def plain(log_text: str) -> str:
    """Captured log text without terminal colour codes, to search for messages in."""
    return _ANSI_STYLE.sub("", log_text)


def without_airflow_mask_requests(log_text: str) -> str:
    """The log lines of everyone but Airflow's own task runner handing values to be masked.

    Airflow's supervisor logs each ``MaskSecret(value=...)`` request with the value in
    clear, at debug level, which Airflow 3.0's ``dag.test()`` prints. Not a message of
    ours, nor one a production log level shows; every other line is still searched.
    """
    return "\n".join(line for line in log_text.splitlines() if "msg=MaskSecret(value=" not in line)


def task_states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in dag_run.get_task_instances()}


def try_numbers(dag_run: Any) -> dict[str, int]:
    return {ti.task_id: ti.try_number for ti in dag_run.get_task_instances()}
