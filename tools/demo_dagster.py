"""The Dagster half of ``make demo``: the example assets of ``example_dags/dagster_orders.py``, run once.

Run by ``tools/demo.py`` in a child process whose environment names
``DAGSTER_HOME`` (the demo's own), the lakeFS server and repository
(``LAKEFS_*``, as the example reads them) and ``DAGSTER_WEBSERVER_URL`` (where
the commit's "Open Dagster UI" button leads). The run is stored in that
home's instance, so a ``dagster-webserver`` on the same home shows it.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

from tools.demo_child import quiet_stdout, write_result

EXAMPLE = Path(__file__).resolve().parents[1] / "example_dags" / "dagster_orders.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dagster_orders", EXAMPLE)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {EXAMPLE}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--log", type=Path, required=True)
    args = parser.parse_args(argv)
    say = quiet_stdout(args.log)
    print("[dagster] loading example_dags/dagster_orders.py ...", file=say)
    from dagster import DagsterInstance, materialize

    example = load_example()
    print("[dagster] materializing raw_orders, curated_orders (2 blocking checks) and publish_orders ...", file=say)
    started = time.monotonic()
    result = materialize(
        [
            example.raw_orders,
            example.curated_orders,
            example.publish_orders,
            example.raw_orders_row_count,
            example.raw_orders_schema,
        ],
        resources=example.defs.resources,
        instance=DagsterInstance.get(),
        run_config={"ops": {"raw_orders": {"config": {"rows": args.rows, "bad_data": False}}}},
        raise_on_error=False,
    )
    verdict = "success" if result.success else "failure"
    print(f"[dagster] run {result.run_id}: {verdict} in {time.monotonic() - started:.0f}s", file=say)
    write_result(
        args.result,
        [{"job": result.job_def.name, "run_id": result.run_id, "success": result.success}],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
