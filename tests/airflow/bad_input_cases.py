"""Bad-input cases for operators, sensors and the run-branch group, run by ``dag.test()``.

``dags/bad_input_table_dag.py`` builds one DAG per case (``bad_input__<id>``);
``test_bad_input_table.py`` runs it and checks the exception the failing task
raised, which ``recording_failures`` (an Airflow listener) keeps here:
``dag.test()`` runs tasks in the test's own process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pluggy

from lakefs_provider.operators.commit_operator import LakeFSCommitOperator
from lakefs_provider.operators.create_branch_operator import LakeFSCreateBranchOperator
from lakefs_provider.operators.create_tag_operator import LakeFSCreateTagOperator
from lakefs_provider.operators.delete_branch_operator import LakeFSDeleteBranchOperator
from lakefs_provider.operators.download_operator import LakeFSDownloadOperator
from lakefs_provider.operators.get_commit_operator import LakeFSGetCommitOperator
from lakefs_provider.operators.get_object_operator import LakeFSGetObjectOperator
from lakefs_provider.operators.merge_operator import LakeFSMergeOperator
from lakefs_provider.operators.revert_operator import LakeFSRevertOperator
from lakefs_provider.operators.upload_operator import LakeFSUploadOperator
from lakefs_provider.run_branch_group import lakefs_run_branch
from lakefs_provider.sensors.commit_sensor import LakeFSCommitSensor
from lakefs_provider.sensors.file_sensor import LakeFSFileSensor
from lakefs_provider.version_compat import AIRFLOW_V_3_1_PLUS
from lakefs_wap import BadInputError, InvalidNameError, ServerUnavailableError
from lakefs_wap.errors import EndpointNotLakeFSError
from lakefs_wap.limits import COMMIT_METADATA_MAX_BYTES
from tests.bad_input import LEAD_PENDING

REPO = "{{ params.repo }}"
TOO_BIG = "x" * (COMMIT_METADATA_MAX_BYTES + 1)
SENSOR: dict[str, Any] = {"poke_interval": 1, "timeout": 30, "mode": "poke"}

# Connection ids the test defines (AIRFLOW_CONN_...): lakefs_default goes through
# the recording proxy to the real lakeFS; the others are broken on purpose.
DOWN = "lakefs_down"
NOT_LAKEFS = "lakefs_not_lakefs"
BAD_EXTRA = "lakefs_bad_extra"

# Airflow 3.0 drops a connection whose Extra is not a JSON object before any hook
# sees it (it cannot build the URI its secrets cache keeps), so there the hook can
# only say that the connection is not defined, naming the variable to set.
EXTRA_DROPPED_BY_AIRFLOW = not AIRFLOW_V_3_1_PLUS


def broken_extra_words(conn_id: str, words: list[str]) -> list[str]:
    """What the error for connection ``conn_id`` with a broken Extra says on the running Airflow."""
    if EXTRA_DROPPED_BY_AIRFLOW:
        return [f"Airflow connection '{conn_id}' is not defined", f"AIRFLOW_CONN_{conn_id.upper()}"]
    return words


FAILURES: dict[str, list[tuple[str, BaseException]]] = {}


CONSTRUCTION = "<dag construction>"


class FailureRecorder:
    """Keeps each failed task's exception in ``FAILURES``.

    A listener, not an ``on_failure_callback``: Airflow 3.0's ``dag.test()`` leaves
    ``exception`` out of the callbacks' context, while every release hands listeners the error.
    """

    @pluggy.HookimplMarker("airflow")
    def on_task_instance_failed(self, previous_state: Any, task_instance: Any, error: Any) -> None:
        FAILURES.setdefault(task_instance.dag_id, []).append((task_instance.task_id, error))


@contextmanager
def recording_failures() -> Iterator[None]:
    try:
        from airflow.sdk.listener import get_listener_manager
    except ImportError:  # Airflow < 3.2: the task runner calls the core's listeners
        from airflow.listeners.listener import get_listener_manager  # type: ignore[assignment]
    manager = get_listener_manager()
    recorder = FailureRecorder()
    manager.add_listener(recorder)
    try:
        yield
    finally:
        manager.pm.unregister(recorder)


def record_construction_failure(case: DagCase, error: BaseException) -> None:
    FAILURES[case.dag_id] = [(CONSTRUCTION, error)]


@dataclass(frozen=True)
class DagCase:
    """Tasks to build inside a DAG, the task that must fail, its error type and message words.

    Failing while the DAG is built is accepted too: it is earlier still.
    """

    id: str
    build: Callable[[], Any]
    error: type[BaseException]
    words: Sequence[str]
    task: str = "case"
    note: str = ""

    @property
    def dag_id(self) -> str:
        return f"bad_input__{self.id}"


def _group(**options: Any) -> Callable[[], Any]:
    def build() -> None:
        from airflow.sdk import task

        with lakefs_run_branch(repo=REPO, **{"prefix": "bad", **options}):

            @task
            def writes_nothing() -> None:
                return None

            writes_nothing()

    return build


OPERATOR_CASES = [
    DagCase(
        "create-branch-slash",
        lambda: LakeFSCreateBranchOperator(task_id="case", repo=REPO, branch="feature/{{ ds }}"),
        InvalidNameError,
        ["invalid branch name 'feature/", "no '/'"],
    ),
    DagCase(
        "create-branch-source-with-space",
        lambda: LakeFSCreateBranchOperator(task_id="case", repo=REPO, branch="etl", source_branch="main branch"),
        InvalidNameError,
        ["invalid source ref 'main branch'", "without whitespace"],
    ),
    DagCase(
        "upload-neither-content-nor-file",
        lambda: LakeFSUploadOperator(task_id="case", repo=REPO, branch="main", path="raw/a.csv"),
        BadInputError,
        ["give exactly one of content=", "source_file="],
    ),
    DagCase(
        "upload-dot-dot",
        lambda: LakeFSUploadOperator(task_id="case", repo=REPO, branch="main", path="raw/../a.csv", content="x"),
        InvalidNameError,
        ["'raw/../a.csv'", "'..' segment", "Object paths are"],
    ),
    DagCase(
        "upload-double-slash",
        lambda: LakeFSUploadOperator(task_id="case", repo=REPO, branch="main", path="raw//{{ ds }}.csv", content="x"),
        InvalidNameError,
        ["empty segment ('//')"],
    ),
    DagCase(
        "upload-folder-path",
        lambda: LakeFSUploadOperator(task_id="case", repo=REPO, branch="main", path="raw/", content="x"),
        InvalidNameError,
        ["names a folder"],
    ),
    DagCase(
        "upload-tab-in-path",
        lambda: LakeFSUploadOperator(task_id="case", repo=REPO, branch="main", path="raw/a\tb.csv", content="x"),
        InvalidNameError,
        ["control character '\\t'"],
    ),
    DagCase(
        "upload-content-rendered-as-a-dict",
        lambda: LakeFSUploadOperator(task_id="case", repo=REPO, branch="main", path="raw/a.json", content={"a": 1}),  # type: ignore[arg-type]
        BadInputError,
        ["content of type dict", "render_template_as_native_obj", "json.dumps"],
    ),
    DagCase(
        "upload-missing-file",
        lambda: LakeFSUploadOperator(
            task_id="case", repo=REPO, branch="main", path="raw/a.csv", source_file="/no/such/file.csv"
        ),
        BadInputError,
        ["'/no/such/file.csv' is not a readable file"],
    ),
    DagCase(
        "commit-empty-message",
        lambda: LakeFSCommitOperator(task_id="case", repo=REPO, branch="main", msg="", allow_empty=True),
        BadInputError,
        ["needs a non-empty message"],
    ),
    DagCase(
        "commit-nested-metadata",
        lambda: LakeFSCommitOperator(
            task_id="case", repo=REPO, branch="main", msg="m", metadata={"rows": [1, 2]}, allow_empty=True
        ),
        BadInputError,
        ["'rows'", "json.dumps"],
    ),
    DagCase(
        "commit-metadata-over-the-limit",
        lambda: LakeFSCommitOperator(
            task_id="case", repo=REPO, branch="main", msg="m", metadata={"blob": TOO_BIG}, allow_empty=True
        ),
        BadInputError,
        ["over the limit", "'blob'"],
        note=LEAD_PENDING,
    ),
    DagCase(
        "merge-unknown-strategy",
        lambda: LakeFSMergeOperator(
            task_id="case", repo=REPO, source_ref="main", destination_branch="main", strategy="theirs"
        ),
        BadInputError,
        ["unknown merge strategy 'theirs'", "source-wins"],
    ),
    DagCase(
        "merge-destination-with-slash",
        lambda: LakeFSMergeOperator(task_id="case", repo=REPO, source_ref="main", destination_branch="release/1"),
        InvalidNameError,
        ["invalid destination branch name 'release/1'"],
    ),
    DagCase(
        "merge-metadata-over-the-limit",
        lambda: LakeFSMergeOperator(
            task_id="case", repo=REPO, source_ref="main", destination_branch="main", metadata={"blob": TOO_BIG}
        ),
        BadInputError,
        ["over the limit", "'blob'"],
        note=LEAD_PENDING,
    ),
    DagCase(
        "delete-default-branch",
        lambda: LakeFSDeleteBranchOperator(task_id="case", repo=REPO, branch="main"),
        BadInputError,
        ["'main'", "default branch of repository", "Delete another branch"],
    ),
    DagCase(
        "revert-negative-parent",
        lambda: LakeFSRevertOperator(task_id="case", repo=REPO, branch="main", ref="main", parent_number=-1),
        BadInputError,
        ["parent_number", "-1"],
    ),
    DagCase(
        "tag-dot-dot",
        lambda: LakeFSCreateTagOperator(task_id="case", repo=REPO, tag="v1..2", ref="main"),
        InvalidNameError,
        ["invalid tag name 'v1..2'"],
    ),
    DagCase(
        "get-object-dot-dot",
        lambda: LakeFSGetObjectOperator(task_id="case", repo=REPO, ref="main", path="a/../b.txt"),
        InvalidNameError,
        ["'..' segment"],
    ),
    DagCase(
        "download-folder-path",
        lambda: LakeFSDownloadOperator(task_id="case", repo=REPO, ref="main", path="raw/", destination="/tmp/x"),  # noqa: S108 - never written
        InvalidNameError,
        ["names a folder"],
    ),
    DagCase(
        "connection-extra-not-json",
        lambda: LakeFSGetCommitOperator(task_id="case", repo=REPO, ref="main", lakefs_conn_id=BAD_EXTRA),
        BadInputError,
        broken_extra_words(
            BAD_EXTRA, [f"lakeFS connection '{BAD_EXTRA}'", "Extra is not valid JSON", "Give a JSON object"]
        ),
    ),
    DagCase(
        "connection-unreachable",
        lambda: LakeFSCreateBranchOperator(task_id="case", repo=REPO, branch="etl", lakefs_conn_id=DOWN),
        ServerUnavailableError,
        [f"Airflow connection '{DOWN}'", "endpoint http://127.0.0.1:", "did not answer"],
    ),
    DagCase(
        "connection-not-lakefs",
        lambda: LakeFSCreateBranchOperator(task_id="case", repo=REPO, branch="etl", lakefs_conn_id=NOT_LAKEFS),
        EndpointNotLakeFSError,
        ["not a lakeFS server", f"Airflow connection '{NOT_LAKEFS}'", "Check the endpoint"],
    ),
    DagCase(
        "connection-missing",
        lambda: LakeFSGetCommitOperator(task_id="case", repo=REPO, ref="main", lakefs_conn_id="nowhere"),
        BadInputError,
        ["Airflow connection 'nowhere' is not defined", "AIRFLOW_CONN_NOWHERE"],
    ),
]

SENSOR_CASES = [
    DagCase(
        "file-sensor-dot-dot",
        lambda: LakeFSFileSensor(task_id="case", repo=REPO, ref="main", path="a/../b", **SENSOR),
        InvalidNameError,
        ["'..' segment"],
    ),
    DagCase(
        "file-sensor-bad-prefix",
        lambda: LakeFSFileSensor(task_id="case", repo=REPO, ref="main", prefix="raw//", **SENSOR),
        InvalidNameError,
        ["invalid path prefix 'raw//'"],
    ),
    DagCase(
        "file-sensor-deferrable-folder-path",
        lambda: LakeFSFileSensor(
            task_id="case", repo=REPO, ref="main", path="raw/", poke_interval=1, timeout=30, deferrable=True
        ),
        InvalidNameError,
        ["names a folder"],
    ),
    DagCase(
        "commit-sensor-bad-branch",
        lambda: LakeFSCommitSensor(task_id="case", repo=REPO, branch="feat/x", **SENSOR),
        InvalidNameError,
        ["invalid branch name 'feat/x'"],
    ),
    DagCase(
        "commit-sensor-bad-baseline",
        lambda: LakeFSCommitSensor(task_id="case", repo=REPO, branch="main", prev_commit_id="not a ref", **SENSOR),
        InvalidNameError,
        ["baseline commit", "without whitespace"],
    ),
    DagCase(
        "commit-sensor-prefix-not-a-string",
        lambda: LakeFSCommitSensor(
            task_id="case",
            repo=REPO,
            branch="main",
            prev_commit_id="a" * 64,
            prefixes=["raw/", 3],  # type: ignore[list-item]
            **SENSOR,
        ),
        BadInputError,
        ["prefixes: item 1 is a int"],
    ),
    DagCase(
        "commit-sensor-unreachable",
        lambda: LakeFSCommitSensor(task_id="case", repo=REPO, branch="main", lakefs_conn_id=DOWN, **SENSOR),
        ServerUnavailableError,
        [f"Airflow connection '{DOWN}'", "did not answer"],
    ),
]

GROUP_CASES = [
    DagCase(
        "group-target-branch-with-slash",
        _group(target_branch="release/1"),
        InvalidNameError,
        ["invalid target branch name 'release/1'"],
        task="lakefs_run.open",
    ),
    DagCase(
        "group-source-branch-with-slash",
        _group(source_branch="main/x"),
        InvalidNameError,
        ["invalid source branch name 'main/x'"],
        task="lakefs_run.open",
    ),
    DagCase(
        "group-prefix-with-slash",
        _group(prefix="bad/prefix"),
        InvalidNameError,
        ["run-branch prefix"],
        task="lakefs_run.open",
    ),
    DagCase(
        "group-unknown-strategy",
        _group(strategy="theirs"),
        BadInputError,
        ["unknown merge strategy 'theirs'"],
        task="lakefs_run.open",
    ),
    DagCase(
        "group-nested-commit-metadata",
        _group(commit_metadata={"rows": [1, 2]}),
        BadInputError,
        ["'rows'", "json.dumps"],
        task="lakefs_run.open",
    ),
    DagCase(
        "group-commit-metadata-over-the-limit",
        _group(commit_metadata={"blob": TOO_BIG}),
        BadInputError,
        ["over the limit", "'blob'"],
        task="lakefs_run.open",
        note=LEAD_PENDING,
    ),
]

DAG_CASES = OPERATOR_CASES + SENSOR_CASES + GROUP_CASES
