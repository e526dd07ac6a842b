"""The one record of the gates' verdict: what it writes is what every reader reads back,
and metadata that is not a verdict (damaged, hand-written halfway) reads as none."""

from __future__ import annotations

import json

import pytest

from lakefs_wap import GateReport, GateResult, RunBranch, Verdict
from lakefs_wap.keys import KEY_GATES, KEY_GATES_PASSED, KEY_KIND


def report(*results: GateResult) -> GateReport:
    return GateReport("lake", run_ref="c0ffee", base_ref="ba5e", results=list(results))


def test_a_verdict_reads_back_as_written() -> None:
    written = Verdict.of_report(
        report(GateResult("rows", True, "ok", metrics={"rows": 3.0}), GateResult("dels", False, "x" * 900)),
        gated_metarange="m1",
        changes="none",
    )
    read = Verdict.from_metadata(written.as_metadata())
    assert read == written
    assert not read.passed
    assert read.changed_nothing
    assert read.failed == ("dels: " + "x" * 500,)  # messages are kept short in commit metadata
    assert Verdict.from_metadata(read.result_metadata()) == Verdict(
        "", "", written.gates, passed=False
    )  # what a merge carries: the results, not the judged commit


@pytest.mark.parametrize(
    "metadata",
    [
        {},
        {KEY_GATES_PASSED: "true"},  # a passing flag with no results
        {KEY_GATES: "[]"},  # results with no verdict
        {KEY_GATES_PASSED: "true", KEY_GATES: "not json"},
        {KEY_GATES_PASSED: "true", KEY_GATES: json.dumps({"name": "x"})},
        {KEY_GATES_PASSED: "true", KEY_GATES: json.dumps([{"passed": True}])},
        {KEY_GATES_PASSED: "true", KEY_GATES: json.dumps(["rows"])},
    ],
)
def test_metadata_that_is_no_readable_verdict_reads_as_none(metadata: dict[str, str]) -> None:
    assert Verdict.from_metadata(metadata) is None


def test_only_the_runs_own_verdict_commit_is_its_verdict(connection, repo) -> None:
    run = RunBranch(connection, repo.id, run_id="verdict-owner")
    run.open()
    repo.branch(run.branch).object("raw/a.csv").upload(b"h\n1\n")
    run.commit("data")
    run.gate([])
    head = connection.sdk.commits_api.get_commit(repo.id, run.branch)
    assert head.metadata[KEY_KIND] == "gates"
    verdict = Verdict.recorded_by(head, run.run_key)
    assert verdict is not None
    assert verdict.passed
    assert verdict.is_current(head)
    assert Verdict.recorded_by(head, "another-run") is None
