"""docker-compose.yml: valid for the Compose Specification, and the same stack as the native one.

Docker cannot run here, so this checks what can be checked without an engine:
compose-go (the loader Docker Compose uses, built by ``tools/compose_check.py``)
validates and normalizes the file, and every check below reads its normalized
output. Each check is a function returning the problems it finds; the tests
assert the real file has none, and that a file broken on purpose is caught.
``docker/lakefs_init.py``, the one-shot set-up step, runs here against the real
lakeFS of the session.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import re
import socket
import subprocess
import sys
import urllib.parse
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config
from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager
from jwt.warnings import InsecureKeyLengthWarning
from lakefs_sdk.exceptions import NotFoundException

from lakefs_wap import ConnectionSettings, connect
from tests.conftest import unique_repository_name
from tools import airflow_cli, airflow_stack, dagster_stack, stack
from tools.compose_check import ComposeFileInvalid, normalized_project
from tools.lakefs_server import LOCAL_ACCESS_KEY_ID, LOCAL_ADMIN, LOCAL_SECRET_ACCESS_KEY, S3Storage, ServerAccess
from tools.s3_server import LOCAL_S3_ACCESS_KEY_ID, LOCAL_S3_REGION, LOCAL_S3_SECRET_ACCESS_KEY, S3Access

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DAGSTER_INSTANCE_YAML = ROOT / "docker" / "dagster" / "dagster.yaml"
LAKEFS_INIT = ROOT / "docker" / "lakefs_init.py"

Project = dict[str, Any]

# Every credential the file may hold: documented demo defaults, named in the README's
# "Running with Docker". The lakeFS and MinIO keys are the native test bed's own.
DEMO_SECRETS = {
    LOCAL_SECRET_ACCESS_KEY: "lakeFS admin secret access key",
    LOCAL_S3_SECRET_ACCESS_KEY: "MinIO root password",
    "lakefs-wap-demo-postgres": "PostgreSQL password",
    "lakefs-wap-demo-encrypt-secret": "lakeFS auth.encrypt.secret_key",
    "bGFrZWZzLXdhcC1kZW1vLWZlcm5ldC1rZXktMDAwMDA=": "Airflow fernet key",
    "lakefs-wap-demo-jwt-secret-for-hs512-change-before-sharing-0123456789": "Airflow JWT secret",
    "lakefs-wap-demo-api-secret": "Airflow API secret key",
    "admin": "Airflow admin password",
}

# The stack's services: tools/stack.py's table, plus the Dagster code server the
# native launcher runs too (tools/stack.py keeps it out of DAGSTER_SERVICES for now).
STACK_SERVICES = (*stack.SERVICES, stack.DAGSTER_CODE_SERVER)

# What a container adds to a service's command from tools/stack.py: where to listen
# when it takes no setting for that (Airflow's api-server listens per AIRFLOW__API__HOST
# and PORT, lakeFS per LAKEFS_LISTEN_ADDRESS), and the scheduler's and triggerer's
# log servers off, as natively: every Airflow container shares one logs volume.
CONTAINER_ARGS: dict[str, tuple[str, ...]] = {
    stack.AIRFLOW_SCHEDULER.name: ("--skip-serve-logs",),
    stack.AIRFLOW_TRIGGERER.name: ("--skip-serve-logs",),
    stack.DAGSTER_WEBSERVER.name: ("--host", "0.0.0.0", "--port", str(stack.DAGSTER_WEBSERVER.port)),  # noqa: S104
    stack.DAGSTER_CODE_SERVER.name: ("--host", "0.0.0.0", "--port", str(stack.DAGSTER_CODE_SERVER.port)),  # noqa: S104
}

# One-shot set-up steps, each run to completion before what needs it starts.
ONE_SHOTS = {"minio-init", "lakefs-init", "airflow-init"}

HEALTHY = "service_healthy"
DONE = "service_completed_successfully"
# Start-up order where it matters (what else each may wait for is checked by rule).
REQUIRED_DEPENDENCIES: dict[str, dict[str, str]] = {
    "minio-init": {"minio": HEALTHY},
    "lakefs": {"postgres": HEALTHY, "minio-init": DONE},
    "lakefs-init": {"lakefs": HEALTHY},
    "airflow-init": {"postgres": HEALTHY},
    "airflow-api-server": {"airflow-init": DONE, "lakefs-init": DONE},
    "airflow-scheduler": {"airflow-init": DONE, "airflow-api-server": HEALTHY},
    "airflow-dag-processor": {"airflow-init": DONE, "airflow-api-server": HEALTHY},
    "airflow-triggerer": {"airflow-init": DONE, "airflow-api-server": HEALTHY},
    "dagster-code-server": {"postgres": HEALTHY, "lakefs-init": DONE},
    "dagster-webserver": {"dagster-code-server": HEALTHY},
    "dagster-daemon": {"dagster-code-server": HEALTHY},
}

# Airflow settings the native launcher sizes for the two-core test machine or the
# test harness, which a user's Docker host leaves at Airflow's defaults.
# What the connection's extra holds in compose only: lakeFS links open from the user's
# browser, which cannot resolve the containers' name for lakeFS (natively both are 127.0.0.1).
COMPOSE_ONLY_CONNECTION_EXTRA = {"ui_url": f"http://localhost:{stack.LAKEFS.port}"}

NATIVE_ONLY_AIRFLOW_SETTINGS = {
    "AIRFLOW__CORE__PARALLELISM",
    "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG",
    "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES",
    "AIRFLOW__API__WORKERS",
    "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE",
}


def services(project: Project) -> dict[str, Any]:
    found: dict[str, Any] = project["services"]
    return found


def env(project: Project, service: str) -> dict[str, str]:
    return {name: value or "" for name, value in (services(project)[service].get("environment") or {}).items()}


def is_one_shot(definition: dict[str, Any]) -> bool:
    return definition.get("restart") in (None, "no")


# ----- the checks ---------------------------------------------------------------------


def stack_service_problems(project: Project) -> list[str]:
    """Every service of tools/stack.py, with its command (plus listening arguments) and port."""
    problems = []
    for service in STACK_SERVICES:
        definition = services(project).get(service.name)
        if definition is None:
            problems.append(f"{service.name}: missing")
            continue
        expected = [*service.command, *CONTAINER_ARGS.get(service.name, ())] or None
        if definition.get("command") != expected:
            problems.append(f"{service.name}: command {definition.get('command')} is not {expected}")
        if service.port is not None:
            ports = {int(p["target"]) for p in definition.get("ports") or []}
            ports |= {int(p) for p in definition.get("expose") or []}
            if service.port not in ports:
                problems.append(f"{service.name}: port {service.port} is neither published nor exposed")
        if is_one_shot(definition):
            problems.append(f"{service.name}: a long-running service needs a restart policy")
    known = {service.name for service in STACK_SERVICES} | ONE_SHOTS
    problems += [f"{name}: not in tools/stack.py nor a set-up step" for name in services(project) if name not in known]
    problems += [
        f"{name}: a set-up step must not restart" for name in ONE_SHOTS if not is_one_shot(services(project)[name])
    ]
    return problems


def health_problems(project: Project) -> list[str]:
    """A health check on every long-running service, probing tools/stack.py's health path where it has one."""
    problems = []
    by_name = {service.name: service for service in STACK_SERVICES}
    for name, definition in services(project).items():
        if is_one_shot(definition):
            continue
        check = definition.get("healthcheck") or {}
        test = check.get("test") or []
        if check.get("disable") or not test or test[0] == "NONE":
            problems.append(f"{name}: no health check")
            continue
        service = by_name.get(name)
        # MinIO's image has no HTTP client; `mc ready` asks that same readiness path.
        if service and service.health_path and name != stack.MINIO.name:
            probe = f":{service.port}{service.health_path}"
            if not any(probe in part for part in test):
                problems.append(f"{name}: health check {test} does not probe {probe}")
    return problems


