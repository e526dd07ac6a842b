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
