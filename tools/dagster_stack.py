"""The real Dagster services on 127.0.0.1: a code server, the webserver and the daemon.

Three processes share one instance (a temporary ``DAGSTER_HOME``) and a
``workspace.yaml`` that points at one code server, the way Dagster is deployed:

``dagster-code-server``
    ``dagster api grpc`` serving ``example_dags/dagster_orders.py`` from this
    project's environment (its Dagster and lakefs-wap). The lakeFS settings
    reach the definitions through its environment only. Runs are launched by
    it, so their steps run in this environment too.
``dagster-webserver``
    the UI and the GraphQL API; ready once ``/server_info`` answers and the
    code location has loaded.
``dagster-daemon``
    dequeues runs (the instance's run coordinator is ``QueuedRunCoordinator``,
    so nothing runs unless the daemon does) and runs sensors.

The webserver and the daemon come from ``dagster-webserver`` in this project's
environment (the ``e2e`` extra; its releases pin Dagster exactly). Where it is
missing, they run in a small environment of their own (made once with ``uv``,
cached beside the lakeFS binary in ``~/.cache/lakefs-wap/``) and talk to the code
server over gRPC, which is how Dagster lets their versions differ from the user
code's. The instance stores runs and events in SQLite in ``DAGSTER_HOME``.

Command line::

    python -m tools.dagster_stack run    # the stack (and a local lakeFS unless LAKEFS_ENDPOINT is set)
    python -m tools.dagster_stack setup  # make the services environment and print its bin directory

Only the standard library is used here; lakefs-wap is imported by ``run`` alone.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.go_build import cache_dir
from tools.processes import ChildProcess, LakeFSUnavailable, ManagedServer, check_port_free, free_port
from tools.stack import DAGSTER_CODE_SERVER, DAGSTER_DAEMON, DAGSTER_LOCATION, DAGSTER_WEBSERVER, DEMO_REPOSITORY

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DEFINITIONS = ROOT / "example_dags" / "dagster_orders.py"

# What the webserver and the daemon run on when this environment lacks them.
# dagster-webserver pins dagster and dagster-graphql to its own version.
SERVICES_VERSION = "1.13.27"
SERVICES_REQUIREMENTS = (f"dagster-webserver=={SERVICES_VERSION}",)

# The settings the example definitions read (see example_dags/dagster_orders.py).
LAKEFS_ENV = ("LAKEFS_ENDPOINT", "LAKEFS_ACCESS_KEY_ID", "LAKEFS_SECRET_ACCESS_KEY", "LAKEFS_REPOSITORY")


class DagsterUnavailable(LakeFSUnavailable):
    """A Dagster service could not be obtained or started, or its API refused us; the message says why."""


@dataclass(frozen=True)
class LakeFSTarget:
    """Where the code location's lakeFS resource points."""

    endpoint: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    repository: str = DEMO_REPOSITORY

    def as_env(self) -> dict[str, str]:
        values = (self.endpoint, self.access_key_id, self.secret_access_key, self.repository)
        return dict(zip(LAKEFS_ENV, values, strict=True))


# ----- the services' environment -----------------------------------------------------


def _has_services(bin_dir: Path) -> bool:
    return all((bin_dir / name).is_file() for name in ("dagster-webserver", "dagster-daemon"))


def services_bin_dir() -> Path | None:
    """Where ``dagster-webserver`` and ``dagster-daemon`` are, if they are here already."""
    own = Path(sys.executable).parent
    if _has_services(own):
        return own
    cached = _cached_services_dir() / "bin"
    return cached if _has_services(cached) and (cached.parent / ".complete").is_file() else None


def _cached_services_dir() -> Path:
    python = f"py{sys.version_info.major}.{sys.version_info.minor}"
    return cache_dir() / f"dagster-services-{SERVICES_VERSION}-{python}"