def dependency_problems(project: Project) -> list[str]:
    """Everything waits for what it needs to be healthy or, for a set-up step, finished."""
    problems = []
    for name, definition in services(project).items():
        for target, spec in (definition.get("depends_on") or {}).items():
            wanted = DONE if is_one_shot(services(project)[target]) else HEALTHY
            if spec.get("condition") != wanted:
                problems.append(f"{name}: waits for {target} with {spec.get('condition')}, not {wanted}")
    for name, required in REQUIRED_DEPENDENCIES.items():
        have = services(project).get(name, {}).get("depends_on") or {}
        for target, condition in required.items():
            if have.get(target, {}).get("condition") != condition:
                problems.append(f"{name}: must wait for {target} ({condition})")
    return problems


def _lock_version(package: str) -> str:
    lock = (ROOT / "requirements-dev.lock").read_text()
    match = re.search(rf"^{re.escape(package)}==(\S+)", lock, re.MULTILINE)
    assert match, f"{package} is not in requirements-dev.lock"
    return match.group(1)


def _go_mod_version(module_dir: str, module: str) -> str:
    go_mod = (ROOT / "tools" / module_dir / "go.mod").read_text()
    match = re.search(rf"^require {re.escape(module)} v(\S+)$", go_mod, re.MULTILINE)
    assert match, f"tools/{module_dir}/go.mod does not require {module}"
    return match.group(1)


