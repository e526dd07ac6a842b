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
    assert set(lakefs_type["conn-fields"]) == {"verify_ssl", "ca_bundle", "proxy", "timeout", "max_retries"}


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
