"""The report at the end of ``make demo``, read back from lakeFS alone.

For each orchestrator run: its run branch, the commits lakefs-wap made for it
(data, gates' verdict, failed marker, publish merge, revert), the gate results
recorded in commit metadata, and its state (``RunBranch.status()``: published,
failed, reverted ...). Then ``main``'s log and where to look in the lakeFS UI.
Nothing comes from the orchestrators' own bookkeeping except which runs there were.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import lakefs_sdk

from lakefs_wap import LakeFSConnection, RunBranch, RunStatus
from lakefs_wap.keys import KEY_KIND, KEY_RUN_KEY
from lakefs_wap.links import branch_url, commit_url
from lakefs_wap.record import Outcome
from lakefs_wap.refs import iter_log
from lakefs_wap.verdict import Verdict

# The commit-metadata key lakeFS shows as an "Open <Name> UI" button.
UI_BUTTON_KEY = re.compile(r"::lakefs::(\w+)::url\[url:ui\]")
# The demo's repository holds a few dozen commits; a bound keeps a mistake cheap.
LOG_LIMIT = 200


@dataclass(frozen=True)
class DemoRun:
    """One run an orchestrator made: who ran it, as what, and its run branch in lakeFS."""

    orchestrator: str  # "Airflow", "Dagster"
    title: str  # "lakefs_orders_ingestion (good data)"
    run_id: str  # the orchestrator's run id
    outcome: str  # the orchestrator's verdict: "success", "failed"
    run_branch: RunBranch | None  # None for a run that does not write through a run branch (the rollback)
    reverts: RunBranch | None = None  # the run a rollback run reverted


def run_commits(connection: LakeFSConnection, repository: str, run: RunBranch) -> list[lakefs_sdk.Commit]:
    """The commits lakefs-wap made for ``run``, oldest first: its branch's while it exists, then the target's."""
    refs = [run.branch, run.target_branch] if run.head() is not None else [run.target_branch]
    found: dict[str, lakefs_sdk.Commit] = {}
    for ref in refs:
        # The log's own order (newest first, parents after children) is kept: timestamps tie within a second.
        for commit in reversed(list(iter_log(connection, repository, ref, limit=LOG_LIMIT))):
            if (commit.metadata or {}).get(KEY_RUN_KEY) == run.run_key:
                found.setdefault(commit.id, commit)
    return list(found.values())


def gate_lines(commits: list[lakefs_sdk.Commit]) -> list[str]:
    """The newest recorded verdict: ``ok``/``FAIL`` per gate with its message."""
    for commit in reversed(commits):
        verdict = Verdict.from_metadata(commit.metadata)
        if verdict is not None:
            passed = sum(1 for gate in verdict.gates if gate.passed)
            header = f"{passed}/{len(verdict.gates)} gates passed"
            return [header] + [f"  {'ok  ' if g.passed else 'FAIL'} {g.as_text()}" for g in verdict.gates]
    return ["no gates recorded"]


def orchestrator_links(commits: list[lakefs_sdk.Commit]) -> list[tuple[str, str]]:
    """The run's page in its orchestrator's UI: the ``::lakefs::<Name>::url[url:ui]`` keys (lakeFS shows buttons)."""
    links: dict[str, str] = {}
    for commit in commits:
        for key, value in (commit.metadata or {}).items():
            match = UI_BUTTON_KEY.fullmatch(key)
            if match:
                links.setdefault(match.group(1), value)
    return sorted(links.items())


def _published_line(status: RunStatus, target: str) -> str:
    state = status.state.value
    if status.merge_commit:
        return f"{state}: merge {status.merge_commit[:12]} on {target}"
    if status.publishes:
        reverted = ", ".join(record.commit_id[:12] for record in status.records if record.outcome is Outcome.REVERTED)
        return f"{state}: published as {status.publishes[-1].commit_id[:12]}, then reverted by {reverted}"
    if status.reason:
        return f"{state}, NOT published: {target} unchanged by it"
    return f"{state}, not published"


def describe_run(
    connection: LakeFSConnection, repository: str, run: DemoRun, say: Callable[[str], None], ui: str
) -> None:
    say(f"\n{run.orchestrator} {run.title}")
    say(f"  run         {run.run_id} ({run.outcome})")
    if run.reverts is not None:
        reverts = [r.commit_id[:12] for r in run.reverts.status().records if r.outcome is Outcome.REVERTED]
        say(f"  reverted    {run.reverts.branch}: revert commit {', '.join(reverts) or '(none)'}")
    if run.run_branch is None:
        return
    branch = run.run_branch
    status = branch.status()
    alive = branch.head() is not None
    say(f"  branch      {branch.branch} ({'kept for debugging' if alive else 'deleted after the run'})")
    commits = run_commits(connection, repository, branch)
    for commit in commits:
        kind = (commit.metadata or {}).get(KEY_KIND, "?")
        say(f"  commit      {commit.id[:12]} {kind:<8} {commit.message}")
    for number, line in enumerate(gate_lines(commits)):
        say(f"  {'gates' if number == 0 else '':<11} {line}")
    say(f"  published?  {_published_line(status, branch.target_branch)}")
    for name, url in orchestrator_links(commits):
        say(f"  {name + ' UI':<11} {url}")
    target = status.merge_commit or (status.publishes[-1].commit_id if status.publishes else None)
    if alive:
        say(f"  lakeFS UI   {branch_url(ui, repository, branch.branch)}")
    elif target:
        say(f"  lakeFS UI   {commit_url(ui, repository, target)}")


def print_report(
    connection: LakeFSConnection, repository: str, runs: list[DemoRun], say: Callable[[str], None], ui: str
) -> None:
    say("\n=== Report ===")
    for run in runs:
        describe_run(connection, repository, run, say, ui)
    say(f"\nmain's log ({repository}):")
    for commit in iter_log(connection, repository, "main", limit=12, first_parent=True):
        kind = (commit.metadata or {}).get(KEY_KIND, "")
        say(f"  {commit.id[:12]}  {kind:<8} {commit.message}")
    listing = connection.sdk.objects_api.list_objects(repository, "main", amount=LOG_LIMIT)
    paths = sorted(entry.path for entry in listing.results)
    say(f"main now holds {len(paths)} object(s): {', '.join(paths)}")
    say(f"  lakeFS UI: {branch_url(ui, repository, 'main')}")
