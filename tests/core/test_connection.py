"""Connection settings, client reuse, retries through a fault-injecting proxy, and secrecy."""

from __future__ import annotations

import logging
from dataclasses import replace

import lakefs
import lakefs_sdk.exceptions
import pytest

from lakefs_wap import (
    AuthenticationError,
    BadInputError,
    BranchBusyError,
    ConnectionSettings,
    NotFoundError,
    RetryPolicy,
    ServerUnavailableError,
    connect,
    operations,
)
from lakefs_wap.connection import CLIENT_HEADER, CLIENT_NAME
from tests.fault_proxy import FaultProxy

SECRET = "s3cr3t-never-printed-anywhere-0000000000"  # noqa: S105 - a fake, to prove it never leaks


def test_settings_normalize_the_endpoint_and_hide_the_secret() -> None:
    settings = ConnectionSettings("https://lakefs.example.com/api/v1/", "AKIAEXAMPLE", SECRET)
    assert settings.endpoint == "https://lakefs.example.com"
    assert settings.api_url == "https://lakefs.example.com/api/v1"
    assert SECRET not in repr(settings)
    assert SECRET not in repr(connect(settings))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"endpoint": "lakefs.example.com"}, "give the server's URL with its scheme"),
        ({"endpoint": "ftp://lakefs"}, "give the server's URL with its scheme"),
        ({"access_key_id": ""}, "missing access_key_id"),
        ({"secret_access_key": " "}, "missing secret_access_key"),
        ({"ca_bundle": "/nonexistent/ca.pem"}, "CA bundle '/nonexistent/ca.pem'"),
        ({"read_timeout": 0}, "must be positive"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(kwargs: dict[str, object], message: str) -> None:
    values: dict[str, object] = {
        "endpoint": "http://localhost:8000",
        "access_key_id": "AKIA",
        "secret_access_key": SECRET,
    }
    values.update(kwargs)
    with pytest.raises(BadInputError, match=message) as raised:
        ConnectionSettings(**values)  # type: ignore[arg-type]
    assert SECRET not in str(raised.value)


def test_settings_from_lakectl_environment(monkeypatch: pytest.MonkeyPatch, lakefs_server) -> None:
    monkeypatch.setenv("LAKECTL_SERVER_ENDPOINT_URL", lakefs_server.endpoint)
    monkeypatch.setenv("LAKECTL_CREDENTIALS_ACCESS_KEY_ID", lakefs_server.access_key_id)
    monkeypatch.setenv("LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY", lakefs_server.secret_access_key)
    connection = connect()
    assert connection.settings.endpoint == lakefs_server.endpoint
    assert connection.whoami() == "lakefs-wap-admin"


def test_one_connection_per_process_and_settings(settings) -> None:
    assert connect(settings) is connect(settings)
    assert connect(settings).sdk is connect(settings).sdk
    assert connect(replace(settings, read_timeout=5)) is not connect(settings)


def test_high_level_client_shares_the_pool_and_works(connection, repo) -> None:
    assert connection.client.sdk_client is connection.sdk
    branches = [b.id for b in lakefs.Repository(repo.id, client=connection.client).branches()]
    assert branches == ["main"]
    assert connection.client.version.startswith("dev-v1.")


def test_two_servers_in_one_process_keep_their_own_configuration(connection, tmp_path) -> None:
    from tools.lakefs_server import LocalLakeFS

    with LocalLakeFS(workdir=tmp_path / "second") as second:
        other = connect(
            ConnectionSettings(second.access.endpoint, second.access.access_key_id, second.access.secret_access_key)
        )
        ours = connection.client.storage_config
        theirs = other.client.storage_config
        assert ours is not theirs
        assert (
            vars(connection.client._server_conf)["_storage_conf"]
            is not vars(other.client._server_conf)["_storage_conf"]
        )
        assert other.whoami() == connection.whoami()


def test_requests_carry_the_lakefs_wap_client_header(proxy: FaultProxy, proxied, repo) -> None:
    operations.branch_head(proxied, repo.id, "main")
    (request,) = proxy.requests_to("GET", r"/branches/main$")
    assert request.headers[CLIENT_HEADER] == CLIENT_NAME
    assert request.headers["User-Agent"].startswith(CLIENT_NAME)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retryable_statuses_are_retried_and_logged(
    status: int, proxy: FaultProxy, proxied, repo, caplog: pytest.LogCaptureFixture
) -> None:
    proxy.inject("GET", r"/branches/main$", status, times=2)
    with caplog.at_level(logging.WARNING, logger="lakefs_wap.retry"):
        head = operations.branch_head(proxied, repo.id, "main")
    assert head == repo.branch("main").get_commit().id
    assert len(proxy.requests_to("GET", r"/branches/main$")) == 3
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2
    assert f"HTTP {status} (attempt 1 of 4)" in warnings[0]
    assert f"HTTP {status} (attempt 2 of 4)" in warnings[1]


def test_dropped_connections_are_retried(proxy: FaultProxy, proxied, repo) -> None:
    proxy.inject("GET", r"/branches/main$", None, times=2)
    assert operations.branch_head(proxied, repo.id, "main") == repo.branch("main").get_commit().id
    assert len(proxy.requests_to("GET", r"/branches/main$")) == 3


@pytest.mark.parametrize("fault", [503, None], ids=["503", "dropped connection"])
def test_an_sdk_upload_retried_sends_the_whole_body_again(fault: int | None, proxy: FaultProxy, proxied, repo) -> None:
    # The generated SDK deletes the multipart Content-Type from the headers it
    # is given; a retry with the same dict once sent an empty body, and lakeFS
    # stored an empty object where the data should be.
    content = b"id,amount\n" + b"1,9.50\n" * 1000
    proxy.inject("POST", r"/objects\?path=retried\.csv", fault, times=1)
    stats = proxied.sdk.objects_api.upload_object(repo.id, "main", "retried.csv", content=content)
    assert stats.size_bytes == len(content)
    assert bytes(proxied.sdk.objects_api.get_object(repo.id, "main", "retried.csv")) == content
    assert len(proxy.requests_to("POST", r"/objects\?path=retried\.csv")) == 2


def test_a_commit_retried_after_503_commits_once(proxy: FaultProxy, proxied, repo) -> None:
    repo.branch("main").object("a.txt").upload(data=b"a")
    proxy.inject("POST", r"/branches/main/commits", 503, times=1)
    commit = operations.commit(proxied, repo.id, "main", "one commit")
    log = list(repo.branch("main").log())
    assert [c.message for c in log].count("one commit") == 1
    assert log[0].id == commit.id


@pytest.mark.parametrize("status", [400, 404, 409])
def test_other_client_errors_are_not_retried(status: int, proxy: FaultProxy, proxied, repo) -> None:
    proxy.inject("GET", r"/branches/main$", status, times=5)
    with pytest.raises(Exception):  # noqa: B017, PT011 - the class depends on the status
        operations.branch_head(proxied, repo.id, "main")
    assert len(proxy.requests_to("GET", r"/branches/main$")) == 1


def test_busy_branch_after_all_attempts_is_branch_busy(proxy: FaultProxy, proxied, repo) -> None:
    proxy.inject("GET", r"/branches/main$", 429, times=10)
    with pytest.raises(BranchBusyError, match="branch busy") as raised:
        operations.branch_head(proxied, repo.id, "main")
    assert raised.value.status == 429
    assert len(proxy.requests_to("GET", r"/branches/main$")) == 4


def test_unreachable_server_is_server_unavailable_after_bounded_retries(settings) -> None:
    from tools.lakefs_server import free_port

    dead = connect(replace(settings, endpoint=f"http://127.0.0.1:{free_port()}", connect_timeout=1))
    with pytest.raises(ServerUnavailableError, match="did not answer") as raised:
        dead.whoami()
    assert settings.secret_access_key not in str(raised.value)


def test_retry_bounds_by_total_time(proxy: FaultProxy, settings, repo) -> None:
    slow = connect(
        replace(
            settings,
            endpoint=proxy.endpoint,
            retry=RetryPolicy(max_attempts=50, initial_backoff=0.2, max_backoff=0.2, max_elapsed=0.5),
        )
    )
    proxy.inject("GET", r"/branches/main$", 503, times=100)
    with pytest.raises(ServerUnavailableError):
        operations.branch_head(slow, repo.id, "main")
    # The 0.5 s budget stopped it, not the 50 attempts. (How many tries fit in
    # the budget depends on the random jitter: 11 have been seen; 50 would need
    # every delay under 10 ms out of 0-200 ms.)
    assert 2 <= len(proxy.requests_to("GET", r"/branches/main$")) < 50


def test_wrong_secret_is_an_authentication_error_that_sdk_handlers_still_catch(settings, caplog) -> None:
    wrong = connect(replace(settings, secret_access_key=SECRET))
    with caplog.at_level(logging.DEBUG), pytest.raises(lakefs_sdk.exceptions.UnauthorizedException) as raised:
        wrong.whoami()
    assert isinstance(raised.value, AuthenticationError)
    assert "access key id and secret access key" in str(raised.value)
    assert SECRET not in str(raised.value)
    assert SECRET not in caplog.text


def test_missing_repository_names_it_and_is_an_sdk_not_found(connection) -> None:
    with pytest.raises(lakefs_sdk.exceptions.NotFoundException) as raised:
        operations.branch_head(connection, "no-such-repo", "main")
    assert isinstance(raised.value, NotFoundError)
    assert isinstance(raised.value, lakefs.exceptions.NotFoundException)
    assert "'no-such-repo'" in str(raised.value)


def test_every_lakefs_answer_error_is_still_an_sdk_api_exception(connection, repo) -> None:
    # Code written for the generated SDK (and airflow-provider-lakefs, which raised
    # its exceptions) catches ApiException: a merge conflict (409) must still land there.
    from lakefs_wap import MergeConflictError, objects, operations
    from lakefs_wap.errors import BranchBusyError, HookRejectedError

    assert all(issubclass(kind, lakefs_sdk.exceptions.ApiException) for kind in (BranchBusyError, HookRejectedError))
    operations.create_branch(connection, repo.id, "other", "main")
    objects.upload(connection, repo.id, "main", "same.txt", b"main side")
    operations.commit(connection, repo.id, "main", "main side")
    objects.upload(connection, repo.id, "other", "same.txt", b"other side")
    operations.commit(connection, repo.id, "other", "other side")
    with pytest.raises(lakefs_sdk.exceptions.ApiException) as caught:
        operations.merge(connection, repo.id, "other", "main")
    assert isinstance(caught.value, MergeConflictError)
    assert caught.value.status == 409
    assert "same.txt" in str(caught.value)
