"""The write-audit-publish lifecycle against the real server: every step
repeated converges, a fresh process recovers the state, conflicts and hook
rejections leave main untouched."""

from __future__ import annotations

import json

import lakefs
import pytest

from lakefs_wap import (
    GateFailedError,
    HookRejectedError,
    MergeConflictError,
    NoDeletions,
    RunBranch,
    RunState,
    RunStateError,
    TableRowCount,
    find_published_run,
    objects,
    revert_published_run,
)
from lakefs_wap.run_branch import KEY_KIND, KEY_RUN_ID, KEY_RUN_KEY

RUN_ID = "manual__2026-11-22T10:00:00+00:00"


def head_of(repo: lakefs.Repository, branch: str = "main") -> str:
    return str(repo.branch(branch).get_commit().id)


def read(repo: lakefs.Repository, ref: str, path: str) -> bytes:
    data = repo.ref(ref).object(path).reader(mode="rb").read()
    assert isinstance(data, bytes)
    return data


@pytest.fixture
def run(connection, repo) -> RunBranch:
    return RunBranch(connection, repo.id, RUN_ID)


def write(run: RunBranch, path: str, data: bytes) -> None:
    objects.upload(run.connection, run.repository, run.branch, path, data)


def test_full_lifecycle_with_every_step_repeated(run: RunBranch, repo) -> None:
    main_before = head_of(repo)
    assert run.status().state is RunState.ABSENT

    assert run.open() == main_before
    assert run.open() == main_before
    assert run.status().state is RunState.OPEN

    write(run, "raw/orders.csv", b"id,amount\n1,2.5\n2,3.0\n")
    first = run.commit("ingest orders", {"source": "test"})
    second = run.commit("ingest orders", {"source": "test"})
    assert first.id == second.id
    assert run.status().state is RunState.COMMITTED
    assert head_of(repo) == main_before  # nothing is visible on main yet

    gates = [NoDeletions(), TableRowCount(min_rows=2)]
    report = run.gate(gates)
    again = run.gate(gates)
    assert report.passed
    assert again.passed
    gate_commits = [c for c in repo.branch(run.branch).log() if (c.metadata or {}).get(KEY_KIND) == "gates"]
    assert len(gate_commits) == 1
    status = run.status()
    assert status.state is RunState.GATED
    assert status.gates_passed is True

    merge_id = run.publish()
    assert run.publish() == merge_id
    assert head_of(repo) == merge_id
    merge = repo.commit(merge_id).get_commit()
    assert merge.metadata[KEY_RUN_KEY] == run.run_key
    assert merge.metadata[KEY_RUN_ID] == RUN_ID
    assert merge.metadata["lakefs_wap.gates_passed"] == "true"
    assert [g["name"] for g in json.loads(merge.metadata["lakefs_wap.gates"])] == ["no_deletions", "table_row_count"]
    assert read(repo, "main", "raw/orders.csv") == b"id,amount\n1,2.5\n2,3.0\n"
    publishes = [c for c in repo.branch("main").log() if (c.metadata or {}).get(KEY_KIND) == "publish"]
    assert len(publishes) == 1
    assert run.status().state is RunState.PUBLISHED

    assert run.discard() is True
    assert run.discard() is False
    status = run.status()
    assert status.state is RunState.PUBLISHED
    assert status.merge_commit == merge_id


def test_a_new_process_recovers_the_run_from_lakefs_alone(connection, repo) -> None:
    first_process = RunBranch(connection, repo.id, RUN_ID)
    base = first_process.open()
    write(first_process, "raw/a.csv", b"x\n1\n")
    run_commit = first_process.commit("ingest").id
    main_moved = _commit_on_main(repo, "other/b.txt", b"someone else's publish")

    # The first process crashed; the retry builds everything again from the run id.
    recovered = RunBranch(connection, repo.id, RUN_ID)
    status = recovered.status()
    assert status.state is RunState.COMMITTED
    assert status.base_commit == base != main_moved
    assert status.run_commit == run_commit
    assert recovered.open() == base
    assert recovered.commit("ingest").id == run_commit
    recovered.gate([TableRowCount(min_rows=1)])
    RunBranch(connection, repo.id, RUN_ID).publish()
    assert read(repo, "main", "raw/a.csv") == b"x\n1\n"
    assert read(repo, "main", "other/b.txt") == b"someone else's publish"


