"""lakeFS data as Airflow assets: the ``lakefs://`` URI scheme and the asset events of publishes."""
