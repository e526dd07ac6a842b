"""Kill lakeFS (SIGKILL) at each write request of a run, restart it, retry as an orchestrator
would: the end state equals one clean run.

A run here is the whole lifecycle: open, write two objects, commit, gate,
publish, discard the branch, revert the publish. Each write request it sends
is a crash point (``CRASH_POINTS``); at each, lakeFS dies either before the
request reached it or after it applied the request and answered (the answer is
lost). Then lakeFS comes back on the same data and port, either restarted by
the test (an operator) while the failed step waits to be retried, or by a
timer while the client's own retry policy is still trying.

"One clean run" is checked twice: by the rules a run must keep (one data
commit, at most one gates commit per gated commit, one publish merge and one
revert on main, the right objects) and by comparing the repository's shape
(logs, tags, branches, objects) with that of a run no crash touched.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import lakefs
import pytest

from lakefs_wap import (
    ConnectionSettings,
    LakeFSConnection,
    LakeFSWapError,
    NoDeletions,
    RetryPolicy,
    RunBranch,
    RunState,
    connect,
    objects,
)
from tests.core.conftest import FAST_RETRIES
from tests.crash_bed import CRASH_POINTS, CrashBed, CrashPoint
from tests.fault_proxy import Crash, CrashMode

RUN_ID = "crash__2026-01-01T00:00:00+00:00"
BASE = {"base/keep.csv": b"id\n0\n", "data/b.csv": b"id\nold\n"}
WRITTEN = {"data/a.csv": b"id\n1\n", "data/b.csv": b"id\n2\n"}  # one new object, one changed
PUBLISHED = {**BASE, **WRITTEN}
TRIES = 4  # an orchestrator's tries of one step
# Patient enough to outlast a restart (about half a second) on its own.
PATIENT_RETRIES = RetryPolicy(max_attempts=30, initial_backoff=0.05, max_backoff=0.2, max_elapsed=30)
RESTART_AFTER = 0.1

KIND = "lakefs_wap.kind"
RUN_KEY = "lakefs_wap.run_key"
GATED_COMMIT = "lakefs_wap.gated_commit"

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class Trace:
    """What happened to one run, and what it left, read straight from the server."""

    run_key: str
    base_commit: str
    results: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, int, BaseException]] = field(default_factory=list)
    gave_up: str | None = None
    problems: list[str] = field(default_factory=list)
    branch_log: list[lakefs.Commit] = field(default_factory=list)  # the run branch above base, after publish
    state_after_publish: RunState | None = None
    branches_after_discard: list[str] = field(default_factory=list)
    final_state: RunState | None = None
    retried_steps: list[str] = field(default_factory=list)


def drive(bed: CrashBed, repo: lakefs.Repository, connection: LakeFSConnection, crash: Crash | None) -> Trace:
    """Run the lifecycle step by step; a failed step is retried after lakeFS is back, up to ``TRIES`` times."""
    run = RunBranch(connection, repo.id, RUN_ID)
    trace = Trace(run_key=run.run_key, base_commit=repo.branch("main").get_commit().id)

    def write() -> None:
        for path, data in WRITTEN.items():
            objects.upload(connection, repo.id, run.branch, path, data)

    steps: list[tuple[str, Callable[[], Any]]] = [
        ("open", run.open),
        ("write", write),
        ("commit", lambda: run.commit("ingest")),
        ("gate", lambda: run.gate([NoDeletions()])),
        ("publish", run.publish),
        ("discard", lambda: run.discard(only_if_published=True)),
        ("revert", run.revert),
    ]
    for name, step in steps:
        for attempt in range(1, TRIES + 1):
            try:
                trace.results[name] = step()
                break
            except Exception as error:
                trace.errors.append((name, attempt, error))
                if attempt == TRIES:
                    trace.gave_up = name
                    return trace
                if name not in trace.retried_steps:
                    trace.retried_steps.append(name)
                back_up(bed, crash)
        if not bed.server.is_running():
            trace.problems.append(f"step {name} reported success although lakeFS died under it and is still down")
            back_up(bed, crash)
        if name == "publish":
            trace.branch_log = above(repo.branch(run.branch), trace.base_commit)
            trace.state_after_publish = run.status().state
        if name == "discard":
            trace.branches_after_discard = sorted(b.id for b in repo.branches())
    trace.final_state = run.status().state
    return trace


def back_up(bed: CrashBed, crash: Crash | None) -> None:
    """What happens before an orchestrator's next try: a timer restarts lakeFS, or the operator does."""
    if crash is not None and crash.restart is not None and crash.crashed.is_set():
        crash.wait_restarted()
    elif not bed.server.is_running():
        bed.restart()
    bed.proxy.wait_until_serving()


def above(ref: lakefs.Reference, base_commit: str) -> list[lakefs.Commit]:
    """The first-parent history of ``ref`` down to (without) ``base_commit``, newest first."""
    commits: list[lakefs.Commit] = []
    for commit in ref.log(first_parent=True):
        if commit.id == base_commit:
            return commits
        commits.append(commit)
    raise AssertionError(f"{base_commit} is not in the history of {ref.id}")


