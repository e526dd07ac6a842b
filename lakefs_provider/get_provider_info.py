"""Provider metadata that Airflow discovers through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from lakefs_wap import __version__


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "lakefs-wap",
        "name": "lakeFS",
        "description": "Write-audit-publish on lakeFS: a branch per DAG run, quality gates, one atomic merge.",
        "versions": [__version__],
    }
