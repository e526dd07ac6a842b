"""The commit event trigger for AssetWatchers, run against the real lakeFS.

Each test runs the trigger's ``run()`` the way a triggerer does (a task on an
event loop, the connection from ``AIRFLOW_CONN_LAKEFS_DEFAULT``) and collects
what it yields. Requests are counted through the fault proxy, which forwards
everything to the real server.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import itertools
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import lakefs
import pytest
from lakefs_sdk import ApiClient, Configuration, ExperimentalApi
from sqlalchemy import select, update

from lakefs_provider.triggers.commit_event_trigger import LakeFSCommitEventTrigger
from lakefs_provider.triggers.shared_poll import active_polls
from lakefs_provider.version_compat import AIRFLOW_VERSION
from lakefs_wap import BadInputError
from tests.airflow.conftest import load_dag, xcom
from tests.conftest import AIRFLOW_DAGS_FOLDER
from tests.fault_proxy import FaultProxy
from tools.lakefs_server import ServerAccess

INTERVAL = 0.2
AIRFLOW_V_3_3_PLUS = tuple(int(part) for part in AIRFLOW_VERSION.split(".")[:2]) >= (3, 3)
# Long enough that nothing seen within it would have been seen later.
QUIET = 12 * INTERVAL


class Watch:
    """A trigger's ``run()`` on the current loop, with every event it yields collected in order."""

    def __init__(self, trigger: LakeFSCommitEventTrigger, proxy: FaultProxy) -> None:
        self.trigger = trigger
        self.proxy = proxy
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        async for event in self.trigger.run():
            await self.events.put(dict(event.payload))

    def head_reads(self) -> int:
        path = rf"/repositories/{self.trigger.repo}/branches/{self.trigger.branch}$"
        return len(self.proxy.requests_to("GET", path))

    async def polled(self, rounds: int = 2) -> None:
        """Until the shared poll has read the head ``rounds`` more times: what was there is seen."""
        target = self.head_reads() + rounds

        async def reads() -> None:
            while self.head_reads() < target:
                self._raise_if_ended()
                await asyncio.sleep(INTERVAL / 4)

        await asyncio.wait_for(reads(), 30)

    async def next(self, timeout: float = 30) -> dict[str, Any]:
        self._raise_if_ended()
        return await asyncio.wait_for(self.events.get(), timeout)

    async def take(self, count: int) -> list[str]:
        return [(await self.next())["commit_id"] for _ in range(count)]

    async def assert_quiet(self) -> None:
        await asyncio.sleep(QUIET)
        self._raise_if_ended()
        assert self.events.empty(), f"unexpected events: {self._drain()}"

    def _drain(self) -> list[dict[str, Any]]:
        drained = []
        while not self.events.empty():
            drained.append(self.events.get_nowait())
        return drained

    def _raise_if_ended(self) -> None:
        if self.task.done():
            self.task.result()  # raises what ended it
            raise AssertionError("the trigger's run() ended; a watcher never ends")

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@contextlib.asynccontextmanager
async def watching(proxy: FaultProxy, *triggers: LakeFSCommitEventTrigger) -> AsyncIterator[list[Watch]]:
    watches = [Watch(trigger, proxy) for trigger in triggers]
    try:
        yield watches
    finally:
        for watch in watches:
            await watch.stop()


def trigger(repo: lakefs.Repository, branch: str = "main", **kwargs: Any) -> LakeFSCommitEventTrigger:
    return LakeFSCommitEventTrigger(repo=repo.id, branch=branch, poke_interval=INTERVAL, **kwargs)


async def commit(repo: lakefs.Repository, branch: str, *paths: str) -> str:
    def write() -> str:
        target = repo.branch(branch)
        for path in paths:
            target.object(path).upload(data=f"{path} {id(target)}".encode())
        return str(target.commit(message=f"add {', '.join(paths)}").get_commit().id)

    return await asyncio.to_thread(write)


async def publish(repo: lakefs.Repository, source: str, target: str = "main") -> str:
    return await asyncio.to_thread(lambda: str(repo.branch(source).merge_into(repo.branch(target), message="publish")))


async def branch_from(repo: lakefs.Repository, name: str, source: str) -> None:
    await asyncio.to_thread(lambda: repo.branch(name).create(source_reference=source))