def expected_images() -> dict[str, str]:
    """The exact image (or base image) of each pulled service and Dockerfile."""
    return {
        "lakefs": f"treeverse/lakefs:{_go_mod_version('lakefs-build', 'github.com/treeverse/lakefs')}",
        "docker/airflow/Dockerfile": f"apache/airflow:{_lock_version('apache-airflow')}-python3.11",
    }


def dockerfiles(project: Project) -> dict[str, Path]:
    return {
        name: Path(definition["build"]["context"]) / definition["build"]["dockerfile"]
        for name, definition in services(project).items()
        if "build" in definition
    }


def base_images(dockerfile: Path) -> list[str]:
    return re.findall(r"^FROM\s+(?:--\S+\s+)*(\S+)", dockerfile.read_text(), re.MULTILINE)


# What an exact tag looks like for each image used; moving tags such as `latest`,
# `15` or `3.11-slim` follow new releases and do not match.
PINNED_TAGS = {
    "postgres": r"\d+\.\d+-bookworm",
    "minio/minio": r"RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ",
    "minio/mc": r"RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ",
    "treeverse/lakefs": r"\d+\.\d+\.\d+",
    "python": r"3\.11\.\d+-slim-bookworm",
    "apache/airflow": r"\d+\.\d+\.\d+-python3\.11",
}


def pinning_problems(project: Project) -> list[str]:
    """Every image, pulled or built upon, has an exact tag; lakeFS and Airflow match the native versions."""
    problems = []
    references = {name: d["image"] for name, d in services(project).items() if "build" not in d}
    for name, path in dockerfiles(project).items():
        if not services(project)[name]["image"].endswith(":local"):
            problems.append(f"{name}: a built image is tagged <name>:local, not {services(project)[name]['image']}")
        for image in base_images(path):
            references[os.path.relpath(path, ROOT)] = image
    for where, image in references.items():
        repository, _, tag = image.rpartition(":")
        pattern = PINNED_TAGS.get(repository)
        if pattern is None:
            problems.append(
                f"{where}: image {image}: no rule for pinning {repository or image} (add one to PINNED_TAGS)"
            )
        elif not re.fullmatch(pattern, tag):
            problems.append(f"{where}: image {image} is not pinned to one release")
    for where, image in expected_images().items():
        if references.get(where) != image:
            problems.append(f"{where}: image {references.get(where)} is not {image}")
    return problems


def dockerfile_problems(project: Project) -> list[str]:
    """The images install this package and the Airflow/Dagster releases the native stack runs."""
    problems = []
    paths = dockerfiles(project)
    airflow = paths["airflow-api-server"].read_text()
    if f'"apache-airflow=={_lock_version("apache-airflow")}"' not in airflow:
        problems.append("docker/airflow/Dockerfile: does not reinstall the lock's apache-airflow")
    if '"/opt/lakefs-wap[airflow,tables]"' not in airflow:
        problems.append("docker/airflow/Dockerfile: does not install lakefs-wap[airflow,tables]")
    dagster = paths["dagster-webserver"].read_text()
    version = dagster_stack.SERVICES_VERSION
    _, minor, patch = (int(part) for part in version.split("."))
    # Dagster's libraries are numbered 0.(minor + 16).patch beside core 1.minor.patch.
    for pin in (f"dagster=={version}", f"dagster-webserver=={version}", f"dagster-postgres==0.{minor + 16}.{patch}"):
        if f'"{pin}"' not in dagster:
            problems.append(f"docker/dagster/Dockerfile: does not pin {pin}")
    if '"/opt/lakefs-wap[dagster,tables]"' not in dagster:
        problems.append("docker/dagster/Dockerfile: does not install lakefs-wap[dagster,tables]")
    return problems


