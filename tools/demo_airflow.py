"""The Airflow half of ``make demo``: the real example DAGs, run once each with ``dag.test()``.

Run by ``tools/demo.py`` in a child process whose environment names its own
``AIRFLOW_HOME`` (a migrated SQLite database), the DAGs folder
(``example_dags/``) and the ``lakefs_default`` connection. In order:

1. ``lakefs_orders_ingestion`` with good data for one day: gated and published;
2. the same DAG with ``bad_data`` for the next day: two gates fail, ``main`` stays;
3. ``lakefs_rollback`` of the first run, found by its ingestion run id.

The runs stay in the Airflow database, so an Airflow UI started on the same
home shows them. Each run's id and final state are written as JSON to
``--result``; everything Airflow prints goes to ``--log``.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from tools.demo_child import quiet_stdout, write_result

EXAMPLE_DAGS = Path(__file__).resolve().parents[1] / "example_dags"
INGESTION = "lakefs_orders_ingestion"
ROLLBACK = "lakefs_rollback"
GOOD_DAY = datetime(2026, 11, 21, tzinfo=timezone.utc)
BAD_DAY = datetime(2026, 11, 22, tzinfo=timezone.utc)


def load_dags() -> dict[str, Any]:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow < 3.1 keeps it in airflow.models
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

    bag = DagBag(dag_folder=str(EXAMPLE_DAGS))
    # Only the DAGs the demo runs must import; another example's error is Airflow's to show.
    missing = [dag_id for dag_id in (INGESTION, ROLLBACK) if dag_id not in bag.dags]
    if missing:
        raise RuntimeError(f"example DAGs {missing} are not in {EXAMPLE_DAGS}; import errors: {bag.import_errors}")
    return dict(bag.dags)


def run_once(say: TextIO, dag: Any, label: str, **test_kwargs: Any) -> dict[str, Any]:
    print(f"[airflow] running {dag.dag_id} ({label}) ...", file=say)
    started = time.monotonic()
    dag_run = dag.test(**test_kwargs)
    tasks = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    state = str(dag_run.state)
    print(f"[airflow] {dag.dag_id} run {dag_run.run_id}: {state} in {time.monotonic() - started:.0f}s", file=say)
    return {"dag_id": dag.dag_id, "run_id": dag_run.run_id, "label": label, "state": state, "tasks": tasks}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", required=True)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--log", type=Path, required=True)
    args = parser.parse_args(argv)
    say = quiet_stdout(args.log)
    print("[airflow] starting Airflow and parsing example_dags/ ...", file=say)
    dags = load_dags()
    runs = []
    good_conf = {"repo": args.repo, "rows": args.rows, "bad_data": False}
    good = run_once(say, dags[INGESTION], "good data", run_conf=good_conf, logical_date=GOOD_DAY, run_after=GOOD_DAY)
    runs.append(good)
    bad_conf = {**good_conf, "bad_data": True}
    runs.append(run_once(say, dags[INGESTION], "bad_data", run_conf=bad_conf, logical_date=BAD_DAY, run_after=BAD_DAY))
    rollback_conf = {"repo": args.repo, "ingestion_run_id": good["run_id"]}
    runs.append(run_once(say, dags[ROLLBACK], f"revert {good['run_id']}", run_conf=rollback_conf))
    write_result(args.result, runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