def ensure_services(*, timeout: float = 600) -> Path:
    """The bin directory of the webserver and daemon, making their environment once if needed."""
    found = services_bin_dir()
    if found is not None:
        return found
    target = _cached_services_dir()
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        raise DagsterUnavailable(
            f"dagster-webserver is not installed and uv is not found to make its environment: "
            f"`pip install uv`, or install {' '.join(SERVICES_REQUIREMENTS)} beside Dagster"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    # One maker at a time (another test session may be at it); `.complete` marks
    # a whole environment, so one left half-made by a crash is made again.
    with (target.parent / f"{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / ".complete").is_file():
            return target / "bin"
        _progress(f"making the Dagster services environment ({', '.join(SERVICES_REQUIREMENTS)}) in {target}")
        python = str(target / "bin" / "python")
        for argv in (
            [uv, "venv", "--quiet", "--clear", "--python", sys.executable, str(target)],
            [uv, "pip", "install", "--quiet", "--python", python, *SERVICES_REQUIREMENTS],
        ):
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
            if done.returncode != 0:
                raise DagsterUnavailable(
                    f"making the Dagster services environment failed ({' '.join(argv[:3])}, exit "
                    f"{done.returncode}):\n{(done.stdout + done.stderr)[-2000:]}"
                )
        (target / ".complete").touch()
    return target / "bin"


# ----- GraphQL ------------------------------------------------------------------------


def graphql(url: str, query: str, variables: dict[str, Any] | None = None, *, timeout: float = 30) -> dict[str, Any]:
    """POST one GraphQL request to the webserver at ``url``; its ``data``, or an error naming what it said."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(  # noqa: S310 (a loopback URL we built)
        f"{url}/graphql", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            answer = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise DagsterUnavailable(
            f"Dagster GraphQL at {url} answered HTTP {error.code}: {error.read()[:500]!r}"
        ) from None
    except (urllib.error.URLError, OSError) as error:
        raise DagsterUnavailable(f"Dagster GraphQL at {url} is unreachable: {error}") from None
    if answer.get("errors"):
        raise DagsterUnavailable(f"Dagster GraphQL refused the request: {answer['errors']}")
    data: dict[str, Any] = answer["data"]
    return data


_LOCATIONS = """
query {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries { name loadStatus locationOrLoadError { __typename ... on PythonError { message } } }
    }
    ... on PythonError { message }
  }
}
"""

_DAEMONS = "query { instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } }"

_IN_FLIGHT = """
query {
  runsOrError(filter: {statuses: [QUEUED, NOT_STARTED, STARTING, STARTED, CANCELING]}) {
    ... on Runs { results { runId } }
  }
}
"""

_TERMINATE = """
mutation End($runIds: [String!]!) {
  terminateRuns(runIds: $runIds, terminatePolicy: SAFE_TERMINATE) { __typename }
}
"""

# Without these the instance has nowhere to queue, or nothing to dequeue and sense.
NEEDED_DAEMONS = ("QUEUED_RUN_COORDINATOR", "SENSOR")


# ----- the stack ----------------------------------------------------------------------


def instance_yaml(home: Path) -> str:
    # JSON is valid YAML: no YAML library needed to write it.
    config = {
        "storage": {"sqlite": {"base_dir": str(home / "storage")}},
        # Queued runs start only when the daemon dequeues them.
        "run_coordinator": {
            "module": "dagster._core.run_coordinator",
            "class": "QueuedRunCoordinator",
            "config": {"max_concurrent_runs": 2},
        },
        # Runs start as processes of the code server, in the code's environment.
        "run_launcher": {"module": "dagster._core.launcher", "class": "DefaultRunLauncher"},
        # Nothing may leave this machine, and the UI opens on the page asked for.
        "telemetry": {"enabled": False},
        "nux": {"enabled": False},
    }
    return json.dumps(config, indent=2)


def workspace_yaml(code_port: int) -> str:
    config = {
        "load_from": [{"grpc_server": {"host": "127.0.0.1", "port": code_port, "location_name": DAGSTER_LOCATION}}]
    }
    return json.dumps(config, indent=2)


class DagsterStack(ManagedServer):
    """Code server, webserver and daemon on one temporary instance, alive inside a ``with`` block."""

    def __init__(
        self,
        lakefs: LakeFSTarget,
        *,
        webserver_port: int | None = None,
        startup_timeout: float = 180.0,
        keep_logs_in: Path | None = None,
    ) -> None:
        self.lakefs = lakefs
        self.webserver_port = webserver_port or free_port()
        self.code_port = free_port()
        self.startup_timeout = startup_timeout
        self.keep_logs_in = keep_logs_in
        self.workdir = Path(tempfile.mkdtemp(prefix="lakefs-wap-dagster-"))
        self.home = self.workdir / "home"
        self.home.mkdir()
        # Not $DAGSTER_HOME/logs: Dagster treats that directory as its telemetry
        # queue and moves away (to upload) whatever it finds there.
        logs = self.workdir / "logs"
        logs.mkdir()
        self.code_server = ChildProcess(DAGSTER_CODE_SERVER.name, logs / f"{DAGSTER_CODE_SERVER.name}.log")
        self.webserver = ChildProcess(DAGSTER_WEBSERVER.name, logs / f"{DAGSTER_WEBSERVER.name}.log")
        self.daemon = ChildProcess(DAGSTER_DAEMON.name, logs / f"{DAGSTER_DAEMON.name}.log")
        self._process = self.webserver

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.webserver_port}"

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return graphql(self.url, query, variables)

    def _environment(self, *, with_lakefs: bool) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in LAKEFS_ENV}
        env["DAGSTER_HOME"] = str(self.home)
        # Links from lakeFS commits back to the run (LakeFSResource.dagster_url).
        env["DAGSTER_WEBSERVER_URL"] = self.url
        if with_lakefs:
            # Only the code server (and the runs it launches) needs lakeFS's secret.
            env.update(self.lakefs.as_env())
        return env

    def _start(self) -> None:
        if not EXAMPLE_DEFINITIONS.is_file():
            raise DagsterUnavailable(f"no Dagster definitions at {EXAMPLE_DEFINITIONS}")
        check_port_free(self.webserver_port, DAGSTER_WEBSERVER.name)
        services = ensure_services()
        (self.home / "dagster.yaml").write_text(instance_yaml(self.home))
        workspace = self.home / "workspace.yaml"
        workspace.write_text(workspace_yaml(self.code_port))
        deadline = time.monotonic() + self.startup_timeout

        self.code_server.start(
            [
                # This environment's own Dagster: `dagster` first on PATH may be another's.
                sys.executable,
                "-m",
                *DAGSTER_CODE_SERVER.command,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.code_port),
            ],
            env=self._environment(with_lakefs=True),
            cwd=ROOT,
        )
        self.code_server.wait_until(
            lambda: _accepts_tcp(self.code_port),
            timeout=_left(deadline),
            waiting_for=f"load {EXAMPLE_DEFINITIONS.name} and listen on port {self.code_port}",
        )

        service_env = self._environment(with_lakefs=False)
        webserver_argv = [str(services / DAGSTER_WEBSERVER.command[0]), *DAGSTER_WEBSERVER.command[1:]]
        self.webserver.start(
            [*webserver_argv, "--host", "127.0.0.1", "--port", str(self.webserver_port)],
            env=service_env,
            cwd=self.home,
        )
        info = f"{self.url}{DAGSTER_WEBSERVER.health_path}"
        self.webserver.wait_until(lambda: _answers_200(info), timeout=_left(deadline), waiting_for=f"answer {info}")
        self.webserver.wait_until(self._location_loaded, timeout=_left(deadline), waiting_for="load the code location")

        self.daemon.start(
            [str(services / DAGSTER_DAEMON.command[0]), *DAGSTER_DAEMON.command[1:]], env=service_env, cwd=self.home
        )
        self.daemon.wait_until(
            self._daemons_healthy,
            timeout=_left(deadline),
            waiting_for=f"report {', '.join(NEEDED_DAEMONS)} healthy to the webserver",
        )

    def _location_loaded(self) -> bool:
        entries = self.graphql(_LOCATIONS)["workspaceOrError"]
        if entries["__typename"] != "Workspace":
            raise DagsterUnavailable(f"the Dagster webserver cannot read its workspace: {entries.get('message')}")
        for entry in entries["locationEntries"]:
            if entry["name"] != DAGSTER_LOCATION or entry["loadStatus"] != "LOADED":
                continue
            loaded = entry["locationOrLoadError"] or {}
            if loaded.get("__typename") == "PythonError":
                raise DagsterUnavailable(
                    f"code location {DAGSTER_LOCATION} failed to load: {loaded.get('message')}\n"
                    f"{self.code_server.log_tail()}"
                )
            return True
        time.sleep(0.5)
        return False

    def _daemons_healthy(self) -> bool:
        statuses = self.graphql(_DAEMONS)["instance"]["daemonHealth"]["allDaemonStatuses"]
        healthy = {status["daemonType"] for status in statuses if status["healthy"]}
        if all(name in healthy for name in NEEDED_DAEMONS):
            return True
        time.sleep(0.5)
        return False

    def processes(self) -> tuple[ChildProcess, ...]:
        return (self.code_server, self.webserver, self.daemon)

    def log_tails(self, lines: int = 30) -> str:
        return "\n\n".join(process.log_tail(lines) for process in self.processes())

    def _end_runs_in_flight(self, *, timeout: float = 30) -> None:
        """Have Dagster end the runs still going: their workers are the code server's children, not ours.

        Without this a run worker outlives the stack and writes into the
        removed instance directory. Best effort: a webserver that does not
        answer any more has nothing to say.
        """
        try:
            if not self.webserver.is_running() or not self.code_server.is_running():
                return
            going = self._runs_in_flight()
            if going:
                _progress(f"ending {len(going)} run(s) still in flight: {', '.join(going)}")
                self.graphql(_TERMINATE, {"runIds": going})
            deadline = time.monotonic() + timeout
            while going and time.monotonic() < deadline:
                time.sleep(1)
                going = self._runs_in_flight()
        except DagsterUnavailable as error:
            _progress(f"could not end the runs in flight: {error}")

    def _runs_in_flight(self) -> list[str]:
        runs = self.graphql(_IN_FLIGHT)["runsOrError"]
        return [str(run["runId"]) for run in runs.get("results", [])]

    def stop(self) -> None:
        self._end_runs_in_flight()
        # The daemon first, so it starts nothing while the others go; the code
        # server last, so runs in flight can still report their end.
        for process in (self.daemon, self.webserver, self.code_server):
            process.end(stop_signal=signal.SIGTERM, timeout=20)
        if self.keep_logs_in is not None:
            # The services' logs and the instance's storage (run events, step output).
            kept = self.keep_logs_in / "dagster"
            shutil.copytree(self.workdir / "logs", kept, dirs_exist_ok=True)
            if (self.home / "storage").is_dir():
                shutil.copytree(self.home / "storage", kept / "storage", dirs_exist_ok=True)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 1.0)


def _accepts_tcp(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        time.sleep(0.25)
        return False


def _answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
            return int(response.status) == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        time.sleep(0.25)
        return False


def _progress(message: str) -> None:
    print(f"[dagster-stack] {message}", file=sys.stderr, flush=True)


# ----- command line -------------------------------------------------------------------


def _ensure_repository(target: LakeFSTarget, namespace: str) -> None:
    """Create the demo repository unless it exists (lakefs-wap itself only checks)."""
    from lakefs_wap import ConnectionSettings, connect
    from tools.demo_repository import ensure_repository

    connection = connect(ConnectionSettings(target.endpoint, target.access_key_id, target.secret_access_key))
    if ensure_repository(connection.sdk.repositories_api, target.repository, namespace):
        _progress(f"created lakeFS repository {target.repository}")


def _run(args: argparse.Namespace) -> int:
    from tools.lakefs_server import running_lakefs, server_access_from_env

    # A background run is stopped with SIGTERM: end it as Ctrl-C does, so the
    # servers it started stop in order.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with ExitStack() as stack:
        access = server_access_from_env()
        if access is None:
            access = stack.enter_context(running_lakefs("local")).access
            _progress(f"lakeFS is up at {access.endpoint} (temporary; removed on exit)")
        target = LakeFSTarget(
            access.endpoint,
            access.access_key_id,
            access.secret_access_key,
            os.environ.get("LAKEFS_REPOSITORY", DEMO_REPOSITORY),
        )
        _ensure_repository(target, access.storage_namespace(target.repository))
        dagster = stack.enter_context(DagsterStack(target, webserver_port=args.port))
        _progress(f"Dagster UI: {dagster.url} (instance in {dagster.home}); Ctrl-C stops everything")
        print(dagster.url, flush=True)
        try:
            while all(process.is_running() for process in dagster.processes()):
                time.sleep(1)
            stopped = [p.name for p in dagster.processes() if not p.is_running()]
            _progress(f"{', '.join(stopped)} stopped by itself:\n{dagster.log_tails()}")
            return 1
        except KeyboardInterrupt:
            _progress("stopping")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.dagster_stack", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the stack in the foreground until interrupted; prints the UI URL")
    run.add_argument(
        "--port", type=int, default=DAGSTER_WEBSERVER.port, help=f"webserver port (default {DAGSTER_WEBSERVER.port})"
    )
    commands.add_parser("setup", help="make sure dagster-webserver and dagster-daemon exist; print their directory")
    args = parser.parse_args(argv)
    try:
        if args.command == "setup":
            print(ensure_services())
            return 0
        return _run(args)
    except LakeFSUnavailable as error:
        _progress(f"error: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
