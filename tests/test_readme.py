"""The README's Python example runs as written against the real server."""

from __future__ import annotations

import re
from pathlib import Path

import lakefs
import pytest

from lakefs_wap.run_branch import KEY_KIND
from tools.lakefs_server import ServerAccess

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_block(heading: str) -> str:
    text = README.read_text()
    section = text[text.index(heading) :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, f"no python block under {heading!r}"
    return match.group(1)


def test_objects_example_round_trips(
    lakefs_server: ServerAccess, repo: lakefs.Repository, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in lakefs_server.as_lakectl_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    content = b"PAR1" + bytes(range(256)) * 4096
    (tmp_path / "big.parquet").write_bytes(content)
    code = readme_block("### Objects").replace('"example-repo"', repr(repo.id))
    exec(compile(code, str(README), "exec"), {})  # noqa: S102 - our own README

    assert (tmp_path / "copy.parquet").read_bytes() == content
    assert repo.branch("main").object("raw/big.parquet").reader(mode="rb").read() == content


def test_core_example_publishes_once(
    lakefs_server: ServerAccess, repo: lakefs.Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in lakefs_server.as_lakectl_env().items():
        monkeypatch.setenv(name, value)
    code = readme_block("### The core in Python").replace('"example-repo"', repr(repo.id))
    namespace: dict[str, object] = {}
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 - our own README

    main = repo.branch("main")
    assert main.get_commit().id == namespace["merge_commit"]
    assert main.object("raw/orders.csv").reader(mode="rb").read() == b"id,amount\n1,9.50\n"
    assert [b.id for b in repo.branches()] == ["main"]
    publishes = [c.id for c in main.log() if (c.metadata or {}).get(KEY_KIND) == "publish"]
    assert publishes == [namespace["merge_commit"]]
