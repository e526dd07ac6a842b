"""The real Airflow 3 services on this machine, the way a deployment runs them.

Four processes, each started with the command ``tools/stack.py`` gives it
(``airflow api-server``, ``scheduler``, ``dag-processor``, ``triggerer``), on
127.0.0.1 only:

- the **api-server** serves the UI, the public REST API (``/api/v2``) and the
  execution API that task processes report to;
- the **scheduler** runs tasks with the LocalExecutor, as its own subprocesses;
- the **dag-processor** parses the DAGs folder (the repository's
  ``example_dags/``) into serialized DAGs;
- the **triggerer** runs deferred tasks' triggers.

Their metadata database is a database of its own (``airflow``) in a throw-away
PostgreSQL (``tools/postgres.py``); ``airflow db migrate`` runs before they
start. They share one temporary ``AIRFLOW_HOME``, one JWT secret and one fernet
key, all given as ``AIRFLOW__...`` variables (no airflow.cfg is written). Users
are those of the simple auth manager: ``admin``, with a password generated per
start and kept in ``simple_auth_manager_passwords.json`` in that home.

The lakeFS connection ``lakefs_default`` comes from the environment of the
services (``AIRFLOW_CONN_LAKEFS_DEFAULT``, JSON), made from the lakeFS server
given to the stack.

Command line (``tools/airflow_cli.py``)::

    python -m tools.airflow_stack run    # lakeFS and Airflow, until Ctrl-C (or SIGTERM)

Every process is ended by its pid (and its process group, for the task
processes a scheduler may leave), in the reverse order of starting.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.airflow_api import AirflowAccess, AirflowAPI, AirflowUnavailable, dag_known, get_json, import_errors
from tools.lakefs_server import running_lakefs
from tools.postgres import LocalPostgres, create_database, sqlalchemy_url
from tools.processes import ChildProcess, ManagedServer, check_port_free, free_port
from tools.stack import (
    AIRFLOW_API_SERVER,
    AIRFLOW_DAG_PROCESSOR,
    AIRFLOW_SCHEDULER,
    AIRFLOW_TRIGGERER,
    LAKEFS_CONN_ID,
    Service,
)

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = REPOSITORY_ROOT / "example_dags"
AIRFLOW_DATABASE = "airflow"
ADMIN_USER = "admin"

# What the native run adds to a service's command (where the api-server listens
# is in its settings): no log server of the scheduler's and triggerer's own. They
# would serve task logs on a fixed port on every interface; here every process
# shares one AIRFLOW_HOME, so the api-server reads the log files directly.
_NATIVE_ARGS: dict[str, tuple[str, ...]] = {
    AIRFLOW_SCHEDULER.name: ("--skip-serve-logs",),
    AIRFLOW_TRIGGERER.name: ("--skip-serve-logs",),
}


def new_jwt_secret() -> str:
    """A fresh secret for Airflow's JWTs: 64 bytes, as HS512 (Airflow's algorithm for a secret) wants.

    PyJWT warns of a shorter HMAC key on every token (``InsecureKeyLengthWarning``).
    """
    return secrets.token_hex(32)  # 64 hex characters


@dataclass(frozen=True)
class LakeFSTarget:
    """The lakeFS server the stack's ``lakefs_default`` connection points at."""

    endpoint: str
    access_key_id: str
    secret_access_key: str = field(repr=False)

    def airflow_connection_json(self) -> str:
        return json.dumps(
            {
                "conn_type": "lakefs",
                "host": self.endpoint,
                "login": self.access_key_id,
                "password": self.secret_access_key,
            }
        )


def _airflow_executable() -> str:
    """The ``airflow`` of the running interpreter's environment, so every service runs the same installation."""
    beside = Path(sys.executable).parent / "airflow"
    if beside.is_file():
        return str(beside)
    found = shutil.which("airflow")
    if found:
        return found
    raise AirflowUnavailable(
        "no `airflow` command next to this Python or on PATH: install the Airflow extra "
        '(`pip install "lakefs-wap[airflow]"`, or `make test` sets up .venv)'
    )


