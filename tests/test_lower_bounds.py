"""The floors in pyproject.toml are what CI tests: ``requirements-lower.lock`` (installed
by ``make test-lower``) pins every direct dependency at exactly its floor."""

from __future__ import annotations

from importlib.metadata import metadata, requires
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

LOWER_LOCK = Path(__file__).resolve().parent.parent / "requirements-lower.lock"


def installed_on_python_310(requirement: Requirement) -> bool:
    """Whether the lower-bound run (Python 3.10, the dev extra) installs ``requirement`` at all."""
    if requirement.marker is None:
        return True
    extras = metadata("lakefs-wap").get_all("Provides-Extra") or []
    python_310 = {"python_version": "3.10", "python_full_version": "3.10.0"}
    return any(requirement.marker.evaluate({**python_310, "extra": extra}) for extra in ["", *extras])


def declared_floors() -> dict[str, Version]:
    """``name >= floor`` of every requirement of lakefs-wap, extras included, as installed."""
    floors: dict[str, Version] = {}
    for line in requires("lakefs-wap") or []:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if name == "lakefs-wap":  # the dev extra naming the other extras
            continue
        if requirement.marker is not None and requirement.marker.evaluate({"extra": "e2e"}):
            continue  # the end-to-end services: installed only in the development environment
        if not installed_on_python_310(requirement):
            continue  # the documentation tools need Python 3.11+ (Material 9.8): not in the 3.10 run
        (floor,) = (spec.version for spec in requirement.specifier if spec.operator == ">=")
        floors[name] = Version(floor)
    return floors


def locked_versions() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in LOWER_LOCK.read_text().splitlines():
        if line.startswith((" ", "#")) or "==" not in line:
            continue
        name, _, version = line.split(";")[0].strip().partition("==")
        pins[canonicalize_name(name)] = Version(version)
    return pins


def test_every_declared_floor_is_the_version_the_lower_bound_run_installs() -> None:
    floors = declared_floors()
    assert {"apache-airflow", "dagster", "lakefs", "lakefs-sdk"} <= set(floors)
    locked = locked_versions()
    wrong = {name: (str(floor), str(locked.get(name))) for name, floor in floors.items() if locked.get(name) != floor}
    assert not wrong, f"pyproject.toml floor vs requirements-lower.lock (run `make lock-lower`): {wrong}"
