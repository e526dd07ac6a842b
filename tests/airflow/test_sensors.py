"""Sensors and their deferrable triggers against the real lakeFS."""

from __future__ import annotations

import asyncio
import threading
import time

import lakefs
import pytest

from lakefs_provider.sensors.commit_sensor import CommitSensor, LakeFSCommitSensor
from lakefs_provider.sensors.file_sensor import FileSensor, LakeFSFileSensor
from lakefs_provider.triggers.commit_trigger import LakeFSCommitTrigger
from lakefs_provider.triggers.file_trigger import LakeFSFileTrigger
from lakefs_wap import BadInputError, NotFoundError
from tests.airflow.conftest import TEST_DAGS, run_dag, task_states, xcom


class LakeWriter(threading.Thread):
    """Writes to main while the DAG waits: a commit the sensor must ignore, one it
    must report, then a staged flag object."""

    def __init__(self, repo: lakefs.Repository) -> None:
        super().__init__(daemon=True)
        self.repo = repo
        self.curated_commit: str | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            deadline = time.monotonic() + 60
            while not self._marker_written():
                if time.monotonic() > deadline:
                    raise TimeoutError("the DAG never reached its sensors")
                time.sleep(0.2)
            time.sleep(3)  # past the first poke, and past lakeFS's one-second commit time resolution
            main = self.repo.branch("main")
            main.object("raw/ignored.csv").upload(data=b"x\n1\n")
            main.commit(message="outside curated/: not for this sensor")
            time.sleep(1.5)
            main.object("curated/report.csv").upload(data=b"x\n2\n")
            self.curated_commit = main.commit(message="curated report").get_commit().id
            time.sleep(2)
            main.object("landing/ready.flag").upload(data=b"")  # staged only, never committed
        except BaseException as error:  # reported by the test
            self.error = error

    def _marker_written(self) -> bool:
        try:
            self.repo.branch("markers").object("started").stat()
        except lakefs.exceptions.NotFoundException:
            return False
        return True


@pytest.mark.parametrize("mode", ["poke", "reschedule", "deferrable"])
def test_sensors_wait_for_a_curated_commit_and_a_staged_file(mode: str, airflow_db, lakefs_conn_id, repo) -> None:
    writer = LakeWriter(repo)
    writer.start()
    dag_run = run_dag(TEST_DAGS / "sensors_dag.py", f"lakefs_sensors_{mode}", run_conf={"repo": repo.id})
    writer.join(timeout=30)

    assert writer.error is None, writer.error
    assert task_states(dag_run) == {"started": "success", "wait_for_commit": "success", "wait_for_flag": "success"}
    assert xcom(dag_run, "wait_for_commit") == writer.curated_commit
    assert xcom(dag_run, "wait_for_flag") == "landing/ready.flag"


def test_incumbent_sensor_names_and_parameters_still_work() -> None:
    assert CommitSensor is LakeFSCommitSensor
    assert FileSensor is LakeFSFileSensor
    old_style = FileSensor(task_id="old", lakefs_conn_id="lakefs_default", repo="r", branch="dev", path="a.csv")
    assert old_style.ref == "dev"
    commit = CommitSensor(
        task_id="old_commit", lakefs_conn_id="lakefs_default", repo="r", branch="b", branch_exists=False
    )
    assert commit.branch_exists is False


def test_file_sensor_needs_exactly_one_of_path_and_prefix() -> None:
    with pytest.raises(BadInputError, match="exactly one of path= or prefix="):
        LakeFSFileSensor(task_id="both", repo="r", ref="main", path="a", prefix="b")