def test_racing_opens_of_one_run_agree(connection, repo) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def open_in_a_worker(_: int) -> tuple[str, str]:
        run = RunBranch(connection, repo.id, RUN_ID)  # each worker builds its own, as step processes do
        return run.branch, run.open()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = set(pool.map(open_in_a_worker, range(16)))
    assert len(results) == 1
    ((branch, base),) = results
    assert base == head_of(repo)
    assert sorted(b.id for b in repo.branches()) == sorted(["main", branch])


def test_publish_needs_passing_gates_by_default(run: RunBranch, repo) -> None:
    run.open()
    write(run, "raw/a.csv", b"x\n")
    run.commit()
    with pytest.raises(RunStateError, match="not gated"):
        run.publish()
    with pytest.raises(GateFailedError) as raised:
        run.gate([TableRowCount(min_rows=5), NoDeletions()])
    assert [r.name for r in raised.value.results if not r.passed] == ["table_row_count"]
    assert "raw/a.csv' has 0 rows, fewer than 5" in str(raised.value)
    assert run.status().gates_passed is False
    with pytest.raises(RunStateError, match="its gates failed"):
        run.publish()
    assert [c.message for c in repo.branch("main").log()] == ["Repository created"]


def test_gating_refuses_uncommitted_changes(run: RunBranch) -> None:
    run.open()
    write(run, "raw/a.csv", b"x\n1\n")
    run.commit()
    write(run, "raw/b.csv", b"x\n1\n")
    with pytest.raises(RunStateError, match="uncommitted changes"):
        run.gate([NoDeletions()])


def test_failed_run_keeps_branch_marked_and_rerun_publishes_once(run: RunBranch, repo, connection) -> None:
    main_before = head_of(repo)
    run.open()
    write(run, "raw/orders.csv", b"id\n")
    run.commit()
    with pytest.raises(GateFailedError):
        run.gate([TableRowCount(min_rows=1)])
    marker = run.mark_failed("table_row_count: raw/orders.csv has 0 rows")
    assert run.mark_failed("table_row_count: raw/orders.csv has 0 rows") == marker
    status = run.status()
    assert status.state is RunState.FAILED
    assert status.reason == "table_row_count: raw/orders.csv has 0 rows"
    assert head_of(repo) == main_before

    rerun = RunBranch(connection, repo.id, RUN_ID)
    assert rerun.open() == main_before
    write(rerun, "raw/orders.csv", b"id\n1\n2\n")
    rerun.commit()
    rerun.gate([TableRowCount(min_rows=1)])
    merge_id = rerun.publish()
    assert rerun.publish() == merge_id
    assert read(repo, "main", "raw/orders.csv") == b"id\n1\n2\n"
    assert len([c for c in repo.branch("main").log() if (c.metadata or {}).get(KEY_KIND) == "publish"]) == 1


def test_two_runs_on_the_same_path_conflict_and_main_keeps_the_first(connection, repo) -> None:
    first = RunBranch(connection, repo.id, "run-one")
    second = RunBranch(connection, repo.id, "run-two")
    for run, data in ((first, b"first"), (second, b"second")):
        run.open()
        write(run, "curated/daily.parquet", data)
        write(run, f"raw/{run.run_id}.csv", data)
        run.commit()
        run.gate([])
    first_merge = first.publish()
    second_head = head_of(repo, second.branch)

    with pytest.raises(MergeConflictError) as raised:
        second.publish()
    error = raised.value
    assert error.conflicting_paths == ["curated/daily.parquet"]
    assert error.total_conflicts == 1
    assert "'curated/daily.parquet'" in str(error)
    assert "Neither branch was changed" in str(error)
    assert head_of(repo) == first_merge
    assert head_of(repo, second.branch) == second_head
    assert read(repo, "main", "curated/daily.parquet") == b"first"
    assert second.status().state is RunState.GATED


def test_failing_lua_pre_merge_hook_is_hook_rejected_with_its_output(connection, repo) -> None:
    action = (
        "name: sign-off required\n"
        "on:\n  pre-merge:\n    branches: [main]\n"
        "hooks:\n  - id: require_sign_off\n    type: lua\n    properties:\n      script: |\n"
        "        error('curated data needs a sign-off from the data owner')\n"
    )
    _commit_on_main(repo, "_lakefs_actions/sign_off.yaml", action.encode())
    run = RunBranch(connection, repo.id, RUN_ID)
    run.open()
    write(run, "curated/x.csv", b"a\n1\n")
    run.commit()
    run.gate([])
    main_before = head_of(repo)

    with pytest.raises(HookRejectedError) as raised:
        run.publish()
    error = raised.value
    assert error.status == 412
    assert error.action_run_id
    assert [h.hook_id for h in error.failed_hooks] == ["require_sign_off"]
    assert "needs a sign-off from the data owner" in error.failed_hooks[0].output
    assert "needs a sign-off from the data owner" in str(error)
    assert head_of(repo) == main_before