def _inherited_environment() -> dict[str, str]:
    """This process's environment without any Airflow settings: the stack's own replace them all."""
    return {
        name: value
        for name, value in os.environ.items()
        if not (name.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_")) or name == "AIRFLOW_HOME")
    }


class AirflowStack(ManagedServer):
    """Airflow's api-server, scheduler, dag-processor and triggerer, alive inside a ``with`` block.

    ``postgres`` is a running server to keep the metadata database in (a
    database ``airflow`` is created there); without it the stack starts a
    PostgreSQL of its own. ``schedule_runs=False`` stops the scheduler from
    creating runs on DAG schedules (``[scheduler] use_job_schedule``), so that
    only runs triggered through the API happen: the end-to-end tests use it;
    a demo keeps the schedules. In Airflow 3.3 the same switch also stops runs
    triggered by asset events, so a stack for asset-scheduled DAGs keeps it on.
    """

    def __init__(
        self,
        lakefs: LakeFSTarget,
        *,
        postgres: LocalPostgres | None = None,
        dags_folder: Path = EXAMPLE_DAGS,
        port: int | None = None,
        parallelism: int = 2,
        schedule_runs: bool = True,
        startup_timeout: float = 300.0,
        extra_env: Mapping[str, str] | None = None,
        keep_logs_in: Path | None = None,
    ) -> None:
        self.lakefs = lakefs
        self.dags_folder = dags_folder.resolve()
        self.port = port or free_port()
        self.parallelism = parallelism
        self.schedule_runs = schedule_runs
        self.startup_timeout = startup_timeout
        self.extra_env = dict(extra_env or {})
        self.keep_logs_in = keep_logs_in
        self.workdir = Path(tempfile.mkdtemp(prefix="lakefs-wap-airflow-"))
        self.home = self.workdir / "home"
        self.access = AirflowAccess(
            url=f"http://127.0.0.1:{self.port}", username=ADMIN_USER, password=secrets.token_urlsafe(18)
        )
        # Shared by every service: tokens one signs, another checks; connections
        # one encrypts, another decrypts.
        self._fernet_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        self._jwt_secret = new_jwt_secret()
        self._api_secret = secrets.token_urlsafe(32)
        self._given_postgres = postgres
        self._stack = ExitStack()
        self._processes: dict[str, ChildProcess] = {
            service.name: ChildProcess(service.name, self.workdir / f"{service.name}.log")
            for service in (AIRFLOW_API_SERVER, AIRFLOW_SCHEDULER, AIRFLOW_DAG_PROCESSOR, AIRFLOW_TRIGGERER)
        }
        self._process = self._processes[AIRFLOW_API_SERVER.name]
        self._started: list[ChildProcess] = []

    @property
    def passwords_file(self) -> Path:
        return self.home / "simple_auth_manager_passwords.json"

    @property
    def pids(self) -> dict[str, int]:
        """Each running service's process id, by service name."""
        return {name: process.pid for name, process in self._processes.items() if process.pid is not None}

    def is_running(self) -> bool:
        return bool(self._started) and all(process.is_running() for process in self._started)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(process.log_tail(lines) for process in self._processes.values())

    def log_path(self, service: Service) -> Path:
        return self._processes[service.name].log_path

    def environment(self, database_url: str) -> dict[str, str]:
        """Every setting the four services share, as ``AIRFLOW__...`` variables."""
        base = self.access.url
        env = _inherited_environment()
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                # Two cores run four services and the tasks: few tasks at once.
                "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
                "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(self.parallelism),
                "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
                "AIRFLOW__CORE__FERNET_KEY": self._fernet_key,
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url,
                # Task processes report to the api-server's execution API.
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
                "AIRFLOW__API__BASE_URL": base,
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API__SECRET_KEY": self._api_secret,
                # One secret signs and checks every JWT: the api-server's, the
                # scheduler's for task processes, the UI's.
                "AIRFLOW__API_AUTH__JWT_SECRET": self._jwt_secret,
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(self.schedule_runs),
                f"AIRFLOW_CONN_{LAKEFS_CONN_ID.upper()}": self.lakefs.airflow_connection_json(),
            }
        )
        env.update(self.extra_env)
        return env

    def _start(self) -> None:
        check_port_free(self.port, AIRFLOW_API_SERVER.name)
        self.home.mkdir(parents=True)
        self.passwords_file.write_text(json.dumps({ADMIN_USER: self.access.password}))
        self.passwords_file.chmod(0o600)
        postgres = self._given_postgres or self._stack.enter_context(LocalPostgres())
        create_database(postgres.connection_string, AIRFLOW_DATABASE)
        env = self.environment(sqlalchemy_url(postgres.connection_string, AIRFLOW_DATABASE))
        self._migrate(env)
        airflow = _airflow_executable()
        deadline = time.monotonic() + self.startup_timeout
        for service in (AIRFLOW_API_SERVER, AIRFLOW_SCHEDULER, AIRFLOW_DAG_PROCESSOR, AIRFLOW_TRIGGERER):
            process = self._processes[service.name]
            argv = [airflow, *service.command[1:], *_NATIVE_ARGS.get(service.name, ())]
            process.start(argv, env=env, cwd=self.workdir)
            self._started.append(process)
        self._wait_healthy(deadline)

    def _migrate(self, env: Mapping[str, str]) -> None:
        log_path = self.workdir / "db-migrate.log"
        with log_path.open("wb") as log:
            try:
                # subprocess.run ends the command by its pid when time runs out.
                migrate = subprocess.run(
                    [_airflow_executable(), "db", "migrate"],
                    env=dict(env),
                    cwd=self.workdir,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    timeout=self.startup_timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                failure = f"did not finish within {self.startup_timeout:.0f}s"
            else:
                if migrate.returncode == 0:
                    return
                failure = f"failed with exit code {migrate.returncode}"
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])
        raise AirflowUnavailable(f"`airflow db migrate` {failure}; last lines of {log_path}:\n{tail}")

    def _wait_healthy(self, deadline: float) -> None:
        """Until the api-server answers and reports a healthy scheduler, dag-processor and triggerer."""
        health_url = f"{self.access.url}{AIRFLOW_API_SERVER.health_path}"
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            for process in self._started:
                if not process.is_running():
                    raise AirflowUnavailable(
                        f"{process.name} exited while the stack was starting.\n{process.log_tail()}"
                    )
            report = get_json(health_url)
            if report is not None:
                last = report
                if all(
                    (report.get(part) or {}).get("status") == "healthy"
                    for part in ("metadatabase", "scheduler", "dag_processor", "triggerer")
                ):
                    return
            time.sleep(0.5)
        raise AirflowUnavailable(
            f"the Airflow services were not all healthy within {self.startup_timeout:.0f}s "
            f"(last health report: {json.dumps(last) if last else 'none: the api-server never answered'}).\n"
            f"{self.log_tail(25)}"
        )

    def wait_for_dags(self, dag_ids: Sequence[str], *, timeout: float = 180.0) -> None:
        """Until the dag-processor has parsed each of ``dag_ids`` (the API knows them), or fail naming the missing."""
        api = AirflowAPI(self.access)
        deadline = time.monotonic() + timeout
        missing = list(dag_ids)
        while True:
            missing = [dag_id for dag_id in missing if not dag_known(api, dag_id)]
            if not missing:
                return
            if time.monotonic() >= deadline:
                errors = import_errors(api)
                raise AirflowUnavailable(
                    f"the dag-processor did not parse {missing} from {self.dags_folder} within {timeout:.0f}s; "
                    f"import errors: {errors or 'none'}.\n"
                    f"{self._processes[AIRFLOW_DAG_PROCESSOR.name].log_tail()}"
                )
            time.sleep(1)

    def stop(self) -> None:
        # The api-server goes last, so that nothing is left asking a stopped api-server;
        # the others stop side by side (each takes seconds to end gracefully).
        api_server = self._processes[AIRFLOW_API_SERVER.name]
        others = [process for process in self._started if process is not api_server]
        if others:
            with ThreadPoolExecutor(max_workers=len(others)) as pool:
                list(pool.map(_end_with_group, others))
        _end_with_group(api_server)
        self._started = []
        self._stack.close()
        if self.keep_logs_in is not None:
            self._keep_logs(self.keep_logs_in)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _keep_logs(self, target: Path) -> None:
        """Copy the services' logs and the task logs to ``target`` before the home is removed."""
        target.mkdir(parents=True, exist_ok=True)
        for log in self.workdir.glob("*.log"):
            shutil.copy2(log, target / log.name)
        task_logs = self.home / "logs"
        if task_logs.is_dir():
            shutil.copytree(task_logs, target / "task-logs", dirs_exist_ok=True)


def _end_with_group(process: ChildProcess) -> None:
    """End ``process`` by its pid, then whatever is left of its process group (task processes, workers)."""
    pid = process.pid
    process.end(stop_signal=signal.SIGTERM, timeout=30)
    if pid is None:
        return
    # Each service was started in a session of its own, so its group id is its pid
    # and holds only processes it started; Linux does not hand that id to a new
    # process while any member of the group is alive.
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


@contextmanager
def running_stack(
    backend: str = "local", *, schedule_runs: bool = True, lakefs_port: int | None = None, port: int | None = None
) -> Iterator[tuple[Any, AirflowStack]]:
    """lakeFS (on ``backend``) and the Airflow stack pointed at it; everything stopped on exit."""
    with running_lakefs(backend, port=lakefs_port) as lakefs, ExitStack() as stack:
        target = LakeFSTarget(lakefs.access.endpoint, lakefs.access.access_key_id, lakefs.access.secret_access_key)
        airflow = stack.enter_context(AirflowStack(target, port=port, schedule_runs=schedule_runs))
        yield lakefs, airflow


if __name__ == "__main__":
    from tools.airflow_cli import main

    sys.exit(main())
