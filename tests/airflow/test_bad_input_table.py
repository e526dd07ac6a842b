"""Bad input through Airflow: the hook, operators and sensors in DAGs run by ``dag.test()``,
and the ``lakefs_run_branch`` group. Each case fails with the documented error, a
message naming the problem and the fix, and no write request reaches lakeFS (the
connection goes through a recording ``FaultProxy``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from lakefs_provider.hooks.lakefs_hook import LakeFSHook
from lakefs_wap import BadInputError, InvalidNameError, NoDeletions
from lakefs_wap.limits import COMMIT_METADATA_MAX_BYTES
from tests.airflow.bad_input_cases import (
    BAD_EXTRA,
    CONSTRUCTION,
    DAG_CASES,
    DOWN,
    EXTRA_DROPPED_BY_AIRFLOW,
    FAILURES,
    NOT_LAKEFS,
    DagCase,
    broken_extra_words,
    recording_failures,
)
from tests.airflow.conftest import TEST_DAGS, load_dag
from tests.bad_input import (
    LEAD_PENDING,
    Case,
    assert_clear,
    assert_no_writes,
    closed_port_endpoint,
    not_lakefs_server,
)
from tests.fault_proxy import FaultProxy
from tools.lakefs_server import ServerAccess

SECRET_IN_EXTRA = "s3cr3t-in-extra-9917"  # noqa: S105 - a fake, to prove a broken Extra is never echoed


def lakefs_connection(host: str, server: ServerAccess, **more: Any) -> str:
    return json.dumps(
        {"conn_type": "lakefs", "host": host, "login": server.access_key_id, "password": server.secret_access_key}
        | more
    )


@pytest.fixture
def connections(proxy: FaultProxy, lakefs_server: ServerAccess, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``lakefs_default`` through the recording proxy, and the broken connections the cases use."""
    with not_lakefs_server() as (not_lakefs, _):
        env = {
            "LAKEFS_DEFAULT": lakefs_connection(proxy.endpoint, lakefs_server),
            DOWN: lakefs_connection(closed_port_endpoint(), lakefs_server, extra={"max_retries": 1}),
            NOT_LAKEFS: lakefs_connection(not_lakefs, lakefs_server, extra={"max_retries": 1}),
            BAD_EXTRA: lakefs_connection(proxy.endpoint, lakefs_server, extra=f"secret_access_key: {SECRET_IN_EXTRA}"),
            "lakefs_extra_list": lakefs_connection(proxy.endpoint, lakefs_server, extra='["verify_ssl"]'),
            "lakefs_negative_timeout": lakefs_connection(proxy.endpoint, lakefs_server, extra={"timeout": -1}),
            "lakefs_ftp": lakefs_connection("ftp://files.example.com", lakefs_server),
        }
        for conn_id, value in env.items():
            monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", value)
        with recording_failures():
            yield "lakefs_default"


@pytest.mark.parametrize("case", DAG_CASES, ids=[case.id for case in DAG_CASES])
def test_operators_sensors_and_groups_refuse_bad_input_before_any_write(
    case: DagCase, airflow_db: None, connections: str, proxy: FaultProxy, repo: Any
) -> None:
    FAILURES.pop(case.dag_id, None)
    try:
        dag = load_dag(TEST_DAGS / "bad_input_table_dag.py", case.dag_id)
    except LookupError:
        dag = None
    refused_while_built = dict(FAILURES.get(case.dag_id, [])).get(CONSTRUCTION)
    if refused_while_built is not None:  # no run at all
        error = refused_while_built
    else:
        assert dag is not None
        assert dag.test(run_conf={"repo": repo.id}).state == "failed"
        failed = dict(FAILURES.get(case.dag_id, []))
        assert case.task in failed, f"{case.task} did not fail; failed tasks: {sorted(failed)}"
        error = failed[case.task]
    assert_clear(error, case.error, case.words)
    assert_no_writes(proxy)


def test_a_broken_extra_is_never_echoed(connections: str) -> None:
    with pytest.raises(BadInputError) as raised:
        LakeFSHook(BAD_EXTRA).get_conn()
    assert SECRET_IN_EXTRA not in str(raised.value)
    if not EXTRA_DROPPED_BY_AIRFLOW:
        assert "Expecting value at line 1, column 1" in str(raised.value)


def hook(conn_id: str = "lakefs_default") -> LakeFSHook:
    return LakeFSHook(conn_id)


TOO_BIG = "x" * (COMMIT_METADATA_MAX_BYTES + 1)