async def move_branch(lakefs_server: ServerAccess, repo: lakefs.Repository, branch: str, ref: str) -> None:
    """Point ``branch`` at ``ref``, whatever its history (lakeFS's hard reset)."""
    configuration = Configuration(
        host=f"{lakefs_server.endpoint}/api/v1",
        username=lakefs_server.access_key_id,
        password=lakefs_server.secret_access_key,
    )

    def reset() -> None:
        with ApiClient(configuration) as client:
            ExperimentalApi(client).hard_reset_branch(repo.id, branch, ref, force=True)

    await asyncio.to_thread(reset)


# ----- one event per commit ---------------------------------------------------------------


@pytest.mark.asyncio
async def test_no_event_for_the_head_already_there_nor_without_commits(proxied_conn_id, proxy, repo) -> None:
    await commit(repo, "main", "curated/old.csv")
    async with watching(proxy, trigger(repo)) as (watch,):
        await watch.polled(3)
        await watch.assert_quiet()


@pytest.mark.asyncio
async def test_each_commit_fires_exactly_once(proxied_conn_id, proxy, repo) -> None:
    base = repo.branch("main").get_commit().id
    async with watching(proxy, trigger(repo)) as (watch,):
        await watch.polled()

        first = await commit(repo, "main", "curated/a.csv")
        event = await watch.next()
        assert event["commit_id"] == first
        assert event["parent_commit_id"] == base
        assert event["repository"] == repo.id
        assert event["branch"] == "main"
        assert event["merge"] is False
        assert event["message"] == "add curated/a.csv"
        assert event["creation_date"].endswith("+00:00")
        await watch.assert_quiet()  # the head stays at `first`: never a second event for it

        second = await commit(repo, "main", "curated/b.csv")
        assert await watch.take(1) == [second]
        await watch.assert_quiet()


@pytest.mark.asyncio
async def test_commits_landing_between_two_polls_fire_one_event_each_oldest_first(proxied_conn_id, proxy, repo):
    slow = LakeFSCommitEventTrigger(repo=repo.id, branch="main", poke_interval=4.0)
    async with watching(proxy, slow) as (watch,):
        await watch.polled(1)
        await asyncio.sleep(0.5)  # the baseline is taken; the next poll is 3.5 s away
        landed = [await commit(repo, "main", f"curated/{n}.csv") for n in range(3)]

        assert await watch.take(3) == landed
        await asyncio.sleep(5)
        assert watch.events.empty()


@pytest.mark.asyncio
async def test_events_of_one_burst_are_fired_one_per_poll(proxied_conn_id, proxy, repo) -> None:
    """Airflow makes one run per queued asset: an event handed over while the asset is still
    queued waits for the next event's run. One event per poll gives the scheduler a loop for each."""
    paced = LakeFSCommitEventTrigger(repo=repo.id, branch="main", poke_interval=1.0)
    async with watching(proxy, paced) as (watch,):
        await watch.polled(1)
        await asyncio.sleep(0.2)
        landed = [await commit(repo, "main", f"curated/{n}.csv") for n in range(3)]
        arrivals = []
        for _ in landed:
            await watch.next()
            arrivals.append(asyncio.get_running_loop().time())
    assert min(later - earlier for earlier, later in itertools.pairwise(arrivals)) > 0.5


@pytest.mark.asyncio
async def test_a_publish_is_one_event_for_its_merge_commit_not_one_per_run_commit(proxied_conn_id, proxy, repo):
    await branch_from(repo, "run-1", "main")
    async with watching(proxy, trigger(repo)) as (watch,):
        await watch.polled()
        await commit(repo, "run-1", "curated/a.csv")
        await commit(repo, "run-1", "curated/b.csv")
        await watch.assert_quiet()  # commits on another branch are not commits on main

        merge = await publish(repo, "run-1")
        event = await watch.next()
        assert (event["commit_id"], event["merge"]) == (merge, True)
        await watch.assert_quiet()


# ----- prefixes ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_only_commits_touching_the_prefixes_fire_merge_commits_included(proxied_conn_id, proxy, repo) -> None:
    await branch_from(repo, "raw-run", "main")
    await branch_from(repo, "curated-run", "main")
    async with watching(proxy, trigger(repo, prefixes=["curated/"]), trigger(repo)) as (curated, everything):
        await curated.polled()

        raw_only = await commit(repo, "main", "raw/a.csv")
        assert await everything.take(1) == [raw_only]
        await commit(repo, "raw-run", "raw/b.csv")
        raw_publish = await publish(repo, "raw-run")
        assert await everything.take(1) == [raw_publish]

        await commit(repo, "curated-run", "curated/report.csv")
        curated_publish = await publish(repo, "curated-run")
        direct = await commit(repo, "main", "curated/direct.csv", "raw/c.csv")

        assert await everything.take(2) == [curated_publish, direct]
        assert await curated.take(2) == [curated_publish, direct]
        await curated.assert_quiet()


