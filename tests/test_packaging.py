"""The distribution's shape: dependency direction, extras, and what the wheel carries."""

from __future__ import annotations

import ast
import gc
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IMPORTS = {
    "lakefs_wap": {"airflow", "dagster", "lakefs_provider", "dagster_lakefs"},
    "lakefs_provider": {"dagster", "dagster_lakefs"},
    "dagster_lakefs": {"airflow", "lakefs_provider"},
}


def imported_top_level_modules(source: Path) -> set[str]:
    # CPython 3.11.7 can fail ast.parse with "AST constructor recursion depth
    # mismatch" when a finalizer runs in the middle of it; keep the collector out.
    gc.disable()
    try:
        tree = ast.parse(source.read_text(), filename=str(source))
    finally:
        gc.enable()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN_IMPORTS))
def test_dependencies_point_one_way(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_top_level_modules(path) & FORBIDDEN_IMPORTS[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {path: bad for path, bad in offenders.items() if bad} == {}


def test_core_imports_with_neither_orchestrator_installed() -> None:
    # A meta-path finder that makes airflow and dagster look uninstalled.
    program = """
import importlib, pkgutil, sys
class Uninstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"airflow", "dagster"}:
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None
sys.meta_path.insert(0, Uninstalled())
import lakefs_wap
for module in pkgutil.walk_packages(lakefs_wap.__path__, "lakefs_wap."):
    importlib.import_module(module.name)
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def _uv() -> str:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.fail("uv is needed to check the extras; `make test` installs it into .venv")
    return uv


def _resolved_names(*extras: str) -> set[str]:
    command = [_uv(), "pip", "compile", "--quiet", "--no-header", "--no-annotate", "pyproject.toml"]
    for extra in extras:
        command += ["--extra", extra]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr
    return {line.split("==")[0].strip().lower() for line in result.stdout.splitlines() if "==" in line}


def test_dagster_extra_does_not_pull_airflow() -> None:
    names = _resolved_names("dagster")
    assert "dagster" in names
    assert not {name for name in names if name.startswith("apache-airflow")}


def test_airflow_extra_does_not_pull_dagster() -> None:
    names = _resolved_names("airflow")
    assert "apache-airflow" in names
    assert not {name for name in names if name.startswith("dagster")}


def test_core_needs_neither_orchestrator() -> None:
    names = _resolved_names()
    assert {"lakefs", "lakefs-sdk"} <= names
    assert not {name for name in names if name.startswith(("apache-airflow", "dagster"))}


def test_wheel_carries_three_typed_packages_and_the_provider_entry_point(tmp_path: Path) -> None:
    result = subprocess.run(
        [_uv(), "build", "--wheel", "--out-dir", str(tmp_path)], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("lakefs_wap-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    for package in ("lakefs_wap", "lakefs_provider", "dagster_lakefs"):
        assert f"{package}/py.typed" in names
    assert not [n for n in names if n.startswith(("tests/", "tools/", "benchmarks/"))]
    assert "[apache_airflow_provider]" in entry_points
    assert "lakefs_provider.get_provider_info:get_provider_info" in entry_points
