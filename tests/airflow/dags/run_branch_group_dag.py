"""lakefs_run_branch with a writer, a user's own check after the commit, and switches to fail either,
to write other content, or to make the check (wrongly) write to the branch after the commit."""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from lakefs_provider.hooks.lakefs_hook import LakeFSHook
from lakefs_provider.run_branch_group import lakefs_run_branch
from lakefs_wap import NoDeletions, objects, operations


@dag(
    dag_id="lakefs_group",
    schedule=None,
    params={
        "repo": Param("", type="string"),
        "fail_writer": Param(False, type="boolean"),
        "fail_check": Param(False, type="boolean"),
        "content": Param("a\n1\n", type="string"),
        "check_writes": Param(False, type="boolean"),
    },
)
def lakefs_group() -> None:
    with lakefs_run_branch(repo="{{ params.repo }}", gates=[NoDeletions()], prefix="grp") as run:

        @task
        def write(branch: str) -> None:
            params = get_current_context()["params"]
            if params["fail_writer"]:
                raise RuntimeError("the source system was down")
            data = params["content"].encode()
            objects.upload(LakeFSHook().get_conn(), params["repo"], branch, "data/part.csv", data)

        @task
        def row_check() -> None:
            params = get_current_context()["params"]
            if params["fail_check"]:
                raise ValueError("warehouse check: 3 duplicate order ids")

        @task
        def late_write(branch: str) -> None:
            # A check placed after the gate that (wrongly) writes: the gates never judge this.
            params = get_current_context()["params"]
            if params["check_writes"]:
                connection = LakeFSHook().get_conn()
                objects.upload(connection, params["repo"], branch, "data/sneaked.csv", b"never gated\n")
                operations.commit(connection, params["repo"], branch, "a check that writes")

        write(run.branch)
        run.commit >> row_check()
        run.gate >> late_write(run.branch)


lakefs_group()