@pytest.mark.asyncio
async def test_a_prefix_is_a_plain_string_prefix_as_lakefs_filters(proxied_conn_id, proxy, repo) -> None:
    async with watching(proxy, trigger(repo, prefixes=["curated"])) as (watch,):
        await watch.polled()
        touching = await commit(repo, "main", "curated_v2/a.csv")
        assert await watch.take(1) == [touching]


# ----- a branch moved by hand -------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_reset_backwards_fires_nothing_and_later_commits_fire(
    proxied_conn_id, proxy, repo, lakefs_server
) -> None:
    base = repo.branch("main").get_commit().id
    async with watching(proxy, trigger(repo)) as (watch,):
        await watch.polled()
        first = await commit(repo, "main", "curated/a.csv")
        assert await watch.take(1) == [first]

        await move_branch(lakefs_server, repo, "main", base)
        await watch.polled(2)
        await watch.assert_quiet()

        again = await commit(repo, "main", "curated/b.csv")
        assert await watch.take(1) == [again]
        await watch.assert_quiet()


@pytest.mark.asyncio
async def test_moved_onto_another_history_fires_the_commits_after_the_common_ancestor(
    proxied_conn_id, proxy, repo, lakefs_server
) -> None:
    await branch_from(repo, "rewrite", "main")
    async with watching(proxy, trigger(repo)) as (watch,):
        await watch.polled()
        abandoned = await commit(repo, "main", "curated/a.csv")
        assert await watch.take(1) == [abandoned]
        rewritten = [await commit(repo, "rewrite", f"curated/{n}.csv") for n in range(2)]

        await move_branch(lakefs_server, repo, "main", "rewrite")
        assert await watch.take(2) == rewritten
        await watch.assert_quiet()


@pytest.mark.asyncio
async def test_a_missing_branch_is_waited_for_and_its_first_head_is_the_baseline(proxied_conn_id, proxy, repo):
    async with watching(proxy, trigger(repo, branch="later")) as (watch,):
        await watch.polled(3)
        await branch_from(repo, "later", "main")
        await watch.polled(2)
        await watch.assert_quiet()  # the branch's first head is where the watch starts

        landed = await commit(repo, "later", "curated/a.csv")
        assert await watch.take(1) == [landed]


@pytest.mark.asyncio
async def test_lakefs_failing_for_a_while_never_ends_the_watch_nor_loses_a_commit(proxied_conn_id, proxy, repo):
    async with watching(proxy, trigger(repo)) as (watch,):
        await watch.polled()
        proxy.inject("GET", rf"/repositories/{repo.id}/branches/main$", 503, times=1000)  # past every retry
        landed = await commit(repo, "main", "curated/a.csv")
        await asyncio.sleep(QUIET)
        assert watch.events.empty()
        proxy.disarm()

        assert await watch.take(1) == [landed]


# ----- restarts: Airflow makes a new trigger from serialize() -----------------------------


def recreated(original: LakeFSCommitEventTrigger) -> LakeFSCommitEventTrigger:
    """What a triggerer runs after a restart: the class at the classpath, called with the kwargs."""
    classpath, kwargs = original.serialize()
    module, _, name = classpath.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    copy = cls(**json.loads(json.dumps(kwargs)))
    assert isinstance(copy, LakeFSCommitEventTrigger)
    return copy


@pytest.mark.asyncio
async def test_a_recreated_trigger_never_fires_again_for_a_commit_fired_before(proxied_conn_id, proxy, repo) -> None:
    first_run = trigger(repo, prefixes=["curated/"])
    async with watching(proxy, first_run) as (watch,):
        await watch.polled()
        fired = await commit(repo, "main", "curated/a.csv")
        assert await watch.take(1) == [fired]

    async with watching(proxy, recreated(first_run)) as (watch,):
        await watch.polled(3)
        await watch.assert_quiet()
        later = await commit(repo, "main", "curated/b.csv")
        assert await watch.take(1) == [later]