def dockerignore_problems(project: Project, dockerignore: Path = ROOT / ".dockerignore") -> list[str]:
    """The build context holds only what the Dockerfiles copy: never .venv, .git or caches."""
    lines = [line.strip() for line in dockerignore.read_text().splitlines()]
    rules = [line for line in lines if line and not line.startswith("#")]
    problems = [] if rules[:1] == ["*"] else [".dockerignore: must start by excluding everything (`*`)"]
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    for path in dockerfiles(project).values():
        for line in re.findall(r"^COPY\s+(.+)$", path.read_text(), re.MULTILINE):
            sources = [part for part in line.split()[:-1] if not part.startswith("--")]
            for source in sources:
                if not (ROOT / source).exists():
                    problems.append(f"{path.name}: COPY {source}: no such file in the repository")
                if source.split("/")[0] not in allowed:
                    problems.append(f"{path.name}: COPY {source} is excluded by .dockerignore")
    return problems


def _secrets_in(name: str, value: str) -> Iterator[str]:
    """The credentials a variable holds: its value if its name says so, URL passwords, JSON passwords."""
    if re.search(r"PASSWORD|SECRET|_KEY$|TOKEN", name) and not name.endswith("_FILE"):  # _FILE: a path to one
        yield value
    for url in re.findall(r"[a-z0-9+]+://[^\s\"']+", value):
        password = urllib.parse.urlsplit(url).password
        if password:
            yield password
    try:
        parsed = json.loads(value)
    except ValueError:
        return
    if isinstance(parsed, dict):
        yield from (str(v) for k, v in parsed.items() if re.search(r"password|secret", k, re.IGNORECASE))


def secret_problems(project: Project) -> list[str]:
    """No credential besides the documented demo defaults."""
    problems = []
    for name in services(project):
        for variable, value in env(project, name).items():
            for secret in _secrets_in(variable, value):
                if secret not in DEMO_SECRETS:
                    problems.append(f"{name}: {variable} holds a credential that is not a documented demo default")
    passwords = json.loads((ROOT / "docker" / "airflow" / "simple_auth_manager_passwords.json").read_text())
    problems += [
        f"docker/airflow: the password of {user!r} is not a documented demo default"
        for user, password in passwords.items()
        if password not in DEMO_SECRETS
    ]
    return problems


def airflow_env_problems(project: Project) -> list[str]:
    """Airflow's containers share one environment, with the settings the native launcher gives."""
    problems = []
    names = [service.name for service in stack.AIRFLOW_SERVICES] + ["airflow-init"]
    reference = env(project, names[0])
    problems += [
        f"{name}: environment differs from {names[0]}'s" for name in names[1:] if env(project, name) != reference
    ]
    native = set(re.findall(r'"(AIRFLOW__[A-Z_]+)"', inspect.getsource(airflow_stack.AirflowStack.environment)))
    native.add(f"AIRFLOW_CONN_{stack.LAKEFS_CONN_ID.upper()}")
    native -= NATIVE_ONLY_AIRFLOW_SETTINGS
    compose = {name for name in reference if name.startswith("AIRFLOW")}
    problems += [f"Airflow: {name} is set natively, not in compose" for name in sorted(native - compose)]
    problems += [f"Airflow: {name} is set in compose, not natively" for name in sorted(compose - native)]
    connection = json.loads(reference.get(f"AIRFLOW_CONN_{stack.LAKEFS_CONN_ID.upper()}", "{}"))
    lakefs = env(project, "lakefs-init")
    wanted = {
        "conn_type": "lakefs",
        "host": f"http://{stack.LAKEFS.name}:{stack.LAKEFS.port}",
        "login": lakefs.get("LAKEFS_ACCESS_KEY_ID"),
        "password": lakefs.get("LAKEFS_SECRET_ACCESS_KEY"),
    }
    extra = connection.pop("extra", {})
    if connection != wanted:
        problems.append(f"Airflow: connection {stack.LAKEFS_CONN_ID} does not point at lakeFS with the admin's keys")
    if extra != COMPOSE_ONLY_CONNECTION_EXTRA:
        problems.append(
            f"Airflow: connection {stack.LAKEFS_CONN_ID}'s extra is {extra}, not {COMPOSE_ONLY_CONNECTION_EXTRA}: "
            "its lakeFS links would name a host only the containers resolve"
        )
    secret = reference.get("AIRFLOW__API_AUTH__JWT_SECRET", "")
    if not jwt_secret_is_long_enough(secret):
        problems.append(
            f"Airflow: AIRFLOW__API_AUTH__JWT_SECRET has {len(secret.encode())} bytes; HS512 wants at least 64"
        )
    return problems


