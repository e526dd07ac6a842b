"""The Airflow facts a lakeFS commit carries, so a commit leads back to the run that made it.

Keys keep the ``::lakefs::Airflow::`` prefix the incumbent provider used, so
queries written against its commits keep working; lakeFS renders the
``url[url:ui]`` key as an "Open Airflow UI" button on the commit. Of the
incumbent's keys, ``last_scheduling_decision`` and ``external_trigger`` are
not written: Airflow 3 no longer gives a task either fact.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from lakefs_provider.version_compat import conf

PREFIX = "::lakefs::Airflow::"
UI_URL_KEY = PREFIX + "url[url:ui]"
DAG_ID_KEY = PREFIX + "dag_id"
RUN_ID_KEY = PREFIX + "dag_run_id"
TASK_ID_KEY = PREFIX + "task_id"
# airflow-provider-lakefs's commit and merge operators wrote the task id under
# this plain key as well; commits are still found by it.
LEGACY_TASK_ID_KEY = "airflow_task_id"
_DEFAULT_BASE_URL = "http://localhost:8080"


def airflow_base_url() -> str:
    """The Airflow UI's base URL from ``[api] base_url`` (Airflow 3), else localhost."""
    return (conf.get("api", "base_url", fallback=None) or _DEFAULT_BASE_URL).rstrip("/")


def dag_run_url(dag_id: str, run_id: str) -> str:
    return f"{airflow_base_url()}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def dag_run_api_url(dag_id: str, run_id: str) -> str:
    return f"{airflow_base_url()}/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}"


def airflow_run_metadata(context: Any) -> dict[str, str]:
    """dag_id, run id, run type, task id, try number, logical date and data interval
    (when there are), the run's note (when set), and the run's UI and API URLs."""
    ti = context["ti"]
    metadata = {
        DAG_ID_KEY: ti.dag_id,
        RUN_ID_KEY: ti.run_id,
        TASK_ID_KEY: ti.task_id,
        LEGACY_TASK_ID_KEY: ti.task_id,
        PREFIX + "try_number": str(ti.try_number),
        UI_URL_KEY: dag_run_url(ti.dag_id, ti.run_id),
        PREFIX + "url[url:id]": dag_run_api_url(ti.dag_id, ti.run_id),
    }
    if getattr(ti, "map_index", -1) is not None and getattr(ti, "map_index", -1) >= 0:
        metadata[PREFIX + "map_index"] = str(ti.map_index)
    for name in ("logical_date", "data_interval_start", "data_interval_end"):
        moment = context.get(name)
        if moment is not None:
            metadata[f"{PREFIX}{name}[iso8601]"] = moment.isoformat()
    dag_run = context.get("dag_run")
    run_type = getattr(dag_run, "run_type", None)
    if run_type is not None:
        metadata[PREFIX + "run_type"] = str(getattr(run_type, "value", run_type))
    note = getattr(dag_run, "note", None)  # Airflow 3.0's task context has no note
    if note:
        metadata[PREFIX + "note"] = str(note)
    return metadata