class AssetStateStoreStandIn:
    """The two methods of Airflow 3.3's asset state store accessor a watcher uses, kept in a dict
    that outlives the trigger, as the metadata database does."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    async def aget(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = value


@pytest.mark.asyncio
async def test_with_an_asset_state_store_a_restart_resumes_after_the_last_commit_handled(
    proxied_conn_id, proxy, repo
) -> None:
    store = AssetStateStoreStandIn()
    first_run = trigger(repo)
    first_run.asset_state_store = store  # type: ignore[assignment]  # as the triggerer injects it
    async with watching(proxy, first_run) as (watch,):
        await watch.polled()
        fired = await commit(repo, "main", "curated/a.csv")
        assert await watch.take(1) == [fired]
        await watch.polled()
    assert store.values == {first_run.state_key(): fired}

    while_down = [await commit(repo, "main", f"curated/{n}.csv") for n in range(2)]
    second_run = recreated(first_run)
    second_run.asset_state_store = store  # type: ignore[assignment]
    async with watching(proxy, second_run) as (watch,):
        assert await watch.take(2) == while_down
        await watch.assert_quiet()
    assert store.values == {first_run.state_key(): while_down[-1]}


@pytest.mark.asyncio
async def test_a_stored_commit_that_no_longer_exists_restarts_the_watch_from_the_head(
    proxied_conn_id, proxy, repo
) -> None:
    store = AssetStateStoreStandIn()
    watcher = trigger(repo)
    store.values[watcher.state_key()] = "f" * 64  # say, from a repository deleted and made again
    watcher.asset_state_store = store  # type: ignore[assignment]
    async with watching(proxy, watcher) as (watch,):
        await watch.polled(3)
        await watch.assert_quiet()
        landed = await commit(repo, "main", "curated/a.csv")
        assert await watch.take(1) == [landed]


# ----- sharing ----------------------------------------------------------------------------


def log_reads(proxy: FaultProxy) -> int:
    return len(proxy.requests_to("GET", r"/refs/[^/]+/commits"))


@pytest.mark.asyncio
async def test_many_watchers_of_one_branch_share_one_head_read_and_one_look_per_question(
    proxied_conn_id, proxy, repo
) -> None:
    plain = [trigger(repo) for _ in range(20)]
    curated = [trigger(repo, prefixes=["curated/"]) for _ in range(20)]
    async with watching(proxy, *plain, *curated) as watches:
        await asyncio.sleep(10 * INTERVAL)
        assert active_polls() == [("head_if_any", repo.id, "main")]
        reads = watches[0].head_reads()
        assert 5 <= reads <= 12  # about one per interval; unshared, 40 per interval
        assert log_reads(proxy) == 0  # the head never moved: no log read

        landed = await commit(repo, "main", "curated/a.csv")
        for watch in watches:
            assert await watch.take(1) == [landed]
        # Two questions (no prefix; 'curated/'), one log read each; the prefix check one diff.
        assert log_reads(proxy) == 2
        assert len(proxy.requests_to("GET", r"/refs/[^/]+/diff/")) == 1
    assert active_polls() == []


# ----- what Airflow stores ----------------------------------------------------------------


def test_serialize_names_the_connection_never_its_secret(lakefs_conn_id, lakefs_server) -> None:
    original = LakeFSCommitEventTrigger(repo="orders", branch="main", prefixes=["curated/"], poke_interval=30)
    classpath, kwargs = original.serialize()
    assert classpath == "lakefs_provider.triggers.commit_event_trigger.LakeFSCommitEventTrigger"
    assert kwargs == {
        "repo": "orders",
        "branch": "main",
        "prefixes": ["curated/"],
        "lakefs_conn_id": "lakefs_default",
        "poke_interval": 30.0,
    }
    shown = json.dumps(kwargs) + repr(original)
    assert lakefs_server.secret_access_key not in shown
    assert lakefs_server.endpoint not in shown
    assert recreated(original).serialize() == (classpath, kwargs)


def test_watchers_with_equal_arguments_are_one_trigger_to_airflow() -> None:
    from airflow.triggers.base import BaseEventTrigger

    one = LakeFSCommitEventTrigger(repo="orders", branch="main", prefixes=["curated/"]).serialize()
    same = LakeFSCommitEventTrigger(repo="orders", branch="main", prefixes=("curated/",)).serialize()
    other = LakeFSCommitEventTrigger(repo="orders", branch="main").serialize()
    assert BaseEventTrigger.hash(*one) == BaseEventTrigger.hash(*same)
    assert BaseEventTrigger.hash(*one) != BaseEventTrigger.hash(*other)


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"repo": "Orders", "branch": "main"}, "invalid repository name 'Orders'"),
        ({"repo": "orders", "branch": "feature/x"}, "invalid branch name 'feature/x'"),
        ({"repo": "orders", "branch": "main", "prefixes": ["raw//"]}, "prefixes"),
        ({"repo": "orders", "branch": "main", "prefixes": [3]}, "prefixes"),
        ({"repo": "orders", "branch": "main", "poke_interval": 0}, "poke_interval must be a positive number"),
        ({"repo": "orders", "branch": "main", "lakefs_conn_id": ""}, "lakefs_conn_id must be a connection id"),
    ],
)
def test_bad_arguments_fail_when_the_dag_is_parsed(arguments: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=re.escape(named)):
        LakeFSCommitEventTrigger(**arguments)


def test_a_single_string_of_prefixes_is_one_prefix() -> None:
    assert LakeFSCommitEventTrigger(repo="orders", branch="main", prefixes="curated/").prefixes == ["curated/"]


@pytest.mark.asyncio
async def test_a_missing_connection_ends_the_watch_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_LAKEFS_NOWHERE", raising=False)
    watcher = LakeFSCommitEventTrigger(repo="orders", branch="main", lakefs_conn_id="lakefs_nowhere")
    with pytest.raises(BadInputError, match="lakefs_nowhere"):
        async for _ in watcher.run():
            pass


# ----- what Airflow makes of the events: DAG runs -------------------------------------------

EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "lakefs_main_watcher.py"


class AirflowOfTheExample:
    """The example DAG as Airflow's own components see it, driven in this process: the DAG
    processor's write of the parsed file, the watcher trigger the triggerer would run (made from
    the stored row), the triggerer's hand-over of an event, and the scheduler's making of runs."""

    def __init__(self, repo: lakefs.Repository) -> None:
        from airflow.dag_processing.bundles.manager import DagBundlesManager
        from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
        from airflow.models.asset import AssetModel
        from airflow.models.dag import DagModel
        from airflow.utils.session import create_session

        self.dag = load_dag(EXAMPLE, "lakefs_main_watcher")
        manager = DagBundlesManager()
        with create_session() as session:
            manager.sync_bundles_to_db(session=session)
        bundle = manager.get_bundle("dags-folder")
        bag = BundleDagBag(
            dag_folder=str(AIRFLOW_DAGS_FOLDER / EXAMPLE.name), bundle_path=bundle.path, bundle_name=bundle.name
        )
        sync_bag_to_db(bag, bundle.name, None)
        # Unpaused, as a user does: only then are its assets' watchers given triggers, at the next parse.
        with create_session() as session:
            session.execute(update(DagModel).where(DagModel.dag_id == self.dag.dag_id).values(is_paused=False))
        sync_bag_to_db(bag, bundle.name, None)
        with create_session() as session:
            asset = session.scalars(
                select(AssetModel).where(AssetModel.uri == f"lakefs://{repo.id}/main/curated")
            ).one()
            (self.trigger_row,) = asset.triggers
            self.trigger_id = self.trigger_row.id
            self.classpath, self.kwargs = self.trigger_row.classpath, self.trigger_row.kwargs

    def watcher(self) -> LakeFSCommitEventTrigger:
        """What the triggerer runs: the stored class path called with the stored arguments."""
        from airflow.serialization.decoders import smart_decode_trigger_kwargs

        module, _, name = self.classpath.rpartition(".")
        cls = getattr(importlib.import_module(module), name)
        made = cls(**{key: smart_decode_trigger_kwargs(value) for key, value in self.kwargs.items()})
        assert isinstance(made, LakeFSCommitEventTrigger)
        return made

    def hand_over(self, payload: dict[str, Any]) -> None:
        """The triggerer's supervisor storing one event of the trigger."""
        from airflow.models.trigger import Trigger
        from airflow.triggers.base import TriggerEvent
        from airflow.utils.session import create_session

        with create_session() as session:
            Trigger.submit_event(self.trigger_id, TriggerEvent(payload), session=session)

    def schedule(self) -> list[Any]:
        """One scheduler loop's run creation; returns the DAG's runs, oldest first, with their events."""
        from airflow.jobs.job import Job
        from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
        from airflow.models.dagrun import DagRun
        from airflow.utils.session import create_session
        from airflow.utils.sqlalchemy import prohibit_commit

        with create_session() as session, prohibit_commit(session) as guard:
            SchedulerJobRunner(job=Job())._create_dagruns_for_dags(guard, session)
        with create_session() as session:
            runs = session.scalars(
                select(DagRun).where(DagRun.dag_id == "lakefs_main_watcher").order_by(DagRun.id)
            ).all()
            return [[event.extra["payload"]["commit_id"] for event in run.consumed_asset_events] for run in runs]

    def run_task(self, position: int) -> Any:
        """Run the example's task in the DAG's ``position``-th run, in process as ``dag.test()`` runs tasks;
        returns what it pushed as XCom."""
        from uuid import UUID

        from airflow.models.dagrun import DagRun
        from airflow.models.taskinstance import TaskInstance
        from airflow.sdk.api.datamodels._generated import TaskInstance as TaskInstanceSDK
        from airflow.sdk.execution_time.supervisor import run_task_in_process
        from airflow.utils.session import create_session
        from airflow.utils.state import TaskInstanceState

        with create_session() as session:
            run = session.scalars(
                select(DagRun).where(DagRun.dag_id == "lakefs_main_watcher").order_by(DagRun.id)
            ).all()[position]
            ti = session.scalars(
                select(TaskInstance).where(TaskInstance.run_id == run.run_id, TaskInstance.dag_id == run.dag_id)
            ).one()
            ti.try_number += 1
            ti.state = TaskInstanceState.QUEUED
            session.flush()
            sdk_ti = TaskInstanceSDK(
                id=UUID(str(ti.id)),
                task_id=ti.task_id,
                dag_id=ti.dag_id,
                run_id=ti.run_id,
                try_number=ti.try_number,
                map_index=ti.map_index,
                dag_version_id=UUID(str(ti.dag_version_id)),
            )
        result = run_task_in_process(ti=sdk_ti, task=self.dag.task_dict[sdk_ti.task_id])
        assert getattr(result.ti.state, "value", None) == "success", result
        return xcom(run, sdk_ti.task_id)