def test_revert_restores_main_and_is_idempotent(run: RunBranch, repo, connection) -> None:
    _commit_on_main(repo, "curated/daily.csv", b"v\nold\n")
    before = {o.path: read(repo, "main", o.path) for o in repo.branch("main").objects()}
    run.open()
    write(run, "curated/daily.csv", b"v\nnew\n")
    write(run, "curated/extra.csv", b"v\n1\n")
    run.commit()
    run.gate([])
    run.publish()
    assert read(repo, "main", "curated/daily.csv") == b"v\nnew\n"

    revert_id = run.revert()
    assert run.revert() == revert_id
    assert revert_published_run(connection, repo.id, "main", run.run_key) == revert_id
    after = {o.path: read(repo, "main", o.path) for o in repo.branch("main").objects()}
    assert after == before
    assert head_of(repo) == revert_id


def test_revert_newest_published_run_without_a_key(connection, repo) -> None:
    for run_id, data in (("r1", b"one"), ("r2", b"two")):
        run = RunBranch(connection, repo.id, run_id)
        run.open()
        write(run, "curated/value.txt", data)
        run.commit()
        run.gate([])
        run.publish()
    newest = find_published_run(connection, repo.id, "main")
    assert newest is not None
    assert (newest.metadata or {})[KEY_RUN_ID] == "r2"
    revert_published_run(connection, repo.id, "main")
    assert read(repo, "main", "curated/value.txt") == b"one"
    revert_published_run(connection, repo.id, "main")
    assert [o.path for o in repo.branch("main").objects()] == []


def test_revert_of_an_unpublished_run_says_so(run: RunBranch) -> None:
    with pytest.raises(RunStateError, match="nothing to revert"):
        run.revert()


def test_publish_into_another_target_with_squash(connection, repo) -> None:
    repo.branch("production").create(source_reference="main")
    run = RunBranch(connection, repo.id, RUN_ID, source_branch="main", target_branch="production")
    run.open()
    write(run, "curated/x.csv", b"a\n1\n")
    run.commit()
    run.gate([])
    merge_id = run.publish(squash_merge=True)
    assert run.publish(squash_merge=True) == merge_id
    assert len(repo.commit(merge_id).get_commit().parents) == 1
    assert head_of(repo, "production") == merge_id
    assert [o.path for o in repo.branch("main").objects()] == []
    run.revert()
    assert [o.path for o in repo.branch("production").objects()] == []


def test_rerunning_a_published_and_cleaned_up_run_converges(connection, repo) -> None:
    def whole_run() -> str:
        run = RunBranch(connection, repo.id, RUN_ID)
        run.open()
        write(run, "raw/orders.csv", b"id\n1\n")
        run.commit("ingest")
        run.gate([TableRowCount(min_rows=1)])
        merge_id = run.publish()
        run.discard()
        return merge_id

    first = whole_run()
    # The orchestrator runs everything again (a cleared DAG run, a re-executed job):
    # the new branch already holds the published data, so there is nothing to commit.
    assert whole_run() == first
    publishes = [c for c in repo.branch("main").log() if (c.metadata or {}).get(KEY_KIND) == "publish"]
    assert [c.id for c in publishes] == [first]
    assert head_of(repo) == first
    assert [b.id for b in repo.branches()] == ["main"]


def test_a_run_that_never_committed_can_be_marked_failed(run: RunBranch) -> None:
    run.open()
    run.mark_failed("the source system was down")
    status = run.status()
    assert status.state is RunState.FAILED
    assert status.reason == "the source system was down"


def test_mark_failed_without_branch_returns_none(run: RunBranch) -> None:
    assert run.mark_failed("never opened") is None


def _commit_on_main(repo: lakefs.Repository, path: str, data: bytes) -> str:
    main = repo.branch("main")
    main.object(path).upload(data=data)
    return main.commit(message=f"add {path}").get_commit().id
