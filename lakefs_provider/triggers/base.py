"""Polling triggers for the triggerer.

Triggers that would make the same request share one poll per interval (see
``shared_poll``), and every lakeFS call runs on the triggers' own small thread
pool, so the triggerer's event loop is never blocked by HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Hashable
from typing import Any

from lakefs_provider.hooks.lakefs_hook import LakeFSHook, name_the_connection
from lakefs_provider.triggers.shared_poll import subscribe
from lakefs_provider.version_compat import BaseTrigger, TriggerEvent
from lakefs_wap import ConnectionSettings, LakeFSConnection, LakeFSWapError


class LakeFSPollingTrigger(BaseTrigger):
    """Polls every ``poke_interval`` seconds until it finds something.

    Yields ``{"status": "success", "value": ...}`` once found, or
    ``{"status": "error", "message": ...}`` if a check fails; the sensor's
    ``execute_complete`` turns an error event into a failed task with that message.

    A subclass says what is polled (``poll_key`` and ``poll``, shared with every
    trigger of the same key, connection and interval) and what a polled value
    means to it (``found``).
    """

    def __init__(self, *, lakefs_conn_id: str, poke_interval: float = 60.0) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.lakefs_conn_id = lakefs_conn_id
        self.poke_interval = poke_interval

    def check(self, connection: LakeFSConnection) -> Any:
        """One synchronous, complete check; None means 'not yet'. Runs in a worker thread."""
        raise NotImplementedError

    def poll_key(self) -> Hashable:
        """What ``poll`` asks, as a key: triggers with equal keys share one poll."""
        raise NotImplementedError

    def poll(self, connection: LakeFSConnection) -> Any:
        """The shared request, run once per interval for all triggers with this ``poll_key``; in a worker thread."""
        raise NotImplementedError

    async def found(self, settings: ConnectionSettings, polled: Any) -> Any:
        """What this trigger fires with, given the newest polled value; None means 'not yet'."""
        return polled

    def validate(self) -> None:
        """Reject this trigger's own bad input before it joins a shared poll."""

    def describe(self) -> str:
        return type(self).__name__

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # The subscription ends before the event is yielded: the triggerer may
        # never resume this generator after its event.
        yield TriggerEvent(await self._wait())

    async def _wait(self) -> dict[str, Any]:
        settings: ConnectionSettings | None = None
        try:
            settings = await LakeFSHook.asettings(self.lakefs_conn_id)
            self.validate()
            with subscribe(settings, self.poke_interval, self.poll_key(), self.poll) as updates:
                last_seen: Any = object()
                while True:
                    polled = await updates.next()
                    found = await self.found(settings, polled)
                    if found is not None:
                        return {"status": "success", "value": found}
                    if polled != last_seen:  # once per change, not once per poll
                        self.log.info("%s: nothing yet; looking every %ss", self.describe(), self.poke_interval)
                        last_seen = polled
        except Exception as error:  # reported to the task, which fails with this message
            if isinstance(error, LakeFSWapError) and settings is not None:
                error = name_the_connection(error, self.lakefs_conn_id, settings.endpoint)
            return {"status": "error", "message": f"{type(error).__name__}: {error}"}
