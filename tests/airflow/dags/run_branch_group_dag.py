"""lakefs_run_branch with a writer, a user's own check after the commit, and switches to fail either."""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from lakefs_provider.hooks.lakefs_hook import LakeFSHook
from lakefs_provider.run_branch_group import lakefs_run_branch
from lakefs_wap import ChangedSomething, objects


@dag(
    dag_id="lakefs_group",
    schedule=None,
    params={
        "repo": Param("", type="string"),
        "fail_writer": Param(False, type="boolean"),
        "fail_check": Param(False, type="boolean"),
    },
)
def lakefs_group() -> None:
    with lakefs_run_branch(repo="{{ params.repo }}", gates=[ChangedSomething()], prefix="grp") as run:

        @task
        def write(branch: str) -> None:
            params = get_current_context()["params"]
            if params["fail_writer"]:
                raise RuntimeError("the source system was down")
            objects.upload(LakeFSHook().get_conn(), params["repo"], branch, "data/part.csv", b"a\n1\n")

        @task
        def row_check() -> None:
            if get_current_context()["params"]["fail_check"]:
                raise ValueError("warehouse check: 3 duplicate order ids")

        write(run.branch)
        run.commit >> row_check()


lakefs_group()
