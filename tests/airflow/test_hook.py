"""LakeFSHook: both connection shapes, the incumbent's methods, connection testing."""

from __future__ import annotations

import importlib
import io
import json
import os
import subprocess
import sys

import pytest

from lakefs_provider.hooks.lakefs_hook import LakeFSHook
from lakefs_wap import BadInputError, NotFoundError, RetryPolicy


def test_lakefs_connection_with_all_extras(monkeypatch, lakefs_server) -> None:
    extra = {"verify_ssl": "false", "timeout": "30", "connect_timeout": 3, "max_retries": 2, "proxy": ""}
    monkeypatch.setenv(
        "AIRFLOW_CONN_LAKEFS_FULL",
        json.dumps(
            {
                "conn_type": "lakefs",
                "host": lakefs_server.endpoint,
                "login": lakefs_server.access_key_id,
                "password": lakefs_server.secret_access_key,
                "extra": extra,
            }
        ),
    )
    settings = LakeFSHook("lakefs_full").settings()
    assert settings.endpoint == lakefs_server.endpoint
    assert settings.verify_ssl is False
    assert (settings.read_timeout, settings.connect_timeout) == (30.0, 3.0)
    assert settings.retry == RetryPolicy(max_attempts=2)
    assert settings.proxy is None


def test_incumbent_http_connection_with_keys_in_extras(monkeypatch, lakefs_server, repo) -> None:
    host, port = lakefs_server.endpoint.removeprefix("http://").split(":")
    monkeypatch.setenv(
        "AIRFLOW_CONN_LAKEFS_OLD",
        json.dumps(
            {
                "conn_type": "http",
                "host": host,
                "port": int(port),
                "extra": {
                    "access_key_id": lakefs_server.access_key_id,
                    "secret_access_key": lakefs_server.secret_access_key,
                },
            }
        ),
    )
    hook = LakeFSHook(lakefs_conn_id="lakefs_old")
    assert hook.get_conn().settings.endpoint == lakefs_server.endpoint
    assert hook.get_branch_commit_id(repo.id, "main") == repo.branch("main").get_commit().id


def test_incumbent_hook_methods(lakefs_conn_id, repo) -> None:
    hook = LakeFSHook(lakefs_conn_id)
    head = hook.create_branch(repository=repo.id, name="etl", source_branch="main")
    assert hook.create_branch(repo.id, "etl", "main") == head  # again: converges
    stats = hook.upload(repo.id, "etl", "a.txt", io.BytesIO(b"alpha"))
    assert stats.size_bytes == 5
    commit_id = hook.commit(repo.id, "etl", "add a", {"k": "v"})
    assert hook.get_branch_commit_id(repo.id, name="etl") == commit_id
    assert hook.get_commit(repo.id, commit_id)["metadata"] == {"k": "v"}
    assert hook.stat_object(repo.id, "etl", "a.txt").path == "a.txt"
    assert hook.get_object(repo.id, "etl", "a.txt").read() == b"alpha"
    merge_id = hook.merge(repo.id, "etl", "main", "publish", {"by": "hook"})
    log = list(hook.log_commits(repo.id, "main", size=1))
    assert [c["id"] for c in log] == [merge_id, commit_id, head]
    assert set(log[0]) == {"id", "message", "metadata", "parents", "creation_date", "committer", "meta_range_id"}
    assert hook.delete_branch(repo.id, "etl") is True
    with pytest.raises(NotFoundError):
        hook.get_branch_commit_id(repo.id, "etl")


def test_test_connection_reports_success_and_failure(lakefs_conn_id, lakefs_server, monkeypatch) -> None:
    ok, message = LakeFSHook(lakefs_conn_id).test_connection()
    assert ok
    assert f"Connected to lakeFS dev-v1.84.0 at {lakefs_server.endpoint} as 'lakefs-wap-admin'" == message[:-1]
    monkeypatch.setenv(
        "AIRFLOW_CONN_LAKEFS_BAD",
        json.dumps({"conn_type": "lakefs", "host": lakefs_server.endpoint, "login": "AKIA", "password": "nope-123"}),
    )
    ok, message = LakeFSHook("lakefs_bad").test_connection()
    assert not ok
    assert "did not accept the credentials" in message
    assert "nope-123" not in message


def test_test_connection_reports_unusable_settings_as_a_verdict(lakefs_server, monkeypatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_LAKEFS_NOSECRET",
        json.dumps({"conn_type": "lakefs", "host": lakefs_server.endpoint, "login": "AKIA"}),
    )
    ok, message = LakeFSHook("lakefs_nosecret").test_connection()
    assert not ok
    assert "secret" in message
    ok, message = LakeFSHook("lakefs_never_defined").test_connection()
    assert not ok
    assert "lakefs_never_defined" in message


