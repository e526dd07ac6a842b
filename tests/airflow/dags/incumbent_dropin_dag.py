"""A DAG written the way airflow-provider-lakefs users wrote theirs, changed only
where Airflow 3 forces it (``days_ago`` and ``schedule_interval`` are gone).

Everything else is the old style: the old class names, ``repo``/``branch``/
``lakefs_conn_id`` in ``default_args``, an ``http`` connection with the keys in
its extra, native rendering with ``.id`` taken from the get-commit XCom,
reschedule-mode sensors, a custom operator on ``WithLakeFSMetadataOperator``,
and hook calls on the generated client and on the old result shapes.
The test sets ``LAKEFS_DROPIN_REPO`` to its repository before parsing.
"""

# Airflow fills repo=, branch=, path= and lakefs_conn_id= from default_args when
# the operators are built, which a type checker cannot see: that is this DAG's point.
# mypy: disable-error-code="call-arg"

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from itertools import zip_longest
from typing import Any

import pendulum
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import dag
from lakefs_sdk.exceptions import NotFoundException

from lakefs_provider.hooks.lakefs_hook import LakeFSHook
from lakefs_provider.links.lakefs_link import LakeFSLink
from lakefs_provider.operators.commit_operator import CommitOperator
from lakefs_provider.operators.create_branch_operator import CreateBranchOperator
from lakefs_provider.operators.create_symlink_operator import LakeFSCreateSymlinkOperator
from lakefs_provider.operators.delete_branch_operator import LakeFSDeleteBranchOperator
from lakefs_provider.operators.get_commit_operator import LakeFSGetCommitOperator
from lakefs_provider.operators.get_object_operator import LakeFSGetObjectOperator
from lakefs_provider.operators.merge_operator import MergeOperator
from lakefs_provider.operators.upload_operator import LakeFSUploadOperator
from lakefs_provider.operators.with_metadata_operator import WithLakeFSMetadataOperator
from lakefs_provider.sensors.commit_sensor import CommitSensor
from lakefs_provider.sensors.file_sensor import FileSensor

CONN_ID = "conn_lakefs"
REPO = os.environ.get("LAKEFS_DROPIN_REPO", "example-repo")
BRANCH = "example-branch"
SUCCESS_PATH = "path/to/_SUCCESS"
NOTES_PATH = "/landing/notes.txt"  # a leading '/', which the old provider passed through
GREETING = b"Data arrives, gets checked, then gets merged."

default_args = {
    "owner": "lakeFS",
    "repo": REPO,
    "branch": BRANCH,
    "path": SUCCESS_PATH,
    "lakefs_conn_id": CONN_ID,
}
COMMIT_MESSAGE = "commit from the drop-in DAG"
AUDIT_MESSAGE = "audit marker from a custom operator"
MERGE_MESSAGE = "merge the drop-in DAG's branch"


