"""One set of optional connection settings, with the same names and meanings in the core, the
Airflow connection and the Dagster resource and component; ``max_attempts`` and its old name."""

import json
from typing import Any

import pytest

from dagster_lakefs import LakeFSResource, LakeFSResourceComponent
from lakefs_wap import BadInputError, RetryPolicy
from lakefs_wap.settings import OPTIONAL_SETTINGS, optional_settings

WHERE = "test: field"
REQUIRED: dict[str, Any] = {"endpoint": "http://127.0.0.1:1", "access_key_id": "AKIA", "repository": "some-repo"}


def resource(**fields: Any) -> LakeFSResource:
    return LakeFSResource(**REQUIRED, secret_access_key="not-a-secret", **fields)  # noqa: S106 - a fake


@pytest.mark.parametrize(
    ("options", "attempts"),
    [
        ({"max_attempts": 3}, 3),
        ({"max_retries": 3}, 3),  # the old name still works, meaning the same
        ({"max_attempts": "2", "max_retries": 2.0}, 2),  # both, agreeing
        ({"max_attempts": 1}, 1),
        ({}, RetryPolicy().max_attempts),
        ({"max_attempts": None, "max_retries": ""}, RetryPolicy().max_attempts),
    ],
)
def test_max_attempts_counts_attempts_under_either_name(options: dict[str, Any], attempts: int) -> None:
    retry = optional_settings(options, where=WHERE).get("retry", RetryPolicy())
    assert retry.max_attempts == attempts


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_attempts": 3, "max_retries": 2}, "'max_attempts' = 3 and 'max_retries' = 2 disagree"),
        ({"max_attempts": 0}, "'max_attempts' must be a whole number of attempts, at least 1"),
        ({"max_retries": 2.5}, "'max_retries' must be a whole number of attempts"),
        ({"max_attempts": True}, "'max_attempts' must be a whole number"),
        ({"connect_timeout": 0}, "'connect_timeout' must be a number of seconds greater than 0"),
        ({"timeout": "soon"}, "'timeout' must be a number of seconds"),
        ({"verify_ssl": "maybe"}, "'verify_ssl' must be true or false"),
        ({"max_attempts": "inf"}, "'max_attempts' must be a whole number of attempts"),
        ({"max_attempts": "1e400"}, "'max_attempts' must be a whole number of attempts"),
        ({"ui_url": "localhost:8000"}, "'ui_url' must be the address your browser opens lakeFS at"),
    ],
)
def test_bad_values_are_refused_naming_the_setting(options: dict[str, Any], message: str) -> None:
    with pytest.raises(BadInputError, match=f"^{WHERE} .*{message}"):
        optional_settings(options, where=WHERE)


def test_the_resource_maps_every_setting_as_the_airflow_connection_does() -> None:
    from airflow.models import Connection

    from lakefs_provider.hooks.lakefs_hook import settings_from_connection

    values = {
        "verify_ssl": False,
        "timeout": 30.0,
        "connect_timeout": 3.0,
        "max_attempts": 2,
        "proxy": "http://p:3128",
        "ui_url": "http://localhost:8000",
    }
    from_resource = resource(**values).settings()
    connection = Connection(
        conn_id="lakefs_settings",
        conn_type="lakefs",
        host=REQUIRED["endpoint"],
        login="AKIA",
        password="not-a-secret",  # noqa: S106 - a fake
        extra=json.dumps(values),
    )
    from_airflow = settings_from_connection(connection)
    assert from_resource == from_airflow
    assert (from_resource.read_timeout, from_resource.connect_timeout) == (30.0, 3.0)
    assert from_resource.retry.max_attempts == 2
    assert from_resource.ui_base_url == "http://localhost:8000"

    legacy = Connection(**{**connection.to_dict(), "conn_id": "legacy", "extra": json.dumps({"max_retries": 4})})
    assert settings_from_connection(legacy).retry.max_attempts == 4
    assert resource(max_retries=4).settings().retry.max_attempts == 4


def test_conflicting_names_fail_the_resource_at_setup_naming_both() -> None:
    with pytest.raises(BadInputError, match="'max_attempts' = 3 and 'max_retries' = 1 disagree"):
        resource(max_attempts=3, max_retries=1).settings()


def test_the_names_meanings_and_defaults_are_one_definition_everywhere() -> None:
    from lakefs_provider.get_provider_info import get_provider_info

    (lakefs_type,) = get_provider_info()["connection-types"]
    fields = lakefs_type["conn-fields"]
    assert list(fields) == [setting.name for setting in OPTIONAL_SETTINGS]
    assert "connect_timeout" in fields
    assert "max_attempts" in fields
    for setting in OPTIONAL_SETTINGS:
        assert fields[setting.name]["description"] == setting.meaning
        for model in (LakeFSResource, LakeFSResourceComponent):
            field = model.model_fields[setting.name]
            assert field.description == setting.meaning, (model, setting.name)
    defaults = resource().settings()
    assert (defaults.read_timeout, defaults.connect_timeout, defaults.retry.max_attempts) == (120.0, 10.0, 6)


@pytest.mark.parametrize(("attribute", "value"), [("timeout", float("inf")), ("max_attempts", 0), ("ui_url", "lakefs")])
def test_the_component_refuses_bad_settings_when_the_definitions_load(attribute: str, value: Any) -> None:
    component = LakeFSResourceComponent(endpoint="http://lakefs:8000", repository="example-repo", **{attribute: value})
    with pytest.raises(BadInputError, match=f"LakeFSResourceComponent attribute '{attribute}'"):
        component.build_defs(None)  # type: ignore[arg-type]
