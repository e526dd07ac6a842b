"""The Dagster harness materializes real assets that reach the real lakeFS,
in process and with the multiprocess executor.

No `from __future__ import annotations` here: Dagster inspects the `context`
annotation at definition time and rejects it when it is a string.
"""

import lakefs
from dagster import (
    AssetExecutionContext,
    ConfigurableResource,
    DagsterInstance,
    Definitions,
    asset,
    define_asset_job,
    materialize,
    multiprocess_executor,
    reconstructable,
)


class HarnessLakeFS(ConfigurableResource):
    endpoint: str
    access_key_id: str
    secret_access_key: str
    repository: str

    def repo(self) -> lakefs.Repository:
        client = lakefs.Client(host=self.endpoint, username=self.access_key_id, password=self.secret_access_key)
        return lakefs.Repository(self.repository, client=client)


@asset
def greeting(context: AssetExecutionContext, lakefs_repo: HarnessLakeFS) -> None:
    branch = lakefs_repo.repo().branch("dagster-harness").create(source_reference="main", exist_ok=True)
    branch.object(f"greetings/{context.run.run_id}.txt").upload(data=b"hello from dagster")
    branch.commit(message="written by Dagster", metadata={"dagster_run_id": context.run.run_id})


def resource_for(lakefs_server, repo: lakefs.Repository) -> HarnessLakeFS:
    return HarnessLakeFS(
        endpoint=lakefs_server.endpoint,
        access_key_id=lakefs_server.access_key_id,
        secret_access_key=lakefs_server.secret_access_key,
        repository=repo.id,
    )


def test_materialize_in_process_reaches_lakefs(dagster_instance: DagsterInstance, lakefs_server, repo) -> None:
    result = materialize(
        [greeting], resources={"lakefs_repo": resource_for(lakefs_server, repo)}, instance=dagster_instance
    )

    assert result.success
    head = repo.branch("dagster-harness").get_commit()
    assert head.metadata == {"dagster_run_id": result.run_id}
    stored = repo.branch("dagster-harness").object(f"greetings/{result.run_id}.txt")
    assert stored.reader(mode="rb").read() == b"hello from dagster"


def harness_job_definitions(endpoint: str, key: str, secret: str, repository: str):
    resource = HarnessLakeFS(endpoint=endpoint, access_key_id=key, secret_access_key=secret, repository=repository)
    job = define_asset_job("harness_job", selection=[greeting], executor_def=multiprocess_executor)
    return Definitions(assets=[greeting], jobs=[job], resources={"lakefs_repo": resource})


def harness_job():
    # The multiprocess executor rebuilds the job in each step's process, so the
    # settings travel through the environment rather than a closure.
    import os

    definitions = harness_job_definitions(
        os.environ["HARNESS_LAKEFS_ENDPOINT"],
        os.environ["HARNESS_LAKEFS_KEY"],
        os.environ["HARNESS_LAKEFS_SECRET"],
        os.environ["HARNESS_LAKEFS_REPO"],
    )
    return definitions.resolve_job_def("harness_job")


def test_multiprocess_executor_reaches_lakefs(dagster_instance, lakefs_server, repo, monkeypatch) -> None:
    from dagster import execute_job

    monkeypatch.setenv("HARNESS_LAKEFS_ENDPOINT", lakefs_server.endpoint)
    monkeypatch.setenv("HARNESS_LAKEFS_KEY", lakefs_server.access_key_id)
    monkeypatch.setenv("HARNESS_LAKEFS_SECRET", lakefs_server.secret_access_key)
    monkeypatch.setenv("HARNESS_LAKEFS_REPO", repo.id)

    with execute_job(reconstructable(harness_job), instance=dagster_instance) as result:
        assert result.success
        run_id = result.run_id

    assert repo.branch("dagster-harness").get_commit().metadata == {"dagster_run_id": run_id}
