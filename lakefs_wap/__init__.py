"""lakefs-wap core: write-audit-publish on lakeFS, free of any orchestrator.

Airflow support lives in ``lakefs_provider`` and Dagster support in
``dagster_lakefs``; both are thin layers over this package, which never imports
either orchestrator.
"""

__version__ = "0.1.0"
