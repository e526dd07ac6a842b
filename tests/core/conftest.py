"""Fixtures for core tests: a core connection to the session's lakeFS, and one
through the fault-injecting proxy (``proxy``, from the root conftest)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lakefs_wap import ConnectionSettings, LakeFSConnection, RetryPolicy, connect
from tests.fault_proxy import FaultProxy
from tools.lakefs_server import ServerAccess

# Quick backoff keeps retry tests fast; the bounds are what is under test.
FAST_RETRIES = RetryPolicy(max_attempts=4, initial_backoff=0.01, max_backoff=0.05, max_elapsed=10)


@pytest.fixture(scope="session")
def settings(lakefs_server: ServerAccess) -> ConnectionSettings:
    return ConnectionSettings(
        endpoint=lakefs_server.endpoint,
        access_key_id=lakefs_server.access_key_id,
        secret_access_key=lakefs_server.secret_access_key,
        retry=FAST_RETRIES,
    )


@pytest.fixture
def connection(settings: ConnectionSettings) -> LakeFSConnection:
    return connect(settings)


@pytest.fixture
def proxied(proxy: FaultProxy, settings: ConnectionSettings) -> LakeFSConnection:
    return connect(replace(settings, endpoint=proxy.endpoint))
