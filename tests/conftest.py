"""The test bed: a real lakeFS server, a fresh repository per test, and
isolated homes for Airflow and Dagster.

By default the session starts its own lakeFS (see ``tools/lakefs_server.py``
for where the binary comes from) on the ``local`` backend. ``--lakefs-backend=s3``
(or ``LAKEFS_WAP_BACKEND=s3``; ``make test-s3``) runs it as users do instead:
metadata in PostgreSQL, objects in a real S3 server (MinIO), where presigned
URLs work; tests marked ``s3`` run only then, and a server that cannot start
fails the session rather than skipping it.

To test against a server that already runs, set ``LAKEFS_ENDPOINT``,
``LAKEFS_ACCESS_KEY_ID`` and ``LAKEFS_SECRET_ACCESS_KEY``, and, unless it has a
local blockstore, ``LAKEFS_STORAGE_NAMESPACE_PREFIX`` (for example
``s3://bucket/lakefs-wap-tests``).
"""

from __future__ import annotations

import gc
import os
import re
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import lakefs
import pytest

from tests.crash_bed import CrashBed, running_crash_bed
from tests.fault_proxy import FaultProxy
from tools.lakefs_server import BACKENDS, ServerAccess, running_lakefs, server_access_from_env

# Airflow and Dagster read their homes when first imported, so these are set
# before any test module is collected. Nothing of a developer's own
# ~/airflow or $DAGSTER_HOME is touched.
SESSION_DIR = Path(tempfile.mkdtemp(prefix="lakefs-wap-tests-"))
AIRFLOW_HOME = SESSION_DIR / "airflow"
AIRFLOW_DAGS_FOLDER = AIRFLOW_HOME / "dags"
AIRFLOW_DAGS_FOLDER.mkdir(parents=True)
DAGSTER_HOME = SESSION_DIR / "dagster"
DAGSTER_HOME.mkdir()
os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(AIRFLOW_DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
        "DAGSTER_HOME": str(DAGSTER_HOME),
    }
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--lakefs-backend",
        choices=BACKENDS,
        default=os.environ.get("LAKEFS_WAP_BACKEND", "local"),
        help="what the session's own lakeFS runs on: local (default, fast) or s3 (PostgreSQL + MinIO); "
        "default from $LAKEFS_WAP_BACKEND",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "s3: needs lakeFS on an S3 blockstore (presigned URLs); run by `make test-s3`")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--lakefs-backend") == "s3":
        return
    # Only ever skipped on the local backend, never because a server failed to start.
    needs_s3 = pytest.mark.skip(reason="needs the s3 backend: `make test-s3` or --lakefs-backend=s3")
    for item in items:
        if item.get_closest_marker("s3") is not None:
            item.add_marker(needs_s3)


_exit_status: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _exit_status.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # Airflow leaves sessions open in the threads its in-process execution API
    # served tasks from. Finalized at interpreter exit, after sqlite3 closed
    # their connections, they print tracebacks after pytest's summary line;
    # close them now, while the SQLite file still exists.
    airflow_settings = sys.modules.get("airflow.settings")
    if airflow_settings is not None:
        from sqlalchemy.orm import close_all_sessions

        close_all_sessions()
        gc.collect()
        airflow_settings.dispose_orm()
    shutil.rmtree(SESSION_DIR, ignore_errors=True)
    if airflow_settings is not None and _exit_status:
        # Some connections stay referenced from Airflow's finished worker threads
        # and are only finalized during interpreter shutdown, where SQLAlchemy
        # logs each one's failed reset as a traceback, after pytest's summary
        # and past any logging switch. Every plugin has finished by now (this
        # hook runs last): end the process with pytest's own exit status.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[-1])


@pytest.fixture(scope="session")
def lakefs_server(pytestconfig: pytest.Config) -> Iterator[ServerAccess]:
    """Endpoint and admin credentials of the real lakeFS server under test, and its storage namespaces."""
    external = server_access_from_env()
    if external is not None:
        yield external
        return
    with running_lakefs(pytestconfig.getoption("--lakefs-backend")) as server:
        yield server.access


@pytest.fixture
def proxy(lakefs_server: ServerAccess) -> Iterator[FaultProxy]:
    """A fault-injecting proxy in front of the real server; it records every request it forwards."""
    with FaultProxy(lakefs_server.endpoint) as running:
        yield running


@pytest.fixture(scope="session")
def lakefs_client(lakefs_server: ServerAccess) -> lakefs.Client:
    return lakefs.Client(
        host=lakefs_server.endpoint,
        username=lakefs_server.access_key_id,
        password=lakefs_server.secret_access_key,
    )


def unique_repository_name(hint: str) -> str:
    """A valid repository name, unique per call, that still says which test made it."""
    slug = re.sub(r"[^a-z0-9]+", "-", hint.lower()).strip("-")[:40] or "test"
    return f"t-{slug}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def repo(
    request: pytest.FixtureRequest, lakefs_server: ServerAccess, lakefs_client: lakefs.Client
) -> Iterator[lakefs.Repository]:
    """A new, empty repository with a ``main`` branch, deleted after the test."""
    name = unique_repository_name(request.node.name)
    repository = lakefs.Repository(name, client=lakefs_client).create(
        storage_namespace=lakefs_server.storage_namespace(name), default_branch="main"
    )
    yield repository
    repository.delete()


@pytest.fixture(scope="module")
def crash_bed() -> Iterator[CrashBed]:
    """A lakeFS of the module's own, behind a proxy that can crash it (never the session's server)."""
    with running_crash_bed() as bed:
        yield bed
