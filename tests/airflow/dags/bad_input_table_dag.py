"""One DAG per bad-input case of ``tests/airflow/bad_input_cases.py``, each expected to fail.

A case refused while its DAG is being built (the earliest a bad argument can
be refused) has no DAG here; its error is recorded for the test instead.
"""

from __future__ import annotations

from airflow.sdk import Param, dag

from tests.airflow.bad_input_cases import DAG_CASES, DagCase, record_construction_failure


def case_dag(case: DagCase) -> None:
    @dag(
        dag_id=case.dag_id,
        schedule=None,
        params={"repo": Param("", type="string")},
        default_args={"retries": 0},
    )
    def bad_input() -> None:
        case.build()

    bad_input()


for each in DAG_CASES:
    try:
        case_dag(each)
    except Exception as error:  # recorded for the test, which checks it
        record_construction_failure(each, error)
