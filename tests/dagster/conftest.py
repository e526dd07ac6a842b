"""Dagster test harness: an instance in a temporary directory per test, which
(unlike an in-memory one) also serves the multiprocess executor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance, instance_for_test


@pytest.fixture
def dagster_instance(tmp_path: Path) -> Iterator[DagsterInstance]:
    home = tmp_path / "dagster-home"
    home.mkdir()
    with instance_for_test(temp_dir=str(home)) as instance:
        yield instance


@pytest.fixture
def lakefs_env(monkeypatch: pytest.MonkeyPatch, lakefs_server, repo) -> str:
    """The environment tests/dagster/wap_defs.py reads its lakeFS settings from."""
    monkeypatch.setenv("TEST_LAKEFS_ENDPOINT", lakefs_server.endpoint)
    monkeypatch.setenv("TEST_LAKEFS_ACCESS_KEY_ID", lakefs_server.access_key_id)
    monkeypatch.setenv("TEST_LAKEFS_SECRET_ACCESS_KEY", lakefs_server.secret_access_key)
    monkeypatch.setenv("TEST_LAKEFS_REPOSITORY", repo.id)
    return str(repo.id)
