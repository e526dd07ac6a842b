"""The core page's Python examples run as written against the real server."""

from __future__ import annotations

from pathlib import Path

import lakefs
import pytest

from lakefs_wap.keys import KEY_KIND
from tests.test_docs import ROOT, snippet
from tools.lakefs_server import ServerAccess

PAGE = "docs/core.md"


def test_objects_example_round_trips(
    lakefs_server: ServerAccess, repo: lakefs.Repository, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in lakefs_server.as_lakectl_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    content = b"PAR1" + bytes(range(256)) * 4096
    (tmp_path / "big.parquet").write_bytes(content)
    code = snippet("docs/core.md", "core-objects").replace('"example-repo"', repr(repo.id))
    exec(compile(code, str(ROOT / PAGE), "exec"), {})  # noqa: S102 - our own documentation

    assert (tmp_path / "copy.parquet").read_bytes() == content
    assert repo.branch("main").object("raw/big.parquet").reader(mode="rb").read() == content


def test_core_example_publishes_once(
    lakefs_server: ServerAccess, repo: lakefs.Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in lakefs_server.as_lakectl_env().items():
        monkeypatch.setenv(name, value)
    code = snippet("docs/core.md", "core-run").replace('"example-repo"', repr(repo.id))
    namespace: dict[str, object] = {}
    exec(compile(code, str(ROOT / PAGE), "exec"), namespace)  # noqa: S102 - our own documentation

    main = repo.branch("main")
    assert main.get_commit().id == namespace["merge_commit"]
    assert main.object("raw/orders.csv").reader(mode="rb").read() == b"id,amount\n1,9.50\n"
    assert [b.id for b in repo.branches()] == ["main"]
    publishes = [c.id for c in main.log() if (c.metadata or {}).get(KEY_KIND) == "publish"]
    assert publishes == [namespace["merge_commit"]]