@pytest.fixture
def example_in_dags_folder() -> Iterator[None]:
    """The example's copy in the session's DAGs folder is gone after the test: later parses skip it."""
    yield
    (AIRFLOW_DAGS_FOLDER / EXAMPLE.name).unlink(missing_ok=True)


@pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="drives Airflow 3.3's scheduler and DAG processor internals")
def test_each_commit_on_main_is_one_run_of_the_watching_dag(
    airflow_db, lakefs_conn_id, repo, example_in_dags_folder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEFS_WAP_DEMO_REPO", repo.id)
    airflow = AirflowOfTheExample(repo)
    assert airflow.kwargs["prefixes"] == ["curated/"]

    async def watch_and_hand_over() -> list[str]:
        events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        watcher = airflow.watcher()
        watcher.poke_interval = INTERVAL  # the example polls every 30 s

        async def collect() -> None:
            async for event in watcher.run():
                await events.put(event.payload)

        task = asyncio.create_task(collect())
        try:
            await asyncio.sleep(QUIET)
            assert await asyncio.to_thread(airflow.schedule) == []  # no commit, no run
            first = await commit(repo, "main", "curated/a.csv")
            await commit(repo, "main", "raw/not-watched.csv")
            airflow.hand_over(await asyncio.wait_for(events.get(), 30))
            assert await asyncio.to_thread(airflow.schedule) == [[first]]
            second = await commit(repo, "main", "curated/b.csv")
            airflow.hand_over(await asyncio.wait_for(events.get(), 30))
            await asyncio.sleep(QUIET)
            assert events.empty()
            runs = await asyncio.to_thread(airflow.schedule)
            assert runs == [[first], [second]]
            assert await asyncio.to_thread(airflow.schedule) == runs  # nothing new, no run

            # Commits landing together reach Airflow one poll apart: one run each.
            together = [await commit(repo, "main", f"curated/{n}.csv") for n in range(2)]
            airflow.hand_over(await asyncio.wait_for(events.get(), 30))
            await asyncio.to_thread(airflow.schedule)
            airflow.hand_over(await asyncio.wait_for(events.get(), 30))
            assert await asyncio.to_thread(airflow.schedule) == [[first], [second], together[:1], together[1:]]
            return [first, second]
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    first, second = asyncio.run(watch_and_hand_over())

    # The example's task reads the commit from its triggering event and lists curated/ at it.
    (at_first,) = airflow.run_task(0)
    (at_second,) = airflow.run_task(1)
    assert (at_first["commit_id"], at_first["objects"]) == (first, 1)
    assert (at_second["commit_id"], at_second["objects"]) == (second, 2)
    assert 0 < at_first["bytes"] < at_second["bytes"]
