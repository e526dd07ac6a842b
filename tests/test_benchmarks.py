"""Benchmarks keep running: each is executed on tiny inputs. Their numbers are
read by people from the printed tables, never asserted here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tools.lakefs_server import ServerAccess

ROOT = Path(__file__).resolve().parents[1]


def test_object_io_benchmark_prints_its_table(lakefs_server: ServerAccess) -> None:
    env = {
        **os.environ,
        "LAKEFS_ENDPOINT": lakefs_server.endpoint,
        "LAKEFS_ACCESS_KEY_ID": lakefs_server.access_key_id,
        "LAKEFS_SECRET_ACCESS_KEY": lakefs_server.secret_access_key,
    }
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.object_io", "--sizes", "1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["method", "MiB"]
    assert len(lines) == 5
    assert lakefs_server.secret_access_key not in result.stdout + result.stderr
