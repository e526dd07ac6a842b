"""The production-shaped stack, defined once: which services run, on which ports, with which commands.

Three places run this stack and must agree: the native launchers of the test bed
(``tools/airflow_stack.py``, ``tools/dagster_stack.py``, started on loopback by the
end-to-end tests and ``make demo``), and ``docker-compose.yml`` for users with
Docker. The compose file is checked against this table by a test, so a service,
port or command changed here and not there (or the other way round) fails CI.

Native runs pick free loopback ports; these are the ports inside the compose
network and the ones published to the user's machine.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    """One long-running process of the stack."""

    name: str
    """Its compose service name, also used in logs of the native launchers."""
    command: tuple[str, ...]
    """What it runs (the image's own entry point when empty). Where it listens (address
    and port) is not part of it: each runner adds its own, loopback natively, all
    interfaces of the container in compose."""
    port: int | None = None
    """The port it serves on, when it serves one."""
    health_path: str | None = None
    """An HTTP path answering 2xx once it is ready, when it has one."""


POSTGRES = Service("postgres", (), 5432)
MINIO = Service("minio", ("server", "/data"), 9000, "/minio/health/ready")
LAKEFS = Service("lakefs", ("run",), 8000, "/_health")
AIRFLOW_API_SERVER = Service("airflow-api-server", ("airflow", "api-server"), 8080, "/api/v2/monitor/health")
AIRFLOW_SCHEDULER = Service("airflow-scheduler", ("airflow", "scheduler"))
AIRFLOW_DAG_PROCESSOR = Service("airflow-dag-processor", ("airflow", "dag-processor"))
AIRFLOW_TRIGGERER = Service("airflow-triggerer", ("airflow", "triggerer"))
DAGSTER_WEBSERVER = Service("dagster-webserver", ("dagster-webserver", "-w", "workspace.yaml"), 3000, "/server_info")
DAGSTER_DAEMON = Service("dagster-daemon", ("dagster-daemon", "run", "-w", "workspace.yaml"))
# The code location the webserver and the daemon load over gRPC (workspace.yaml's
# `grpc_server` entry): the example definitions in the project's own environment,
# whose Dagster may differ from theirs. Runs start as its child processes, so it
# passes on its own Python (the entry-point flag) rather than whatever `dagster`
# is first on PATH. Not (yet) in DAGSTER_SERVICES: only the native launcher runs it.
DAGSTER_LOCATION = "lakefs_wap_orders"
DAGSTER_CODE_SERVER = Service(
    "dagster-code-server",
    (
        "dagster",
        "api",
        "grpc",
        "--python-file",
        "example_dags/dagster_orders.py",
        "--location-name",
        DAGSTER_LOCATION,
        "--use-python-environment-entry-point",
    ),
    4000,
)

LAKEFS_SERVICES = (POSTGRES, MINIO, LAKEFS)
AIRFLOW_SERVICES = (AIRFLOW_API_SERVER, AIRFLOW_SCHEDULER, AIRFLOW_DAG_PROCESSOR, AIRFLOW_TRIGGERER)
DAGSTER_SERVICES = (DAGSTER_WEBSERVER, DAGSTER_DAEMON)
SERVICES = LAKEFS_SERVICES + AIRFLOW_SERVICES + DAGSTER_SERVICES

# The repository the example DAGs and the Dagster example definitions write to.
DEMO_REPOSITORY = "lakefs-wap-demo"
# The MinIO bucket behind lakeFS's S3 blockstore.
DEMO_BUCKET = "lakefs-wap"
# The Airflow connection id the example DAGs use.
LAKEFS_CONN_ID = "lakefs_default"
