"""Deferred triggers in one triggerer: requests per second to lakeFS and the worst event-loop stall.

Runs N deferred commit triggers on B branches at one poke interval on one
event loop, as a triggerer would, with a proxy in front of lakeFS counting
every request. A heartbeat task measures how late the loop wakes it. Phases:
start (the triggers subscribe), steady (nothing changes), fire (one commit
on every branch, until every trigger has fired). Prints a table and a JSON
line; asserts nothing (read the numbers as orders of magnitude).

    .venv/bin/python -m benchmarks.triggers                  # 1000 triggers, 10 branches, 1 s
    .venv/bin/python -m benchmarks.triggers --triggers 200 --branches 4 --interval 0.5
    .venv/bin/python -m benchmarks.triggers --smoke          # tiny, seconds

Starts its own lakeFS unless LAKEFS_ENDPOINT/LAKEFS_ACCESS_KEY_ID/
LAKEFS_SECRET_ACCESS_KEY name one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from typing import Any

from benchmarks.environment import connect_to, lakefs_server
from tests.fault_proxy import FaultProxy
from tools.demo_repository import ensure_repository
from tools.lakefs_server import ServerAccess

HEARTBEAT = 0.005


class Heartbeat:
    """Sleeps HEARTBEAT seconds over and over; the worst lateness is the worst loop stall."""

    def __init__(self) -> None:
        self.worst = 0.0

    async def run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(HEARTBEAT)
            self.worst = max(self.worst, time.perf_counter() - started - HEARTBEAT)


@dataclass
class Phase:
    name: str
    seconds: float
    requests: int
    worst_stall_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def measure(
    access: ServerAccess, proxy: FaultProxy, triggers: int, branches: int, interval: float, steady: float
) -> dict[str, Any]:
    from lakefs_provider.triggers.commit_trigger import LakeFSCommitTrigger
    from lakefs_provider.triggers.shared_poll import POOL_WORKERS, active_polls
    from lakefs_wap import operations

    direct = connect_to(access)
    repo = f"bench-{uuid.uuid4().hex[:8]}"
    ensure_repository(direct.sdk.repositories_api, repo, access.storage_namespace(repo))
    names = [f"watched-{index}" for index in range(branches)]
    baselines = {name: operations.create_branch(direct, repo, name, "main") for name in names}

    heartbeat = Heartbeat()
    beating = asyncio.create_task(heartbeat.run())
    phases: list[Phase] = []

    async def phase(name: str, work: Any) -> Any:
        heartbeat.worst = 0.0
        before = len(proxy.seen)
        started = time.perf_counter()
        result = await work
        phases.append(Phase(name, time.perf_counter() - started, len(proxy.seen) - before, heartbeat.worst * 1000))
        return result

    async def first_event(trigger: LakeFSCommitTrigger) -> Any:
        async for event in trigger.run():
            return event.payload
        return None

    waiting = [
        asyncio.create_task(
            first_event(
                LakeFSCommitTrigger(
                    repo=repo,
                    branch=names[index % branches],
                    prev_commit_id=baselines[names[index % branches]],
                    poke_interval=interval,
                )
            )
        )
        for index in range(triggers)
    ]
    await phase("start", asyncio.sleep(2 * interval))
    polls_while_waiting = len(active_polls())
    await phase("steady", asyncio.sleep(steady))

    def commit_everywhere() -> dict[str, str]:
        heads = {}
        for name in names:
            direct.sdk.objects_api.upload_object(repo, name, "new.csv", content=b"x\n")
            heads[name] = operations.commit(direct, repo, name, "new data").id
        return heads

    async def fire() -> list[Any]:
        await asyncio.to_thread(commit_everywhere)
        return list(await asyncio.gather(*waiting))

    events = await phase("fire", fire())
    beating.cancel()
    fired = sum(1 for event in events if event and event["status"] == "success")
    return {
        "triggers": triggers,
        "branches": branches,
        "interval_s": interval,
        "pool_threads": POOL_WORKERS,
        "shared_polls_while_waiting": polls_while_waiting,
        "shared_polls_after": len(active_polls()),
        "fired": fired,
        "phases": [
            {
                "phase": p.name,
                "seconds": round(p.seconds, 3),
                "requests": p.requests,
                "requests_per_s": round(p.per_second, 1),
                "worst_stall_ms": round(p.worst_stall_ms, 1),
            }
            for p in phases
        ],
    }


def quiet_trigger_logs() -> None:
    """One 'nothing yet' line per trigger is a triggerer's business, not this table's (Airflow logs via structlog)."""
    import structlog

    import lakefs_provider.triggers.base  # noqa: F401 - Airflow sets up its logging on import; configure after it

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def run(access: ServerAccess, triggers: int, branches: int, interval: float, steady: float) -> dict[str, Any]:
    with FaultProxy(access.endpoint) as proxy:
        os.environ["AIRFLOW_CONN_LAKEFS_DEFAULT"] = json.dumps(
            {
                "conn_type": "lakefs",
                "host": proxy.endpoint,
                "login": access.access_key_id,
                "password": access.secret_access_key,
            }
        )
        return asyncio.run(measure(access, proxy, triggers, branches, interval, steady))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triggers", type=int, default=1000)
    parser.add_argument("--branches", type=int, default=10)
    parser.add_argument("--interval", type=float, default=1.0, help="poke interval, seconds")
    parser.add_argument("--steady", type=float, default=10.0, help="seconds measured with nothing changing")
    parser.add_argument("--smoke", action="store_true", help="a tiny run: 20 triggers, 2 branches, 0.2 s")
    args = parser.parse_args()
    if args.smoke:
        args.triggers, args.branches, args.interval, args.steady = 20, 2, 0.2, 1.0
    # Airflow reads its home on import: keep a developer's ~/airflow out of it.
    with tempfile.TemporaryDirectory(prefix="lakefs-wap-bench-airflow-") as airflow_home:
        os.environ.setdefault("AIRFLOW_HOME", airflow_home)
        quiet_trigger_logs()
        with lakefs_server() as access:
            result = run(access, args.triggers, args.branches, args.interval, args.steady)
    print(
        f"{result['triggers']} commit triggers on {result['branches']} branches, {result['interval_s']} s interval, "
        f"{result['shared_polls_while_waiting']} shared polls, {result['pool_threads']} pool threads, "
        f"{result['fired']} fired"
    )
    print(f"{'phase':<8} {'seconds':>8} {'requests':>9} {'requests/s':>11} {'worst stall ms':>15}")
    for row in result["phases"]:
        print(
            f"{row['phase']:<8} {row['seconds']:>8.2f} {row['requests']:>9} {row['requests_per_s']:>11.1f} "
            f"{row['worst_stall_ms']:>15.1f}"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
