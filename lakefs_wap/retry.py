"""Retrying the calls lakeFS asks us to retry, and only those.

lakeFS answers 429 when concurrent commits or merges exhausted its optimistic
branch-update retries and 503 when its KV store asks clients to slow down;
500/502/504 and transport errors (refused, reset, timed out) are passing faults
of the server or the network between. lakectl retries these; neither Python SDK
does. Any other 4xx is final: retrying would only repeat the same mistake.

A request that is not safe to repeat (a commit, a merge, a revert: each adds
a commit every time it lands) is retried only after failures that prove it
never reached lakeFS, or that lakeFS refused it before acting (429, 503). After
an ambiguous failure (a read timeout, a dropped connection, a 500) the caller
must first look whether it landed: ``lakefs_wap.write_once.write_once``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import lakefs_sdk.exceptions as sdk
import urllib3.exceptions

logger = logging.getLogger("lakefs_wap.retry")

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

# Transport failures worth another attempt. urllib3 raises these directly
# because the SDK's pool is built with urllib3's own retries switched off.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    urllib3.exceptions.ProtocolError,  # connection reset / remote closed mid-response
    urllib3.exceptions.NewConnectionError,  # connection refused
    urllib3.exceptions.TimeoutError,  # connect or read timeout
    urllib3.exceptions.MaxRetryError,
    ConnectionError,
    TimeoutError,
)

# Failures that prove a request was never received, and statuses by which
# lakeFS refuses a request before acting on it: a repeat cannot duplicate.
NOT_SENT_ERRORS: tuple[type[BaseException], ...] = (
    urllib3.exceptions.NewConnectionError,
    urllib3.exceptions.ConnectTimeoutError,
    ConnectionRefusedError,
)
REFUSED_BEFORE_ACTING = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded in attempts and in total time.

    ``max_attempts`` counts the first try: 1 means never retry.

    Args:
        max_attempts: Tries in all, the first included; at least 1.
        initial_backoff: Ceiling of the first delay, in seconds; each retry doubles it.
        max_backoff: The highest delay ceiling, in seconds.
        max_elapsed: No retry starts after this many seconds in all.
        retry_statuses: HTTP statuses worth another try.

    Example:
        >>> RetryPolicy(max_attempts=3).delay_before(2) <= 0.5
        True
    """

    max_attempts: int = 6
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    max_elapsed: float = 60.0
    retry_statuses: frozenset[int] = field(default=RETRYABLE_STATUSES)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"RetryPolicy.max_attempts must be at least 1, got {self.max_attempts}")
        if self.initial_backoff < 0 or self.max_backoff < 0 or self.max_elapsed < 0:
            raise ValueError("RetryPolicy backoff and elapsed bounds must not be negative")

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that tries once and never retries (a body that cannot be rewound)."""
        return cls(max_attempts=1)

    def delay_before(self, attempt: int) -> float:
        """Seconds to sleep before ``attempt`` (2 for the first retry)."""
        ceiling = min(self.max_backoff, self.initial_backoff * (2 ** (attempt - 2)))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not security

    def is_retryable(self, error: BaseException, *, repeatable: bool = True) -> bool:
        """Whether to try again after ``error``.

        Args:
            error: What the last try raised.
            repeatable: False for requests that must not land twice: then only
                failures that surely left the server untouched are retried.
        """
        if isinstance(error, sdk.ApiException):
            if not repeatable:
                return error.status in self.retry_statuses & REFUSED_BEFORE_ACTING
            return error.status in self.retry_statuses
        if not repeatable:
            return is_not_sent(error)
        return isinstance(error, TRANSPORT_ERRORS)


def is_not_sent(error: BaseException) -> bool:
    """The request surely never reached the server (refused or timed out connecting)."""
    if isinstance(error, urllib3.exceptions.MaxRetryError) and error.reason is not None:
        return isinstance(error.reason, NOT_SENT_ERRORS)
    return isinstance(error, NOT_SENT_ERRORS)


def describe_failure(error: BaseException) -> str:
    """How a log line names a failed try: ``HTTP 503`` or the exception's class name.

    Args:
        error: What the try raised.
    """
    if isinstance(error, sdk.ApiException):
        return f"HTTP {error.status}"
    return type(error).__name__


def call_with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    what: str,
    *,
    before_retry: Callable[[], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    repeatable: bool = True,
) -> T:
    """Run ``call`` until it succeeds, fails for good, or the policy's bounds are reached.

    Args:
        call: One try of the request.
        policy: How often and how long to retry.
        what: The request in the warning logged before each retry (never
            credentials: callers pass a method and a path).
        before_retry: Rewinds whatever a retry needs rewound, e.g. a request body stream.
        sleep: Waits between tries (tests pass a recorder).
        repeatable: False for requests that must not land twice (``RetryPolicy.is_retryable``).

    Returns:
        What ``call`` returned.

    Raises:
        Exception: The last try's error, when it is not retryable or the bounds are reached.
    """
    started = time.monotonic()
    attempt = 1
    while True:
        try:
            return call()
        except BaseException as error:
            if not policy.is_retryable(error, repeatable=repeatable) or attempt >= policy.max_attempts:
                raise
            delay = policy.delay_before(attempt + 1)
            if time.monotonic() - started + delay > policy.max_elapsed:
                raise
            logger.warning(
                "lakeFS %s failed with %s (attempt %d of %d); retrying in %.2fs",
                what,
                describe_failure(error),
                attempt,
                policy.max_attempts,
                delay,
            )
            sleep(delay)
            if before_retry is not None:
                before_retry()
            attempt += 1
