"""The Dagster IO manager's data path vs. the raw minimum with the same effect.

A DataFrame of ROWS x 8 columns is stored and loaded through ``LakeFSIOManager``
and, side by side, through the least a user could write by hand: encode to
parquet in memory + one ``lakefs_sdk`` ``upload_object``, and one ``get_object`` +
``pd.read_parquet``. Each measurement runs in a fresh child process, in an
order rotated each repetition, so its peak RSS is its own; medians are printed
with requests counted at urllib3 and memory growth relative to the DataFrame.

The IO manager is driven the way a Dagster step drives it (``handle_output`` /
``load_input`` with Dagster-built contexts); only how it finds the Dagster run
is replaced, by a run branch opened before timing starts (a step opens it once).

    .venv/bin/python -m benchmarks.io_manager               # 2,000,000 rows, 5 repetitions
    .venv/bin/python -m benchmarks.io_manager --smoke       # 2,000 rows, one repetition

Starts its own lakeFS unless LAKEFS_ENDPOINT/LAKEFS_ACCESS_KEY_ID/LAKEFS_SECRET_ACCESS_KEY name one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.environment import (
    connect_to,
    count_requests,
    default_results_path,
    describe_machine,
    lakefs_server,
    machine_facts,
    write_results,
)
from tools.demo_repository import ensure_repository
from tools.lakefs_server import ServerAccess

if TYPE_CHECKING:
    pass

# (label, child method, which raw method it is compared with)
METHODS = [
    ("raw: get_object + pd.read_parquet", "raw_load", None),
    ("LakeFSIOManager.load_input", "io_load", "raw_load"),
    ("raw: to_parquet + upload_object", "raw_store", None),
    ("LakeFSIOManager.handle_output", "io_store", "raw_store"),
]
RUN_ID = "bench-io-manager"


def frame(rows: int) -> Any:
    """Eight numeric columns: four random floats (incompressible), four integer columns that compress."""
    import numpy as np
    import pandas as pd

    generator = np.random.default_rng(7)
    columns = {f"f{i}": generator.random(rows) for i in range(4)}
    columns |= {f"i{i}": np.arange(rows, dtype="int64") % (10**i * 7 + 3) for i in range(4)}
    return pd.DataFrame(columns)


def child(method: str, repository: str, branch: str, rows: int) -> None:
    """One measurement in this fresh process; prints JSON. Settings come from the LAKECTL_* environment."""
    import io
    import resource

    import pandas as pd
    from dagster import AssetKey, build_input_context, build_output_context

    from dagster_lakefs import LakeFSIOManager, LakeFSResource
    from lakefs_wap import RunBranch, connect

    connection = connect()
    data = frame(rows) if method.endswith("store") else None
    log = count_requests()
    connection.whoami()  # warm the pool: the connection is not what is timed

    class OneRunIOManager(LakeFSIOManager):
        """Finds its run branch without a Dagster step: opened once, as a step does."""

        def _run_branch(self, context: Any) -> tuple[RunBranch, str]:
            return opened, base

    settings = connection.settings
    lakefs = LakeFSResource(
        endpoint=settings.endpoint,
        access_key_id=settings.access_key_id,
        secret_access_key=settings.secret_access_key,
        repository=repository,
    )
    manager = OneRunIOManager(lakefs=lakefs)
    opened = RunBranch(connection, repository, RUN_ID)
    base = opened.open()

    def prepare(method: str, name: str, value: Any) -> Callable[[], Any]:
        """The measured call, with what a Dagster step builds before it (the context) built here."""
        path = f"dagster/bench/{name}.parquet"
        if method == "raw_load":
            return lambda: pd.read_parquet(io.BytesIO(connection.sdk.objects_api.get_object(repository, branch, path)))
        if method == "io_load":
            load_context = build_input_context(asset_key=AssetKey(["bench", name]), dagster_type=_dataframe_type())
            return lambda: manager.load_input(load_context)
        if method == "raw_store":

            def store() -> None:
                buffer = io.BytesIO()
                value.to_parquet(buffer, index=False)
                connection.sdk.objects_api.upload_object(
                    repository, branch, f"raw/{name}.parquet", content=buffer.getvalue()
                )

            return store
        store_context = build_output_context(asset_key=AssetKey(["bench", name]))
        return lambda: manager.handle_output(store_context, value)

    # First calls import and set up what they use (pandas' parquet engine,
    # Dagster's context machinery): done on a tiny value, outside the timing.
    prepare(method, "tiny", frame(100))()
    measured = prepare(method, "frame", data)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    mark = log.count
    started = time.perf_counter()
    loaded = measured()
    elapsed = time.perf_counter() - started
    requests = log.count - mark
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if method.endswith("load"):
        assert len(loaded) == rows
    print(json.dumps({"seconds": elapsed, "requests": requests, "growth_mib": (peak - baseline) / 1024}))


def _dataframe_type() -> Any:
    import pandas as pd
    from dagster import PythonObjectDagsterType

    return PythonObjectDagsterType(pd.DataFrame)


def measure(access: ServerAccess, rows: int, repeat: int) -> dict[str, Any]:
    from lakefs_wap import RunBranch

    connection = connect_to(access)
    repository = f"bench-io-{uuid.uuid4().hex[:8]}"
    ensure_repository(connection.sdk.repositories_api, repository, access.storage_namespace(repository))
    branch = RunBranch(connection, repository, RUN_ID).branch
    data = frame(rows)
    frame_mib = data.memory_usage(index=True, deep=True).sum() / 2**20
    env = {**os.environ, **access.as_lakectl_env()}
    samples: dict[str, list[dict[str, float]]] = {method: [] for _, method, _ in METHODS}
    with tempfile.TemporaryDirectory(prefix="lakefs-wap-bench-"):
        # The stored values both loads read (and the tiny one they warm up on),
        # written by the IO manager itself.
        _run_child(env, "io_store", repository, branch, rows)
        for repetition in range(repeat):
            turn = repetition % len(METHODS)
            for _, method, _ in METHODS[turn:] + METHODS[:turn]:
                samples[method].append(_run_child(env, method, repository, branch, rows))
    size = connection.sdk.objects_api.stat_object(repository, branch, "dagster/bench/frame.parquet").size_bytes
    return {"rows": rows, "frame_mib": frame_mib, "parquet_mib": (size or 0) / 2**20, "samples": samples}


def _run_child(env: dict[str, str], method: str, repository: str, branch: str, rows: int) -> dict[str, float]:
    command = [sys.executable, "-m", "benchmarks.io_manager", "--child", method, repository, branch, str(rows)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(f"child {method} failed:\n{result.stderr[-3000:]}")
    values: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return values


def table(results: dict[str, Any]) -> list[str]:
    medians = {
        method: {key: statistics.median(s[key] for s in samples) for key in ("seconds", "requests", "growth_mib")}
        for method, samples in results["samples"].items()
    }
    lines = [
        f"DataFrame {results['rows']:,} x 8: {results['frame_mib']:.0f} MiB in memory, "
        f"{results['parquet_mib']:.0f} MiB as parquet; medians of {len(results['samples']['raw_load'])}",
        f"{'method':<36} {'seconds':>8} {'vs raw':>7} {'requests':>8} {'RSS growth MiB':>15} {'x frame':>8}",
    ]
    for label, method, compared in METHODS:
        row = medians[method]
        ratio = f"{row['seconds'] / medians[compared]['seconds']:.2f}x" if compared else "-"
        lines.append(
            f"{label:<36} {row['seconds']:>8.3f} {ratio:>7} {row['requests']:>8.0f} "
            f"{row['growth_mib']:>15.0f} {row['growth_mib'] / results['frame_mib']:>7.2f}x"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="2,000 rows, one repetition")
    parser.add_argument("--json", type=Path, default=default_results_path("io_manager"))
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        method, repository, branch, rows = args.child
        child(method, repository, branch, int(rows))
        return
    rows, repeat = (2_000, 1) if args.smoke else (args.rows, args.repeat)
    with lakefs_server() as access:
        results = measure(access, rows, repeat)
        facts = machine_facts(connect_to(access).server_version())
    for line in [*describe_machine(facts), *table(results)]:
        print(line)
    write_results(args.json, {"machine": facts, **results})


if __name__ == "__main__":
    main()
