"""End-to-end: the real services (lakeFS, Airflow's four processes), driven the way users drive them.

These tests are marked ``e2e`` and run only when selected: ``make test-e2e``
(``pytest -m e2e tests/e2e``). Anything else (``make test``) skips them, since
the services take a minute to start and minutes to run DAGs on two cores.

One lakeFS (the session's ``lakefs_server``, on ``--lakefs-backend``) and one
Airflow stack (``tools/airflow_stack.py``) serve the whole session. Set
``LAKEFS_WAP_E2E_LOGS=<dir>`` to keep the services' and the tasks' logs there
(a CI artifact); otherwise they go with the stack's temporary home.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import lakefs
import pytest

from tools.airflow_api import AirflowAPI
from tools.airflow_stack import AirflowStack, LakeFSTarget
from tools.lakefs_server import ServerAccess
from tools.stack import DEMO_REPOSITORY

EXAMPLE_DAG_IDS = ("lakefs_orders_ingestion", "lakefs_orders_report", "lakefs_rollback")
_SELECT_HINT = "end-to-end test: run with `make test-e2e` (pytest -m e2e tests/e2e)"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: starts the real services (Airflow, Dagster); run by `make test-e2e`")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Selected only by a marker expression that names them: `-m e2e` runs them,
    # a plain `pytest` (`make test`) skips them with the way to run them.
    if "e2e" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason=_SELECT_HINT)
    for item in items:
        if item.get_closest_marker("e2e") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def airflow_stack(lakefs_server: ServerAccess) -> Iterator[AirflowStack]:
    """Airflow's api-server, scheduler, dag-processor and triggerer, with ``lakefs_default`` on the session's lakeFS.

    Schedules are off (``use_job_schedule``): only the runs a test triggers happen,
    so no scheduled 300,000-row run lands on ``main`` between two assertions.
    """
    target = LakeFSTarget(lakefs_server.endpoint, lakefs_server.access_key_id, lakefs_server.secret_access_key)
    keep_logs = os.environ.get("LAKEFS_WAP_E2E_LOGS")
    started = time.monotonic()
    with AirflowStack(target, schedule_runs=False, keep_logs_in=Path(keep_logs) if keep_logs else None) as stack:
        stack.wait_for_dags(EXAMPLE_DAG_IDS)
        print(f"\n[e2e] Airflow stack ready in {time.monotonic() - started:.0f}s at {stack.access.url}")
        yield stack


@pytest.fixture(scope="session")
def airflow_api(airflow_stack: AirflowStack) -> AirflowAPI:
    return AirflowAPI(airflow_stack.access)


@pytest.fixture(scope="session")
def demo_repository(lakefs_server: ServerAccess, lakefs_client: lakefs.Client) -> lakefs.Repository:
    """The repository the example DAGs write to (their default ``repo`` param), with a ``main`` branch."""
    return lakefs.Repository(DEMO_REPOSITORY, client=lakefs_client).create(
        storage_namespace=lakefs_server.storage_namespace(DEMO_REPOSITORY), default_branch="main", exist_ok=True
    )
