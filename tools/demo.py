"""`make demo`: one branch-per-run ingestion on a real, local lakeFS, narrated.

It starts a throw-away lakeFS server (or uses the one named by
``LAKEFS_ENDPOINT``/``LAKEFS_ACCESS_KEY_ID``/``LAKEFS_SECRET_ACCESS_KEY``),
creates a demo repository, and runs the write-audit-publish cycle twice: a good
run that is published to ``main``, and a bad run that a gate stops, leaving
``main`` untouched and its branch behind for debugging.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import random
import sys
import uuid
from collections.abc import Iterator

import lakefs

from tools.lakefs_server import LakeFSUnavailable, LocalLakeFS, ServerAccess


def say(message: str) -> None:
    print(message, flush=True)


@contextlib.contextmanager
def demo_server() -> Iterator[ServerAccess]:
    endpoint = os.environ.get("LAKEFS_ENDPOINT")
    if endpoint:
        say(f"Using the lakeFS server at {endpoint}")
        yield ServerAccess(endpoint, os.environ["LAKEFS_ACCESS_KEY_ID"], os.environ["LAKEFS_SECRET_ACCESS_KEY"])
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


def row_count_gate(branch: lakefs.Branch, path: str, minimum: int) -> tuple[bool, str]:
    with branch.object(path).reader(mode="r") as reader:
        rows = sum(1 for _ in csv.reader(reader)) - 1
    return rows >= minimum, f"{path} has {rows} rows (need at least {minimum})"


def run_once(repo: lakefs.Repository, run_id: str, rows: int) -> None:
    main = repo.branch("main")
    base = main.get_commit().id
    branch = repo.branch(f"run-{run_id}").create(source_reference="main")
    say(f"\n[{run_id}] opened branch {branch.id} from main@{base[:12]}")

    path = f"raw/orders/{run_id}.csv"
    data = orders_csv(rows, seed=len(run_id))
    branch.object(path).upload(data=data, content_type="text/csv")
    say(f"[{run_id}] wrote {path} ({rows} rows, {len(data):,} bytes) on the run branch only")

    commit = branch.commit(message=f"ingest orders for {run_id}", metadata={"run_id": run_id})
    say(f"[{run_id}] committed {commit.get_commit().id[:12]} on {branch.id}")

    passed, detail = row_count_gate(branch, path, minimum=1)
    say(f"[{run_id}] gate row_count: {'PASSED' if passed else 'FAILED'}: {detail}")
    if not passed:
        say(f"[{run_id}] not published: main stays at {main.get_commit().id[:12]}; {branch.id} kept for debugging")
        return

    merge = branch.merge_into(main, message=f"publish {run_id}", metadata={"run_id": run_id})
    say(f"[{run_id}] merged into main: {merge[:12]}")
    branch.delete()
    say(f"[{run_id}] deleted {branch.id}; main now lists {[o.path for o in main.objects(prefix='raw/')]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000, help="rows in the good run's file")
    args = parser.parse_args(argv)
    try:
        with demo_server() as access:
            client = lakefs.Client(
                host=access.endpoint, username=access.access_key_id, password=access.secret_access_key
            )
            name = f"demo-{uuid.uuid4().hex[:8]}"
            repo = lakefs.Repository(name, client=client).create(storage_namespace=f"local://{name}")
            say(f"Created repository {name}; main at {repo.branch('main').get_commit().id[:12]}")
            run_once(repo, "good-run", rows=args.rows)
            run_once(repo, "empty-run", rows=0)
            say("\nmain's history:")
            for commit in repo.branch("main").log(max_amount=5):
                say(f"  {commit.id[:12]}  {commit.message}")
            say(f"branches left: {sorted(b.id for b in repo.branches())}")
    except LakeFSUnavailable as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