def contents(ref: lakefs.Reference) -> dict[str, bytes]:
    found = {}
    for listed in ref.objects():
        data = ref.object(listed.path).reader(mode="rb").read()
        assert isinstance(data, bytes)
        found[listed.path] = data
    return found


def kind_of(commit: lakefs.Commit) -> str:
    return (commit.metadata or {}).get(KIND, "-")


def check_one_clean_run(trace: Trace, repo: lakefs.Repository) -> list[str]:
    """Every rule a run that survived crashes must keep; an empty list when all hold."""
    problems = list(trace.problems)
    for step, attempt, error in trace.errors:
        if not isinstance(error, LakeFSWapError):
            problems.append(f"step {step} (try {attempt}) raised an untyped {type(error).__name__}: {error}")
    if trace.gave_up is not None:
        step, attempt, error = trace.errors[-1]
        problems.append(f"step {step} failed all {TRIES} tries; last: {type(error).__name__}: {error}")
        return problems

    kinds = Counter(kind_of(c) for c in trace.branch_log)
    if kinds["data"] != 1:
        problems.append(f"run branch holds {kinds['data']} data commits, not 1: {describe(trace.branch_log)}")
    verdicts = Counter((c.metadata or {}).get(GATED_COMMIT) for c in trace.branch_log if kind_of(c) == "gates")
    if not verdicts or max(verdicts.values()) > 1:
        problems.append(f"run branch holds gates commits {dict(verdicts)}: want one per gated commit")
    strangers = [c for c in trace.branch_log if kind_of(c) not in ("data", "gates")]
    if strangers:
        problems.append(f"run branch holds commits that are neither data nor gates: {describe(strangers)}")

    main = repo.branch("main")
    publishes = [c for c in main.log() if (c.metadata or {}).get(RUN_KEY) == trace.run_key and kind_of(c) == "publish"]
    if len(publishes) != 1:
        problems.append(f"main holds {len(publishes)} publish merges of the run, not 1: {describe(publishes)}")
    elif trace.results.get("publish") != publishes[0].id:
        problems.append(f"publish() returned {trace.results.get('publish')}, not the merge {publishes[0].id}")
    else:
        published = contents(repo.commit(publishes[0].id))
        if published != PUBLISHED:
            problems.append(f"main after the publish holds {published}, not {PUBLISHED}")

    history = above(main, trace.base_commit)
    if [kind_of(c) for c in history] != ["revert", "publish"]:
        problems.append(f"main's first-parent history above the base is {describe(history)}, not [revert, publish]")
    elif trace.results.get("revert") != history[0].id:
        problems.append(f"revert() returned {trace.results.get('revert')}, not the revert {history[0].id}")
    if (now := contents(main)) != BASE:
        problems.append(f"main after the revert holds {now}, not {BASE}")

    if trace.state_after_publish is not RunState.PUBLISHED:
        problems.append(f"status after publish is {trace.state_after_publish}, not published")
    if trace.final_state is not RunState.REVERTED:
        problems.append(f"status after revert is {trace.final_state}, not reverted")
    if trace.branches_after_discard != ["main"]:
        problems.append(f"branches after discard: {trace.branches_after_discard}")
    if (branches := sorted(b.id for b in repo.branches())) != ["main"]:
        problems.append(f"branches at the end: {branches}")
    return problems


def describe(commits: list[lakefs.Commit]) -> str:
    return "[" + ", ".join(f"{c.id[:10]} {kind_of(c)} {c.message!r}" for c in commits) + "]"


_COMMIT_ID = re.compile(r"[0-9a-f]{12,64}")


def shape(trace: Trace, repo: lakefs.Repository) -> dict[str, Any]:
    """The repository a run left, free of what differs between two equal runs (ids, times)."""
    return {
        "main log": [(kind_of(c), c.message, len(c.parents)) for c in repo.branch("main").log()],
        "run branch after publish": [(kind_of(c), c.message) for c in trace.branch_log],
        "tags": sorted(_COMMIT_ID.sub("<id>", t.id) for t in repo.tags()),
        "branches": sorted(b.id for b in repo.branches()),
        "main objects": contents(repo.branch("main")),
    }


def differences(clean: dict[str, Any], crashed: dict[str, Any]) -> list[str]:
    return [
        f"{key} differs from a clean run's:\n    clean:   {clean[key]}\n    crashed: {crashed[key]}"
        for key in clean
        if clean[key] != crashed[key]
    ]


def new_repository(bed: CrashBed, hint: str) -> lakefs.Repository:
    repo = bed.new_repository(hint)
    main = repo.branch("main")
    for path, data in BASE.items():
        main.object(path).upload(data=data)
    main.commit(message="the data before the run")
    return repo


@dataclass(frozen=True)
class CleanRun:
    trace: Trace
    shape: dict[str, Any]
    problems: list[str]
    writes: list[tuple[str, str, bytes]]


