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
    assert up("lakefs_run.publish") == {"lakefs_run.gate", "lakefs_run.row_check"}
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
