"""Benchmarks keep running: each is executed on tiny inputs. Their numbers are
read by people from the printed tables, never asserted here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tools.lakefs_server import ServerAccess

ROOT = Path(__file__).resolve().parents[1]


def run_benchmark(server: ServerAccess, module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m <module> <args>`` against the session's server, given as users give one."""
    env = {
        **os.environ,
        "LAKEFS_ENDPOINT": server.endpoint,
        "LAKEFS_ACCESS_KEY_ID": server.access_key_id,
        "LAKEFS_SECRET_ACCESS_KEY": server.secret_access_key,
    }
    return subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=ROOT, env=env, check=False
    )


def test_object_io_benchmark_prints_its_table(lakefs_server: ServerAccess, tmp_path: Path) -> None:
    results = tmp_path / "object_io.json"
    result = run_benchmark(lakefs_server, "benchmarks.object_io", "--smoke", "--json", str(results))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["method", "MiB"])
    rows = [line.split() for line in lines[header + 1 :]]
    assert len(rows) == 11
    assert all(row[-2].isdigit() for row in rows)  # every method's requests were counted
    assert results.is_file()
    assert lakefs_server.secret_access_key not in result.stdout + result.stderr + results.read_text()


def test_io_manager_benchmark_prints_its_table(lakefs_server: ServerAccess, tmp_path: Path) -> None:
    results = tmp_path / "io_manager.json"
    result = run_benchmark(lakefs_server, "benchmarks.io_manager", "--smoke", "--json", str(results))
    assert result.returncode == 0, result.stderr
    rows = {
        line[:36].strip(): line[36:].split()
        for line in result.stdout.splitlines()
        if line.startswith(("raw:", "LakeFS"))
    }
    assert set(rows) == {
        "raw: get_object + pd.read_parquet",
        "LakeFSIOManager.load_input",
        "raw: to_parquet + upload_object",
        "LakeFSIOManager.handle_output",
    }
    assert rows["LakeFSIOManager.load_input"][2] == "1"  # requests per typed load
    assert rows["LakeFSIOManager.handle_output"][2] == "2"  # upload + the look for a stale format
    assert results.is_file()
    assert lakefs_server.secret_access_key not in result.stdout + result.stderr + results.read_text()


def test_lifecycle_benchmark_smoke_run_prints_its_table(lakefs_server: ServerAccess, tmp_path: Path) -> None:
    results = tmp_path / "lifecycle.json"
    result = run_benchmark(lakefs_server, "benchmarks.lifecycle", "--smoke", "--json", str(results))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert ["history", "step", "wap", "ms", "raw", "ms", "ratio", "wap", "req", "raw", "req"] in [
        line.split() for line in lines
    ]
    assert "proxy check: counts match" in result.stdout
    assert results.is_file()
    assert lakefs_server.secret_access_key not in result.stdout + result.stderr + results.read_text()


def test_trigger_benchmark_prints_its_table(lakefs_server: ServerAccess) -> None:
    result = run_benchmark(lakefs_server, "benchmarks.triggers", "--smoke")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[1].split()[:3] == ["phase", "seconds", "requests"]
    assert [line.split()[0] for line in lines[2:5]] == ["start", "steady", "fire"]
    assert '"fired": 20' in lines[-1]
    assert lakefs_server.secret_access_key not in result.stdout + result.stderr
