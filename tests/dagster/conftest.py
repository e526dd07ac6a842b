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