def jwt_secret_is_long_enough(secret: str) -> bool:
    """Whether PyJWT signs with it under HS512 (Airflow's choice for a shared secret) without a key-length warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", InsecureKeyLengthWarning)
        try:
            jwt.encode({"sub": "check"}, secret, algorithm="HS512")
        except InsecureKeyLengthWarning:
            return False
    return True


def dagster_env_problems(project: Project) -> list[str]:
    """The code server alone has lakeFS's settings, the ones the example definitions read, as natively."""
    problems = []
    wanted = {
        "LAKEFS_ENDPOINT": f"http://{stack.LAKEFS.name}:{stack.LAKEFS.port}",
        "LAKEFS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY_ID,
        "LAKEFS_SECRET_ACCESS_KEY": LOCAL_SECRET_ACCESS_KEY,
        "LAKEFS_REPOSITORY": stack.DEMO_REPOSITORY,
    }
    assert set(wanted) == set(dagster_stack.LAKEFS_ENV)
    code = env(project, stack.DAGSTER_CODE_SERVER.name)
    problems += [
        f"dagster-code-server: {name} is missing or not the demo's"
        for name, value in wanted.items()
        if code.get(name) != value
    ]
    for service in stack.DAGSTER_SERVICES:
        leaked = set(dagster_stack.LAKEFS_ENV) & set(env(project, service.name))
        if leaked:
            problems.append(f"{service.name}: has {sorted(leaked)}; only the code server needs lakeFS")
    if code.get("LAKEFS_UI_URL") != f"http://localhost:{stack.LAKEFS.port}":
        problems.append("dagster-code-server: LAKEFS_UI_URL is not lakeFS as published to the user's browser")
    for service in (*stack.DAGSTER_SERVICES, stack.DAGSTER_CODE_SERVER):
        if (
            env(project, service.name).get("DAGSTER_WEBSERVER_URL")
            != f"http://localhost:{stack.DAGSTER_WEBSERVER.port}"
        ):
            problems.append(f"{service.name}: DAGSTER_WEBSERVER_URL is not the published webserver")
    return problems


def compute_log_dir(instance_yaml: Path = DAGSTER_INSTANCE_YAML) -> str | None:
    """The directory the stack's Dagster instance keeps runs' stdout/stderr in, when it names one."""
    # Read and validated as the installed Dagster reads an instance's dagster.yaml.
    config, _ = dagster_instance_config(str(instance_yaml.parent), config_filename=instance_yaml.name)
    compute_logs = config.get("compute_logs") or {}
    if (compute_logs.get("module"), compute_logs.get("class")) != (
        LocalComputeLogManager.__module__,
        LocalComputeLogManager.__name__,
    ):
        return None
    if not validate_config(LocalComputeLogManager.config_type(), compute_logs.get("config")).success:
        return None
    base_dir = (compute_logs.get("config") or {}).get("base_dir")
    return base_dir if isinstance(base_dir, str) else None


def compute_log_problems(project: Project, instance_yaml: Path = DAGSTER_INSTANCE_YAML) -> list[str]:
    """Runs' stdout/stderr, written by the code server's run processes, reach the webserver (and the daemon).

    Each container has its own file system: without one volume at the compute-log
    directory in all three, the webserver would show no run's logs.
    """
    base_dir = compute_log_dir(instance_yaml)
    if base_dir is None:
        return [f"{instance_yaml.name}: compute_logs is not a LocalComputeLogManager with a base_dir"]
    problems = []
    volumes = set()
    for service in (stack.DAGSTER_CODE_SERVER, *stack.DAGSTER_SERVICES):
        mounts = [
            m
            for m in services(project)[service.name].get("volumes") or []
            if m.get("target") == base_dir and m.get("type") == "volume" and not m.get("read_only")
        ]
        if not mounts:
            problems.append(f"{service.name}: no writable named volume at the compute-log directory {base_dir}")
        volumes |= {m.get("source") for m in mounts}
    if len(volumes) > 1:
        problems.append(f"Dagster: the services mount different compute-log volumes: {sorted(map(str, volumes))}")
    # A new named volume takes the owner of the image's directory: the image's user must own it.
    dockerfile = dockerfiles(project)[stack.DAGSTER_WEBSERVER.name].read_text()
    if not re.search(rf"mkdir -p [^\n]*{re.escape(base_dir)}\b", dockerfile):
        problems.append(f"docker/dagster/Dockerfile: does not make {base_dir} for the unprivileged user")
    return problems


