"""A DAG in airflow-provider-lakefs's style runs unchanged (but for what Airflow 3
forces) against the real lakeFS, and leaves what the old provider would have left."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import lakefs
import pytest

from lakefs_provider.links.lakefs_link import LakeFSLink
from lakefs_provider.run_metadata import PREFIX
from lakefs_provider.sensors.file_sensor import FileSensor
from lakefs_provider.triggers.commit_trigger import LakeFSCommitTrigger
from lakefs_wap import NotFoundError
from tests.airflow.conftest import TEST_DAGS, run_dag, task_states, xcom
from tools.lakefs_server import ServerAccess

DAG_FILE = TEST_DAGS / "incumbent_dropin_dag.py"


def content(branch: lakefs.Branch, path: str) -> bytes:
    data = branch.object(path).reader(mode="rb").read()
    assert isinstance(data, bytes)
    return data


@pytest.fixture
def http_connection(lakefs_server: ServerAccess, monkeypatch: pytest.MonkeyPatch) -> str:
    """The connection lakeFS's Airflow page tells users to create: type http, keys in extra."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_CONN_LAKEFS",
        json.dumps(
            {
                "conn_type": "http",
                "host": lakefs_server.endpoint,
                "extra": {
                    "access_key_id": lakefs_server.access_key_id,
                    "secret_access_key": lakefs_server.secret_access_key,
                },
            }
        ),
    )
    return "conn_lakefs"


def test_a_dag_written_for_the_incumbent_runs_and_publishes(
    airflow_db, http_connection, lakefs_server, repo: lakefs.Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEFS_DROPIN_REPO", repo.id)
    dag_run = run_dag(DAG_FILE, "lakefs_incumbent_dropin")

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)

    main = repo.branch("main")
    assert content(main, "path/to/_SUCCESS").startswith(b"Data arrives")
    assert content(main, "/landing/notes.txt") == b"notes, given as a file object\n"
    assert main.object("audit/marker.txt").exists()
    assert "example-branch" not in {b.id for b in repo.branches()}

    merge_id = xcom(dag_run, "merge_branches")
    merge = main.get_commit()
    assert merge.metadata is not None
    assert merge.id == merge_id
    assert merge.metadata["committer"] == "airflow-operator"
    assert merge.metadata["airflow_task_id"] == "merge_branches"
    assert merge.metadata[PREFIX + "task_id"] == "merge_branches"
    assert merge.metadata[PREFIX + "run_type"] == "manual"
    assert merge.metadata[PREFIX + "dag_run_id"] == dag_run.run_id
    assert merge.metadata[PREFIX + "url[url:id]"].endswith(
        f"/api/v2/dags/lakefs_incumbent_dropin/dagRuns/{dag_run.run_id.replace(':', '%3A').replace('+', '%2B')}"
    )

    audit = repo.commit(xcom(dag_run, "audit")).get_commit()
    assert audit.metadata is not None
    assert audit.metadata["audited_by"] == "custom-operator"
    assert audit.metadata[PREFIX + "dag_id"] == "lakefs_incumbent_dropin"
    assert audit.metadata[PREFIX + "task_id"] == "audit"
    assert xcom(dag_run, "audit", key=LakeFSLink.key) == (
        f"{lakefs_server.endpoint}/repositories/{repo.id}/commits/{audit.id}"
    )
    assert xcom(dag_run, "merge_branches", key=LakeFSLink.key).endswith(f"/commits/{merge_id}")

    commit_id = xcom(dag_run, "commit")
    assert xcom(dag_run, "sense_commit") in (commit_id, audit.id)  # the branch head when it poked
    assert xcom(dag_run, "get_object").startswith("Data arrives")
    assert xcom(dag_run, "upload_bytes").startswith(repo.properties.storage_namespace.split("://")[0] + "://")

    namespace = repo.properties.storage_namespace
    assert xcom(dag_run, "create_symlink") == f"{namespace.rstrip('/')}/symlinks"

    seen = xcom(dag_run, "hook_the_old_ways")
    assert seen["head_by_client"] == seen["head_by_hook"] == audit.id
    assert (
        seen["stat_size_by_key"]
        == seen["stat_size_by_attribute"]
        == len(b"Data arrives, gets checked, then gets merged.")
    )
    assert seen["content_as_bytes"] == seen["content_read"] == "Data arrives, gets checked, then gets merged."
    assert seen["listed_by_client"] == ["/landing/notes.txt", "audit/marker.txt", "path/to/_SUCCESS"]
    assert seen["base_url"] == lakefs_server.endpoint
    assert seen["missing_raises_not_found"] is True


def test_file_sensor_waits_for_a_repository_that_does_not_exist_yet(lakefs_conn_id) -> None:
    waiting = FileSensor(task_id="old", repo="not-created-yet", branch="main", path="a.csv")
    assert waiting.check({}) is None
    strict = FileSensor(task_id="strict", repo="not-created-yet", branch="main", path="a.csv", ref_exists=True)
    with pytest.raises(NotFoundError, match="'not-created-yet'"):
        strict.check({})


@pytest.mark.asyncio
async def test_deferred_commit_sensor_waits_for_the_branch_then_for_a_commit(
    lakefs_conn_id, repo: lakefs.Repository
) -> None:
    trigger = LakeFSCommitTrigger(
        repo=repo.id, branch="later", prev_commit_id=None, branch_exists=False, poke_interval=0.2
    )

    async def create_then_commit() -> str:
        await asyncio.sleep(1)
        branch = await asyncio.to_thread(lambda: repo.branch("later").create(source_reference="main"))
        await asyncio.sleep(1)  # the trigger sees the new branch's head first: that is its baseline

        def commit() -> str:
            branch.object("a.csv").upload(data=b"a")
            return str(branch.commit(message="first data").get_commit().id)

        return await asyncio.to_thread(commit)

    async def first_event() -> Any:
        async for event in trigger.run():
            return event
        return None

    event, new_commit = await asyncio.gather(asyncio.wait_for(first_event(), 30), create_then_commit())
    assert event.payload == {"status": "success", "value": new_commit}
