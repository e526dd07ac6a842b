"""One poll per watched thing, shared by every trigger in the triggerer watching it.

A triggerer runs thousands of deferred triggers on one event loop. Polling
each on its own costs one request per trigger per interval, and a thread from
the loop's default executor per poll. Here, triggers that would make the same
request at the same interval (same connection settings, same key) subscribe to
one polling task, which makes the request once per interval on a small thread
pool of its own and hands the outcome (a value or the exception) to every
subscriber. The task stops as soon as its last subscriber leaves.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from lakefs_wap import ConnectionSettings, LakeFSConnection, connect

T = TypeVar("T")

# Enough for a handful of slow requests at once; the event loop never waits on
# a thread, and the loop's default executor stays free for everyone else.
# Threads start on first use.
POOL_WORKERS = 8
_POOL = ThreadPoolExecutor(max_workers=POOL_WORKERS, thread_name_prefix="lakefs-trigger")


async def run_blocking(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` on the triggers' own bounded thread pool."""
    return await asyncio.get_running_loop().run_in_executor(_POOL, functools.partial(function, *args))


async def call_lakefs(settings: ConnectionSettings, function: Callable[[LakeFSConnection], T]) -> T:
    """``function(connection)`` on the pool; connecting (cheap after the first time) happens there too."""
    return await run_blocking(lambda: function(connect(settings)))


# Per event loop: identical one-off calls in flight, shared by whoever asks while they run.
_in_flight: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, asyncio.Future[Any]]] = (
    weakref.WeakKeyDictionary()
)


async def shared_call(settings: ConnectionSettings, key: Hashable, function: Callable[[LakeFSConnection], T]) -> T:
    """``function(connection)`` on the pool, shared with identical calls (same settings and key) still running.

    For the follow-up checks of triggers woken by the same poll: they ask at
    the same moment, so one answer serves them all. ``function`` must depend
    only on ``key``. A caller cancelled while waiting does not cancel the call
    for the others.
    """
    loop = asyncio.get_running_loop()
    calls = _in_flight.setdefault(loop, {})
    full_key = (settings, key)
    call = calls.get(full_key)
    if call is None:
        call = calls[full_key] = loop.create_task(call_lakefs(settings, function))
        call.add_done_callback(functools.partial(_forget, calls, full_key))
    result: T = await asyncio.shield(call)
    return result


def _forget(calls: dict[Hashable, asyncio.Future[Any]], key: Hashable, call: asyncio.Future[Any]) -> None:
    if calls.get(key) is call:
        del calls[key]
    if not call.cancelled():
        call.exception()  # each waiter got it; none left may mean none will read it


class _Outcome:
    __slots__ = ("error", "value")

    def __init__(self, value: Any = None, error: Exception | None = None) -> None:
        self.value = value
        self.error = error

    def unwrap(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


class Subscription:
    """A trigger's view of a shared poll: ``await next()`` gives the next poll's value (or raises its error).

    A subscriber busy between two polls sees only the newest one.
    """

    def __init__(self) -> None:
        self._latest = _Outcome()  # read only after a delivery
        self._ready = asyncio.Event()

    def deliver(self, outcome: _Outcome) -> None:
        self._latest = outcome
        self._ready.set()

    async def next(self) -> Any:
        await self._ready.wait()
        self._ready.clear()
        return self._latest.unwrap()


_Key = tuple[ConnectionSettings, float, Hashable]


class _SharedPoll:
    def __init__(
        self,
        key: _Key,
        poll: Callable[[LakeFSConnection], Any],
        polls: dict[_Key, _SharedPoll],
    ) -> None:
        self.key = key
        self.subscribers: set[Subscription] = set()
        self._poll = poll
        self._polls = polls
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"lakefs shared poll {key[2]!r}")

    async def _run(self) -> None:
        settings, interval, _ = self.key
        while True:
            try:
                outcome = _Outcome(value=await call_lakefs(settings, self._poll))
            except Exception as error:  # handed to every subscriber, which reports it
                outcome = _Outcome(error=error)
            for subscriber in list(self.subscribers):
                subscriber.deliver(outcome)
            await asyncio.sleep(interval)

    def leave(self, subscriber: Subscription) -> None:
        self.subscribers.discard(subscriber)
        if not self.subscribers:
            if self._polls.get(self.key) is self:
                del self._polls[self.key]
            self.task.cancel()


# Per event loop: a task belongs to the loop that made it.
_registries: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[_Key, _SharedPoll]] = weakref.WeakKeyDictionary()


def _polls() -> dict[_Key, _SharedPoll]:
    loop = asyncio.get_running_loop()
    polls = _registries.get(loop)
    if polls is None:
        polls = _registries[loop] = {}
    return polls


@contextmanager
def subscribe(
    settings: ConnectionSettings,
    interval: float,
    key: Hashable,
    poll: Callable[[LakeFSConnection], Any],
) -> Iterator[Subscription]:
    """Follow the shared poll ``poll(connection)`` every ``interval`` seconds, for as long as the block runs.

    ``poll`` must depend only on ``key`` (and the connection): whichever
    subscriber comes first supplies the one that runs. The first subscriber
    starts the poll at once; a later one gets the poll's next round.
    """
    polls = _polls()
    full_key: _Key = (settings, float(interval), key)
    shared = polls.get(full_key)
    if shared is None:
        shared = polls[full_key] = _SharedPoll(full_key, poll, polls)
    subscriber = Subscription()
    shared.subscribers.add(subscriber)
    try:
        yield subscriber
    finally:
        shared.leave(subscriber)


def active_polls() -> list[Hashable]:
    """The keys of the shared polls running on the current event loop (for tests and benchmarks)."""
    return [key for _, _, key in _polls()]


__all__ = ["POOL_WORKERS", "Subscription", "active_polls", "call_lakefs", "run_blocking", "shared_call", "subscribe"]
