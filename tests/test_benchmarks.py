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


def test_object_io_benchmark_prints_its_table(lakefs_server: ServerAccess) -> None:
    result = run_benchmark(lakefs_server, "benchmarks.object_io", "--sizes", "1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["method", "MiB"]
    assert len(lines) == 5
    assert lakefs_server.secret_access_key not in result.stdout + result.stderr


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
