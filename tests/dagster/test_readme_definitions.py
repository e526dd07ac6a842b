"""The README's Dagster example runs as written (with the test's repository)."""

from typing import Any

from dagster import materialize

from lakefs_wap.run_branch import KEY_KIND
from tests.test_readme import readme_block


def test_readme_definitions_publish(monkeypatch, lakefs_server, repo, dagster_instance) -> None:
    monkeypatch.setenv("LAKEFS_ENDPOINT", lakefs_server.endpoint)
    monkeypatch.setenv("LAKEFS_ACCESS_KEY_ID", lakefs_server.access_key_id)
    monkeypatch.setenv("LAKEFS_SECRET_ACCESS_KEY", lakefs_server.secret_access_key)
    namespace: dict[str, Any] = {}
    code = readme_block("## Using Dagster").replace('"example-repo"', repr(repo.id))
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README

    defs = namespace["defs"]
    result = materialize(
        [namespace["orders"], namespace["publish"], namespace["orders_not_empty"]],
        resources=defs.resources,
        instance=dagster_instance,
    )
    assert result.success
    assert [o.path for o in repo.branch("main").objects()] == ["dagster/orders.parquet"]
    assert len([c for c in repo.branch("main").log() if (c.metadata or {}).get(KEY_KIND) == "publish"]) == 1
