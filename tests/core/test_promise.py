"""Attacks on the write-audit-publish promise, against the real server.

Each test is a way a run can go wrong while every step looks green: data
committed after the verdict, a re-run with new data, a run that changed
nothing, an outage while gating, a lost answer to a write, a revert that
takes another run's data with it. The end state must be what one clean run
would leave, and main must hold only data a passing gate judged.
"""

from __future__ import annotations

import lakefs
import pytest

from lakefs_wap import (
    ChangedSomething,
    GateFailedError,
    NoDeletions,
    RunBranch,
    RunState,
    RunStateError,
    ServerUnavailableError,
    objects,
)
from lakefs_wap.gates import GateContext
from lakefs_wap.keys import KEY_KIND, KEY_RUN_KEY
from tests.fault_proxy import FaultProxy


def write(run: RunBranch, path: str, data: bytes) -> None:
    objects.upload(run.connection, run.repository, run.branch, path, data)


def read(repo: lakefs.Repository, ref: str, path: str) -> bytes | None:
    try:
        data = repo.ref(ref).object(path).reader(mode="rb").read()
    except lakefs.exceptions.NotFoundException:
        return None
    assert isinstance(data, bytes)
    return data


def commits_of_kind(repo: lakefs.Repository, branch: str, kind: str, run_key: str | None = None) -> list[str]:
    return [
        c.id
        for c in repo.branch(branch).log()
        if (c.metadata or {}).get(KEY_KIND) == kind
        and (run_key is None or (c.metadata or {}).get(KEY_RUN_KEY) == run_key)
    ]


def run_through_gates(run: RunBranch, files: dict[str, bytes]) -> None:
    run.open()
    for path, data in files.items():
        write(run, path, data)
    run.commit("ingest")
    run.gate([NoDeletions()])


# ----- 1. publish exactly what was gated ------------------------------------------


def test_a_commit_after_the_verdict_is_not_published(connection, repo) -> None:
    run = RunBranch(connection, repo.id, "late-writer")
    run_through_gates(run, {"raw/a.csv": b"a\n1\n"})
    # a check task placed after run.commit writes and commits on the branch
    write(run, "raw/late.csv", b"ungated\n")
    run.commit("late write")
    main_before = repo.branch("main").get_commit().id
    with pytest.raises(RunStateError) as caught:
        run.publish()
    assert "after the gates" in str(caught.value)
    assert "gate" in str(caught.value).lower()
    assert repo.branch("main").get_commit().id == main_before
    assert read(repo, "main", "raw/late.csv") is None
    # gating again judges the late write too; then it publishes, all of it
    run.gate([NoDeletions()])
    run.publish()
    assert read(repo, "main", "raw/late.csv") == b"ungated\n"


def test_an_uncommitted_write_after_the_verdict_is_refused(connection, repo) -> None:
    run = RunBranch(connection, repo.id, "late-stager")
    run_through_gates(run, {"raw/a.csv": b"a\n1\n"})
    write(run, "raw/staged.csv", b"never gated\n")
    with pytest.raises(RunStateError, match="uncommitted"):
        run.publish()
    assert read(repo, "main", "raw/a.csv") is None


def test_publish_merges_the_gated_commit_not_the_branch_head(connection, repo) -> None:
    run = RunBranch(connection, repo.id, "exact")
    run_through_gates(run, {"raw/a.csv": b"a\n1\n"})
    merge_id = run.publish()
    merge = repo.commit(merge_id).get_commit()
    gated = merge.metadata["lakefs_wap.gated_commit"]
    assert gated in merge.parents


# ----- 2. re-runs never lose data -----------------------------------------------------


