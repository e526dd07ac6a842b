"""Airflow finds the provider and accepts its metadata."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import airflow
import jsonschema

from lakefs_provider.get_provider_info import get_provider_info
from lakefs_wap import __version__


def test_provider_info_is_valid_for_airflows_own_schema() -> None:
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)
    assert get_provider_info()["package-name"] == "lakefs-wap"
    assert get_provider_info()["versions"][0] == __version__


def test_connection_form_follows_airflows_provider_yaml_schema() -> None:
    schema = json.loads((Path(airflow.__file__).parent / "provider.yaml.schema.json").read_text())
    connection_type_schema = schema["properties"]["connection-types"]["items"]
    (lakefs_type,) = get_provider_info()["connection-types"]
    jsonschema.validate(lakefs_type, connection_type_schema)
    assert lakefs_type["ui-field-behaviour"]["relabeling"] == {
        "host": "lakeFS endpoint",
        "login": "Access key ID",
        "password": "Secret access key",
    }
    assert set(lakefs_type["conn-fields"]) == {
        "verify_ssl",
        "ca_bundle",
        "proxy",
        "timeout",
        "connect_timeout",
        "max_attempts",
        "ui_url",
    }


def test_every_listed_module_imports_and_holds_what_it_claims() -> None:
    import importlib

    info = get_provider_info()
    for section in ("hooks", "operators", "sensors", "triggers"):
        for module in info[section][0]["python-modules"]:
            assert importlib.import_module(module)
    link_module, _, link_class = info["extra-links"][0].rpartition(".")
    assert hasattr(importlib.import_module(link_module), link_class)
    hook_module, _, hook_class = info["connection-types"][0]["hook-class-name"].rpartition(".")
    assert getattr(importlib.import_module(hook_module), hook_class).conn_type == "lakefs"


def test_airflow_cli_lists_the_provider(airflow_db) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "list", "--output", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    providers = {entry["package_name"]: entry for entry in json.loads(result.stdout)}
    assert providers["lakefs-wap"]["version"] == __version__


def public_modules(package: str) -> set[str]:
    """Every public module file of a subpackage of lakefs_provider, found on disk."""
    import lakefs_provider

    folder = Path(lakefs_provider.__file__).parent / package
    return {f"lakefs_provider.{package}.{f.stem}" for f in folder.glob("*.py") if not f.stem.startswith("_")}


def modules_defining(package: str, base: type) -> set[str]:
    """The public modules of ``package`` that define a public, concrete subclass of ``base``."""
    import importlib
    import inspect
    import types

    found = set()
    for module_name in public_modules(package):
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                # Python 3.10 counts aliases such as Callable[[X], Y] as classes; issubclass refuses them.
                and not isinstance(value, types.GenericAlias)
                and issubclass(value, base)
                and value.__module__ == module_name
                and not name.startswith("_")
                and not inspect.isabstract(value)
            ):
                found.add(module_name)
    return found


def test_every_module_holding_a_hook_operator_sensor_or_trigger_is_listed() -> None:
    from lakefs_provider.version_compat import BaseHook, BaseOperator, BaseSensorOperator, BaseTrigger

    info = get_provider_info()
    for section, base in (
        ("hooks", BaseHook),
        ("operators", BaseOperator),
        ("sensors", BaseSensorOperator),
        ("triggers", BaseTrigger),
    ):
        listed = {module for entry in info[section] for module in entry["python-modules"]}
        holding = modules_defining(section, base)
        assert holding, f"no {section} found under lakefs_provider/{section}"
        assert holding - listed == set(), f"{section} missing from get_provider_info()"
        assert listed <= public_modules(section), f"{section} listed in get_provider_info() but not on disk"


def test_every_link_class_is_listed() -> None:
    from lakefs_provider.version_compat import BaseOperatorLink

    links = {
        f"{module}.{name}"
        for module in modules_defining("links", BaseOperatorLink)
        for name, value in vars(__import__(module, fromlist=["_"])).items()
        if isinstance(value, type) and issubclass(value, BaseOperatorLink) and value.__module__ == module
    }
    assert links
    assert set(get_provider_info()["extra-links"]) == links