HOOK_CASES = [
    Case(
        "extra-not-json",
        lambda repo: hook(BAD_EXTRA).get_conn(),
        BadInputError,
        broken_extra_words(BAD_EXTRA, [f"lakeFS connection '{BAD_EXTRA}'", "not valid JSON", "JSON object such as"]),
    ),
    Case(
        "extra-a-json-list",
        lambda repo: hook("lakefs_extra_list").get_conn(),
        BadInputError,
        broken_extra_words(
            "lakefs_extra_list", ["lakeFS connection 'lakefs_extra_list'", "JSON but a list", "JSON object"]
        ),
    ),
    Case(
        "negative-timeout",
        lambda repo: hook("lakefs_negative_timeout").get_conn(),
        BadInputError,
        ["lakeFS connection 'lakefs_negative_timeout'", "must be a number of seconds greater than 0"],
    ),
    Case(
        "endpoint-not-http",
        lambda repo: hook("lakefs_ftp").get_conn(),
        BadInputError,
        ["lakeFS connection 'lakefs_ftp'", "invalid lakeFS endpoint", "http://localhost:8000"],
    ),
    Case(
        "missing-connection",
        lambda repo: hook("nowhere").get_conn(),
        BadInputError,
        ["Airflow connection 'nowhere' is not defined", "AIRFLOW_CONN_NOWHERE"],
    ),
    Case(
        "upload-none",
        lambda repo: hook().upload(repo, "main", "raw/a.csv", None),  # type: ignore[arg-type]
        BadInputError,
        ["the content is None", "b'' writes an empty object"],
    ),
    Case(
        "upload-a-number",
        lambda repo: hook().upload(repo, "main", "raw/a.csv", 42),  # type: ignore[arg-type]
        BadInputError,
        ["type int", "serialize other values"],
    ),
    Case(
        "upload-dot-segment",
        lambda repo: hook().upload(repo, "main", "raw/./a.csv", b"x"),
        InvalidNameError,
        ["'.' segment"],
    ),
    Case(
        "stat-folder-path",
        lambda repo: hook().stat_object(repo, "main", "raw/"),
        InvalidNameError,
        ["names a folder"],
    ),
    Case(
        "delete-default-branch",
        lambda repo: hook().delete_branch(repo, "main"),
        BadInputError,
        ["default branch of repository", "Delete another branch"],
    ),
    Case(
        "create-branch-slash",
        lambda repo: hook().create_branch(repo, "feature/x", "main"),
        InvalidNameError,
        ["invalid branch name 'feature/x'"],
    ),
    Case(
        "commit-nested-metadata",
        lambda repo: hook().commit(repo, "main", "m", {"config": {"a": 1}}),
        BadInputError,
        ["json.dumps"],
    ),
    Case(
        "merge-destination-with-dot",
        lambda repo: hook().merge(repo, "main", "release.1", "m"),
        InvalidNameError,
        ["invalid destination branch name 'release.1'"],
    ),
    Case(
        "commit-metadata-over-the-limit",
        lambda repo: hook().commit(repo, "main", "m", {"blob": TOO_BIG}),
        BadInputError,
        ["over the limit"],
        note=LEAD_PENDING,
    ),
]


@pytest.mark.parametrize("case", HOOK_CASES, ids=[case.id for case in HOOK_CASES])
def test_hook_refuses_bad_input_before_any_write(case: Case, connections: str, proxy: FaultProxy, repo: Any) -> None:
    with pytest.raises(Exception) as raised:  # noqa: PT011 - the type is checked below, with the message
        case.call(repo.id)
    assert_clear(raised.value, case.error, case.words)
    assert_no_writes(proxy)


@pytest.mark.parametrize(
    ("conn_id", "words"),
    [
        (DOWN, [f"Airflow connection '{DOWN}'", "endpoint http://127.0.0.1:", "did not answer"]),
        (NOT_LAKEFS, [f"Airflow connection '{NOT_LAKEFS}'", "not a lakeFS server", "Check the endpoint"]),
    ],
)
def test_testing_a_broken_connection_names_it_and_its_endpoint(conn_id: str, words: list[str], connections) -> None:
    ok, message = LakeFSHook(conn_id).test_connection()
    assert not ok
    assert all(word in message for word in words), message


def test_a_gate_list_given_as_a_string_fails_the_dag_file_not_a_run(airflow_db) -> None:
    from airflow.sdk import DAG

    from lakefs_provider.operators.quality_gate_operator import LakeFSQualityGateOperator
    from lakefs_provider.run_branch_group import lakefs_run_branch

    with DAG("gates_as_a_string", schedule=None), pytest.raises(BadInputError, match="type str"):  # noqa: SIM117
        with lakefs_run_branch(repo="some-repo", gates="no_deletions"):  # type: ignore[arg-type]
            pass
    with pytest.raises(BadInputError, match=r"item 1 is a str \('raw/'\), not a gate"):
        LakeFSQualityGateOperator(task_id="gate", repo="r", ref="main", gates=[NoDeletions(), "raw/"])  # type: ignore[list-item]


def test_the_airflow_tables_are_large_and_have_unique_ids() -> None:
    ids = [case.id for case in DAG_CASES] + [f"hook-{case.id}" for case in HOOK_CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 40