@pytest.mark.parametrize(
    "trigger",
    [
        LakeFSCommitTrigger(repo="r", branch="main", prev_commit_id="abc", prefixes=["curated/"], poke_interval=7.5),
        LakeFSCommitTrigger(repo="r", branch="main", prev_commit_id="abc", lakefs_conn_id="other"),
        LakeFSFileTrigger(repo="r", ref="main", path="a/b.csv", poke_interval=2),
        LakeFSFileTrigger(repo="r", ref="dev", prefix="landing/", lakefs_conn_id="other"),
    ],
)
def test_triggers_serialize_round_trip_exactly(trigger) -> None:
    import importlib

    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**kwargs)
    assert type(rebuilt) is type(trigger)
    assert rebuilt.serialize() == (classpath, kwargs)


async def first_event(trigger, timeout: float = 30):
    async def take():
        async for event in trigger.run():
            return event
        return None

    return await asyncio.wait_for(take(), timeout)


@pytest.mark.asyncio
async def test_commit_trigger_fires_after_a_commit_appears(lakefs_conn_id, repo) -> None:
    baseline = repo.branch("main").get_commit().id
    trigger = LakeFSCommitTrigger(repo=repo.id, branch="main", prev_commit_id=baseline, poke_interval=0.2)

    async def commit_later() -> str:
        await asyncio.sleep(1)

        def commit() -> str:
            main = repo.branch("main")
            main.object("curated/x.csv").upload(data=b"x")
            return str(main.commit(message="new data").get_commit().id)

        return await asyncio.to_thread(commit)

    event, new_commit = await asyncio.gather(first_event(trigger), commit_later())
    assert event.payload == {"status": "success", "value": new_commit}


@pytest.mark.asyncio
async def test_trigger_polls_do_not_block_the_event_loop(lakefs_conn_id, repo) -> None:
    trigger = LakeFSFileTrigger(repo=repo.id, ref="main", path="never.csv", poke_interval=0.05)
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    beat = asyncio.create_task(heartbeat())
    with pytest.raises(asyncio.TimeoutError):  # the builtin TimeoutError only from Python 3.11
        await first_event(trigger, timeout=1.0)
    beat.cancel()
    assert ticks > 50  # the loop kept running while lakeFS was polled


@pytest.mark.asyncio
async def test_trigger_reports_a_missing_repository_as_an_error_event(lakefs_conn_id) -> None:
    trigger = LakeFSFileTrigger(repo="no-such-repo", ref="main", path="a.csv", poke_interval=0.1)
    event = await first_event(trigger)
    assert event.payload["status"] == "error"
    assert "'no-such-repo'" in event.payload["message"]


@pytest.mark.asyncio
async def test_trigger_reports_a_missing_connection_as_an_error_event() -> None:
    trigger = LakeFSFileTrigger(repo="r", ref="main", path="a.csv", lakefs_conn_id="nowhere")
    event = await first_event(trigger)
    assert event.payload["status"] == "error"
    assert "Airflow connection 'nowhere' is not defined" in event.payload["message"]


def test_file_sensor_prefix_sees_staged_objects(lakefs_conn_id, repo) -> None:
    sensor = LakeFSFileSensor(task_id="prefix", repo=repo.id, ref="main", prefix="landing/")
    assert sensor.check({}) is None
    repo.branch("main").object("landing/part-0001.parquet").upload(data=b"x")
    assert sensor.check({}) == "landing/part-0001.parquet"


def test_commit_sensor_can_wait_for_a_branch_that_does_not_exist_yet(lakefs_conn_id, repo) -> None:
    waiting = LakeFSCommitSensor(task_id="later", repo=repo.id, branch="tomorrow", branch_exists=False)
    assert waiting.check({}) is None  # no branch yet: keep waiting
    branch = repo.branch("tomorrow").create(source_reference="main")
    assert waiting.check({}) is None  # first look records the head
    branch.object("a.csv").upload(data=b"a")
    new_commit = branch.commit(message="first data").get_commit().id
    assert waiting.check({}) == new_commit

    strict = LakeFSCommitSensor(task_id="strict", repo=repo.id, branch="never", branch_exists=True)
    with pytest.raises(NotFoundError, match="'never'"):
        strict.check({})
