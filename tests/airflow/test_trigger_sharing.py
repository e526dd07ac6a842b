"""Deferred triggers watching the same thing share one poll, against the real lakeFS.

Requests are counted through the fault proxy, which forwards everything to the
real server and records what it saw.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import lakefs
import pytest

from lakefs_provider.triggers.base import LakeFSPollingTrigger
from lakefs_provider.triggers.commit_trigger import LakeFSCommitTrigger
from lakefs_provider.triggers.file_trigger import LakeFSFileTrigger
from lakefs_provider.triggers.shared_poll import active_polls
from tests.fault_proxy import FaultProxy

INTERVAL = 0.2


async def first_event(trigger: LakeFSPollingTrigger) -> dict[str, object]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger ended without an event")


def start(triggers: Iterable[LakeFSPollingTrigger]) -> list[asyncio.Task[dict[str, object]]]:
    return [asyncio.create_task(first_event(trigger)) for trigger in triggers]


async def cancel(tasks: Iterable[asyncio.Task[dict[str, object]]]) -> None:
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def head_reads(proxy: FaultProxy, repo: lakefs.Repository, branch: str) -> int:
    return len(proxy.requests_to("GET", rf"/repositories/{repo.id}/branches/{branch}$"))


async def commit(repo: lakefs.Repository, branch: str, path: str) -> str:
    def write() -> str:
        target = repo.branch(branch)
        target.object(path).upload(data=b"x")
        return str(target.commit(message=f"add {path}").get_commit().id)

    return await asyncio.to_thread(write)


@pytest.mark.asyncio
async def test_triggers_on_one_branch_share_one_head_read_per_interval(proxied_conn_id, proxy, repo) -> None:
    baseline = repo.branch("main").get_commit().id
    triggers = [
        LakeFSCommitTrigger(repo=repo.id, branch="main", prev_commit_id=baseline, poke_interval=INTERVAL)
        for _ in range(50)
    ]
    tasks = start(triggers)
    await asyncio.sleep(10 * INTERVAL)

    assert active_polls() == [("branch_head", repo.id, "main")]
    reads = head_reads(proxy, repo, "main")
    assert 5 <= reads <= 12  # about one per interval; unshared it would be 50 per interval
    assert not proxy.requests_to("GET", r"/refs/main/commits")  # the head never moved: no log reads
    assert not any(task.done() for task in tasks)
    await cancel(tasks)


@pytest.mark.asyncio
async def test_a_commit_wakes_every_subscribed_trigger_with_the_new_head(proxied_conn_id, proxy, repo) -> None:
    baseline = repo.branch("main").get_commit().id
    plain = [
        LakeFSCommitTrigger(repo=repo.id, branch="main", prev_commit_id=baseline, poke_interval=INTERVAL)
        for _ in range(10)
    ]
    curated = [
        LakeFSCommitTrigger(
            repo=repo.id, branch="main", prev_commit_id=baseline, prefixes=["curated/"], poke_interval=INTERVAL
        )
        for _ in range(10)
    ]
    elsewhere = [
        LakeFSCommitTrigger(
            repo=repo.id, branch="main", prev_commit_id=baseline, prefixes=["raw/"], poke_interval=INTERVAL
        )
        for _ in range(5)
    ]
    waking = start(plain + curated)
    sleeping = start(elsewhere)
    await asyncio.sleep(3 * INTERVAL)

    new_head = await commit(repo, "main", "curated/report.csv")
    events = await asyncio.wait_for(asyncio.gather(*waking), timeout=30)

    assert events == [{"status": "success", "value": new_head}] * len(waking)
    await asyncio.sleep(3 * INTERVAL)
    assert not any(task.done() for task in sleeping)  # their prefix saw no commit
    assert active_polls() == [("branch_head", repo.id, "main")]
    # One log read per distinct question (no prefix, 'curated/', 'raw/'), woken together by one
    # head read; the 'raw/' triggers do not read the log again while the head stays.
    log_reads = len(proxy.requests_to("GET", r"/refs/[^/]+/commits"))
    assert log_reads == 3
    await cancel(sleeping)
    assert active_polls() == []


@pytest.mark.asyncio
async def test_a_cancelled_trigger_leaves_and_the_last_one_out_stops_the_poll(proxied_conn_id, proxy, repo) -> None:
    baseline = repo.branch("main").get_commit().id
    tasks = start(
        LakeFSCommitTrigger(repo=repo.id, branch="main", prev_commit_id=baseline, poke_interval=INTERVAL)
        for _ in range(3)
    )
    await asyncio.sleep(2 * INTERVAL)

    await cancel(tasks[:2])
    assert active_polls() == [("branch_head", repo.id, "main")]  # one subscriber is still there
    await asyncio.sleep(3 * INTERVAL)
    still_polled = head_reads(proxy, repo, "main")

    await cancel(tasks[2:])
    assert active_polls() == []
    stopped_at = head_reads(proxy, repo, "main")
    await asyncio.sleep(5 * INTERVAL)
    assert still_polled >= 5
    assert head_reads(proxy, repo, "main") == stopped_at  # no poll after the last one left

    # A trigger coming later starts a new poll, and it works.
    late = start([LakeFSCommitTrigger(repo=repo.id, branch="main", prev_commit_id=baseline, poke_interval=INTERVAL)])
    new_head = await commit(repo, "main", "later.csv")
    assert await asyncio.wait_for(late[0], timeout=30) == {"status": "success", "value": new_head}
    assert active_polls() == []


@pytest.mark.asyncio
async def test_triggers_on_different_branches_or_paths_do_not_share(proxied_conn_id, proxy, repo) -> None:
    repo.branch("dev").create(source_reference="main")
    baseline = repo.branch("main").get_commit().id
    tasks = start(
        [
            LakeFSCommitTrigger(repo=repo.id, branch="main", prev_commit_id=baseline, poke_interval=INTERVAL),
            LakeFSCommitTrigger(repo=repo.id, branch="dev", prev_commit_id=baseline, poke_interval=INTERVAL),
            LakeFSCommitTrigger(repo=repo.id, branch="dev", prev_commit_id=baseline, poke_interval=2 * INTERVAL),
            LakeFSFileTrigger(repo=repo.id, ref="main", path="a.csv", poke_interval=INTERVAL),
            LakeFSFileTrigger(repo=repo.id, ref="main", path="a.csv", poke_interval=INTERVAL),
            LakeFSFileTrigger(repo=repo.id, ref="main", path="b.csv", poke_interval=INTERVAL),
        ]
    )
    await asyncio.sleep(5 * INTERVAL)

    assert sorted(map(str, active_polls())) == sorted(
        map(
            str,
            [
                ("branch_head", repo.id, "main"),
                ("branch_head", repo.id, "dev"),
                ("branch_head", repo.id, "dev"),  # same branch, another interval
                ("find_object", repo.id, "main", "a.csv", None),
                ("find_object", repo.id, "main", "b.csv", None),
            ],
        )
    )
    assert head_reads(proxy, repo, "main") >= 3
    assert head_reads(proxy, repo, "dev") >= 3

    # The two triggers for a.csv share one stat per interval, and both fire on a staged upload.
    stats_of_a = len(proxy.requests_to("GET", rf"/repositories/{repo.id}/refs/main/objects/stat\?.*path=a\.csv"))
    assert 3 <= stats_of_a <= 8
    await asyncio.to_thread(lambda: repo.branch("main").object("a.csv").upload(data=b"a"))
    both = await asyncio.wait_for(asyncio.gather(*tasks[3:5]), timeout=30)
    assert both == [{"status": "success", "value": "a.csv"}] * 2
    assert not any(task.done() for task in tasks[:3] + tasks[5:])
    await cancel(tasks)
    assert active_polls() == []


@pytest.mark.asyncio
async def test_a_failing_shared_poll_ends_every_subscriber_with_the_error(proxied_conn_id, proxy, repo) -> None:
    events = await asyncio.wait_for(
        asyncio.gather(
            *start(
                LakeFSCommitTrigger(repo=repo.id, branch="gone", prev_commit_id="abc123", poke_interval=INTERVAL)
                for _ in range(5)
            )
        ),
        timeout=30,
    )
    assert {event["status"] for event in events} == {"error"}
    assert all("'gone'" in str(event["message"]) for event in events)
    assert head_reads(proxy, repo, "gone") == 1
    assert active_polls() == []
