"""Provider metadata that Airflow discovers through the ``apache_airflow_provider`` entry point.

The ``lakefs`` connection form is declared here the Airflow 3.2+ way
(``conn-fields`` and ``ui-field-behaviour``), so the UI renders it without
importing the hook.
"""

from __future__ import annotations

from typing import Any

from lakefs_wap import __version__
from lakefs_wap.settings import OPTIONAL_SETTINGS

INTEGRATION = "lakeFS"

OPERATOR_MODULES = [
    "lakefs_provider.operators.create_branch_operator",
    "lakefs_provider.operators.delete_branch_operator",
    "lakefs_provider.operators.commit_operator",
    "lakefs_provider.operators.merge_operator",
    "lakefs_provider.operators.revert_operator",
    "lakefs_provider.operators.create_tag_operator",
    "lakefs_provider.operators.upload_operator",
    "lakefs_provider.operators.download_operator",
    "lakefs_provider.operators.get_object_operator",
    "lakefs_provider.operators.get_commit_operator",
    "lakefs_provider.operators.create_symlink_operator",
    "lakefs_provider.operators.with_metadata_operator",
    "lakefs_provider.operators.quality_gate_operator",
    "lakefs_provider.operators.run_branch_operators",
]
SENSOR_MODULES = ["lakefs_provider.sensors.commit_sensor", "lakefs_provider.sensors.file_sensor"]
TRIGGER_MODULES = [
    "lakefs_provider.triggers.commit_trigger",
    "lakefs_provider.triggers.commit_event_trigger",
    "lakefs_provider.triggers.file_trigger",
]
HOOK_MODULES = ["lakefs_provider.hooks.lakefs_hook"]
LINK_CLASSES = ["lakefs_provider.links.lakefs_link.LakeFSLink"]

_FORM_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port"],
    "relabeling": {
        "host": "lakeFS endpoint",
        "login": "Access key ID",
        "password": "Secret access key",
    },
    "placeholders": {
        "host": "https://lakefs.example.com",
        "login": "AKIAIOSFODNN7EXAMPLE",
    },
}


def connection_form_behaviour() -> dict[str, Any]:
    """The form's field behaviour in the shape hooks returned it before Airflow 3.2 read provider info."""
    return {key.replace("-", "_"): value for key, value in _FORM_BEHAVIOUR.items()}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "lakefs-wap",
        "name": "lakeFS",
        "description": "Write-audit-publish on lakeFS: a branch per DAG run, quality gates, one atomic merge.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://docs.lakefs.io",
                "tags": ["software"],
            }
        ],
        "hooks": [{"integration-name": INTEGRATION, "python-modules": HOOK_MODULES}],
        "operators": [{"integration-name": INTEGRATION, "python-modules": OPERATOR_MODULES}],
        "sensors": [{"integration-name": INTEGRATION, "python-modules": SENSOR_MODULES}],
        "triggers": [{"integration-name": INTEGRATION, "python-modules": TRIGGER_MODULES}],
        "extra-links": LINK_CLASSES,
        "filesystems": ["lakefs_provider.fs.lakefs"],
        "asset-uris": [
            {
                "schemes": ["lakefs"],
                "handler": "lakefs_provider.assets.lakefs.sanitize_uri",
                "factory": "lakefs_provider.assets.lakefs.create_asset",
                "to_openlineage_converter": "lakefs_provider.assets.lakefs.convert_asset_to_openlineage",
            }
        ],
        "connection-types": [
            {
                "connection-type": "lakefs",
                "hook-class-name": "lakefs_provider.hooks.lakefs_hook.LakeFSHook",
                "hook-name": "lakeFS",
                "ui-field-behaviour": _FORM_BEHAVIOUR,
                # One definition of the settings' names and meanings, shared with the Dagster resource.
                "conn-fields": {
                    setting.name: {
                        "label": setting.label,
                        "description": setting.meaning,
                        "schema": setting.json_schema(),
                    }
                    for setting in OPTIONAL_SETTINGS
                },
            }
        ],
    }
