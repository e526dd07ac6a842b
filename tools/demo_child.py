"""What the demo's orchestrator children share: a quiet stdout and a line channel to the demo.

Airflow and Dagster log a great deal to stdout and stderr. A child of the demo
keeps a private copy of its stdout for the demo's own progress lines, then
points file descriptors 1 and 2 at its log file, so everything the
orchestrator prints (from any thread, logger or subprocess) lands there and
the terminal shows only the narration. The parent (``tools/demo_runs.py``)
streams the channel's lines and reads the child's result from a JSON file.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO


def quiet_stdout(log_path: Path) -> TextIO:
    """Send fds 1 and 2 to ``log_path``; return a stream on the original stdout for narration."""
    sys.stdout.flush()
    sys.stderr.flush()
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    return channel


def write_result(path: Path, result: Any) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(result, indent=2))
    partial.replace(path)
