"""The demo's orchestrator homes and child processes, seen from the demo.

``DemoHomes`` lays out one demo's ``AIRFLOW_HOME`` and ``DAGSTER_HOME`` and the
environment both orchestrators (the example runs, and the UIs when they are
kept running) share. Airflow's database is migrated once per Airflow version
into the cache (``airflow db migrate`` takes a minute on a busy machine) and
copied into each demo's home, so every demo starts with an empty Airflow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from tools.go_build import cache_dir
from tools.lakefs_server import ServerAccess
from tools.stack import LAKEFS_CONN_ID

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_DAGS = ROOT / "example_dags"


class DemoStepFailed(RuntimeError):
    """An orchestrator child of the demo failed; the message names its log."""


@dataclass(frozen=True)
class DemoHomes:
    """Where one demo's orchestrators keep their state, and where their UIs will listen."""

    root: Path
    airflow_port: int
    dagster_port: int

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def airflow_url(self) -> str:
        return f"http://127.0.0.1:{self.airflow_port}"

    @property
    def dagster_url(self) -> str:
        return f"http://127.0.0.1:{self.dagster_port}"

    def env(self, access: ServerAccess, repository: str) -> dict[str, str]:
        """The environment of every orchestrator process of this demo (holds the lakeFS secret: never print it)."""
        # Settings of the calling shell (a test session's AIRFLOW_HOME, say) must not leak into the demo's homes.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DAGSTER", "LAKEFS_"))}
        connection = {
            "conn_type": "lakefs",
            "host": access.endpoint,
            "login": access.access_key_id,
            "password": access.secret_access_key,
        }
        env.update(
            {
                "AIRFLOW_HOME": str(self.airflow_home),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.airflow_home / 'airflow.db'}",
                "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                # The "Open Airflow UI" button on each commit leads here.
                "AIRFLOW__API__BASE_URL": self.airflow_url,
                # A loopback demo: the UI opens without a login.
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__API__WORKERS": "1",
                f"AIRFLOW_CONN_{LAKEFS_CONN_ID.upper()}": json.dumps(connection),
                "DAGSTER_HOME": str(self.dagster_home),
                "DAGSTER_WEBSERVER_URL": self.dagster_url,
                "LAKEFS_ENDPOINT": access.endpoint,
                "LAKEFS_ACCESS_KEY_ID": access.access_key_id,
                "LAKEFS_SECRET_ACCESS_KEY": access.secret_access_key,
                "LAKEFS_REPOSITORY": repository,
            }
        )
        return env


def make_homes(airflow_port: int, dagster_port: int) -> DemoHomes:
    homes = DemoHomes(Path(tempfile.mkdtemp(prefix="lakefs-wap-demo-")), airflow_port, dagster_port)
    homes.airflow_home.mkdir()
    homes.dagster_home.mkdir()
    (homes.dagster_home / "dagster.yaml").write_text(dagster_instance_yaml(homes.dagster_home))
    return homes


def dagster_instance_yaml(home: Path) -> str:
    """The demo's Dagster instance: SQLite in its home, and nothing sent off this machine."""
    config = {
        "storage": {"sqlite": {"base_dir": str(home / "storage")}},
        "telemetry": {"enabled": False},
        "nux": {"enabled": False},
    }
    return json.dumps(config, indent=2)  # JSON is valid YAML


def migrated_airflow_db(say: Callable[[str], None]) -> Path:
    """A freshly migrated, empty Airflow database for the installed Airflow; migrated on first use, then cached."""
    cached = cache_dir() / f"demo-airflow-{version('apache-airflow')}.db"
    if cached.is_file():
        return cached
    cached.parent.mkdir(parents=True, exist_ok=True)
    say(f"[airflow] migrating a new Airflow database (once per Airflow version; about a minute) into {cached} ...")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lakefs-wap-airflow-migrate-") as scratch:
        database = Path(scratch) / "airflow.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(
            AIRFLOW_HOME=scratch,
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{database}",
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
        )
        result = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            tail = (result.stdout + result.stderr)[-3000:]
            raise DemoStepFailed(f"`airflow db migrate` failed with exit code {result.returncode}:\n{tail}")
        partial = cached.with_name(f"{cached.name}.partial-{os.getpid()}")
        shutil.copyfile(database, partial)
        partial.replace(cached)
    say(f"[airflow] database migrated in {time.monotonic() - started:.0f}s")
    return cached


def run_child(
    module: str, args: list[str], env: dict[str, str], log: Path, say: Callable[[str], None], timeout: float
) -> Any:
    """Run ``python -m <module>``, echo its narration, and return the JSON it leaves in its result file."""
    result = log.with_suffix(".json")
    command = [sys.executable, "-m", module, *args, "--result", str(result), "--log", str(log)]
    deadline = time.monotonic() + timeout
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log_file, stdin=subprocess.DEVNULL, text=True
        )
        try:
            for line in process.stdout or ():
                say(line.rstrip("\n"))
                if time.monotonic() > deadline:
                    break
            process.wait(timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            pass
        finally:
            timed_out = process.poll() is None
            if timed_out:  # also on Ctrl-C: the child never outlives the demo
                process.kill()
                process.wait()
    if timed_out:
        raise DemoStepFailed(f"{module} did not finish within {timeout:.0f}s; its log: {log}")
    if process.returncode != 0 or not result.is_file():
        raise DemoStepFailed(f"{module} failed with exit code {process.returncode}.\n{_tail(log)}")
    return json.loads(result.read_text())


def _tail(log: Path, lines: int = 40) -> str:
    text = log.read_text(errors="replace").splitlines()[-lines:]
    return f"last {lines} lines of {log}:\n" + "\n".join(text)
