"""`make demo` keeps working: it runs here against the session's server."""

from __future__ import annotations

import pytest

from tools import demo
from tools.lakefs_server import ServerAccess


def test_demo_publishes_the_good_run_and_holds_back_the_bad_one(
    lakefs_server: ServerAccess, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAKEFS_ENDPOINT", lakefs_server.endpoint)
    monkeypatch.setenv("LAKEFS_ACCESS_KEY_ID", lakefs_server.access_key_id)
    monkeypatch.setenv("LAKEFS_SECRET_ACCESS_KEY", lakefs_server.secret_access_key)

    assert demo.main(["--rows", "25"]) == 0

    out = capsys.readouterr().out
    assert "[good-run] gate row_count: PASSED: raw/orders/good-run.csv has 25 rows" in out
    assert "[good-run] merged into main" in out
    assert "[empty-run] gate row_count: FAILED" in out
    assert "branches left: ['main', 'run-empty-run']" in out
    assert lakefs_server.secret_access_key not in out