class AuditCommitOperator(WithLakeFSMetadataOperator):
    """A custom operator in the incumbent's style: its own fields, ``enrich_metadata``,
    the hook's ``upload`` and ``commit``, and the old ``LakeFSLink.persist`` call."""

    # Lists, as operators written for the old provider declare them.
    template_fields = ["repo", "branch", "msg", "metadata"]  # noqa: RUF012
    operator_extra_links = [LakeFSLink()]  # noqa: RUF012

    def __init__(
        self, lakefs_conn_id: str, repo: str, branch: str, msg: str, metadata: dict[str, str], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.lakefs_conn_id = lakefs_conn_id
        self.repo = repo
        self.branch = branch
        self.msg = msg
        self.metadata = metadata

    def execute(self, context: Any) -> str:
        hook = LakeFSHook(lakefs_conn_id=self.lakefs_conn_id)
        hook.upload(self.repo, self.branch, "audit/marker.txt", b"audited")
        self.enrich_metadata(context)
        ref = hook.commit(self.repo, self.branch, self.msg, self.metadata)
        LakeFSLink.persist(
            context, task_instance=self, lakefs_base_url=hook.get_base_url(), repo=self.repo, commit_digest=ref
        )
        return ref


def check_expected_prefix(actual: str, expected: str) -> None:
    if not actual.startswith(expected):
        raise ValueError(f"got {actual!r}, which does not start with {expected!r}")


def check_logs(repo: str, ref: str, commits: Sequence[str], messages: Sequence[str], amount: int = 100) -> None:
    hook = LakeFSHook(CONN_ID)
    expected = list(zip(commits, messages, strict=True))
    actual = ((commit["id"], commit["message"]) for commit in hook.log_commits(repo, ref, amount))
    for wanted, found in zip_longest(expected, actual):
        if wanted is None:
            return
        if wanted != found:
            raise ValueError(f"log has {found} where {wanted} was expected")


def use_the_hook_the_old_ways(repo: str, branch: str) -> dict[str, Any]:
    """The hook results read in both old styles, and the generated client's APIs."""
    hook = LakeFSHook(CONN_ID)
    client = hook.get_conn()
    stats = hook.stat_object(repo=repo, ref=branch, path=SUCCESS_PATH)
    content = hook.get_object(repo, branch, SUCCESS_PATH)
    try:
        hook.stat_object(repo=repo, ref=branch, path="no/such/object")
        missing_raises = False
    except NotFoundException:
        missing_raises = True
    return {
        "head_by_client": client.branches_api.get_branch(repo, branch).commit_id,
        "head_by_hook": hook.get_branch_commit_id(repo, branch),
        "stat_size_by_key": stats["size_bytes"],
        "stat_size_by_attribute": stats.size_bytes,
        "content_as_bytes": str(content, "utf-8"),
        "content_read": content.read().decode(),
        "listed_by_client": sorted(o.path for o in client.objects_api.list_objects(repo, branch).results),
        "base_url": hook.get_base_url(),
        "missing_raises_not_found": missing_raises,
    }


def check_branch_is_gone(repo: str, branch: str, path: str) -> None:
    hook = LakeFSHook(CONN_ID)
    try:
        hook.stat_object(repo=repo, ref=branch, path=path)
    except NotFoundException:
        return
    raise ValueError(f"lakefs://{repo}/{branch}/{path} still exists")


@dag(
    dag_id="lakefs_incumbent_dropin",
    default_args=default_args,
    render_template_as_native_obj=True,
    max_active_runs=1,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    schedule=None,
    tags=["testing"],
)
def lakefs_incumbent_dropin() -> None:
    create_branch = CreateBranchOperator(task_id="create_branch", source_branch="main")
    get_branch_commit = LakeFSGetCommitOperator(task_id="get_branch_commit", ref=BRANCH)
    upload_bytes = LakeFSUploadOperator(task_id="upload_bytes", content=GREETING)
    upload_stream = LakeFSUploadOperator(
        task_id="upload_stream", path=NOTES_PATH, content=io.BytesIO(b"notes, given as a file object\n")
    )
    sense_file = FileSensor(task_id="sense_file", mode="reschedule", poke_interval=1, timeout=60)
    commit = CommitOperator(task_id="commit", msg=COMMIT_MESSAGE, metadata={"committed_from": "airflow-operator"})
    create_symlink = LakeFSCreateSymlinkOperator(task_id="create_symlink")
    audit = AuditCommitOperator(task_id="audit", msg=AUDIT_MESSAGE, metadata={"audited_by": "custom-operator"})
    sense_commit = CommitSensor(
        task_id="sense_commit",
        prev_commit_id="{{ task_instance.xcom_pull(task_ids='get_branch_commit', key='return_value').id }}",
        mode="reschedule",
        poke_interval=1,
        timeout=60,
    )
    get_object = LakeFSGetObjectOperator(task_id="get_object", ref=BRANCH)
    check_prefix = PythonOperator(
        task_id="check_expected_prefix",
        python_callable=check_expected_prefix,
        op_kwargs={
            "actual": "{{ task_instance.xcom_pull(task_ids='get_object', key='return_value') }}",
            "expected": GREETING.decode()[:20],
        },
    )
    merge = MergeOperator(
        task_id="merge_branches",
        source_ref=BRANCH,
        destination_branch="main",
        msg=MERGE_MESSAGE,
        metadata={"committer": "airflow-operator"},
    )
    expected_commits = ["{{ ti.xcom_pull('merge_branches') }}", "{{ ti.xcom_pull('audit') }}"]
    log_arguments = {
        "repo": REPO,
        "ref": "{{ task_instance.xcom_pull(task_ids='merge_branches', key='return_value') }}",
        "commits": expected_commits,
        "messages": [MERGE_MESSAGE, AUDIT_MESSAGE],
    }
    check_logs_bulk = PythonOperator(task_id="check_logs_bulk", python_callable=check_logs, op_kwargs=log_arguments)
    check_logs_one_by_one = PythonOperator(
        task_id="check_logs_one_by_one", python_callable=check_logs, op_kwargs={**log_arguments, "amount": 1}
    )
    hook_the_old_ways = PythonOperator(
        task_id="hook_the_old_ways",
        python_callable=use_the_hook_the_old_ways,
        op_kwargs={"repo": REPO, "branch": BRANCH},
    )
    delete_branch = LakeFSDeleteBranchOperator(task_id="delete_branch")
    check_branch_gone = PythonOperator(
        task_id="check_branch_gone",
        python_callable=check_branch_is_gone,
        op_kwargs={"repo": REPO, "branch": BRANCH, "path": SUCCESS_PATH},
    )

    create_branch >> get_branch_commit >> [upload_bytes, upload_stream, sense_commit, sense_file]
    [upload_bytes, upload_stream] >> commit >> [create_symlink, audit]
    sense_file >> get_object >> check_prefix
    [sense_commit, audit] >> merge >> [check_logs_bulk, check_logs_one_by_one]
    [check_prefix, create_symlink, check_logs_bulk, check_logs_one_by_one] >> hook_the_old_ways
    hook_the_old_ways >> delete_branch >> check_branch_gone


lakefs_incumbent_dropin()
