"""The Dagster examples of the README and the docs run as written (with the test's repository)."""

from typing import Any

import pytest
from dagster import materialize

from lakefs_wap.keys import KEY_KIND
from tests.test_docs import snippet


def definitions_namespace(page: str, name: str, monkeypatch, lakefs_server, repo) -> dict[str, Any]:
    monkeypatch.setenv("LAKEFS_ENDPOINT", lakefs_server.endpoint)
    monkeypatch.setenv("LAKEFS_ACCESS_KEY_ID", lakefs_server.access_key_id)
    monkeypatch.setenv("LAKEFS_SECRET_ACCESS_KEY", lakefs_server.secret_access_key)
    namespace: dict[str, Any] = {}
    code = snippet(page, name).replace('"example-repo"', repr(repo.id))
    exec(compile(code, page, "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace


def assert_published_once(repo) -> None:
    assert [o.path for o in repo.branch("main").objects()] == ["dagster/orders.parquet"]
    assert len([c for c in repo.branch("main").log() if (c.metadata or {}).get(KEY_KIND) == "publish"]) == 1


def test_dagster_page_definitions_publish(monkeypatch, lakefs_server, repo, dagster_instance) -> None:
    namespace = definitions_namespace("docs/dagster.md", "dagster-definitions", monkeypatch, lakefs_server, repo)

    defs = namespace["defs"]
    result = materialize(
        [namespace["orders"], namespace["publish"], namespace["orders_not_empty"]],
        resources=defs.resources,
        instance=dagster_instance,
    )
    assert result.success
    assert_published_once(repo)


# The short example is the README's and the getting-started page's.
@pytest.mark.parametrize("page", ["README.md", "docs/getting-started.md"])
def test_short_definitions_publish(monkeypatch, lakefs_server, repo, dagster_instance, page: str) -> None:
    namespace = definitions_namespace(page, "dagster-short", monkeypatch, lakefs_server, repo)

    defs = namespace["defs"]
    result = materialize(
        [namespace["orders"], namespace["publish"]], resources=defs.resources, instance=dagster_instance
    )
    assert result.success
    assert_published_once(repo)
