"""The Airflow facts a lakeFS commit carries, so a commit leads back to the run that made it.

Keys keep the ``::lakefs::Airflow::`` prefix the incumbent provider used, so
queries written against its commits keep working; lakeFS renders the
``url[url:ui]`` key as an "Open Airflow UI" button on the commit.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from airflow.sdk import conf

PREFIX = "::lakefs::Airflow::"
UI_URL_KEY = PREFIX + "url[url:ui]"
DAG_ID_KEY = PREFIX + "dag_id"
RUN_ID_KEY = PREFIX + "dag_run_id"
TASK_ID_KEY = PREFIX + "task_id"
_DEFAULT_BASE_URL = "http://localhost:8080"


def airflow_base_url() -> str:
    """The Airflow UI's base URL from ``[api] base_url`` (Airflow 3), else localhost."""
    return (conf.get("api", "base_url", fallback=None) or _DEFAULT_BASE_URL).rstrip("/")


def dag_run_url(dag_id: str, run_id: str) -> str:
    return f"{airflow_base_url()}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def airflow_run_metadata(context: Any) -> dict[str, str]:
    """dag_id, run id, task id, try number, logical date (when there is one) and the run's UI URL."""
    ti = context["ti"]
    metadata = {
        DAG_ID_KEY: ti.dag_id,
        RUN_ID_KEY: ti.run_id,
        TASK_ID_KEY: ti.task_id,
        PREFIX + "try_number": str(ti.try_number),
        UI_URL_KEY: dag_run_url(ti.dag_id, ti.run_id),
    }
    if getattr(ti, "map_index", -1) is not None and getattr(ti, "map_index", -1) >= 0:
        metadata[PREFIX + "map_index"] = str(ti.map_index)
    logical_date = context.get("logical_date")
    if logical_date is not None:
        metadata[PREFIX + "logical_date[iso8601]"] = logical_date.isoformat()
    return metadata