@pytest.fixture(scope="module")
def fast(crash_bed: CrashBed) -> LakeFSConnection:
    """A connection that gives up quickly: the orchestrator's retry of the step has to recover."""
    access = crash_bed.access
    return connect(
        ConnectionSettings(access.endpoint, access.access_key_id, access.secret_access_key, retry=FAST_RETRIES)
    )


@pytest.fixture(scope="module")
def patient(crash_bed: CrashBed) -> LakeFSConnection:
    """A connection whose retries outlast a restart."""
    access = crash_bed.access
    return connect(
        ConnectionSettings(access.endpoint, access.access_key_id, access.secret_access_key, retry=PATIENT_RETRIES)
    )


@pytest.fixture
def bed(crash_bed: CrashBed) -> Iterator[CrashBed]:
    crash_bed.reset()
    yield crash_bed
    crash_bed.reset()


@pytest.fixture(scope="module")
def clean_run(crash_bed: CrashBed, fast: LakeFSConnection) -> CleanRun:
    crash_bed.reset()
    repo = new_repository(crash_bed, "clean")
    trace = drive(crash_bed, repo, fast, crash=None)
    writes = [(r.method, r.path, r.body) for r in crash_bed.proxy.seen if r.method in WRITE_METHODS]
    return CleanRun(trace, shape(trace, repo), check_one_clean_run(trace, repo), writes)


def test_a_clean_run_keeps_every_rule(clean_run: CleanRun) -> None:
    assert clean_run.trace.errors == []
    assert clean_run.problems == []


def test_every_write_of_a_run_is_a_crash_point(clean_run: CleanRun) -> None:
    unmatched = [f"{m} {p}" for m, p, body in clean_run.writes if not any(c.matches(m, p, body) for c in CRASH_POINTS)]
    ambiguous = [f"{m} {p}" for m, p, body in clean_run.writes if sum(c.matches(m, p, body) for c in CRASH_POINTS) > 1]
    unreached = [c.name for c in CRASH_POINTS if not any(c.matches(m, p, body) for m, p, body in clean_run.writes)]
    assert unmatched == [], "writes of a clean run that no crash point covers: add them to CRASH_POINTS"
    assert ambiguous == [], "writes that more than one crash point matches"
    assert unreached == [], "crash points a clean run never reaches: remove or fix them"
    assert {c.name for c in CRASH_POINTS} >= ADDS_A_COMMIT


POINTS_AND_MODES = [
    pytest.param(point, mode, id=f"{point.name}-{mode.value}") for point in CRASH_POINTS for mode in CrashMode
]


@pytest.mark.parametrize(("point", "mode"), POINTS_AND_MODES)
def test_crash_then_operator_restart_and_step_retry(
    bed: CrashBed, fast: LakeFSConnection, clean_run: CleanRun, point: CrashPoint, mode: CrashMode
) -> None:
    repo = new_repository(bed, point.name)
    crash = bed.crash_at(point, mode)

    trace = drive(bed, repo, fast, crash)

    assert crash.hits == 1, f"the run never sent {point.method} {point.path_pattern}: crash point not reached"
    problems = check_one_clean_run(trace, repo)
    if trace.gave_up is None:
        problems += differences(clean_run.shape, shape(trace, repo))
    assert not problems, "\n".join(problems)


# A client can tell only whether its request failed, never whether it landed. Repeating
# a request that lands idempotently is always safe; one that adds a commit each time it
# lands is where the client must look first, so only there is the request-never-arrived
# case worth its own run.
ADDS_A_COMMIT = {"commit-data", "gate-report-commit", "publish-merge", "revert-commit", "revert-merge"}
TIMED_POINTS_AND_MODES = [
    pytest.param(point, mode, id=f"{point.name}-{mode.value}")
    for point in CRASH_POINTS
    for mode in CrashMode
    if mode is CrashMode.ANSWER_LOST or point.name in ADDS_A_COMMIT
]


@pytest.mark.parametrize(("point", "mode"), TIMED_POINTS_AND_MODES)
def test_crash_then_timed_restart_the_client_recovers_alone(
    bed: CrashBed, patient: LakeFSConnection, clean_run: CleanRun, point: CrashPoint, mode: CrashMode
) -> None:
    repo = new_repository(bed, point.name)
    crash = bed.crash_at(point, mode, restart_after=RESTART_AFTER)

    trace = drive(bed, repo, patient, crash)

    assert crash.hits == 1, f"the run never sent {point.method} {point.path_pattern}: crash point not reached"
    crash.wait_restarted()
    problems = check_one_clean_run(trace, repo)
    if trace.retried_steps:
        failures = "; ".join(f"{s} try {a}: {type(e).__name__}: {e}" for s, a, e in trace.errors)
        problems.append(f"steps {trace.retried_steps} failed although lakeFS was back within a second: {failures}")
    if trace.gave_up is None:
        problems += differences(clean_run.shape, shape(trace, repo))
    assert not problems, "\n".join(problems)
