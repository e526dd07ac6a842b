"""lakefs_run_branch with a writer, a user's own check after the commit, and switches to fail either,
to write other content, or to make the check (wrongly) write to the branch after the commit."""

from __future__ import annotations

import time

from airflow.sdk import Param, dag, get_current_context, task

from lakefs_provider.hooks.lakefs_hook import LakeFSHook
from lakefs_provider.run_branch_group import lakefs_run_branch
from lakefs_wap import NoDeletions, objects, operations
from lakefs_wap.keys import KEY_KIND


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
        def row_check(branch: str) -> None:
            params = get_current_context()["params"]
            if params["fail_check"]:
                raise ValueError("warehouse check: 3 duplicate order ids")
            if params["check_writes"]:
                connection = LakeFSHook().get_conn()
                # The check runs beside the gate task: write only once the verdict is in,
                # so the write is surely one the gates never judged.
                deadline = time.monotonic() + 60
                while (operations.get_commit(connection, params["repo"], branch).metadata or {}).get(
                    KEY_KIND
                ) != "gates":
                    if time.monotonic() > deadline:
                        raise TimeoutError("the gate task recorded no verdict within 60 s")
                    time.sleep(0.2)
                objects.upload(connection, params["repo"], branch, "data/sneaked.csv", b"never gated\n")
                operations.commit(connection, params["repo"], branch, "a check that writes")

        write(run.branch)
        run.commit >> row_check(run.branch)


lakefs_group()
