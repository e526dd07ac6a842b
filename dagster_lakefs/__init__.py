"""Dagster integration for lakeFS, built on the lakefs-wap core."""

from lakefs_wap import __version__

__all__ = ["__version__"]
