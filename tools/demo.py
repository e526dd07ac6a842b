"""`make demo`: lakefs-wap in both orchestrators, on a real local lakeFS, then a report.

1. Start a throw-away lakeFS (with its web UI when one is built or can be:
   ``tools/lakefs_webui.py``), or use the one named by ``LAKEFS_ENDPOINT``,
   ``LAKEFS_ACCESS_KEY_ID`` and ``LAKEFS_SECRET_ACCESS_KEY``; create the
   repository the examples use.
2. Airflow: the real example DAGs through ``dag.test()`` in a child process
   with the demo's own ``AIRFLOW_HOME``: ``lakefs_orders_ingestion`` with good
   data (published), with ``bad_data`` (two gates fail, ``main`` unchanged),
   then ``lakefs_rollback`` of the good run.
3. Dagster: the assets of ``example_dags/dagster_orders.py`` in a child process
   with the demo's own ``DAGSTER_HOME``, published through their checks and gates.
4. A report read back from lakeFS: each run's branch, commits, gate results,
   whether it was published, ``main``'s log, and lakeFS UI links.

Every demo starts from nothing (a new lakeFS data directory, a fresh Airflow
database copied from a cached migrated one, a new Dagster home) and removes it
all at the end, so it can be run again at once. On a ``LAKEFS_ENDPOINT`` server,
which outlives the demo, each demo makes its own repository
(``lakefs-wap-demo-<random>``).

``KEEP_RUNNING=1`` keeps lakeFS running, starts the Airflow UI and the Dagster
UI on the demo's homes, prints where they are, and waits for Ctrl-C.
``LAKEFS_WAP_DEMO_UI=0`` skips building lakeFS's web UI.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lakefs.exceptions
import lakefs_sdk.exceptions

from lakefs_wap import ConnectionSettings, LakeFSConnection, RunBranch, connect
from lakefs_wap.errors import AuthenticationError, LakeFSWapError, as_lakefs_error, translated
from lakefs_wap.retry import TRANSPORT_ERRORS
from tools import lakefs_webui
from tools.demo_report import DemoRun, print_report
from tools.demo_repository import ensure_repository
from tools.demo_runs import DemoHomes, DemoStepFailed, make_homes, migrated_airflow_db, run_child
from tools.demo_uis import start_airflow_ui, start_dagster_ui
from tools.lakefs_server import (
    LakeFSUnavailable,
    LocalLakeFS,
    ServerAccess,
    cached_binary_path,
    find_binary,
    free_port,
    server_access_from_env,
)
from tools.stack import DEMO_REPOSITORY

INGESTION_PREFIX = "orders"  # lakefs_orders_ingestion's lakefs_run_branch(prefix=...)
DAGSTER_PREFIX = "dagster"  # LakeFSResource's default branch_prefix
CHILD_TIMEOUT = 900.0
# What lakeFS (either SDK, or the network on the way to it) may raise in this process.
LAKEFS_ERRORS: tuple[type[BaseException], ...] = (
    LakeFSWapError,
    lakefs_sdk.exceptions.ApiException,
    lakefs.exceptions.ServerException,
    *TRANSPORT_ERRORS,
)
INTERRUPTED = "demo: interrupted; stopped everything the demo started"


def say(message: str) -> None:
    print(message, flush=True)


def _flag(name: str, default: str = "0") -> bool:
    return os.environ.get(name, default).strip().lower() not in {"", "0", "false", "no"}


class DemoLakeFS(LocalLakeFS):
    """The test bed's local lakeFS, minus the UI's mailing-list form (it would stand before every login)."""

    def config_yaml(self) -> str:
        config = json.loads(super().config_yaml())
        config["email_subscription"] = {"enabled": False}
        return json.dumps(config, indent=2)


@dataclass(frozen=True)
class DemoServer:
    access: ServerAccess
    ours: bool  # started by this demo (so its admin's credentials are the test bed's fixed local ones)
    has_ui: bool


def lakefs_binary_with_ui() -> Path | None:
    """The lakeFS binary to run: the user's own (``LAKEFS_BIN``, PATH: released binaries carry the UI),
    else one with the UI built here (cached, or built now: minutes, once); None for the test bed's UI-less build."""
    users_own = find_binary()
    if users_own is not None and users_own != cached_binary_path():
        return users_own
    if not _flag("LAKEFS_WAP_DEMO_UI", "1"):
        return None
    found = lakefs_webui.find()
    if found is not None:
        return found
    missing = lakefs_webui.missing_tools()
    if missing:
        say(f"[lakefs-ui] not building lakeFS's web UI: {', '.join(missing)} not found")
        return None
    say("[lakefs-ui] building lakeFS with its web UI, once (about 4 minutes on two cores; LAKEFS_WAP_DEMO_UI=0 skips)")
    try:
        return lakefs_webui.build(say)
    except LakeFSUnavailable as error:
        say(f"[lakefs-ui] could not build the web UI, going on without it: {error}")
        return None


