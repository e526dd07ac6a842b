"""Dagster integration for lakeFS, built on the lakefs-wap core.

- ``LakeFSResource``: connection, repository and run-branch settings;
- ``LakeFSIOManager``: asset values on the run's own branch;
- ``lakefs_publish``: the gated publish step, one asset depending on the published ones;
- ``lakefs_failed_run_sensor``: keeps (and marks) or deletes the branches of failed runs;
- ``LakeFSResourceComponent``: the resource (and IO manager) declared in a components project's YAML.
"""

from dagster_lakefs.components import LakeFSResourceComponent
from dagster_lakefs.io_manager import LakeFSIOManager
from dagster_lakefs.publish import lakefs_failed_run_sensor, lakefs_publish
from dagster_lakefs.resource import LakeFSResource
from lakefs_wap import __version__

__all__ = [
    "LakeFSIOManager",
    "LakeFSResource",
    "LakeFSResourceComponent",
    "__version__",
    "lakefs_failed_run_sensor",
    "lakefs_publish",
]
