"""Polling triggers for the triggerer: every lakeFS call runs in a worker thread,
so the triggerer's event loop is never blocked by HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from lakefs_provider.hooks.lakefs_hook import LakeFSHook, name_the_connection
from lakefs_wap import LakeFSConnection, LakeFSWapError, connect


class LakeFSPollingTrigger(BaseTrigger):
    """Polls ``check`` every ``poke_interval`` seconds until it finds something.

    Yields ``{"status": "success", "value": ...}`` once found, or
    ``{"status": "error", "message": ...}`` if a check fails; the sensor's
    ``execute_complete`` turns an error event into a failed task with that message.
    """

    def __init__(self, *, lakefs_conn_id: str, poke_interval: float = 60.0) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.lakefs_conn_id = lakefs_conn_id
        self.poke_interval = poke_interval

    def check(self, connection: LakeFSConnection) -> Any:
        """One synchronous poll; None means 'not yet'. Runs in a worker thread."""
        raise NotImplementedError

    def describe(self) -> str:
        return type(self).__name__

    async def run(self) -> AsyncIterator[TriggerEvent]:
        connection: LakeFSConnection | None = None
        try:
            connection = connect(await LakeFSHook.asettings(self.lakefs_conn_id))
            while True:
                found = await asyncio.to_thread(self.check, connection)
                if found is not None:
                    yield TriggerEvent({"status": "success", "value": found})
                    return
                self.log.info("%s: nothing yet; next look in %ss", self.describe(), self.poke_interval)
                await asyncio.sleep(self.poke_interval)
        except Exception as error:  # reported to the task, which fails with this message
            if isinstance(error, LakeFSWapError) and connection is not None:
                error = name_the_connection(error, self.lakefs_conn_id, connection.settings.endpoint)
            yield TriggerEvent({"status": "error", "message": f"{type(error).__name__}: {error}"})
