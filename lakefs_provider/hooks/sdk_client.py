"""The object ``LakeFSHook.get_conn()`` returns: the core connection that also
answers as the generated ``lakefs_sdk`` client.

airflow-provider-lakefs returned a ``lakefs_sdk.client.LakeFSClient`` from
``get_conn()``, and DAGs call its API groups (``get_conn().branches_api``,
``.objects_api``...). lakefs-wap's own calls take the core ``LakeFSConnection``.
One object serves both, without opening a second HTTP pool.
"""

from __future__ import annotations

from typing import Any

from lakefs_wap import LakeFSConnection


class HookConnection(LakeFSConnection):
    """The process's shared connection; attributes it lacks come from its generated
    client (``branches_api``, ``objects_api``, ``internal_api``, ...), which has the
    connection's retries, timeouts and credentials."""

    def __init__(self, shared: LakeFSConnection) -> None:
        # Share the state (settings, the lazily built client and pool) instead of
        # copying it: the SDK client is built once per process and settings.
        self.__dict__ = shared.__dict__

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the connection itself does not have. Private and
        # special names are not delegated: copy and pickle probe them on objects
        # whose state is not set yet.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.sdk, name)
