"""lakefs_run_branch: how it wires a DAG, and what happens when a writer or a user's check fails."""

from __future__ import annotations

from lakefs_wap import RunBranch, RunState, connect
from tests.airflow.conftest import TEST_DAGS, load_dag, run_dag, task_states


def test_group_wires_writers_before_commit_and_checks_before_publish(airflow_db) -> None:
    dag = load_dag(TEST_DAGS / "run_branch_group_dag.py", "lakefs_group")
    tasks = dag.task_dict

    def up(task_id: str) -> set[str]:
        return set(tasks[task_id].upstream_task_ids)

    assert up("lakefs_run.write") == {"lakefs_run.open"}
    assert up("lakefs_run.commit") == {"lakefs_run.write"}
    assert up("lakefs_run.gate") == {"lakefs_run.commit"}
    assert up("lakefs_run.row_check") == {"lakefs_run.commit"}
    assert up("lakefs_run.late_write") == {"lakefs_run.gate", "lakefs_run.open"}
    assert up("lakefs_run.publish") == {"lakefs_run.gate", "lakefs_run.row_check", "lakefs_run.late_write"}
    assert up("lakefs_run.cleanup") == {"lakefs_run.publish", "lakefs_run.open"}
    assert tasks["lakefs_run.cleanup"].is_teardown
    assert tasks["lakefs_run.open"].is_setup


def status_after(dag_run, repo, lakefs_server):
    from lakefs_wap import ConnectionSettings

    settings = ConnectionSettings(lakefs_server.endpoint, lakefs_server.access_key_id, lakefs_server.secret_access_key)
    return RunBranch(connect(settings), repo.id, f"lakefs_group/{dag_run.run_id}", prefix="grp").status()


def test_a_failed_user_check_blocks_the_publish(airflow_db, lakefs_conn_id, lakefs_server, repo) -> None:
    main_before = repo.branch("main").get_commit().id
    dag_run = run_dag(
        TEST_DAGS / "run_branch_group_dag.py", "lakefs_group", run_conf={"repo": repo.id, "fail_check": True}
    )

    states = task_states(dag_run)
    assert states["lakefs_run.gate"] == "success"
    assert states["lakefs_run.row_check"] == "failed"
    assert states["lakefs_run.publish"] == "upstream_failed"
    assert states["lakefs_run.cleanup"] == "success"
    assert repo.branch("main").get_commit().id == main_before
    status = status_after(dag_run, repo, lakefs_server)
    assert status.state is RunState.FAILED
    assert status.reason == "task(s) failed before publish: lakefs_run.row_check (run state: gated)"


def test_a_failed_writer_leaves_the_branch_marked(airflow_db, lakefs_conn_id, lakefs_server, repo) -> None:
    dag_run = run_dag(
        TEST_DAGS / "run_branch_group_dag.py", "lakefs_group", run_conf={"repo": repo.id, "fail_writer": True}
    )

    states = task_states(dag_run)
    assert states["lakefs_run.write"] == "failed"
    assert states["lakefs_run.cleanup"] == "success"
    status = status_after(dag_run, repo, lakefs_server)
    assert status.state is RunState.FAILED
    assert status.reason == "task(s) failed before publish: lakefs_run.write (run state: open)"
    assert [c.message for c in repo.branch("main").log()] == ["Repository created"]


def publishes(repo) -> list[str]:
    return [c.id for c in repo.branch("main").log() if (c.metadata or {}).get("lakefs_wap.kind") == "publish"]


def read_main(repo, path: str) -> bytes | None:
    obj = repo.branch("main").object(path)
    return obj.reader(mode="rb").read() if obj.exists() else None


def test_a_check_that_writes_after_the_commit_is_not_published(airflow_db, lakefs_conn_id, lakefs_server, repo) -> None:
    main_before = repo.branch("main").get_commit().id
    dag_run = run_dag(
        TEST_DAGS / "run_branch_group_dag.py", "lakefs_group", run_conf={"repo": repo.id, "check_writes": True}
    )

    states = task_states(dag_run)
    assert states["lakefs_run.late_write"] == "success"
    assert states["lakefs_run.publish"] == "failed"
    assert dag_run.state == "failed"
    assert repo.branch("main").get_commit().id == main_before
    assert read_main(repo, "data/sneaked.csv") is None
    assert status_after(dag_run, repo, lakefs_server).state is RunState.FAILED


def test_clearing_a_published_run_with_new_data_publishes_it_and_same_data_is_unchanged(
    airflow_db, lakefs_conn_id, lakefs_server, repo
) -> None:
    import pendulum

    from tests.airflow.conftest import xcom

    day = pendulum.datetime(2026, 11, 20, tz="UTC")
    dag_file = TEST_DAGS / "run_branch_group_dag.py"
    first = run_dag(dag_file, "lakefs_group", logical_date=day, run_after=day, run_conf={"repo": repo.id})
    assert first.state == "success"
    assert read_main(repo, "data/part.csv") == b"a\n1\n"

    # Cleared and re-run with corrected data: the new data is published, by a second merge of the same run.
    fixed = run_dag(
        dag_file, "lakefs_group", logical_date=day, run_after=day, run_conf={"repo": repo.id, "content": "a\n2\n"}
    )
    assert fixed.run_id == first.run_id
    assert fixed.state == "success"
    assert read_main(repo, "data/part.csv") == b"a\n2\n"
    assert len(publishes(repo)) == 2
    assert xcom(fixed, "lakefs_run.publish", key="outcome") == "published"

    # Cleared again with the same data: green, unchanged, no third merge.
    same = run_dag(
        dag_file, "lakefs_group", logical_date=day, run_after=day, run_conf={"repo": repo.id, "content": "a\n2\n"}
    )
    assert same.state == "success"
    assert len(publishes(repo)) == 2
    assert xcom(same, "lakefs_run.publish", key="outcome") == "unchanged"
    status = status_after(same, repo, lakefs_server)
    assert status.state is RunState.UNCHANGED
    assert len(status.publishes) == 2
    assert [b.id for b in repo.branches()] == ["main"]
