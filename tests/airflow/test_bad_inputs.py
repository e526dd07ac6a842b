"""Bad input fails the task with a message naming the problem, and no secret reaches the logs."""

from __future__ import annotations

import json
import logging

import pytest

from tests.airflow.conftest import TEST_DAGS, plain, run_dag, task_states, without_airflow_mask_requests

WRONG_SECRET = "wrong-secret-do-not-print-4242"  # noqa: S105 - a fake, to prove it never leaks


def test_bad_inputs_fail_with_clear_messages_and_no_secret_in_logs(
    airflow_db, lakefs_conn_id, lakefs_server, repo, monkeypatch, caplog, capfd
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_LAKEFS_BAD_SECRET",
        json.dumps(
            {
                "conn_type": "lakefs",
                "host": lakefs_server.endpoint,
                "login": lakefs_server.access_key_id,
                "password": WRONG_SECRET,
            }
        ),
    )
    with caplog.at_level(logging.INFO):
        dag_run = run_dag(TEST_DAGS / "bad_inputs_dag.py", "lakefs_bad_inputs", run_conf={"repo": repo.id})
    captured = capfd.readouterr()
    logs = plain(caplog.text + captured.out + captured.err)

    assert dag_run.state == "failed"
    assert set(task_states(dag_run).values()) == {"failed"}
    assert "invalid branch name 'feature/" in logs
    assert "no '/', '.', ':' or spaces" in logs
    assert "not found: could not commit on branch 'main' in repository 'no-such-repo'" in logs
    assert "lakeFS did not accept the credentials" in logs
    assert "Airflow connection 'nowhere' is not defined" in logs
    logs_of_others = without_airflow_mask_requests(logs)
    assert WRONG_SECRET not in logs_of_others
    assert lakefs_server.secret_access_key not in logs_of_others
    assert [b.id for b in repo.branches()] == ["main"]  # the invalid branch was never sent


@pytest.mark.parametrize(
    ("connection", "message"),
    [
        ({"conn_type": "lakefs", "login": "AKIA", "password": "x"}, "has no endpoint"),
        ({"conn_type": "lakefs", "host": "http://h:8000", "password": "x"}, "has no access key id"),
        ({"conn_type": "lakefs", "host": "http://h:8000", "login": "AKIA"}, "has no secret access key"),
        (
            {
                "conn_type": "lakefs",
                "host": "http://h:8000",
                "login": "A",
                "password": "x",
                "extra": {"timeout": "soon"},
            },
            "extra 'timeout' must be a number",
        ),
        (
            {
                "conn_type": "lakefs",
                "host": "http://h:8000",
                "login": "A",
                "password": "x",
                "extra": {"verify_ssl": "maybe"},
            },
            "extra 'verify_ssl' must be true or false",
        ),
    ],
)
def test_incomplete_connections_name_the_missing_field(connection, message, monkeypatch) -> None:
    from lakefs_provider.hooks.lakefs_hook import LakeFSHook
    from lakefs_wap import BadInputError

    monkeypatch.setenv("AIRFLOW_CONN_LAKEFS_PARTIAL", json.dumps(connection))
    with pytest.raises(BadInputError, match=f"lakeFS connection 'lakefs_partial'.*{message}"):
        LakeFSHook("lakefs_partial").get_conn()
