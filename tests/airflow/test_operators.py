"""Every operator inside a real DAG run (dag.test) against the real lakeFS:
XComs, commit metadata, lakeFS state, retries that converge, links."""

from __future__ import annotations

from pathlib import Path

from lakefs_provider.links.lakefs_link import LakeFSLink
from lakefs_provider.run_metadata import PREFIX, UI_URL_KEY
from tests.airflow.conftest import TEST_DAGS, run_dag, task_states, try_numbers, xcom

ORDERS = b"order_id,amount\n1,9.50\n2,3.25\n"


def test_every_operator_in_one_dag_run(airflow_db, lakefs_conn_id, lakefs_server, repo, tmp_path: Path) -> None:
    source = tmp_path / "orders.csv"
    source.write_bytes(ORDERS)
    download_to = tmp_path / "out" / "orders.csv"
    main_before = repo.branch("main").get_commit().id

    dag_run = run_dag(
        TEST_DAGS / "operators_dag.py",
        "lakefs_operators",
        run_conf={"repo": repo.id, "source_file": str(source), "download_to": str(download_to)},
    )

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    # the flaky operators wrote on try 1, crashed, and converged on try 2
    tries = try_numbers(dag_run)
    assert (tries["commit"], tries["merge"], tries["revert"]) == (2, 2, 2)

    commit_id = xcom(dag_run, "commit")
    commit = repo.commit(commit_id).get_commit()
    assert commit.message.startswith("ingest ")
    assert commit.metadata["source"] == "operators_dag"
    assert commit.metadata[PREFIX + "dag_id"] == "lakefs_operators"
    assert commit.metadata[PREFIX + "dag_run_id"] == dag_run.run_id
    assert commit.metadata[PREFIX + "task_id"] == "commit"
    assert commit.metadata[PREFIX + "try_number"] == "1"
    assert commit.metadata[PREFIX + "logical_date[iso8601]"]
    assert commit.metadata[UI_URL_KEY].endswith(
        f"/dags/lakefs_operators/runs/{dag_run.run_id.replace(':', '%3A').replace('+', '%2B')}"
    )
    etl_commits = [c for c in repo.branch("main").log() if (c.metadata or {}).get(PREFIX + "task_id") == "commit"]
    assert len(etl_commits) == 1  # the retry did not commit again

    assert xcom(dag_run, "create_branch") == main_before
    stats = xcom(dag_run, "upload_file", key="stats")
    assert stats == {
        "path": "raw/orders.csv",
        "checksum": stats["checksum"],
        "size_bytes": len(ORDERS),
        "content_type": "application/octet-stream",
        "physical_address": xcom(dag_run, "upload_file"),
    }
    assert xcom(dag_run, "get_commit")["id"] == commit_id
    assert xcom(dag_run, "get_commit")["metadata"]["source"] == "operators_dag"
    assert xcom(dag_run, "get_object") == f"hello {dag_run.run_id}"

    merge_id = xcom(dag_run, "merge")
    merges = [c for c in repo.branch("main").log() if (c.metadata or {}).get(PREFIX + "task_id") == "merge"]
    assert [c.id for c in merges] == [merge_id]
    assert set(repo.commit(merge_id).get_commit().parents) == {main_before, commit_id}

    ((tag_name, tagged),) = ((t.id, t.get_commit().id) for t in repo.tags() if not t.id.startswith("wap."))
    assert tagged == merge_id
    assert tag_name.startswith("release-")
    assert download_to.read_bytes() == ORDERS

    revert_id = xcom(dag_run, "revert")
    assert repo.branch("main").get_commit().id == revert_id
    assert [o.path for o in repo.branch("main").objects()] == []
    reverts = [c for c in repo.branch("main").log() if (c.metadata or {}).get(PREFIX + "task_id") == "revert"]
    assert len(reverts) == 1

    assert xcom(dag_run, "delete_branch") is True
    assert [b.id for b in repo.branches()] == ["main"]

    link = xcom(dag_run, "merge", key=LakeFSLink().xcom_key)
    assert link == f"{lakefs_server.endpoint}/repositories/{repo.id}/commits/{merge_id}"
    assert xcom(dag_run, "create_branch", key=LakeFSLink().xcom_key).endswith(
        f"/repositories/{repo.id}/objects?ref=etl"
    )
