"""Every code block of the documentation is true: Python blocks run, YAML parses, `make` targets exist.

Each ```python block in docs/ and README.md carries a marker on the line before it,
``<!-- snippet: NAME -->``, and EXECUTED_BY names the test module that runs it. A
block without a marker, a marker nobody runs, or a registry entry whose block is gone
fails here, so no example can drift from the code unnoticed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML (a dependency of Dagster and MkDocs) ships no stubs

ROOT = Path(__file__).resolve().parents[1]

# Pages are named relative to the repository root, as the tests that run them name them.
PAGES = sorted(
    [path.relative_to(ROOT).as_posix() for path in (ROOT / "docs").rglob("*.md")]
    + ["README.md", "CONTRIBUTING.md", "RELIABILITY.md", "BENCHMARKS.md"]
)

# (page, snippet) -> the test module that executes that block.
EXECUTED_BY = {
    ("README.md", "airflow-run-branch"): "tests/airflow/test_readme_dag.py",
    ("README.md", "dagster-short"): "tests/dagster/test_readme_definitions.py",
    ("docs/getting-started.md", "airflow-run-branch"): "tests/airflow/test_readme_dag.py",
    ("docs/getting-started.md", "dagster-short"): "tests/dagster/test_readme_definitions.py",
    ("docs/core.md", "core-run"): "tests/test_docs_core.py",
    ("docs/core.md", "core-objects"): "tests/test_docs_core.py",
    ("docs/airflow.md", "airflow-dag"): "tests/airflow/test_readme_dag.py",
    ("docs/airflow.md", "airflow-run-branch"): "tests/airflow/test_readme_dag.py",
    ("docs/airflow.md", "airflow-assets"): "tests/airflow/test_readme_lineage.py",
    ("docs/airflow.md", "airflow-commit-event-trigger"): "tests/airflow/test_readme_lineage.py",
    ("docs/airflow.md", "airflow-object-storage"): "tests/airflow/test_readme_lineage.py",
    ("docs/dagster.md", "dagster-definitions"): "tests/dagster/test_readme_definitions.py",
}

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.DOTALL | re.MULTILINE)
_MARKER = re.compile(r"<!-- snippet: ([\w-]+) -->\n\Z")


def fenced_blocks(page: str, language: str) -> list[tuple[str | None, str]]:
    """Each block of `language` on the page: (its snippet marker or None, its code)."""
    text = (ROOT / page).read_text()
    blocks = []
    for match in _FENCE.finditer(text):
        if match.group(1) == language:
            marker = _MARKER.search(text, 0, match.start())
            blocks.append((marker.group(1) if marker else None, match.group(2)))
    return blocks


def snippet(page: str, name: str) -> str:
    """The code of the block marked ``<!-- snippet: name -->`` on the page."""
    found = [code for marker, code in fenced_blocks(page, "python") if marker == name]
    assert len(found) == 1, f"{page} has {len(found)} python blocks marked {name!r}, expected one"
    return found[0]


def test_every_python_block_is_executed_by_a_test() -> None:
    present = set()
    for page in PAGES:
        for marker, code in fenced_blocks(page, "python"):
            assert marker, f"a python block in {page} has no <!-- snippet: NAME --> marker:\n{code[:200]}"
            assert (page, marker) not in present, f"{page} marks two blocks {marker!r}"
            present.add((page, marker))

    unregistered = present - EXECUTED_BY.keys()
    assert not unregistered, f"no test runs these blocks (add one, and list it in EXECUTED_BY): {sorted(unregistered)}"
    gone = EXECUTED_BY.keys() - present
    assert not gone, f"EXECUTED_BY lists blocks that no page has: {sorted(gone)}"
    for (page, name), module in EXECUTED_BY.items():
        source = (ROOT / module).read_text()
        assert f'"{page}"' in source, f"{module} does not read {page}"
        assert f'"{name}"' in source, f"{module} does not run the snippet {name!r}"


@pytest.mark.parametrize("page", PAGES)
def test_yaml_blocks_parse(page: str) -> None:
    for _, code in fenced_blocks(page, "yaml"):
        yaml.safe_load(code)


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    text = text.replace("$(LOWER_VENV)", ".venv-lower").replace("$(VENV)", ".venv")
    return set(re.findall(r"^([\w./-]+):", text, re.MULTILINE))


@pytest.mark.parametrize("page", PAGES)
def test_make_targets_named_exist(page: str) -> None:
    text = (ROOT / page).read_text()
    code = [code for _, code in fenced_blocks(page, "sh")] + re.findall(r"`([^`\n]+)`", _FENCE.sub("", text))
    named = {target for line in code for target in re.findall(r"(?<![\w-])make ([a-z.][\w./-]*)", line)}
    missing = named - makefile_targets()
    assert not missing, f"{page} names make targets the Makefile does not have: {sorted(missing)}"


@pytest.mark.parametrize("page", PAGES)
def test_python_modules_run_with_dash_m_exist(page: str) -> None:
    text = (ROOT / page).read_text()
    modules = set(re.findall(r"python -m ((?:tools|benchmarks)(?:\.\w+)+)", text))
    missing = [m for m in modules if not (ROOT / (m.replace(".", "/") + ".py")).is_file()]
    assert not missing, f"{page} runs modules that do not exist: {sorted(missing)}"


@pytest.mark.parametrize("page", ["README.md", "CONTRIBUTING.md", "RELIABILITY.md", "BENCHMARKS.md"])
def test_links_outside_the_site_point_at_files_that_exist(page: str) -> None:
    # mkdocs checks the links of docs/; these pages are read on GitHub (and PyPI) as they are.
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", (ROOT / page).read_text())
    missing = [target for target in targets if "://" not in target and not (ROOT / target).exists()]
    assert not missing, f"{page} links to files that do not exist: {missing}"