def _flatten(prefix: str, config: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for key, value in config.items():
        name = f"{prefix}_{key.upper()}"
        if isinstance(value, dict):
            yield from _flatten(name, value)
        else:
            yield name, value


def _env_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def lakefs_env_problems(project: Project) -> list[str]:
    """lakeFS runs on PostgreSQL and MinIO as the native s3 backend does, on the demo bucket and repository."""
    problems = []
    native = S3Storage(
        "postgres://unused",
        S3Access("http://minio:9000", LOCAL_S3_ACCESS_KEY_ID, LOCAL_S3_SECRET_ACCESS_KEY, LOCAL_S3_REGION, "unused"),
    ).lakefs_config()
    server = env(project, stack.LAKEFS.name)
    for name, value in _flatten("LAKEFS", native):
        if name not in server:
            problems.append(f"lakefs: {name} (set natively) is missing")
        elif name != "LAKEFS_DATABASE_POSTGRES_CONNECTION_STRING" and server[name] != _env_value(value):
            problems.append(f"lakefs: {name} is {server[name]!r}, natively {value!r}")
    if server.get("LAKEFS_LISTEN_ADDRESS") != f"0.0.0.0:{stack.LAKEFS.port}":
        problems.append("lakefs: LAKEFS_LISTEN_ADDRESS must be all interfaces on the stack's port")
    init = env(project, "lakefs-init")
    if init.get("LAKEFS_STORAGE_NAMESPACE") != f"s3://{stack.DEMO_BUCKET}/{stack.DEMO_REPOSITORY}":
        problems.append("lakefs-init: the repository is not stored in the demo bucket")
    if (init.get("LAKEFS_REPOSITORY"), init.get("LAKEFS_ADMIN_USER")) != (stack.DEMO_REPOSITORY, LOCAL_ADMIN):
        problems.append("lakefs-init: not the demo repository or admin")
    bucket = (services(project)["minio-init"].get("command") or [""])[-1].rpartition("/")[2]
    if bucket != stack.DEMO_BUCKET:
        problems.append(f"minio-init: makes bucket {bucket!r}, not {stack.DEMO_BUCKET!r}")
    return problems


CHECKS: list[Callable[[Project], list[str]]] = [
    stack_service_problems,
    health_problems,
    dependency_problems,
    pinning_problems,
    dockerfile_problems,
    dockerignore_problems,
    secret_problems,
    airflow_env_problems,
    dagster_env_problems,
    compute_log_problems,
    lakefs_env_problems,
]


# ----- the tests ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def project() -> Project:
    return normalized_project(COMPOSE_FILE)


def broken(tmp_path: Path, old: str, new: str) -> Project:
    """The project of a copy of docker-compose.yml with ``old`` replaced (it must occur)."""
    text = COMPOSE_FILE.read_text()
    assert old in text, f"the mutation's text {old!r} is not in docker-compose.yml"
    copy = tmp_path / "docker-compose.yml"
    copy.write_text(text.replace(old, new, 1))
    return normalized_project(copy, project_directory=ROOT)


def test_the_file_is_valid_for_the_compose_specification(project: Project) -> None:
    assert project["name"] == "lakefs-wap"
    assert set(services(project)) >= {service.name for service in STACK_SERVICES}


def test_a_file_that_breaks_the_specification_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ComposeFileInvalid, match="condition"):
        broken(tmp_path, "condition: service_healthy", "condition: service_ready")
    with pytest.raises(ComposeFileInvalid, match="undefined service"):
        broken(tmp_path, "      minio-init:\n        condition:", "      minio-innit:\n        condition:")


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_the_compose_file_passes(check: Callable[[Project], list[str]], project: Project) -> None:
    assert check(project) == []


