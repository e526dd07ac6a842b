"""`make demo` keeps working: it runs here against the session's server."""

from __future__ import annotations

import pytest

from tools import demo
from tools.lakefs_server import ServerAccess


def test_demo_publishes_the_good_run_holds_back_the_bad_one_and_reverts(
    lakefs_server: ServerAccess, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAKEFS_ENDPOINT", lakefs_server.endpoint)
    monkeypatch.setenv("LAKEFS_ACCESS_KEY_ID", lakefs_server.access_key_id)
    monkeypatch.setenv("LAKEFS_SECRET_ACCESS_KEY", lakefs_server.secret_access_key)

    assert demo.main(["--rows", "25"]) == 0

    out = capsys.readouterr().out
    assert "[orders-2026-11-21] wrote raw/orders/orders-2026-11-21.csv (25 rows" in out
    assert "[orders-2026-11-21] 3/3 gates passed; the run passed" in out
    assert "[orders-2026-11-21] published: merge commit" in out
    assert "FAIL table_row_count: 'raw/orders/orders-2026-11-22.csv' has 0 rows, fewer than 1" in out
    assert "main still at" in out
    assert ": unchanged" in out
    assert "state of ingest-orders-2026-11-22-d431ea92d0: failed" in out
    assert "[rollback] main now lists []" in out
    assert lakefs_server.secret_access_key not in out
