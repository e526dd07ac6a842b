"""The run-branch lifecycle vs. the minimal raw lakefs_sdk sequence with the same effect.

For each history length H, a repository whose main has H commits is built once
(one small object and one commit per step, with the raw SDK; so main also holds
H objects) and reused. Then,
interleaved and repeated, two cycles are measured step by step:

- wap: ``RunBranch`` open, 10 x ``lakefs_wap.objects.upload``, commit,
  gate([NoDeletions()]), publish, status(), publish() again,
  discard(only_if_published=True), revert();
- raw: create branch, 10 x ``objects_api.upload_object``, commit, one diff page
  (what a gate reads), merge into main, delete branch, ``revert_branch``.

Each step's time and the HTTP requests it sent are recorded. Requests are
counted at each client's urllib3 pool (every SDK call and every streamed upload
passes there); once per H, one cycle of each kind also runs through
``tests.fault_proxy.FaultProxy`` and its count of requests received is checked
against that. Prints a table; asserts nothing about timings (a shared 2-core
machine is noisy: read the medians, not single runs).

    .venv/bin/python -m benchmarks.lifecycle                        # H = 100, 1000, 20000
    .venv/bin/python -m benchmarks.lifecycle --history 100 1000 --repeat 7
    .venv/bin/python -m benchmarks.lifecycle --data-dir /tmp/lakefs-bench   # keep the built histories
    .venv/bin/python -m benchmarks.lifecycle --smoke                # tiny: H = 5, one repetition

Starts its own lakeFS unless LAKEFS_ENDPOINT/LAKEFS_ACCESS_KEY_ID/
LAKEFS_SECRET_ACCESS_KEY name one (with LAKEFS_STORAGE_NAMESPACE_PREFIX for non-local storage).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lakefs_sdk
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.exceptions import NotFoundException

from benchmarks.environment import (
    RequestLog,
    default_results_path,
    describe_machine,
    lakefs_server,
    machine_facts,
    write_results,
)
from lakefs_wap import ConnectionSettings, LakeFSConnection, NoDeletions, RunBranch, RunState, connect, objects
from tests.fault_proxy import FaultProxy
from tools.demo_repository import ensure_repository
from tools.lakefs_server import ServerAccess

CYCLE_STEPS = ("open", "upload x10", "commit", "gate", "publish", "discard")
ROWS = (*CYCLE_STEPS, "cycle", "status", "publish again", "revert")
OBJECTS = 10
DEFAULT_HISTORY = (100, 1000, 20000)
DEFAULT_JSON = default_results_path("lifecycle")
COUNTING = (
    "requests counted at each client's urllib3 pool (every SDK call and streamed upload); "
    "checked once per history length against tests.fault_proxy.FaultProxy"
)
HISTORY_TAG = "lifecycle-history-complete"
HISTORY_KEY = "lifecycle_bench_history"


@dataclass
class Sample:
    seconds: float
    requests: list[tuple[str, float]]  # what was sent, and how long until its answer was read
    proxy_count: int | None = None


Cycle = dict[str, Sample]


class Side:
    """One way of talking to lakeFS (lakefs-wap or the raw SDK), its requests logged."""

    kind = ""

    def __init__(self, log: RequestLog, proxy: FaultProxy | None = None) -> None:
        self.log = log
        self.proxy = proxy

    def cycle(self, repository: str, token: str) -> Cycle:
        raise NotImplementedError

    def step(self, cycle: Cycle, name: str, action: Callable[[], Any]) -> Any:
        mark = self.log.mark()
        seen = len(self.proxy.seen) if self.proxy is not None else None
        started = time.perf_counter()
        result = action()
        elapsed = time.perf_counter() - started
        proxied = len(self.proxy.seen) - seen if self.proxy is not None and seen is not None else None
        cycle[name] = Sample(elapsed, self.log.since(mark), proxied)
        return result


class WapSide(Side):
    kind = "wap"

    def __init__(self, connection: LakeFSConnection, log: RequestLog, proxy: FaultProxy | None = None) -> None:
        super().__init__(log, proxy)
        self.connection = connection

    def cycle(self, repository: str, token: str) -> Cycle:
        connection = self.connection
        cycle: Cycle = {}
        run = RunBranch(connection, repository, run_id=f"lifecycle {token}", prefix="bench")
        self.log.alias(run.branch, "{run-branch}")
        self.log.alias(f"wap-revert-{run.branch}", "{revert-scratch-branch}")
        bodies = _bodies("wap", token)

        def upload() -> None:
            for path, body in bodies:
                objects.upload(connection, repository, run.branch, path, body)

        self.step(cycle, "open", run.open)
        self.step(cycle, "upload x10", upload)
        self.step(cycle, "commit", lambda: run.commit("lifecycle benchmark: write"))
        self.step(cycle, "gate", lambda: run.gate([NoDeletions()]))
        merge = self.step(cycle, "publish", run.publish)
        status = self.step(cycle, "status", run.status)
        again = self.step(cycle, "publish again", run.publish)
        if status.state is not RunState.PUBLISHED or again != merge:
            raise RuntimeError(f"wap cycle {token}: status {status.state.value}, publish again gave {again}")
        self.step(cycle, "discard", lambda: run.discard(only_if_published=True))
        self.step(cycle, "revert", run.revert)
        return cycle


class RawSide(Side):
    kind = "raw"

    def __init__(self, client: LakeFSClient, log: RequestLog, proxy: FaultProxy | None = None) -> None:
        super().__init__(log, proxy)
        self.client = client

    def cycle(self, repository: str, token: str) -> Cycle:
        client = self.client
        cycle: Cycle = {}
        branch = f"raw-{token}"
        self.log.alias(branch, "{run-branch}")
        bodies = _bodies("raw", token)

        def create() -> str:
            created = client.branches_api.create_branch(
                repository,
                lakefs_sdk.BranchCreation(name=branch, source="main"),  # type: ignore[call-arg]
            )
            return str(created).strip().strip('"')

        def upload() -> None:
            for path, body in bodies:
                client.objects_api.upload_object(repository, branch, path, content=body)

        def gate() -> bool:
            page = client.refs_api.diff_refs(repository, base, branch, amount=1000)
            return not any(diff.type == "removed" for diff in page.results)

        def merge() -> str:
            result = client.refs_api.merge_into_branch(
                repository,
                branch,
                "main",
                merge=lakefs_sdk.Merge(message="lifecycle benchmark: publish"),  # type: ignore[call-arg]
            )
            return str(result.reference)

        base = self.step(cycle, "open", create)
        self.step(cycle, "upload x10", upload)
        self.step(
            cycle,
            "commit",
            lambda: client.commits_api.commit(
                repository,
                branch,
                lakefs_sdk.CommitCreation(message="lifecycle benchmark: write"),  # type: ignore[call-arg]
            ),
        )
        if not self.step(cycle, "gate", gate):
            raise RuntimeError(f"raw cycle {token}: the diff shows deletions")
        merge_id = self.step(cycle, "publish", merge)
        self.step(cycle, "discard", lambda: client.branches_api.delete_branch(repository, branch))
        self.step(
            cycle,
            "revert",
            lambda: client.branches_api.revert_branch(
                repository,
                "main",
                lakefs_sdk.RevertCreation(ref=merge_id, parent_number=1),  # type: ignore[call-arg]
            ),
        )
        return cycle


def _bodies(side: str, token: str) -> list[tuple[str, bytes]]:
    rows = "".join(f"{n},{n * 7 % 1000}.{n % 100:02d}\n" for n in range(60))
    return [(f"bench/{side}/{token}/part-{k:02d}.csv", f"id,amount\n{rows}".encode()) for k in range(OBJECTS)]


def wap_side(access: ServerAccess, endpoint: str | None = None, proxy: FaultProxy | None = None) -> WapSide:
    settings = ConnectionSettings(endpoint or access.endpoint, access.access_key_id, access.secret_access_key)
    connection = connect(settings)
    log = RequestLog()
    log.attach(connection.api.rest_client.pool_manager)
    return WapSide(connection, log, proxy)


def raw_client(access: ServerAccess, endpoint: str | None = None) -> LakeFSClient:
    configuration = lakefs_sdk.Configuration(
        host=(endpoint or access.endpoint) + "/api/v1",
        username=access.access_key_id,
        password=access.secret_access_key,
    )
    return LakeFSClient(configuration)


def raw_side(access: ServerAccess, endpoint: str | None = None, proxy: FaultProxy | None = None) -> RawSide:
    client = raw_client(access, endpoint)
    log = RequestLog()
    log.attach(client._api.rest_client.pool_manager)
    return RawSide(client, log, proxy)


# ----- histories ---------------------------------------------------------------------


def build_history(client: LakeFSClient, repository: str, namespace: str, length: int) -> tuple[str, float]:
    """Give ``repository``'s main ``length`` commits (one small object each); reuse a finished build.

    Returns how the history came about and the seconds spent building. An
    interrupted build resumes from the newest commit it made.
    """
    ensure_repository(client.repositories_api, repository, namespace)
    try:
        client.tags_api.get_tag(repository, HISTORY_TAG)
        return "reused from an earlier run", 0.0
    except NotFoundException:
        pass
    head = client.commits_api.get_commit(repository, "main")
    done = int((head.metadata or {}).get(HISTORY_KEY, "0"))

    def upload(index: int) -> None:
        client.objects_api.upload_object(repository, "main", f"history/{index:06d}.txt", content=f"{index}\n".encode())

    started = time.perf_counter()
    # The next object uploads while the current commit runs; a commit that finds the
    # next object staged already takes it too, so every commit allows being empty.
    with ThreadPoolExecutor(max_workers=1) as uploader:
        staged = uploader.submit(upload, done + 1) if done < length else None
        for index in range(done + 1, length + 1):
            if staged is not None:
                staged.result()
            staged = uploader.submit(upload, index + 1) if index < length else None
            client.commits_api.commit(
                repository,
                "main",
                lakefs_sdk.CommitCreation(  # type: ignore[call-arg]
                    message=f"history {index}/{length}", metadata={HISTORY_KEY: str(index)}, allow_empty=True
                ),
            )
            if index % 2000 == 0:
                _progress(f"  {repository}: {index}/{length} commits, {time.perf_counter() - started:.0f}s")
    elapsed = time.perf_counter() - started
    client.tags_api.create_tag(repository, lakefs_sdk.TagCreation(id=HISTORY_TAG, ref="main"))
    how = "built" if done == 0 else f"resumed at {done}"
    return f"{how} with {length - done} commits in {elapsed:.1f}s", elapsed


def count_commits(client: LakeFSClient, repository: str) -> int:
    count, after = 0, ""
    while True:
        page = client.refs_api.log_commits(repository, "main", after=after or None, amount=1000)
        count += len(page.results)
        if not page.pagination.has_more:
            return count
        after = page.pagination.next_offset


# ----- measuring ---------------------------------------------------------------------


def proxy_check(access: ServerAccess, repository: str) -> list[str]:
    """Run one cycle of each kind through the fault proxy; return every step whose counts disagree."""
    mismatches: list[str] = []
    with FaultProxy(upstream=access.endpoint) as proxy:
        sides: list[Side] = [wap_side(access, proxy.endpoint, proxy), raw_side(access, proxy.endpoint, proxy)]
        for side in sides:
            side.log.alias(repository, "{repo}")
            cycle = side.cycle(repository, f"check-{uuid.uuid4().hex[:8]}")
            for step, sample in cycle.items():
                if sample.proxy_count != len(sample.requests):
                    mismatches.append(
                        f"{side.kind} {step}: pool counted {len(sample.requests)}, proxy saw {sample.proxy_count}"
                    )
    return mismatches


def measure_history(access: ServerAccess, length: int, repeat: int) -> dict[str, Any]:
    raw = raw_client(access)
    repository = f"lifecycle-h{length}"
    how, build_seconds = build_history(raw, repository, access.storage_namespace(repository), length)
    _progress(f"history {length}: {how}")
    commits_before = count_commits(raw, repository)
    sides: list[Side] = [wap_side(access), raw_side(access)]
    for side in sides:
        side.log.alias(repository, "{repo}")
        side.cycle(repository, f"warm-{uuid.uuid4().hex[:8]}")  # first use of every code path and pool
    mismatches = proxy_check(access, repository)
    runs: dict[str, list[Cycle]] = {side.kind: [] for side in sides}
    for repetition in range(repeat):
        # Alternate who goes first, so neither always meets the server just after the other.
        for side in sides if repetition % 2 == 0 else reversed(sides):
            runs[side.kind].append(side.cycle(repository, f"{repetition}-{uuid.uuid4().hex[:8]}"))
        _progress(f"history {length}: repetition {repetition + 1}/{repeat} done")
    return {
        "history": length,
        "repository": repository,
        "history_source": how,
        "build_seconds": round(build_seconds, 1),
        "main_commits_before": commits_before,
        "main_commits_after": count_commits(raw, repository),
        "proxy_check_mismatches": mismatches,
        "steps": {step: summarize(step, runs) for step in ROWS},
    }


def per_request_medians(samples: list[Sample]) -> list[dict[str, Any]]:
    """The step's requests in order, each with its median time over the cycles that sent the same
    sequence as the last one."""
    sequence = [request for request, _ in samples[-1].requests]
    alike = [s for s in samples if [request for request, _ in s.requests] == sequence]
    return [
        {"request": request, "median_ms": round(statistics.median(s.requests[i][1] for s in alike) * 1000, 2)}
        for i, request in enumerate(sequence)
    ]


def summarize(step: str, runs: dict[str, list[Cycle]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for kind, cycles in runs.items():
        if step == "cycle":
            seconds = [sum(c[s].seconds for s in CYCLE_STEPS) for c in cycles]
            counts = [sum(len(c[s].requests) for s in CYCLE_STEPS) for c in cycles]
            requests: list[dict[str, Any]] = []
        elif step in cycles[0]:
            seconds = [c[step].seconds for c in cycles]
            counts = [len(c[step].requests) for c in cycles]
            requests = per_request_medians([c[step] for c in cycles])
        else:
            continue
        summary[kind] = {
            "median_ms": round(statistics.median(seconds) * 1000, 2),
            "ms": [round(s * 1000, 2) for s in seconds],
            "requests": counts,
            "request_list": requests,
        }
    if "wap" in summary and "raw" in summary:
        summary["ratio"] = round(summary["wap"]["median_ms"] / summary["raw"]["median_ms"], 2)
    return summary


# ----- reporting ---------------------------------------------------------------------


def _requests(summary: dict[str, Any] | None) -> str:
    if summary is None:
        return "-"
    low, high = min(summary["requests"]), max(summary["requests"])
    return str(low) if low == high else f"{low}-{high}"


def table(results: list[dict[str, Any]]) -> list[str]:
    lines = [f"{'history':>8}  {'step':<14} {'wap ms':>9} {'raw ms':>9} {'ratio':>7} {'wap req':>8} {'raw req':>8}"]
    for result in results:
        for step in ROWS:
            row = result["steps"][step]
            wap, raw = row.get("wap"), row.get("raw")
            wap_ms = f"{wap['median_ms']:.1f}" if wap else "-"
            raw_ms = f"{raw['median_ms']:.1f}" if raw else "-"
            ratio = f"{row['ratio']:.2f}x" if "ratio" in row else "-"
            lines.append(
                f"{result['history']:>8}  {step:<14} {wap_ms:>9} {raw_ms:>9} {ratio:>7} "
                f"{_requests(wap):>8} {_requests(raw):>8}"
            )
    return lines


def condensed(requests: Iterable[dict[str, Any]]) -> list[str]:
    """Requests with their median ms, runs of the same request folded: ``10x PUT ... (2.1 ms each)``."""
    groups: list[tuple[str, list[float]]] = []
    for entry in requests:
        if groups and groups[-1][0] == entry["request"]:
            groups[-1][1].append(entry["median_ms"])
        else:
            groups.append((entry["request"], [entry["median_ms"]]))
    return [
        f"{len(times)}x {request} ({statistics.median(times):.1f} ms each)"
        if len(times) > 1
        else f"{request} ({times[0]:.1f} ms)"
        for request, times in groups
    ]


def request_listing(result: dict[str, Any]) -> list[str]:
    lines = [f"requests per step at history {result['history']}, in order, with their median time:"]
    for step in ROWS:
        for kind in ("wap", "raw"):
            summary = result["steps"][step].get(kind)
            if summary and summary["request_list"]:
                lines.append(f"  {step} ({kind}):")
                lines.extend(f"      {line}" for line in condensed(summary["request_list"]))
    return lines


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", type=int, nargs="+", default=list(DEFAULT_HISTORY), help="commits on main")
    parser.add_argument("--repeat", type=int, default=5, help="measured cycles of each kind per history length")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"where to write results ({DEFAULT_JSON})")
    parser.add_argument("--data-dir", type=Path, help="keep the local server's data here, to reuse built histories")
    parser.add_argument("--smoke", action="store_true", help="tiny run: history 5, one repetition")
    args = parser.parse_args(argv)
    histories, repeat = ([5], 1) if args.smoke else (args.history, args.repeat)
    if repeat < 1 or any(h < 1 for h in histories):
        parser.error("--history and --repeat take positive numbers")
    with lakefs_server(args.data_dir) as access:
        facts = machine_facts(wap_side(access).connection.server_version())
        results = [measure_history(access, length, repeat) for length in histories]
    header = [
        "run-branch lifecycle: lakefs-wap vs. the minimal raw lakefs_sdk sequence",
        *describe_machine(facts),
        f"{repeat} interleaved repetition(s) per history length, after one warm-up cycle of each kind; "
        f"{OBJECTS} objects of {len(_bodies('x', 'x')[0][1])} bytes per cycle; ms = median",
        COUNTING,
    ]
    for result in results:
        mismatched = result["proxy_check_mismatches"]
        header.append(
            f"history {result['history']}: {result['history_source']}; main had {result['main_commits_before']} "
            f"commits before, {result['main_commits_after']} after; proxy check: "
            + ("counts match" if not mismatched else "MISMATCH " + "; ".join(mismatched))
        )
    print("\n".join(header))
    print()
    print("\n".join(table(results)))
    print()
    print("\n".join(request_listing(results[-1])))
    report = {"machine": facts, "counting": COUNTING, "repeat": repeat, "objects_per_cycle": OBJECTS}
    write_results(args.json, {**report, "results": results})
    print(f"\nresults written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