# Each check, shown a file broken in the way it guards against.
ATTACKS = [
    (stack_service_problems, 'command: ["airflow", "dag-processor"]', 'command: ["airflow", "dag-processor", "-v"]'),
    (stack_service_problems, '"127.0.0.1:8080:8080"', '"127.0.0.1:8081:8081"'),
    (stack_service_problems, "  airflow-triggerer:\n", "  airflow-trigger:\n"),
    (health_problems, '["CMD", "dagster-daemon", "liveness-check"]', '["NONE"]'),
    (health_problems, "localhost:8080/api/v2/monitor/health", "localhost:8080/"),
    (
        dependency_problems,
        "      minio-init:\n        condition: service_completed_successfully",
        "      minio-init:\n        condition: service_started",
    ),
    (
        dependency_problems,
        "      lakefs-init:\n        condition: service_completed_successfully\n\n  airflow-scheduler",
        "      lakefs:\n        condition: service_healthy\n\n  airflow-scheduler",
    ),
    (pinning_problems, "image: postgres:15.10-bookworm", "image: postgres"),
    (pinning_problems, "image: minio/mc:RELEASE.2025-04-16T18-13-26Z", "image: minio/mc:latest"),
    (pinning_problems, "image: treeverse/lakefs:1.84.0", "image: treeverse/lakefs:1.83.0"),
    (
        secret_problems,
        "AIRFLOW__API_AUTH__JWT_SECRET: lakefs-wap-demo-jwt-secret-for-hs512-change-before-sharing-0123456789",
        "AIRFLOW__API_AUTH__JWT_SECRET: s3cr3t-f0r-real",
    ),
    (
        secret_problems,
        "lakefs_wap:lakefs-wap-demo-postgres@postgres:5432/lakefs",
        "lakefs_wap:hunter2@postgres:5432/lakefs",
    ),
    (
        airflow_env_problems,
        "    AIRFLOW__CORE__EXECUTION_API_SERVER_URL:",
        "    AIRFLOW__CORE__EXECUTION_API_SERVER_UR:",
    ),
    (airflow_env_problems, '"host": "http://lakefs:8000"', '"host": "http://localhost:8000"'),
    (airflow_env_problems, ',\n      "extra": {"ui_url": "http://localhost:8000"}', ""),
    (
        airflow_env_problems,
        "lakefs-wap-demo-jwt-secret-for-hs512-change-before-sharing-0123456789",
        "lakefs-wap-demo-jwt-secret",
    ),
    (dagster_env_problems, "      <<: [*dagster-env, *lakefs-client]", "      <<: *dagster-env"),
    (dagster_env_problems, "      LAKEFS_UI_URL: http://localhost:8000\n", ""),
    (  # the webserver's and the daemon's (from x-dagster)
        compute_log_problems,
        "    - dagster-compute-logs:/opt/dagster/compute-logs\n",
        "    - dagster-compute-logs:/opt/dagster/home/compute-logs\n",
    ),
    (  # the code server's
        compute_log_problems,
        "      - dagster-compute-logs:/opt/dagster/compute-logs\n      - ./example_dags",
        "      - ./example_dags",
    ),
    (lakefs_env_problems, '      LAKEFS_BLOCKSTORE_S3_FORCE_PATH_STYLE: "true"\n', ""),
    (
        lakefs_env_problems,
        '["mb", "--ignore-existing", "demo/lakefs-wap"]',
        '["mb", "--ignore-existing", "demo/lakefs"]',
    ),
]


@pytest.mark.parametrize(
    ("check", "old", "new"), ATTACKS, ids=[f"{check.__name__}-{index}" for index, (check, _, _) in enumerate(ATTACKS)]
)
def test_each_check_catches_a_broken_file(
    check: Callable[[Project], list[str]], old: str, new: str, tmp_path: Path
) -> None:
    assert check(broken(tmp_path, old, new)) != []


