"""Object I/O throughput and memory: lakefs-wap streaming vs. the SDKs' in-memory paths.

Each measurement runs in a fresh child process, so its peak RSS (ru_maxrss)
is its own. Prints a table; asserts nothing (timings on shared machines are
noisy, read them as orders of magnitude).

    .venv/bin/python -m benchmarks.object_io               # 64 and 256 MiB
    .venv/bin/python -m benchmarks.object_io --sizes 1024  # sizes in MiB

Starts its own lakeFS unless LAKEFS_ENDPOINT/LAKEFS_ACCESS_KEY_ID/
LAKEFS_SECRET_ACCESS_KEY name one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tools.lakefs_server import LocalLakeFS, ServerAccess

METHODS = {
    "lakefs_wap.objects.upload (streamed file)": "wap_upload",
    "lakefs_wap.objects.download (streamed)": "wap_download",
    "lakefs_sdk objects_api.upload_object (bytes)": "sdk_upload",
    "lakefs_sdk objects_api.get_object (bytes)": "sdk_download",
}


def child(method: str, repo: str, file: str) -> None:
    """Run one measurement in this (child) process and print JSON.

    The connection comes from the LAKECTL_* environment, so the secret never
    appears on a command line.
    """
    import resource

    from lakefs_wap import connect, objects

    connection = connect()
    connection.whoami()  # warm the pool, so it is not timed
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    size = os.path.getsize(file)
    started = time.perf_counter()
    if method == "wap_upload":
        objects.upload(connection, repo, "main", "bench/wap.bin", Path(file))
    elif method == "wap_download":
        objects.download(connection, repo, "main", "bench/source.bin", file + ".out")
    elif method == "sdk_upload":
        data = Path(file).read_bytes()
        connection.sdk.objects_api.upload_object(repo, "main", "bench/sdk.bin", content=data)
    elif method == "sdk_download":
        data = bytes(connection.sdk.objects_api.get_object(repo, "main", "bench/source.bin"))
        assert len(data) == size
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "peak_mib": peak / 1024, "growth_mib": (peak - baseline) / 1024}))


def measure(access: ServerAccess, sizes_mib: list[int]) -> list[tuple[str, int, float, float, float]]:
    from lakefs_wap import ConnectionSettings, connect, objects

    connection = connect(ConnectionSettings(access.endpoint, access.access_key_id, access.secret_access_key))
    rows = []
    with tempfile.TemporaryDirectory(prefix="lakefs-wap-bench-") as scratch:
        for size in sizes_mib:
            repo = f"bench-{uuid.uuid4().hex[:8]}"
            connection.sdk.repositories_api.create_repository(
                {"name": repo, "storage_namespace": f"local://{repo}", "default_branch": "main"}  # type: ignore[arg-type]
            )
            file = Path(scratch) / f"{size}.bin"
            with file.open("wb") as out:
                for _ in range(size):
                    out.write(os.urandom(1024 * 1024))
            objects.upload(connection, repo, "main", "bench/source.bin", file)
            for label, method in METHODS.items():
                command = [sys.executable, "-m", "benchmarks.object_io", "--child", method, repo, str(file)]
                env = {**os.environ, **access.as_lakectl_env()}
                result = subprocess.run(command, capture_output=True, text=True, check=True, env=env)  # noqa: S603
                values = json.loads(result.stdout.strip().splitlines()[-1])
                rows.append((label, size, values["seconds"], values["peak_mib"], values["growth_mib"]))
            file.unlink()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256], help="object sizes in MiB")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if os.environ.get("LAKEFS_ENDPOINT"):
        access = ServerAccess(
            os.environ["LAKEFS_ENDPOINT"], os.environ["LAKEFS_ACCESS_KEY_ID"], os.environ["LAKEFS_SECRET_ACCESS_KEY"]
        )
        rows = measure(access, args.sizes)
    else:
        with LocalLakeFS() as server:
            rows = measure(server.access, args.sizes)
    print(f"{'method':<46} {'MiB':>6} {'seconds':>8} {'MiB/s':>8} {'peak RSS MiB':>13} {'RSS growth MiB':>15}")
    for label, size, seconds, peak, growth in rows:
        print(f"{label:<46} {size:>6} {seconds:>8.2f} {size / seconds:>8.1f} {peak:>13.0f} {growth:>15.0f}")


if __name__ == "__main__":
    main()
