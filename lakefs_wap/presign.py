"""Object bytes straight between this process and the object store, by URLs
lakeFS presigns, instead of through the lakeFS server.

Worth it when lakeFS is the narrow part (one server in front of S3 serving many
workers). Every call falls back to the path through lakeFS when presigning
cannot work: the server's storage cannot presign (lakeFS's local blockstore;
asked once per connection), or the object store cannot be reached or refuses
the URL from here (a bucket reachable only inside lakeFS's own network). The
bytes still arrive; a warning says why.

A presigned URL is a credential until it expires: it is never logged.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import lakefs_sdk
import urllib3

from lakefs_wap.connection import LakeFSConnection
from lakefs_wap.errors import translated

logger = logging.getLogger("lakefs_wap.objects")

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Whether the server's storage can presign, asked once per connection.
_SUPPORT: weakref.WeakKeyDictionary[LakeFSConnection, bool] = weakref.WeakKeyDictionary()
_SUPPORT_LOCK = threading.Lock()


# Failures to reach the object store at all (refused, unreachable, TLS not
# trusted from here...): presigning is then switched off for the connection,
# so later transfers do not pay for the same failure again.
UNREACHABLE: tuple[type[BaseException], ...] = (urllib3.exceptions.HTTPError, OSError)


def supported(connection: LakeFSConnection) -> bool:
    """Whether presigned transfers are on for this connection.

    They are when the server's storage can presign (asked once per connection)
    and the object store has not been found unreachable from here.

    Args:
        connection: The lakeFS connection.
    """
    with _SUPPORT_LOCK:
        known = _SUPPORT.get(connection)
    if known is None:
        # Asking is cheaper than trying: lakeFS answers a presign request it
        # cannot serve with a 500, which looks like an outage.
        with translated(action="read the storage configuration (can it presign?)"):
            known = bool(connection.sdk.internal_api.get_storage_config().pre_sign_support)
        with _SUPPORT_LOCK:
            _SUPPORT[connection] = known
    return known


def _switch_off(connection: LakeFSConnection, direction: str, repository: str, error: BaseException) -> None:
    with _SUPPORT_LOCK:
        _SUPPORT[connection] = False
    logger.warning(
        "presigned %s for repository '%s' could not reach the object store (%s); moving bytes through lakeFS "
        "from now on in this process",
        direction,
        repository,
        type(error).__name__,
    )


def transfer_failed(connection: LakeFSConnection, repository: str, error: BaseException) -> None:
    """A presigned download broke off mid-body: the retry goes through lakeFS.

    Args:
        connection: The lakeFS connection; presigning is switched off for it.
        repository: The repository, named in the warning.
        error: How the transfer broke off.
    """
    _switch_off(connection, "download", repository, error)


def open_download(
    connection: LakeFSConnection,
    repository: str,
    url: str,
    headers: dict[str, str],
    timeout: Any,
) -> Any | None:
    """The object store's answer to a presigned GET of the object ``url`` names, or None.

    Args:
        connection: The lakeFS connection.
        repository: The repository, named in a fallback warning.
        url: The lakeFS object URL (``.../refs/{ref}/objects?path=...``).
        headers: lakeFS's request headers, credentials included (never sent to the store).
        timeout: The connection's urllib3 timeout.

    Returns:
        The answer (status 2xx, body unread), or None when the caller should
        read through lakeFS.
    """
    pool = connection.api.rest_client.pool_manager
    answer = pool.request(
        "GET", f"{url}&presign=true", headers=headers, timeout=timeout, preload_content=True, redirect=False
    )
    if answer.status not in _REDIRECTS:
        return None  # the plain GET gives the real answer (a 404, say) with lakeFS's message
    try:
        stored = pool.request("GET", answer.headers["Location"], timeout=timeout, preload_content=False, redirect=False)
    except UNREACHABLE as error:
        _switch_off(connection, "download", repository, error)
        return None
    if 200 <= stored.status < 300:
        return stored
    stored.read()
    stored.release_conn()
    _warn_fallback("download", repository, f"HTTP {stored.status}")
    return None


def upload(
    connection: LakeFSConnection,
    repository: str,
    branch: str,
    path: str,
    body: Any,
    length: int | None,
    *,
    content_type: str,
    metadata: Mapping[str, str],
    if_absent: bool,
    rewind: Callable[[], None],
    timeout: Any,
) -> lakefs_sdk.ObjectStats | None:
    """PUT ``body`` to a presigned address and link it at ``path``.

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        branch: The branch to stage the object on.
        path: The object's path.
        body: What to send (a buffer or a chunk iterator).
        length: The body's length; None means presigning cannot be used.
        content_type: The object's content type.
        metadata: Object user metadata.
        if_absent: Link only when the path has no object yet.
        rewind: Rewinds ``body`` for the caller's fallback.
        timeout: The connection's urllib3 timeout.

    Returns:
        The linked object's stats, or None when the caller should upload
        through lakeFS (``body`` is then rewound).
    """
    if length is None:
        return None  # the object store needs the length up front
    location = connection.sdk.staging_api.get_physical_address(repository, branch, path, presign=True)
    if not location.presigned_url:
        return None
    try:
        # One try: on any failure the caller's upload through lakeFS, with its
        # own retries, is the way round it.
        answer = connection.api.rest_client.pool_manager.request(
            "PUT",
            location.presigned_url,
            body=body,
            headers={"Content-Length": str(length)},
            timeout=timeout,
            preload_content=True,
            redirect=False,
        )
    except UNREACHABLE as error:
        _switch_off(connection, "upload", repository, error)
        rewind()
        return None
    if not 200 <= answer.status < 300:
        _warn_fallback("upload", repository, f"HTTP {answer.status}")
        rewind()
        return None
    etag = str(answer.headers.get("ETag", "")).strip('"')
    staged = lakefs_sdk.StagingMetadata(
        staging=location,
        checksum=etag,
        size_bytes=length,
        user_metadata=dict(metadata) or None,
        content_type=content_type,
        mtime=None,
    )
    return connection.sdk.staging_api.link_physical_address(
        repository, branch, path, staged, if_none_match="*" if if_absent else None
    )


def _warn_fallback(direction: str, repository: str, reason: str) -> None:
    logger.warning(
        "presigned %s for repository '%s' failed at the object store (%s); moving the bytes through lakeFS instead",
        direction,
        repository,
        reason,
    )


__all__ = ["UNREACHABLE", "open_download", "supported", "transfer_failed", "upload"]