def test_the_image_checks_catch_a_broken_dockerfile(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    original = (ROOT / "docker" / "dagster" / "Dockerfile").read_text()
    compose = ("dockerfile: docker/dagster/Dockerfile", f"dockerfile: {dockerfile}")

    dockerfile.write_text(original.replace('"dagster-postgres==0.29.27"', '"dagster-postgres"'))
    assert dockerfile_problems(broken(tmp_path, *compose)) != []
    dockerfile.write_text(original.replace("FROM python:3.11.11-slim-bookworm", "FROM python:3.11-slim"))
    assert pinning_problems(broken(tmp_path, *compose)) != []
    dockerfile.write_text(original.replace("COPY dagster_lakefs ", "COPY example_dags "))
    assert dockerignore_problems(broken(tmp_path, *compose)) != []
    dockerfile.write_text(
        original.replace("/opt/dagster/home/storage /opt/dagster/compute-logs", "/opt/dagster/home/storage")
    )
    assert compute_log_problems(broken(tmp_path, *compose)) != []

    open_context = tmp_path / ".dockerignore"
    open_context.write_text((ROOT / ".dockerignore").read_text().replace("\n*\n", "\n"))
    assert dockerignore_problems(normalized_project(COMPOSE_FILE), open_context) != []


def test_the_compute_log_check_reads_dagster_yaml(tmp_path: Path, project: Project) -> None:
    elsewhere = tmp_path / "dagster.yaml"
    base_dir = compute_log_dir()
    assert base_dir is not None
    elsewhere.write_text(DAGSTER_INSTANCE_YAML.read_text().replace(base_dir, "/opt/dagster/home/logs"))
    assert compute_log_problems(project, elsewhere) != []
    default = tmp_path / "default.yaml"
    default.write_text(re.sub(r"(?ms)^compute_logs:.*?(?=^\S|\Z)", "", DAGSTER_INSTANCE_YAML.read_text()))
    assert compute_log_dir(default) is None
    assert compute_log_problems(project, default) != []
    misspelled = tmp_path / "misspelled.yaml"
    misspelled.write_text(DAGSTER_INSTANCE_YAML.read_text().replace("    base_dir:", "    basedir:"))
    assert compute_log_dir(misspelled) is None


def test_the_native_launcher_makes_jwt_secrets_long_enough_for_hs512() -> None:
    assert not jwt_secret_is_long_enough("lakefs-wap-demo-jwt-secret")  # the check can fail
    assert all(jwt_secret_is_long_enough(airflow_stack.new_jwt_secret()) for _ in range(20))


def test_the_native_launcher_names_the_port_option_when_its_port_is_taken(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert airflow_cli.main(["run", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is taken" in err
    assert "--port" in err
    assert "starting lakeFS" not in err  # refused before anything started


def test_the_readme_names_every_demo_credential() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "## Running with Docker" in readme
    unnamed = [what for value, what in DEMO_SECRETS.items() if f"`{value}`" not in readme]
    assert unnamed == [], f"README.md does not name these demo defaults: {unnamed}"


# ----- the set-up step, on the real lakeFS --------------------------------------------


def run_lakefs_init(settings: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": os.environ.get("PATH", ""), "LAKEFS_INIT_TIMEOUT": "20", **settings}
    return subprocess.run(
        [sys.executable, str(LAKEFS_INIT)], env=environment, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def init_settings(lakefs_server: ServerAccess) -> Iterator[dict[str, str]]:
    name = unique_repository_name("compose-init")
    yield {
        "LAKEFS_ENDPOINT": lakefs_server.endpoint,
        "LAKEFS_ADMIN_USER": LOCAL_ADMIN,
        "LAKEFS_ACCESS_KEY_ID": lakefs_server.access_key_id,
        "LAKEFS_SECRET_ACCESS_KEY": lakefs_server.secret_access_key,
        "LAKEFS_REPOSITORY": name,
        "LAKEFS_STORAGE_NAMESPACE": lakefs_server.storage_namespace(name),
    }
    connection = connect(
        ConnectionSettings(lakefs_server.endpoint, lakefs_server.access_key_id, lakefs_server.secret_access_key)
    )
    with contextlib.suppress(NotFoundException):  # absent when the test failed before creating it
        connection.sdk.repositories_api.delete_repository(name)


def test_lakefs_init_creates_the_repository_once(init_settings: dict[str, str], lakefs_server: ServerAccess) -> None:
    first = run_lakefs_init(init_settings)
    assert first.returncode == 0, first.stderr
    # The session's server has its admin already, as a restarted stack's lakeFS does.
    assert f"lakeFS admin {LOCAL_ADMIN!r} was set up before" in first.stdout
    assert f"repository {init_settings['LAKEFS_REPOSITORY']!r} created" in first.stdout

    connection = connect(
        ConnectionSettings(lakefs_server.endpoint, lakefs_server.access_key_id, lakefs_server.secret_access_key)
    )
    created = connection.sdk.repositories_api.get_repository(init_settings["LAKEFS_REPOSITORY"])
    assert (created.default_branch, created.storage_namespace) == ("main", init_settings["LAKEFS_STORAGE_NAMESPACE"])

    again = run_lakefs_init(init_settings)
    assert again.returncode == 0, again.stderr
    assert f"repository {init_settings['LAKEFS_REPOSITORY']!r} exists already" in again.stdout


def test_lakefs_init_names_what_is_wrong(init_settings: dict[str, str]) -> None:
    missing = run_lakefs_init({k: v for k, v in init_settings.items() if k != "LAKEFS_STORAGE_NAMESPACE"})
    assert missing.returncode == 1
    assert "missing settings: LAKEFS_STORAGE_NAMESPACE" in missing.stderr

    wrong_secret = "not-the-admin-secret-0123456789"  # noqa: S105
    rejected = run_lakefs_init({**init_settings, "LAKEFS_SECRET_ACCESS_KEY": wrong_secret})
    assert rejected.returncode == 1
    assert "rejected the keys" in rejected.stderr
    assert "docker compose down -v" in rejected.stderr
    assert wrong_secret not in rejected.stdout + rejected.stderr
