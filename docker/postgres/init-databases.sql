-- Runs once, when the postgres service starts on an empty volume: the lakeFS
-- database (POSTGRES_DB) exists already; Airflow and Dagster get their own.
CREATE DATABASE airflow;
CREATE DATABASE dagster;
