"""The ``lakefs://`` filesystem for Airflow's ``ObjectStoragePath``, from an Airflow lakeFS connection.

    path = ObjectStoragePath("lakefs://example-repo/main/curated/orders.csv", conn_id="lakefs_default")
    text = path.read_text()

Airflow finds this module through the provider info's ``filesystems`` and calls
``get_fs(conn_id, storage_options)`` for every ``lakefs://`` path. The
filesystem is lakefs-spec's (``pip install "lakefs-wap[fs]"``); its requests go
through the connection's settings as every other lakefs-wap call does (TLS,
proxy, timeouts, retries of 429/5xx and dropped connections, the client header).

Paths are ``lakefs://<repository>/<ref>/<path>``. A write to a branch is staged
there until something commits it, as any lakeFS upload is; lakefs-spec creates
a missing branch on write; here that is off (``create_branch_ok=False``) unless
``storage_options`` turn it on, so a typo in a branch name fails instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lakefs_provider.hooks.lakefs_hook import LakeFSHook
from lakefs_wap import BadInputError, connect

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem  # type: ignore[import-untyped]

schemes = ["lakefs"]

# Where the connection's settings go; given again in storage_options they
# would disagree with the connection, so they are refused there.
_FROM_THE_CONNECTION = frozenset(
    {"host", "username", "password", "api_key", "api_key_prefix", "access_token", "verify_ssl", "ssl_ca_cert", "proxy"}
)
_INSTALL_HINT = 'install lakefs-spec for lakefs:// paths: pip install "lakefs-wap[fs]"'


def get_fs(conn_id: str | None, storage_options: Mapping[str, Any] | None = None) -> AbstractFileSystem:
    """lakefs-spec's filesystem on the lakeFS of Airflow connection ``conn_id`` (``lakefs_default`` if None).

    ``storage_options`` go to ``LakeFSFileSystem`` (``create_branch_ok``,
    ``source_branch``, ``pre_sign``...); the endpoint, credentials, TLS and proxy
    come from the connection only.
    """
    try:
        from lakefs_spec import LakeFSFileSystem
    except ImportError as missing:
        raise ImportError(_INSTALL_HINT) from missing
    options = dict(storage_options or {})
    clashing = sorted(_FROM_THE_CONNECTION.intersection(options))
    if clashing:
        raise BadInputError(
            f"lakefs:// storage_options {clashing} are taken from the Airflow connection "
            f"'{conn_id or LakeFSHook.default_conn_name}': set them there, not in storage_options."
        )
    settings = LakeFSHook(conn_id or LakeFSHook.default_conn_name).settings()
    options.setdefault("request_config", {"request_timeout": (settings.connect_timeout, settings.read_timeout)})
    # A write to a branch that does not exist is a typo far more often than a wish: lakefs-spec
    # would create it. Airflow 3.3 does not hand a path's storage_options to this function, so
    # this default is what every lakefs:// path gets there.
    options.setdefault("create_branch_ok", False)
    filesystem = LakeFSFileSystem(
        host=settings.endpoint,
        username=settings.access_key_id,
        password=settings.secret_access_key,
        verify_ssl=settings.verify_ssl,
        ssl_ca_cert=settings.ca_bundle,
        proxy=settings.proxy,
        **options,
    )
    # lakefs-spec's own client has no retries; this one is lakefs-wap's, on the same settings.
    filesystem.client = connect(settings).client
    return filesystem


__all__ = ["get_fs", "schemes"]
