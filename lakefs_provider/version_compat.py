"""Every Airflow name the provider uses whose home differs between the Airflow 3
releases it supports (3.0.6 to 3.3), imported from where the running Airflow keeps
it, ``airflow.sdk`` first. Provider modules import these names from here only, so
a difference between releases is handled in this one file.

What differs:

- ``BaseHook`` is in ``airflow.sdk`` from 3.1 (task SDK 1.1); 3.0 has it in
  ``airflow.hooks.base``, without ``aget_connection``.
- ``conf`` is in ``airflow.sdk`` from 3.2 (task SDK 1.2); before, ``airflow.configuration``.
- the exceptions and ``mask_secret`` moved into the task SDK in 3.1.
- the connection form is read from the provider info's ``conn-fields`` from 3.2
  on; before, from the hook's ``get_connection_form_widgets`` (see
  ``CONNECTION_FORM_FROM_PROVIDER_INFO``).

The other names (``BaseOperator``, ``BaseSensorOperator``, ...) have one home in
every supported release; they are re-exported so that the provider has one place
to look for all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow import __version__ as AIRFLOW_VERSION
from airflow.sdk import (
    BaseOperator,
    BaseOperatorLink,
    BaseSensorOperator,
    PokeReturnValue,
    TaskGroup,
    XComArg,
)
from airflow.sdk.execution_time.xcom import XCom
from airflow.triggers.base import BaseTrigger, TriggerEvent

# "3.1.8", "3.2.0rc1", "3.3.0.dev0": the release line is the first two numbers.
_AIRFLOW_MINOR = tuple(int(part) for part in AIRFLOW_VERSION.split(".")[:2])
AIRFLOW_V_3_1_PLUS = _AIRFLOW_MINOR >= (3, 1)
AIRFLOW_V_3_2_PLUS = _AIRFLOW_MINOR >= (3, 2)
# Airflow 3.2 renders a provider's connection form from ``conn-fields`` in its
# provider info; earlier releases only from the hook's form methods.
CONNECTION_FORM_FROM_PROVIDER_INFO = AIRFLOW_V_3_2_PLUS

try:
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSkipException,
    )
except ImportError:  # Airflow 3.0
    from airflow.exceptions import (  # type: ignore[no-redef,attr-defined]
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSkipException,
    )

try:
    from airflow.sdk.log import mask_secret
except ImportError:  # Airflow 3.0
    from airflow.sdk.execution_time.secrets_masker import mask_secret  # type: ignore[no-redef]

try:
    from airflow.sdk import conf
except ImportError:  # Airflow 3.0 and 3.1
    from airflow.configuration import conf  # type: ignore[assignment]

try:
    from airflow.sdk import BaseHook
except ImportError:  # Airflow 3.0
    from airflow.hooks.base import BaseHook as _BaseHookOf30  # type: ignore[attr-defined]
    from asgiref.sync import sync_to_async

    class BaseHook(_BaseHookOf30):  # type: ignore[no-redef,misc]
        """Airflow 3.0's hook base, with the async connection lookup that 3.1 added.

        3.0's own providers fetch connections in triggers the same way: the
        synchronous lookup, run in a worker thread so that the triggerer's event
        loop is never blocked.
        """

        @classmethod
        async def aget_connection(cls, conn_id: str) -> Any:
            return await sync_to_async(cls.get_connection)(conn_id)


def connection_form_widgets(conn_fields: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The provider info's ``conn-fields`` as the WTForms fields that Airflow before 3.2
    takes from a hook's ``get_connection_form_widgets`` (3.2 and later read ``conn-fields``
    itself and never call it).

    Airflow 3.0 and 3.1 render these in their React UI without Flask-AppBuilder: the API
    server swaps its own stand-ins for the WTForms classes while it calls the hook, which
    is why only the label, description, default and ``Optional()`` are given. Number
    fields become text fields, as WTForms offers Airflow no float field; the hook parses
    the text. Without ``wtforms`` installed Airflow shows the form without these fields.
    """
    from wtforms import BooleanField, IntegerField, StringField
    from wtforms.validators import Optional

    field_classes = {"boolean": BooleanField, "integer": IntegerField}
    widgets: dict[str, Any] = {}
    for name, field in conn_fields.items():
        schema = field["schema"]
        types = [schema["type"]] if isinstance(schema["type"], str) else list(schema["type"])
        (value_type,) = (kind for kind in types if kind != "null")
        widgets[name] = field_classes.get(value_type, StringField)(
            field["label"],
            validators=[Optional()],
            description=field.get("description", ""),
            default=schema.get("default"),
        )
    return widgets


__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3_1_PLUS",
    "AIRFLOW_V_3_2_PLUS",
    "CONNECTION_FORM_FROM_PROVIDER_INFO",
    "AirflowException",
    "AirflowFailException",
    "AirflowNotFoundException",
    "AirflowSkipException",
    "BaseHook",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "BaseTrigger",
    "PokeReturnValue",
    "TaskGroup",
    "TriggerEvent",
    "XCom",
    "XComArg",
    "conf",
    "connection_form_widgets",
    "mask_secret",
]