def test_rerun_of_a_published_run_with_new_data_publishes_it(connection, repo) -> None:
    run = RunBranch(connection, repo.id, "daily-2026-11-22")
    run_through_gates(run, {"raw/day.csv": b"v1\n"})
    first = run.publish()
    run.discard()  # cleanup after the first success

    # the orchestrator clears the run; it writes corrected data on the same run id
    rerun = RunBranch(connection, repo.id, "daily-2026-11-22")
    run_through_gates(rerun, {"raw/day.csv": b"v2 corrected\n"})
    second = rerun.publish()
    assert second != first
    assert read(repo, "main", "raw/day.csv") == b"v2 corrected\n"
    status = rerun.status()
    assert status.state is RunState.PUBLISHED
    assert status.merge_commit == second
    assert [p.merge_commit for p in status.publishes] == [first, second]
    # a retry of the same publish converges on the same merge
    assert rerun.publish() == second
    assert len(commits_of_kind(repo, "main", "publish", rerun.run_key)) == 2


def test_rerun_on_a_kept_branch_publishes_only_the_new_change(connection, repo) -> None:
    run = RunBranch(connection, repo.id, "kept")
    run_through_gates(run, {"raw/a.csv": b"1\n"})
    run.publish()
    write(run, "raw/b.csv", b"2\n")
    run.commit("second batch")
    report = run.gate([NoDeletions()])
    changed = [r for r in report.results]
    assert changed  # the gates ran on the new commit
    assert run.status().state is RunState.GATED
    run.publish()
    assert read(repo, "main", "raw/b.csv") == b"2\n"
    assert len(commits_of_kind(repo, "main", "publish", run.run_key)) == 2


def test_discard_never_deletes_unpublished_commits(connection, repo) -> None:
    run = RunBranch(connection, repo.id, "careful-cleanup")
    run_through_gates(run, {"raw/a.csv": b"1\n"})
    run.publish()
    write(run, "raw/new.csv", b"new\n")
    run.commit("new data after publish")
    with pytest.raises(RunStateError, match="not on 'main'"):
        run.discard(only_if_published=True)
    assert run.head() is not None


# ----- 3. nothing changed is a success ------------------------------------------------


def test_a_run_that_changed_nothing_ends_unchanged_without_a_merge(connection, repo) -> None:
    main_before = repo.branch("main").get_commit().id
    run = RunBranch(connection, repo.id, "quiet-day")
    run.open()
    run.commit("nothing new today")
    report = run.gate([NoDeletions()])
    assert report.passed
    result = run.publish()
    assert result == main_before
    assert repo.branch("main").get_commit().id == main_before
    assert run.status().state is RunState.UNCHANGED
    assert run.discard() is True
    assert run.status().state is RunState.UNCHANGED  # recorded in lakeFS, not in the branch


def test_identical_output_is_unchanged_too(connection, repo) -> None:
    seed = RunBranch(connection, repo.id, "seed")
    run_through_gates(seed, {"raw/a.csv": b"same\n"})
    seed.publish()
    again = RunBranch(connection, repo.id, "same-again")
    run_through_gates(again, {"raw/a.csv": b"same\n"})
    again.publish()
    assert again.status().state is RunState.UNCHANGED


def test_changed_something_fails_a_run_that_changed_nothing(connection, repo) -> None:
    run = RunBranch(connection, repo.id, "must-change")
    run.open()
    run.commit()
    with pytest.raises(GateFailedError):
        run.gate([ChangedSomething()])


# ----- 4. an outage is not a failed gate ----------------------------------------------


def test_an_outage_while_gating_propagates_and_records_no_verdict(proxied, proxy: FaultProxy, repo) -> None:
    run = RunBranch(proxied, repo.id, "outage")
    run.open()
    write(run, "raw/a.csv", b"1\n")
    run.commit("data")
    proxy.inject("GET", r"/diff", 503, times=50)
    with pytest.raises(ServerUnavailableError):
        run.gate([NoDeletions()])
    proxy.faults.clear()
    assert commits_of_kind(repo, run.branch, "gates") == []
    assert run.status().state is RunState.COMMITTED