@contextlib.contextmanager
def demo_server() -> Iterator[DemoServer]:
    external = server_access_from_env()
    if external is not None:
        say(f"Using the lakeFS server at {external.endpoint}")
        yield DemoServer(external, ours=False, has_ui=lakefs_webui.serves_ui(external.endpoint))
        return
    binary = lakefs_binary_with_ui()
    with DemoLakeFS(binary) as server:
        has_ui = lakefs_webui.serves_ui(server.access.endpoint)
        say(f"Started lakeFS at {server.access.endpoint} ({'with' if has_ui else 'without'} its web UI)")
        yield DemoServer(server.access, ours=True, has_ui=has_ui)


def create_repository(connection: LakeFSConnection, access: ServerAccess, name: str) -> None:
    with translated(action=f"create repository '{name}'"):
        created = ensure_repository(connection.sdk.repositories_api, name, access.storage_namespace(name))
    say(f"Created repository {name}" if created else f"Repository {name} exists already")


def lakefs_failure(error: BaseException, endpoint: str | None, external: bool) -> str:
    """One line for a lakeFS failure in the demo's own process: what failed, where, and what to check.

    Its words are lakefs-wap's (``as_lakefs_error``): the server's message and status, never the
    request (nor its credentials), and no SDK dump of headers and bodies.
    """
    translated_error = as_lakefs_error(error, action="talk to lakeFS")
    where = f"lakeFS at {endpoint}" if endpoint else "lakeFS"
    if external and isinstance(translated_error, AuthenticationError):
        line = (
            f"demo: {where} did not accept the keys in LAKEFS_ACCESS_KEY_ID and LAKEFS_SECRET_ACCESS_KEY "
            f"({translated_error.server_message or 'no message'}, HTTP {translated_error.status}). "
            "Check that they are an access key pair of that server."
        )
    else:
        line = f"demo: {where}: {translated_error}"
        if external:
            line += " Check LAKEFS_ENDPOINT and that server, or unset LAKEFS_ENDPOINT to run a throw-away lakeFS."
    return " ".join(line.split())  # one line, whatever the server's message held


def run_airflow(
    homes: DemoHomes, env: dict[str, str], connection: LakeFSConnection, repository: str, rows: int
) -> list[DemoRun]:
    shutil.copyfile(migrated_airflow_db(say), homes.airflow_home / "airflow.db")
    args = ["--repo", repository, "--rows", str(rows)]
    results: list[dict[str, Any]] = run_child(
        "tools.demo_airflow", args, env, homes.root / "airflow-runs.log", say, CHILD_TIMEOUT
    )
    ingestions = {result["label"]: result for result in results if result["dag_id"] == "lakefs_orders_ingestion"}

    def run_branch(result: dict[str, Any]) -> RunBranch:
        return RunBranch(connection, repository, f"{result['dag_id']}/{result['run_id']}", prefix=INGESTION_PREFIX)

    runs = []
    for result in results:
        title = f"{result['dag_id']} ({result['label']})"
        if result["dag_id"] == "lakefs_orders_ingestion":
            runs.append(DemoRun("Airflow", title, result["run_id"], result["state"], run_branch(result)))
        else:  # the rollback of the good run
            reverted = run_branch(ingestions["good data"])
            runs.append(DemoRun("Airflow", title, result["run_id"], result["state"], None, reverts=reverted))
    return runs


def run_dagster(
    homes: DemoHomes, env: dict[str, str], connection: LakeFSConnection, repository: str, rows: int
) -> list[DemoRun]:
    results: list[dict[str, Any]] = run_child(
        "tools.demo_dagster", ["--rows", str(rows)], env, homes.root / "dagster-runs.log", say, CHILD_TIMEOUT
    )
    return [
        DemoRun(
            "Dagster",
            "materialize example_dags/dagster_orders.py (raw_orders, curated_orders, publish_orders)",
            result["run_id"],
            "success" if result["success"] else "failure",
            RunBranch(connection, repository, result["run_id"], prefix=DAGSTER_PREFIX),
        )
        for result in results
    ]


