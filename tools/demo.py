"""`make demo`: branch-per-run ingestion on a real, local lakeFS, narrated.

It starts a throw-away lakeFS server (or uses the one named by
``LAKEFS_ENDPOINT``/``LAKEFS_ACCESS_KEY_ID``/``LAKEFS_SECRET_ACCESS_KEY``),
creates a demo repository, and runs the write-audit-publish cycle of the
lakefs-wap core three times:

1. a good run: written to its own branch, gated, published to ``main`` in one merge;
2. a bad run: a gate fails, ``main`` is untouched, the branch is kept and marked failed;
3. a rollback: the good run is reverted on ``main``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import random
import sys
import uuid
from collections.abc import Iterator

from lakefs_wap import (
    ConnectionSettings,
    GateFailedError,
    LakeFSConnection,
    NoDeletions,
    OnlyUnderPrefixes,
    RunBranch,
    TableRowCount,
    connect,
    objects,
)
from lakefs_wap.refs import iter_log
from tools.lakefs_server import LakeFSUnavailable, LocalLakeFS, ServerAccess, server_access_from_env

GATES = [OnlyUnderPrefixes(["raw/"]), NoDeletions(), TableRowCount(min_rows=1)]


def say(message: str) -> None:
    print(message, flush=True)


@contextlib.contextmanager
def demo_server() -> Iterator[ServerAccess]:
    external = server_access_from_env()
    if external is not None:
        say(f"Using the lakeFS server at {external.endpoint}")
        yield external
        return
    with LocalLakeFS() as server:
        say(f"Started a local lakeFS at {server.access.endpoint} (data in {server.workdir})")
        yield server.access


def orders_csv(rows: int, seed: int) -> bytes:
    generator = random.Random(seed)  # noqa: S311 - demo data, not security
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["order_id", "customer", "amount"])
    for order_id in range(rows):
        writer.writerow([order_id, f"c{generator.randrange(1000):04d}", f"{generator.uniform(1, 500):.2f}"])
    return buffer.getvalue().encode()


def ingest(connection: LakeFSConnection, repo: str, run_id: str, rows: int) -> RunBranch:
    run = RunBranch(connection, repo, run_id, prefix="ingest")
    base = run.open()
    say(f"\n[{run_id}] opened branch {run.branch} from main@{base[:12]}")
    path = f"raw/orders/{run_id}.csv"
    data = orders_csv(rows, seed=len(run_id))
    objects.upload(connection, repo, run.branch, path, data, content_type="text/csv")
    say(f"[{run_id}] wrote {path} ({rows} rows, {len(data):,} bytes) on the run branch only")
    commit = run.commit(f"ingest orders for {run_id}", {"rows": rows})
    say(f"[{run_id}] committed {commit.id[:12]}")
    try:
        report = run.gate(GATES)
    except GateFailedError as failure:
        say(f"[{run_id}] {failure.message.splitlines()[0]}")
        for result in failure.results:
            say(f"[{run_id}]   {'ok  ' if result.passed else 'FAIL'} {result.name}: {result.message}")
        run.mark_failed("; ".join(r.message for r in failure.results if not r.passed))
        say(f"[{run_id}] not published; {run.branch} kept for debugging, marked failed")
        return run
    say(f"[{run_id}] {report.summary().splitlines()[0]}")
    merge = run.publish()
    say(f"[{run_id}] published: merge commit {merge[:12]} on main (gate report in its metadata)")
    run.discard()
    say(f"[{run_id}] deleted {run.branch}")
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000, help="rows in the good run's file")
    args = parser.parse_args(argv)
    try:
        with demo_server() as access:
            connection = connect(ConnectionSettings(access.endpoint, access.access_key_id, access.secret_access_key))
            repo = f"demo-{uuid.uuid4().hex[:8]}"
            connection.sdk.repositories_api.create_repository(
                {"name": repo, "storage_namespace": access.storage_namespace(repo), "default_branch": "main"}  # type: ignore[arg-type]
            )
            say(f"Created repository {repo}")
            good = ingest(connection, repo, "orders-2026-11-21", rows=args.rows)
            main_after_good = connection.sdk.branches_api.get_branch(repo, "main").commit_id
            bad = ingest(connection, repo, "orders-2026-11-22", rows=0)
            main_now = connection.sdk.branches_api.get_branch(repo, "main").commit_id
            say(f"main still at {main_now[:12]}: {'unchanged' if main_now == main_after_good else 'CHANGED'}")
            say(f"state of {bad.branch}: {bad.status().state.value} ({bad.status().reason})")

            revert = good.revert()
            say(f"\n[rollback] reverted the good run on main: {revert[:12]}")
            left = [o.path for o in connection.client.sdk_client.objects_api.list_objects(repo, "main").results]
            say(f"[rollback] main now lists {left}")
            say("\nmain's history:")
            for commit in iter_log(connection, repo, "main", limit=8):
                say(f"  {commit.id[:12]}  {commit.message}")
    except LakeFSUnavailable as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
