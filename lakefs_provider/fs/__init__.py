"""Airflow object storage (``ObjectStoragePath``) for the ``lakefs://`` scheme."""
