"""The deferrable-sensor pattern shared by the lakeFS sensors: poke once on the
worker; if not done and ``deferrable``, hand the wait to a trigger."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lakefs_provider.hooks.lakefs_hook import LakeFSHook, UsesLakeFSHook
from lakefs_provider.triggers.base import LakeFSPollingTrigger
from lakefs_provider.version_compat import AirflowException, BaseSensorOperator, PokeReturnValue, conf


class LakeFSBaseSensor(UsesLakeFSHook, BaseSensorOperator):
    ui_color = "#b3e0da"

    def __init__(
        self,
        *,
        lakefs_conn_id: str = LakeFSHook.default_conn_name,
        deferrable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.lakefs_conn_id = lakefs_conn_id
        # Read at construction, like Airflow's own sensors, so [operators]
        # default_deferrable applies to every lakeFS sensor not told otherwise.
        self.deferrable = (
            conf.getboolean("operators", "default_deferrable", fallback=False) if deferrable is None else deferrable
        )

    def trigger(self, context: Any) -> LakeFSPollingTrigger:
        raise NotImplementedError

    def check(self, context: Any) -> Any:
        """One poll; None means 'not yet'."""
        raise NotImplementedError

    def poke(self, context: Any) -> Any:
        found = self.check(context)
        return PokeReturnValue(is_done=found is not None, xcom_value=found)

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        found = self.check(context)
        if found is not None:
            return found
        self.defer(
            trigger=self.trigger(context),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout)),
        )

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        if not event or event.get("status") != "success":
            message = (event or {}).get("message", "the trigger ended without an event")
            raise AirflowException(f"{self.task_id}: {message}")
        self.log.info("%s: found %s", self.task_id, event["value"])
        return event["value"]
