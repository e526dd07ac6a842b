"""Writes that add a commit each time they land, sent so that they land once.

The transport does not repeat a commit or merge after an ambiguous failure (a
lost answer, a timeout, a 5xx: lakeFS may have acted). ``write_once`` looks at
lakeFS with reads only and sends the write again only if the earlier attempt
did not take effect. This is the one place where "look before repeating" lives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

import lakefs_sdk

from lakefs_wap.connection import LakeFSConnection
from lakefs_wap.errors import ServerUnavailableError
from lakefs_wap.refs import get_commit

logger = logging.getLogger("lakefs_wap.operations")

T = TypeVar("T")


def write_once(
    connection: LakeFSConnection,
    send: Callable[[], T],
    landed: Callable[[], T | None],
    *,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Send a write that adds a commit each time it lands, so that it lands once.

    After an ambiguous failure (``ServerUnavailableError``), ``landed`` looks
    at lakeFS with reads only and returns the result of the earlier attempt if
    it took effect; only if it did not is the write sent again, within the
    connection's retry policy.

    Args:
        connection: The lakeFS connection; its retry policy bounds the attempts.
        send: Sends the write once and returns its result.
        landed: Reads only: the earlier attempt's result if it took effect, else None.
        what: The write, as log lines name it ("commit on 'run-1'").
        sleep: Waits between attempts (tests pass a recorder).

    Returns:
        What ``send`` returned, or what ``landed`` found.

    Raises:
        ServerUnavailableError: lakeFS kept failing and the write did not land.

    Example:
        >>> write_once(  # doctest: +SKIP
        ...     connection, send, lambda: head_matching(connection, "lake", "run-1", message, metadata), what="commit"
        ... )
    """
    policy = connection.settings.retry
    attempt = 1
    while True:
        try:
            return send()
        except ServerUnavailableError:
            found = landed()
            if found is not None:
                logger.warning("lakeFS %s took effect although its answer was lost; not repeating it", what)
                return found
            if attempt >= policy.max_attempts:
                raise
            delay = policy.delay_before(attempt + 1)
            logger.warning("lakeFS %s did not take effect (attempt %d); sending it again", what, attempt)
            sleep(delay)
            attempt += 1


def head_matching(
    connection: LakeFSConnection, repository: str, branch: str, message: str | None, metadata: Mapping[str, str]
) -> lakefs_sdk.Commit | None:
    """The head of ``branch`` if it carries exactly this message and metadata (a landed write), else None.

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        branch: The branch the write went to.
        message: The write's commit message; None matches any message.
        metadata: The write's commit metadata, matched exactly.
    """
    head = get_commit(connection, repository, branch)
    if dict(head.metadata or {}) == dict(metadata) and (message is None or head.message == message):
        return head
    return None


__all__ = ["head_matching", "write_once"]
