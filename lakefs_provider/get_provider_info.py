"""Provider metadata that Airflow discovers through the ``apache_airflow_provider`` entry point.

The ``lakefs`` connection form is declared here the Airflow 3.2+ way
(``conn-fields`` and ``ui-field-behaviour``), so the UI renders it without
importing the hook.
"""

from __future__ import annotations

from typing import Any

from lakefs_wap import __version__

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
TRIGGER_MODULES = ["lakefs_provider.triggers.commit_trigger", "lakefs_provider.triggers.file_trigger"]
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
        "connection-types": [
            {
                "connection-type": "lakefs",
                "hook-class-name": "lakefs_provider.hooks.lakefs_hook.LakeFSHook",
                "hook-name": "lakeFS",
                "ui-field-behaviour": _FORM_BEHAVIOUR,
                "conn-fields": {
                    "verify_ssl": {
                        "label": "Verify TLS certificates",
                        "description": "Turn off only for a self-signed certificate that no CA bundle can vouch for.",
                        "schema": {"type": "boolean", "default": True},
                    },
                    "ca_bundle": {
                        "label": "CA bundle path",
                        "description": "Path, on the workers, to a PEM file of CAs to trust for the lakeFS endpoint.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "proxy": {
                        "label": "Proxy URL",
                        "description": "HTTP(S) proxy to reach lakeFS through, e.g. http://proxy:3128.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "timeout": {
                        "label": "Read timeout (seconds)",
                        "description": "How long to wait for lakeFS to answer one request.",
                        "schema": {"type": ["number", "null"], "minimum": 1},
                    },
                    "max_retries": {
                        "label": "Attempts per request",
                        "description": "Tries (the first included) for 429, 500, 502, 503, 504 and transport errors.",
                        "schema": {"type": ["integer", "null"], "minimum": 1},
                    },
                },
            }
        ],
    }