def keep_running(stack: ExitStack, server: DemoServer, homes: DemoHomes, env: dict[str, str], repository: str) -> None:
    """Start the orchestrators' UIs, print where everything is, and wait for Ctrl-C."""
    say("\n[ui] starting the Airflow UI (api-server) on the demo's Airflow home ...")
    airflow = start_airflow_ui(stack, homes, env)
    say("[ui] starting the Dagster UI (a code server and dagster-webserver) on the demo's Dagster home ...")
    dagster = start_dagster_ui(stack, homes, env)
    say("\nStill running (everything on 127.0.0.1):")
    lakefs_note = "" if server.has_ui else "  (API only: this lakeFS binary has no web UI)"
    say(f"  lakeFS   {server.access.endpoint}/repositories/{repository}{lakefs_note}")
    if server.ours:
        # The demo's own throw-away server: its fixed local credentials, needed to log in.
        say(f"           log in with access key {server.access.access_key_id}")
        say(f"           and secret key {server.access.secret_access_key}")
    say(f"  Airflow  {airflow}/dags  (no login; the 'Open Airflow UI' button on a commit leads here)")
    say(f"  Dagster  {dagster}/runs")
    say(f"  files    {homes.root} (removed when the demo stops)")
    say(f"Press Ctrl-C (or kill {os.getpid()}) to stop them all.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        say("\nstopping")


def links_note(server: DemoServer) -> str:
    """Why the report's links stop working when the demo ends, and how to keep them."""
    stopping = "The Airflow UI, Dagster UI and lakeFS UI" if server.ours else "The Airflow UI and Dagster UI"
    return (
        f"{stopping} links above work only while those servers run, and the demo stops them now: "
        "`KEEP_RUNNING=1 make demo` keeps them running."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000, help="orders per example run (the gates need >= 1000)")
    parser.add_argument("--keep-running", action="store_true", default=_flag("KEEP_RUNNING"))
    args = parser.parse_args(argv)
    started = time.monotonic()
    homes = make_homes(free_port(), free_port())
    # The report's link rule imports Airflow in this process: never onto a developer's ~/airflow.
    os.environ.setdefault("AIRFLOW_HOME", str(homes.airflow_home))
    endpoint: str | None = None
    external = bool(os.environ.get("LAKEFS_ENDPOINT"))
    try:
        with ExitStack() as stack:
            server = stack.enter_context(demo_server())
            access = server.access
            endpoint = access.endpoint
            repository = DEMO_REPOSITORY if server.ours else f"{DEMO_REPOSITORY}-{uuid.uuid4().hex[:8]}"
            connection = connect(ConnectionSettings(access.endpoint, access.access_key_id, access.secret_access_key))
            create_repository(connection, access, repository)
            env = homes.env(access, repository)
            # Dagster first, so the Airflow rollback at the end shows it undoes one run and leaves later ones be.
            runs = run_dagster(homes, env, connection, repository, args.rows)
            runs += run_airflow(homes, env, connection, repository, args.rows)
            print_report(connection, repository, runs, say, access.endpoint)
            if not server.has_ui:
                say(
                    "\nThis lakeFS binary has no web UI: the links above open a 'lakeFS UI Not Built' page. "
                    "`python -m tools.lakefs_webui build` builds one (Node.js and npm needed)."
                )
            if not args.keep_running:
                say(f"\n{links_note(server)}")
            say(f"\nDemo finished in {time.monotonic() - started:.0f}s.")
            if args.keep_running:
                keep_running(stack, server, homes, env, repository)
    except DemoStepFailed as error:
        # The orchestrators' logs are what is needed to see why: they stay.
        print(
            f"demo: {error}\nThe demo's logs and homes are kept in {homes.root}; remove it when done.", file=sys.stderr
        )
        return 1
    except LakeFSUnavailable as error:
        print(f"demo: {error}", file=sys.stderr)
        shutil.rmtree(homes.root, ignore_errors=True)
        return 1
    except LAKEFS_ERRORS as error:
        print(lakefs_failure(error, endpoint, external), file=sys.stderr)
        shutil.rmtree(homes.root, ignore_errors=True)
        return 1
    except KeyboardInterrupt:
        # Ctrl-C (or SIGTERM, below): the ExitStack has stopped the servers and the child is gone;
        # a traceback would only say where the demo happened to be waiting.
        print(f"\n{INTERRUPTED}", file=sys.stderr)
        shutil.rmtree(homes.root, ignore_errors=True)
        return 130
    except BaseException:
        shutil.rmtree(homes.root, ignore_errors=True)
        raise
    shutil.rmtree(homes.root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    # `kill <pid>` (and a stop from an IDE or a job control that sends SIGTERM) ends
    # the demo the way Ctrl-C does: its servers and UIs stop in order, its files go.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(main())