def test_a_str_naming_a_local_file_is_refused_not_stored_as_its_name(lakefs_conn_id, repo, tmp_path) -> None:
    # airflow-provider-lakefs uploaded the file such a string names; storing the
    # string instead would put different bytes in lakeFS without a word.
    local = tmp_path / "orders.csv"
    local.write_bytes(b"id\n1\n")
    hook = LakeFSHook(lakefs_conn_id)
    with pytest.raises(BadInputError, match=r"names a local file.*source_file="):
        hook.upload(repo.id, "main", "orders.csv", str(local))
    with pytest.raises(NotFoundError):
        hook.stat_object(repo.id, "main", "orders.csv")
    hook.upload(repo.id, "main", "note.txt", "just text, not a file")
    assert hook.get_object(repo.id, "main", "note.txt") == b"just text, not a file"


def airflow_connections_test(connection: dict[str, object]) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AIRFLOW_CONN_LAKEFS_CLI": json.dumps(connection),
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
    }
    return subprocess.run(
        [sys.executable, "-m", "airflow", "connections", "test", "lakefs_cli"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_airflow_cli_tests_the_connection(airflow_db, lakefs_server) -> None:
    connection = {
        "conn_type": "lakefs",
        "host": lakefs_server.endpoint,
        "login": lakefs_server.access_key_id,
        "password": lakefs_server.secret_access_key,
    }
    good = airflow_connections_test(connection)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Connection success!" in good.stdout

    bad = airflow_connections_test({**connection, "password": "cli-wrong-secret-77"})
    assert "Connection failed!" in bad.stdout
    assert "lakeFS did not accept the credentials" in bad.stdout
    assert "cli-wrong-secret-77" not in bad.stdout + bad.stderr
    assert lakefs_server.secret_access_key not in good.stdout + good.stderr + bad.stdout + bad.stderr


def test_default_deferrable_config_is_honoured(monkeypatch) -> None:
    from lakefs_provider.sensors.commit_sensor import LakeFSCommitSensor
    from lakefs_provider.sensors.file_sensor import LakeFSFileSensor

    assert LakeFSFileSensor(task_id="plain", repo="r", path="p").deferrable is False
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "true")
    assert LakeFSFileSensor(task_id="by_config", repo="r", path="p").deferrable is True
    assert LakeFSCommitSensor(task_id="by_config_c", repo="r", branch="b").deferrable is True
    assert LakeFSCommitSensor(task_id="explicit", repo="r", branch="b", deferrable=False).deferrable is False


@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("lakefs_provider.hooks.lakefs_hook", ["LakeFSHook"]),
        ("lakefs_provider.operators.create_branch_operator", ["LakeFSCreateBranchOperator"]),
        ("lakefs_provider.operators.commit_operator", ["LakeFSCommitOperator"]),
        ("lakefs_provider.operators.merge_operator", ["LakeFSMergeOperator"]),
        ("lakefs_provider.operators.upload_operator", ["LakeFSUploadOperator"]),
        ("lakefs_provider.operators.get_commit_operator", ["LakeFSGetCommitOperator"]),
        ("lakefs_provider.operators.get_object_operator", ["LakeFSGetObjectOperator"]),
        ("lakefs_provider.operators.delete_branch_operator", ["LakeFSDeleteBranchOperator"]),
        ("lakefs_provider.sensors.commit_sensor", ["CommitSensor", "LakeFSCommitSensor"]),
        ("lakefs_provider.sensors.file_sensor", ["FileSensor", "LakeFSFileSensor"]),
        ("lakefs_provider.links.lakefs_link", ["LakeFSLink"]),
    ],
)
def test_incumbent_import_paths_keep_working(module: str, names: list[str]) -> None:
    imported = importlib.import_module(module)
    for name in names:
        assert isinstance(getattr(imported, name), type)


def test_incumbent_operator_signatures_are_accepted() -> None:
    from lakefs_provider.operators.commit_operator import LakeFSCommitOperator
    from lakefs_provider.operators.merge_operator import LakeFSMergeOperator

    commit = LakeFSCommitOperator(task_id="c", lakefs_conn_id="x", repo="r", branch="b", msg="m", metadata={"a": "b"})
    merge = LakeFSMergeOperator(
        task_id="m", lakefs_conn_id="x", repo="r", source_ref="b", destination_branch="main", msg="m", metadata={}
    )
    assert (commit.lakefs_conn_id, commit.msg, merge.source_ref) == ("x", "m", "b")


def test_airflow_metadata_can_be_turned_off() -> None:
    from lakefs_provider.operators.commit_operator import LakeFSCommitOperator

    plain = LakeFSCommitOperator(task_id="c", repo="r", branch="b", msg="m", add_airflow_metadata=False)
    assert plain.commit_metadata(context={}, metadata={"only": "mine"}) == {"only": "mine"}
