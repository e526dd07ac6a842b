"""Airflow's object storage on ``lakefs://``: ``ObjectStoragePath`` through the provider's filesystem,
against the real lakeFS, in process and in a task of a real DAG run."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import lakefs
import pytest
from airflow.sdk import ObjectStoragePath

from lakefs_provider.fs.lakefs import get_fs
from lakefs_provider.get_provider_info import get_provider_info
from lakefs_wap import BadInputError, connect, objects
from lakefs_wap.connection import ConnectionSettings
from tests.airflow.conftest import run_dag, task_states, xcom
from tests.conftest import AIRFLOW_DAGS_FOLDER
from tests.fault_proxy import FaultProxy
from tools.lakefs_server import ServerAccess

# Airflow's filesystem registry: in the task SDK in newer releases, in airflow.io in 3.0.
_SDK_IO = importlib.import_module("airflow.sdk.io")
has_fs = getattr(_SDK_IO, "has_fs", None) or importlib.import_module("airflow.io").has_fs


def core(server: ServerAccess) -> Any:
    return connect(ConnectionSettings(server.endpoint, server.access_key_id, server.secret_access_key))


def test_the_provider_info_registers_the_lakefs_scheme() -> None:
    assert "lakefs_provider.fs.lakefs" in get_provider_info().get("filesystems", []), (
        'add "filesystems": ["lakefs_provider.fs.lakefs"] to lakefs_provider/get_provider_info.py'
    )
    assert has_fs("lakefs")


def test_a_path_writes_reads_and_lists_on_a_branch(lakefs_conn_id, lakefs_server, repo) -> None:
    repo.branch("work").create(source_reference="main")
    path = ObjectStoragePath(f"lakefs://{repo.id}/work/curated/orders.csv", conn_id=lakefs_conn_id)

    path.write_text("id,amount\n1,9.50\n")

    assert path.read_text() == "id,amount\n1,9.50\n"
    assert path.exists()
    folder = ObjectStoragePath(f"lakefs://{repo.id}/work/curated/", conn_id=lakefs_conn_id)
    assert [child.name for child in folder.iterdir()] == ["orders.csv"]
    assert not ObjectStoragePath(f"lakefs://{repo.id}/main/curated/orders.csv", conn_id=lakefs_conn_id).exists()
    # What the path wrote is an ordinary lakeFS object, staged on the branch.
    assert (
        bytes(objects.read_buffer(core(lakefs_server), repo.id, "work", "curated/orders.csv")) == b"id,amount\n1,9.50\n"
    )


def test_requests_go_through_the_connection_with_its_retries(
    lakefs_server: ServerAccess, proxy: FaultProxy, repo: lakefs.Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_LAKEFS_PROXIED",
        json.dumps(
            {
                "conn_type": "lakefs",
                "host": proxy.endpoint,
                "login": lakefs_server.access_key_id,
                "password": lakefs_server.secret_access_key,
                "extra": {"max_retries": 3},
            }
        ),
    )
    path = ObjectStoragePath(f"lakefs://{repo.id}/main/raw/a.txt", conn_id="lakefs_proxied")
    path.write_text("through the proxy")
    object_reads = rf"/repositories/{repo.id}/refs/main/objects\?"
    fault = proxy.inject("GET", object_reads, 503, times=1)

    assert path.read_text() == "through the proxy"  # lakefs-spec's own client would fail on the 503
    assert fault.hits == 1
    assert len(proxy.requests_to("GET", object_reads)) == 2
    assert all(
        request.headers.get("X-Lakefs-Client", "").startswith("lakefs-wap/")
        for request in proxy.requests_to("GET", rf"/repositories/{repo.id}/")
    )


def test_storage_options_reach_lakefs_spec(lakefs_conn_id, repo) -> None:
    filesystem = get_fs(lakefs_conn_id, {"create_branch_ok": False})
    with pytest.raises(FileNotFoundError):
        filesystem.pipe(f"{repo.id}/no-such-branch/a.txt", b"x")
    assert "no-such-branch" not in [branch.id for branch in repo.branches()]


def test_a_path_never_creates_a_missing_branch(lakefs_conn_id, repo) -> None:
    # Airflow 3.3 hands no storage_options from the path to the filesystem, so what get_fs does
    # by default is what every lakefs:// path gets: a typo in a branch must not become a branch.
    path = ObjectStoragePath(f"lakefs://{repo.id}/typo-branch/a.txt", conn_id=lakefs_conn_id)
    with pytest.raises(FileNotFoundError):
        path.write_text("x")
    assert "typo-branch" not in [branch.id for branch in repo.branches()]


def test_connection_settings_are_refused_in_storage_options_without_showing_them(lakefs_conn_id) -> None:
    with pytest.raises(BadInputError, match=r"\['host', 'password'\].*'lakefs_default'.*set them there") as refused:
        get_fs(lakefs_conn_id, {"password": "s3cr3t-in-options", "host": "http://elsewhere"})
    assert "s3cr3t-in-options" not in str(refused.value)


def test_no_secret_in_what_a_path_or_its_filesystem_shows(lakefs_conn_id, lakefs_server, repo) -> None:
    path = ObjectStoragePath(f"lakefs://{repo.id}/main/a.txt", conn_id=lakefs_conn_id)
    shown = f"{path} {path!r} {path.fs!r} {path.fs.client!r}"
    assert lakefs_server.secret_access_key not in shown


def test_without_lakefs_spec_the_error_says_what_to_install(lakefs_conn_id) -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["lakefs_spec"] = None  # as if it were not installed
        try:
            from airflow.sdk import ObjectStoragePath
        except ImportError:
            from airflow.io.path import ObjectStoragePath
        try:
            ObjectStoragePath("lakefs://some-repo/main/a.txt", conn_id="lakefs_default").read_text()
        except ImportError as error:
            print("ImportError:", error)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    # Airflow 3.3 asks fsspec for the class when the path is made, and fsspec names the package;
    # 3.0 makes the path and asks this provider, which names the extra too.
    assert "ImportError:" in result.stdout
    assert "lakefs-spec" in result.stdout


DAG_TEMPLATE = '''
"""A task writes a lakeFS object through ObjectStoragePath; the next one reads it back."""

import pendulum
from airflow.sdk import ObjectStoragePath, dag, task


@dag(dag_id="{dag_id}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def object_storage_round_trip():
    @task
    def write() -> str:
        path = ObjectStoragePath("lakefs://{repo}/work/curated/from_task.txt", conn_id="lakefs_default")
        path.write_text("written by a task")
        return str(path)

    @task
    def read(written: str) -> str:
        return ObjectStoragePath(written).read_text()

    read(write())


object_storage_round_trip()
'''


def test_a_task_writes_and_the_next_reads_through_object_storage(lakefs_conn_id, lakefs_server, repo, airflow_db):
    repo.branch("work").create(source_reference="main")
    dag_id = f"object_storage_{repo.id.replace('-', '_')}"
    dag_file = AIRFLOW_DAGS_FOLDER / f"{dag_id}.py"
    dag_file.write_text(DAG_TEMPLATE.format(dag_id=dag_id, repo=repo.id))
    try:
        dag_run = run_dag(Path(dag_file), dag_id)
    finally:
        dag_file.unlink()

    assert task_states(dag_run) == {"write": "success", "read": "success"}
    assert xcom(dag_run, "read") == "written by a task"
    assert (
        bytes(objects.read_buffer(core(lakefs_server), repo.id, "work", "curated/from_task.txt"))
        == b"written by a task"
    )
