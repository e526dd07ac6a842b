"""lakeFS killed while a Dagster run publishes: the run fails, lakeFS is restarted, the run is
re-executed from failure, and main gets exactly one publish."""

import lakefs
import pytest
from dagster import DagsterInstance, ReexecutionOptions, execute_job, reconstructable

from tests.crash_bed import CrashBed, crash_point
from tests.dagster import crash_defs
from tests.fault_proxy import CrashMode

KIND = "lakefs_wap.kind"


def publishes(repo: lakefs.Repository) -> list[lakefs.Commit]:
    return [c for c in repo.branch("main").log() if (c.metadata or {}).get(KIND) == "publish"]


@pytest.fixture
def bed(crash_bed: CrashBed, monkeypatch: pytest.MonkeyPatch) -> CrashBed:
    """The crash bed, in the environment tests/dagster/crash_defs.py reads its lakeFS settings from."""
    crash_bed.reset()
    access = crash_bed.access
    monkeypatch.setenv("TEST_LAKEFS_ENDPOINT", access.endpoint)
    monkeypatch.setenv("TEST_LAKEFS_ACCESS_KEY_ID", access.access_key_id)
    monkeypatch.setenv("TEST_LAKEFS_SECRET_ACCESS_KEY", access.secret_access_key)
    return crash_bed


@pytest.mark.parametrize("mode", list(CrashMode), ids=[m.value for m in CrashMode])
def test_lakefs_killed_during_publish_reexecution_publishes_once(
    bed: CrashBed, dagster_instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch, mode: CrashMode
) -> None:
    repo = bed.new_repository(f"dagster-crash-{mode.value}")
    monkeypatch.setenv("TEST_LAKEFS_REPOSITORY", repo.id)
    crash = bed.crash_at(crash_point("publish-merge"), mode)

    # Not entered as a context: that would set the resources up again, against a dead lakeFS.
    failed = execute_job(reconstructable(crash_defs.job), instance=dagster_instance, raise_on_error=False)
    assert not failed.success
    failed_steps = {e.step_key for e in failed.all_events if e.event_type_value == "STEP_FAILURE"}
    assert crash.hits == 1
    assert failed_steps == {"lakefs_publish"}

    bed.restart()  # the operator brings lakeFS back
    merged_before_the_crash = 1 if mode is CrashMode.ANSWER_LOST else 0
    assert len(publishes(repo)) == merged_before_the_crash
    options = ReexecutionOptions.from_failure(failed.run_id, dagster_instance)
    with execute_job(reconstructable(crash_defs.job), instance=dagster_instance, reexecution_options=options) as rerun:
        assert rerun.success
        assert dagster_instance.get_run_by_id(rerun.run_id).root_run_id == failed.run_id

    main = repo.branch("main")
    assert len(publishes(repo)) == 1, [(c.id, c.message) for c in publishes(repo)]
    assert main.object("dagster/orders.txt").reader(mode="r").read() == crash_defs.ORDERS
    assert [b.id for b in repo.branches()] == ["main"]
