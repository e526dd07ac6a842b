"""The test bed: a real lakeFS server, a fresh repository per test, and
isolated homes for Airflow and Dagster.

By default the session starts its own lakeFS (see ``tools/lakefs_server.py``
for where the binary comes from). To test against a server that already runs,
set ``LAKEFS_ENDPOINT``, ``LAKEFS_ACCESS_KEY_ID`` and
``LAKEFS_SECRET_ACCESS_KEY``, and, unless it has a local blockstore,
``LAKEFS_STORAGE_NAMESPACE_PREFIX`` (for example ``s3://bucket/lakefs-wap-tests``).
"""

from __future__ import annotations

import gc
import os
import re
import shutil
import sys
import tempfile
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import lakefs
import pytest

from tests.crash_bed import CrashBed, running_crash_bed
from tests.fault_proxy import FaultProxy
from tools.lakefs_server import LakeFSUnavailable, LocalLakeFS, ServerAccess

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


def _external_server() -> ServerAccess | None:
    endpoint = os.environ.get("LAKEFS_ENDPOINT")
    if not endpoint:
        return None
    missing = [name for name in ("LAKEFS_ACCESS_KEY_ID", "LAKEFS_SECRET_ACCESS_KEY") if not os.environ.get(name)]
    if missing:
        raise LakeFSUnavailable(f"LAKEFS_ENDPOINT is set, so the tests use that server, but {missing} is not set")
    try:
        with urllib.request.urlopen(f"{endpoint.rstrip('/')}/_health", timeout=10) as response:  # noqa: S310
            response.read()
    except OSError as error:
        raise LakeFSUnavailable(f"LAKEFS_ENDPOINT={endpoint} does not answer /_health: {error}") from error
    return ServerAccess(
        endpoint=endpoint.rstrip("/"),
        access_key_id=os.environ["LAKEFS_ACCESS_KEY_ID"],
        secret_access_key=os.environ["LAKEFS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture(scope="session")
def lakefs_server() -> Iterator[ServerAccess]:
    """Endpoint and admin credentials of the real lakeFS server under test."""
    external = _external_server()
    if external is not None:
        yield external
        return
    with LocalLakeFS() as server:
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
def repo(request: pytest.FixtureRequest, lakefs_client: lakefs.Client) -> Iterator[lakefs.Repository]:
    """A new, empty repository with a ``main`` branch, deleted after the test."""
    name = unique_repository_name(request.node.name)
    prefix = os.environ.get("LAKEFS_STORAGE_NAMESPACE_PREFIX", "local://")
    namespace = prefix + name if prefix.endswith("://") else f"{prefix.rstrip('/')}/{name}"
    repository = lakefs.Repository(name, client=lakefs_client).create(
        storage_namespace=namespace, default_branch="main"
    )
    yield repository
    repository.delete()


@pytest.fixture(scope="module")
def crash_bed() -> Iterator[CrashBed]:
    """A lakeFS of the module's own, behind a proxy that can crash it (never the session's server)."""
    with running_crash_bed() as bed:
        yield bed