def test_a_user_gate_hitting_an_outage_is_not_a_verdict(proxied, proxy: FaultProxy, repo) -> None:
    run = RunBranch(proxied, repo.id, "outage-user-gate")
    run.open()
    write(run, "raw/a.csv", b"1\n")
    run.commit("data")

    def reads_the_data(context: GateContext) -> bool:
        proxy.inject("GET", r"/objects", 503, times=50)
        return context.read_bytes("raw/a.csv") == b"1\n"

    with pytest.raises(ServerUnavailableError):
        run.gate([reads_the_data])
    proxy.faults.clear()
    assert commits_of_kind(repo, run.branch, "gates") == []


def test_a_user_gate_raising_its_own_error_is_a_failed_gate(connection, repo) -> None:
    run = RunBranch(connection, repo.id, "user-gate-raises")
    run.open()
    write(run, "raw/a.csv", b"1\n")
    run.commit("data")

    def broken(context: GateContext) -> bool:
        raise KeyError("column 'amount'")

    with pytest.raises(GateFailedError, match="amount"):
        run.gate([broken])
    assert run.status().state is RunState.GATED


# ----- 5. exactly once after a lost answer --------------------------------------------


@pytest.mark.parametrize("request_pattern", [r"/branches/[^/]+/commits$", r"/merge/"])
def test_a_write_whose_answer_was_lost_is_not_repeated(proxied, proxy: FaultProxy, repo, request_pattern) -> None:
    run = RunBranch(proxied, repo.id, "lost-answer")
    run.open()
    write(run, "raw/a.csv", b"1\n")
    run.commit("data")
    proxy.inject_lost_answer("POST", request_pattern, times=1)
    run.gate([NoDeletions()])
    run.publish()
    assert len(commits_of_kind(repo, "main", "publish", run.run_key)) == 1
    assert len(commits_of_kind(repo, run.branch, "gates", run.run_key)) == 1


def test_squash_publish_with_a_lost_answer_merges_once(proxied, proxy: FaultProxy, repo) -> None:
    run = RunBranch(proxied, repo.id, "lost-squash")
    run_through_gates(run, {"raw/a.csv": b"1\n"})
    proxy.inject_lost_answer("POST", r"/merge/", times=1)
    run.publish(squash_merge=True)
    assert len(commits_of_kind(repo, "main", "publish", run.run_key)) == 1
    assert run.publish(squash_merge=True) == run.status().merge_commit
    assert len(commits_of_kind(repo, "main", "publish", run.run_key)) == 1


def test_mark_failed_with_a_lost_answer_marks_once(proxied, proxy: FaultProxy, repo) -> None:
    run = RunBranch(proxied, repo.id, "lost-marker")
    run.open()
    proxy.inject_lost_answer("POST", r"/commits$", times=1)
    run.mark_failed("the writer crashed")
    assert len(commits_of_kind(repo, run.branch, "failed")) == 1


# ----- 10. revert removes the run and nothing else ------------------------------------


def publish_run(connection, repo, run_id: str, files: dict[str, bytes]) -> RunBranch:
    run = RunBranch(connection, repo.id, run_id)
    run_through_gates(run, files)
    run.publish()
    run.discard()
    return run


def test_revert_keeps_later_runs_data_that_sorts_before(connection, repo) -> None:
    first = publish_run(connection, repo, "r1", {"raw/b/o.bin": b"run one"})
    publish_run(connection, repo, "r2", {"raw/a/o.bin": b"run two, sorts before"})
    publish_run(connection, repo, "r3", {"raw/c/o.bin": b"run three, sorts after"})
    first.revert()
    assert read(repo, "main", "raw/b/o.bin") is None
    assert read(repo, "main", "raw/a/o.bin") == b"run two, sorts before"
    assert read(repo, "main", "raw/c/o.bin") == b"run three, sorts after"
    assert first.status().state is RunState.REVERTED


