"""``python -m tools.airflow_stack run``: lakeFS and the Airflow services on this machine until Ctrl-C (or SIGTERM)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from tools.airflow_stack import ADMIN_USER, running_stack
from tools.demo_repository import ensure_demo_repository
from tools.lakefs_server import BACKENDS
from tools.processes import LakeFSUnavailable, check_port_free
from tools.stack import AIRFLOW_API_SERVER, LAKEFS_CONN_ID


def _say(message: str) -> None:
    print(f"[airflow-stack] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.airflow_stack", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="start lakeFS and the Airflow services until Ctrl-C or SIGTERM")
    run.add_argument("--port", type=int, default=AIRFLOW_API_SERVER.port, help="api-server port on 127.0.0.1")
    run.add_argument("--lakefs-port", type=int, default=8000, help="lakeFS port on 127.0.0.1")
    run.add_argument(
        "--backend",
        choices=BACKENDS,
        default=os.environ.get("LAKEFS_WAP_BACKEND", "local"),
        help="lakeFS's backend: local (a directory) or s3 (PostgreSQL + MinIO)",
    )
    args = parser.parse_args(argv)
    # Refused before anything starts, in the command line's words (lakeFS and PostgreSQL
    # would otherwise start first, and the message would not say how to pick another port).
    try:
        check_port_free(args.port, "the Airflow api-server with --port")
        check_port_free(args.lakefs_port, "lakeFS with --lakefs-port")
    except LakeFSUnavailable as error:
        _say(f"error: {error}")
        return 1
    # A background run is stopped with SIGTERM: end it the way Ctrl-C does, so
    # every service stops with it.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        _say("starting lakeFS, PostgreSQL and the Airflow services (a minute or two)...")
        with running_stack(args.backend, lakefs_port=args.lakefs_port, port=args.port) as (lakefs, airflow):
            ensure_demo_repository(lakefs.access)
            _say(f"lakeFS:  {lakefs.access.endpoint} (connection {LAKEFS_CONN_ID} points here)")
            _say(f"Airflow: {airflow.access.url}/ (user {ADMIN_USER}; password in {airflow.passwords_file})")
            _say(f"logs:    {airflow.workdir}/*.log; Ctrl-C stops everything")
            while airflow.is_running():
                time.sleep(1)
            _say(f"a service exited:\n{airflow.log_tail(15)}")
            return 1
    except KeyboardInterrupt:
        _say("stopped")
        return 0
    except LakeFSUnavailable as error:
        _say(f"error: {error}")
        return 1
