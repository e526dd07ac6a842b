"""The Airflow and Dagster UIs over one demo's homes, for ``KEEP_RUNNING=1 make demo``.

Only what shows the runs the demo made: Airflow's API server (its UI reads
the demo's SQLite database; no scheduler is needed to look at finished runs)
and ``dagster-webserver`` on the demo's ``DAGSTER_HOME``, reading the example
definitions from a code server (no daemon: nothing is scheduled, the finished
runs are there to look at). Both on 127.0.0.1, each ended by its own pid.
"""

from __future__ import annotations

import socket
import sys
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from tools.airflow_stack import _end_with_group as end_with_group
from tools.dagster_stack import ensure_services, workspace_yaml
from tools.demo_runs import EXAMPLE_DAGS, DemoHomes
from tools.processes import ChildProcess, check_port_free, free_port
from tools.stack import AIRFLOW_API_SERVER, DAGSTER_CODE_SERVER, DAGSTER_WEBSERVER

STARTUP_TIMEOUT = 180.0


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback server
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _start(
    stack: ExitStack,
    name: str,
    argv: list[str],
    env: dict[str, str],
    log: Path,
    health: str,
    port: int,
    *,
    cwd: Path = EXAMPLE_DAGS.parent,
) -> None:
    check_port_free(port, name)
    process = ChildProcess(name, log)
    # By its pid, then what is left of its session's group (the API server's workers).
    stack.callback(end_with_group, process)
    process.start(argv, env=env, cwd=cwd)
    process.wait_until(lambda: _answers(health), timeout=STARTUP_TIMEOUT, waiting_for=f"answer {health}")


def start_airflow_ui(stack: ExitStack, homes: DemoHomes, env: dict[str, str]) -> str:
    """Start Airflow's API server (UI included) on the demo's home; its URL. Stopped when ``stack`` closes."""
    argv = [sys.executable, "-m", *AIRFLOW_API_SERVER.command, "--host", "127.0.0.1", "--port", str(homes.airflow_port)]
    health = f"{homes.airflow_url}{AIRFLOW_API_SERVER.health_path}"
    _start(stack, "Airflow API server", argv, env, homes.root / "airflow-api-server.log", health, homes.airflow_port)
    return homes.airflow_url


def start_dagster_ui(stack: ExitStack, homes: DemoHomes, env: dict[str, str]) -> str:
    """Start a code server for the example definitions and ``dagster-webserver`` on the demo's home; its URL.

    The webserver comes from ``tools/dagster_stack.py``'s services environment
    (PyPI's dagster-webserver can lag this project's Dagster; it reads the code over gRPC).
    """
    services = ensure_services()
    code_port = free_port()
    code_server = ChildProcess(DAGSTER_CODE_SERVER.name, homes.root / "dagster-code-server.log")
    stack.callback(end_with_group, code_server)
    argv = [sys.executable, "-m", *DAGSTER_CODE_SERVER.command, "--host", "127.0.0.1", "--port", str(code_port)]
    code_server.start(argv, env=env, cwd=EXAMPLE_DAGS.parent)
    code_server.wait_until(
        lambda: _accepts_tcp(code_port), timeout=STARTUP_TIMEOUT, waiting_for=f"listen on port {code_port}"
    )
    workspace = homes.dagster_home / "workspace.yaml"
    workspace.write_text(workspace_yaml(code_port))
    # The webserver needs no lakeFS secret: the code server runs the code.
    service_env = {k: v for k, v in env.items() if not k.startswith(("LAKEFS_", "AIRFLOW_CONN_"))}
    webserver = [str(services / DAGSTER_WEBSERVER.command[0]), *DAGSTER_WEBSERVER.command[1:]]
    webserver += ["--host", "127.0.0.1", "--port", str(homes.dagster_port)]
    health = f"{homes.dagster_url}{DAGSTER_WEBSERVER.health_path}"
    log = homes.root / "dagster-webserver.log"
    _start(
        stack, DAGSTER_WEBSERVER.name, webserver, service_env, log, health, homes.dagster_port, cwd=homes.dagster_home
    )
    return homes.dagster_url


def _accepts_tcp(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0