def test_revert_restores_overwritten_objects_and_is_idempotent(connection, repo) -> None:
    publish_run(connection, repo, "base", {"raw/x.csv": b"original\n", "raw/y.csv": b"keep\n"})
    run = publish_run(connection, repo, "overwrite", {"raw/x.csv": b"overwritten\n", "raw/new.csv": b"new\n"})
    publish_run(connection, repo, "later", {"raw/0-first.csv": b"later\n"})
    revert_id = run.revert()
    assert run.revert() == revert_id
    assert read(repo, "main", "raw/x.csv") == b"original\n"
    assert read(repo, "main", "raw/new.csv") is None
    assert read(repo, "main", "raw/y.csv") == b"keep\n"
    assert read(repo, "main", "raw/0-first.csv") == b"later\n"
    assert len(commits_of_kind(repo, "main", "revert", run.run_key)) == 1


def test_revert_refuses_when_a_later_run_changed_the_same_paths(connection, repo) -> None:
    run = publish_run(connection, repo, "early", {"raw/shared.csv": b"early\n"})
    publish_run(connection, repo, "late", {"raw/shared.csv": b"late\n"})
    main_before = repo.branch("main").get_commit().id
    with pytest.raises(RunStateError, match=r"raw/shared\.csv"):
        run.revert()
    assert repo.branch("main").get_commit().id == main_before


def test_revert_of_a_run_published_twice_undoes_both(connection, repo) -> None:
    publish_run(connection, repo, "twice", {"raw/t.csv": b"v1\n"})
    run = publish_run(connection, repo, "twice", {"raw/t.csv": b"v2\n", "raw/u.csv": b"u\n"})
    publish_run(connection, repo, "other", {"raw/a.csv": b"other\n"})
    run.revert()
    assert read(repo, "main", "raw/t.csv") is None
    assert read(repo, "main", "raw/u.csv") is None
    assert read(repo, "main", "raw/a.csv") == b"other\n"


def test_reverting_one_plain_commit_keeps_a_later_commits_objects(connection, repo) -> None:
    """lakeFS v1.84's own revert removes raw/a/o.bin here; revert_commit must not."""
    from lakefs_wap import operations, revert_run
    from lakefs_wap.revert import revert_commit

    main = repo.branch("main")
    main.object("raw/b/o.bin").upload(data=b"b")
    first = main.commit("add b").get_commit().id
    main.object("raw/a/o.bin").upload(data=b"a")
    main.commit("add a")
    reverted = revert_commit(connection, repo.id, "main", first, message="undo b")
    assert revert_commit(connection, repo.id, "main", first) == reverted
    assert read(repo, "main", "raw/b/o.bin") is None
    assert read(repo, "main", "raw/a/o.bin") == b"a"
    assert operations.branch_head(connection, repo.id, "main") == reverted
    with pytest.raises(RunStateError, match="no recorded publish"):
        revert_run(connection, repo.id, "main", "run-never-published")


# ----- found by trying to break it ------------------------------------------------------


def test_revert_of_a_rerun_keeps_what_another_run_did_in_between(connection, repo) -> None:
    main = repo.branch("main")
    main.object("shared.csv").upload(data=b"v0\n")
    main.commit("seed")
    run = publish_run(connection, repo, "rerun", {"a.csv": b"R1\n"})
    publish_run(connection, repo, "other", {"shared.csv": b"Y\n", "y.csv": b"Y added\n"})
    rerun = RunBranch(connection, repo.id, "rerun")
    rerun.open()
    write(rerun, "shared.csv", b"R2\n")
    rerun.connection.sdk.objects_api.delete_object(repo.id, rerun.branch, "y.csv")
    rerun.commit("re-run")
    rerun.gate([])
    rerun.publish()
    run.revert()
    assert read(repo, "main", "shared.csv") == b"Y\n"  # the other run's change, not the seed
    assert read(repo, "main", "y.csv") == b"Y added\n"  # deleted by the re-run, back again
    assert read(repo, "main", "a.csv") is None


def test_revert_refuses_when_another_run_changed_a_path_between_two_publishes(connection, repo) -> None:
    main = repo.branch("main")
    main.object("p.csv").upload(data=b"v0\n")
    main.commit("seed")
    publish_run(connection, repo, "twice", {"p.csv": b"R1\n"})
    publish_run(connection, repo, "other", {"p.csv": b"Y\n"})
    run = publish_run(connection, repo, "twice", {"p.csv": b"R3\n"})
    main_before = main.get_commit().id
    with pytest.raises(RunStateError, match=r"p\.csv"):
        run.revert()
    assert main.get_commit().id == main_before


