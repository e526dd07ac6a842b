"""LakeFSResourceComponent loaded from a defs.yaml by Dagster's own component loading, listed by
the registry entry point, and used by a real run against lakeFS."""

from typing import Any

import pytest
from dagster import DagsterInstance, materialize
from dagster._serdes import serialize_value
from dagster.components.core.package_entry import discover_entry_point_package_objects
from dagster.components.testing import create_defs_folder_sandbox

from dagster_lakefs import LakeFSIOManager, LakeFSResource, LakeFSResourceComponent, lakefs_publish
from lakefs_wap import BadInputError, NoDeletions
from tests.dagster import wap_defs

TYPE = "dagster_lakefs.LakeFSResourceComponent"


def test_the_registry_entry_point_lists_the_component() -> None:
    found = {(key.namespace, key.name): obj for key, obj in discover_entry_point_package_objects().items()}
    assert found[("dagster_lakefs", "LakeFSResourceComponent")] is LakeFSResourceComponent


@pytest.fixture
def lakefs_variables(monkeypatch: pytest.MonkeyPatch, lakefs_server: Any) -> Any:
    monkeypatch.setenv("COMPONENT_LAKEFS_ENDPOINT", lakefs_server.endpoint)
    monkeypatch.setenv("COMPONENT_LAKEFS_KEY", lakefs_server.access_key_id)
    monkeypatch.setenv("COMPONENT_LAKEFS_SECRET", lakefs_server.secret_access_key)
    return lakefs_server


def attributes(repository: str, **more: Any) -> dict[str, Any]:
    return {
        "endpoint": "{{ env.COMPONENT_LAKEFS_ENDPOINT }}",
        "repository": repository,
        "access_key_id_env": "COMPONENT_LAKEFS_KEY",
        "secret_access_key_env": "COMPONENT_LAKEFS_SECRET",
        **more,
    }


def test_a_defs_yaml_gives_the_resource_and_io_manager_a_run_publishes_with(
    lakefs_variables: Any, repo: Any, dagster_instance: DagsterInstance
) -> None:
    yaml = {
        "type": TYPE,
        "attributes": attributes(repo.id, io_manager_key="io_manager", max_attempts=3, connect_timeout=5),
    }
    with create_defs_folder_sandbox() as sandbox:
        path = sandbox.scaffold_component(LakeFSResourceComponent, defs_yaml_contents=yaml)
        with sandbox.load_component_and_build_defs(defs_path=path) as (component, defs):
            assert isinstance(component, LakeFSResourceComponent)
            resources = dict(defs.resources or {})

    assert sorted(resources) == ["io_manager", "lakefs"]
    assert isinstance(resources["lakefs"], LakeFSResource)
    assert isinstance(resources["io_manager"], LakeFSIOManager)
    resolved = resources["lakefs"].process_config_and_initialize().settings()
    assert resolved.endpoint == lakefs_variables.endpoint
    assert (resolved.retry.max_attempts, resolved.connect_timeout) == (3, 5.0)

    publish = lakefs_publish([wap_defs.orders], gates=[NoDeletions()])
    result = materialize([wap_defs.orders, publish], resources=resources, instance=dagster_instance)

    assert result.success
    assert [o.path for o in repo.branch("main").objects()] == ["dagster/orders.parquet"]
    # The secret reaches the run as the variable's name only, never its value.
    run = dagster_instance.get_run_by_id(result.run_id)
    assert run is not None
    snapshot = serialize_value(dagster_instance.get_job_snapshot(str(run.job_snapshot_id)))
    assert lakefs_variables.secret_access_key not in snapshot
    assert "COMPONENT_LAKEFS_SECRET" in snapshot


def test_without_io_manager_key_only_the_resource_is_added(lakefs_variables: Any) -> None:
    yaml = {"type": TYPE, "attributes": attributes("some-repo", resource_key="lake")}
    with create_defs_folder_sandbox() as sandbox:
        path = sandbox.scaffold_component(LakeFSResourceComponent, defs_yaml_contents=yaml)
        with sandbox.load_component_and_build_defs(defs_path=path) as (_, defs):
            assert sorted(defs.resources or {}) == ["lake"]


def test_a_credential_given_where_its_variable_name_belongs_is_refused_unshown(lakefs_variables: Any) -> None:
    pasted = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    yaml = {"type": TYPE, "attributes": attributes("some-repo", secret_access_key_env=pasted)}
    with create_defs_folder_sandbox() as sandbox:
        path = sandbox.scaffold_component(LakeFSResourceComponent, defs_yaml_contents=yaml)
        # Dagster wraps the error; the cause is checked below.
        with pytest.raises(Exception) as raised, sandbox.load_component_and_build_defs(defs_path=path):  # noqa: PT011
            pass
    causes = []
    error: BaseException | None = raised.value
    while error is not None:
        causes.append(error)
        error = error.__cause__ or error.__context__
    assert any(isinstance(cause, BadInputError) for cause in causes), causes
    text = " ".join(str(cause) for cause in causes)
    assert "'secret_access_key_env' must be the name of an environment variable" in text
    assert pasted not in text
