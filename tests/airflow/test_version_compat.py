"""What differs between the Airflow 3 releases the provider supports, checked on the
one running (CI runs this on the oldest, 3.0.6, and the newest, see ``make test-lower``)."""

from __future__ import annotations

import asyncio
from typing import Any

from lakefs_provider import version_compat
from lakefs_provider.get_provider_info import get_provider_info


def value_type(schema: dict[str, Any]) -> str:
    """The one type of a JSON schema besides ``null``."""
    types = {schema["type"]} if isinstance(schema["type"], str) else set(schema["type"])
    (kind,) = types - {"null"}
    return str(kind)


def lakefs_form() -> dict[str, Any]:
    """The lakeFS connection form as Airflow's own API server describes it to its UI."""
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    (form,) = (meta for meta in HookMetaService.hook_meta_data() if meta.connection_type == "lakefs")
    return dict(form.model_dump(mode="json"))


def test_the_ui_shows_the_lakefs_connection_form_on_this_airflow() -> None:
    """Airflow 3.2+ builds the form from the provider info, 3.0 and 3.1 from the hook's
    form methods: either way a user sees the same labels and extra fields."""
    form = lakefs_form()
    standard = form["standard_fields"]
    assert standard["host"]["title"] == "lakeFS endpoint"
    assert standard["host"]["placeholder"] == "https://lakefs.example.com"
    assert standard["login"]["title"] == "Access key ID"
    assert standard["password"]["title"] == "Secret access key"
    assert standard["url_schema"]["hidden"] is True
    assert standard["port"]["hidden"] is True

    (lakefs_type,) = get_provider_info()["connection-types"]
    declared = lakefs_type["conn-fields"]
    shown = form["extra_fields"]
    assert set(shown) == set(declared)
    for name, field in declared.items():
        assert shown[name]["schema"]["title"] == field["label"], name
        assert shown[name]["description"] == field["description"], name
        declared_type = value_type(field["schema"])
        # WTForms gives Airflow < 3.2 no float field: numbers are typed as text there.
        number_as_text = not version_compat.CONNECTION_FORM_FROM_PROVIDER_INFO and declared_type == "number"
        assert value_type(shown[name]["schema"]) == ("string" if number_as_text else declared_type), name
    assert shown["verify_ssl"]["value"] is True


def test_the_release_flags_stand_for_what_moved() -> None:
    """The flags name releases; what they guard is where the task SDK keeps these names."""
    import airflow.sdk

    assert ("BaseHook" in airflow.sdk.__all__) is version_compat.AIRFLOW_V_3_1_PLUS
    assert ("conf" in airflow.sdk.__all__) is version_compat.AIRFLOW_V_3_2_PLUS
    assert airflow.__version__ == version_compat.AIRFLOW_VERSION


def test_triggers_look_up_the_connection_without_blocking(lakefs_conn_id: str, lakefs_server: Any) -> None:
    """Airflow 3.0's hook base has no ``aget_connection``; the compat base adds it, and
    the triggers' settings come through it."""
    from lakefs_provider.hooks.lakefs_hook import LakeFSHook

    connection = asyncio.run(LakeFSHook.aget_connection(lakefs_conn_id))
    assert connection.host == lakefs_server.endpoint
    settings = asyncio.run(LakeFSHook.asettings(lakefs_conn_id))
    assert settings.endpoint == lakefs_server.endpoint
    assert settings.access_key_id == lakefs_server.access_key_id