def test_an_outage_while_counting_rows_is_not_an_unreadable_table(proxied, proxy: FaultProxy, repo) -> None:
    from lakefs_wap import TableRowCount

    run = RunBranch(proxied, repo.id, "row-count-outage")
    run.open()
    write(run, "raw/a.csv", b"id\n1\n")
    run.commit("data")
    proxy.inject("GET", r"/objects\?", 503, times=100)
    with pytest.raises(ServerUnavailableError):
        run.gate([TableRowCount(min_rows=1)])
    proxy.faults.clear()
    assert run.status().state is RunState.COMMITTED


def test_a_merge_whose_record_was_lost_counts_as_published(proxied, proxy: FaultProxy, repo) -> None:
    run = RunBranch(proxied, repo.id, "record-lost")
    run_through_gates(run, {"raw/a.csv": b"1\n"})
    proxy.inject("POST", r"/tags$", 503, times=100)
    with pytest.raises(ServerUnavailableError):
        run.publish()
    proxy.faults.clear()
    status = run.status()
    assert status.state is RunState.PUBLISHED
    assert read(repo, "main", "raw/a.csv") == b"1\n"
    assert run.mark_failed("the publish task failed") is None  # cleanup must not call it failed
    assert run.publish() == status.merge_commit
    assert len(run.status().publishes) == 1
    run.revert()
    assert read(repo, "main", "raw/a.csv") is None


def test_reserved_metadata_keys_are_refused_before_any_write(proxied, proxy: FaultProxy, repo) -> None:
    from lakefs_wap import BadInputError

    run = RunBranch(proxied, repo.id, "reserved")
    run.open()
    write(run, "important.csv", b"data\n")
    writes_before = len([r for r in proxy.seen if r.method in ("POST", "PUT", "DELETE")])
    with pytest.raises(BadInputError, match=r"lakefs_wap\.changes"):
        run.commit("data", {"lakefs_wap.changes": "none"})
    assert len([r for r in proxy.seen if r.method in ("POST", "PUT", "DELETE")]) == writes_before


def test_with_another_target_the_gates_judge_everything_the_merge_brings(connection, repo) -> None:
    from lakefs_wap import OnlyUnderPrefixes

    main = repo.branch("main")
    repo.branch("prod").create(source_reference="main")
    main.object("staging-only/unreviewed.csv").upload(data=b"x\n")
    main.commit("staging work never reviewed for prod")
    run = RunBranch(connection, repo.id, "to-prod", source_branch="main", target_branch="prod")
    run.open()
    write(run, "good/a.csv", b"1\n")
    run.commit("data")
    with pytest.raises(GateFailedError, match=r"staging-only/unreviewed\.csv"):
        run.gate([OnlyUnderPrefixes(["good/"])])
    assert read(repo, "prod", "staging-only/unreviewed.csv") is None


def test_a_publish_that_merged_nothing_reverts_to_a_no_op(connection, repo) -> None:
    run = RunBranch(connection, repo.id, "already-there")
    run_through_gates(run, {"x.csv": b"id\n1\n"})
    main = repo.branch("main")
    main.object("x.csv").upload(data=b"id\n1\n")
    main.commit("the same data, by hand")
    run.publish()
    head = main.get_commit().id
    assert run.revert() == head
    assert read(repo, "main", "x.csv") == b"id\n1\n"
    assert run.status().state is RunState.REVERTED


def test_republishing_a_reverted_commit_says_what_to_do(connection, repo) -> None:
    run = RunBranch(connection, repo.id, "revert-then-again")
    run_through_gates(run, {"x.csv": b"1\n"})
    run.publish()
    run.revert()
    with pytest.raises(RunStateError, match="reverted since"):
        run.publish()
