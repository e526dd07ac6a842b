"""Apache Airflow 3 provider for lakeFS, built on the lakefs-wap core."""

from lakefs_provider.get_provider_info import get_provider_info
from lakefs_wap import __version__

__all__ = ["__version__", "get_provider_info"]
