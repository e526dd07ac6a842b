"""Object bytes in and out of lakeFS: lakefs-wap vs. curl, the generated SDK, the
high-level ``lakefs`` package and lakefs-spec, side by side.

Every measurement runs in a fresh child process (curl in its own), in an order
rotated each repetition; the table gives medians, throughput relative to curl
(the plain HTTP client: what the link and server allow), requests counted at
urllib3, and peak memory growth over the process's baseline (for curl, its
whole peak RSS). Prints a table and writes JSON; asserts nothing.

    .venv/bin/python -m benchmarks.object_io                 # 1024 MiB, 5 repetitions
    .venv/bin/python -m benchmarks.object_io --sizes 64 256 --repeat 7
    .venv/bin/python -m benchmarks.object_io --smoke         # 1 MiB, one repetition

Starts its own lakeFS (on PostgreSQL and MinIO with LAKEFS_WAP_BACKEND=s3, where the
presigned rows run too) unless LAKEFS_ENDPOINT/LAKEFS_ACCESS_KEY_ID/LAKEFS_SECRET_ACCESS_KEY
name one. Every upload row writes a new object: a run needs about
(upload rows x repetitions + 1) x size of free disk, given back when its own server stops.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

SOURCE_PATH = "bench/source.bin"
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Method:
    label: str
    name: str
    direction: str  # "download" or "upload"


METHODS = [
    Method("curl -> file", "curl_download", "download"),
    Method("lakefs_wap.objects.download -> file", "wap_download", "download"),
    Method("lakefs_wap.objects.read_buffer -> memory", "wap_read_buffer", "download"),
    Method("lakefs_sdk get_object -> bytes", "sdk_download", "download"),
    Method("lakefs reader -> file", "hl_download", "download"),
    Method("lakefs-spec get_file -> file", "spec_download", "download"),
    Method("lakefs_wap.objects.download presign=True", "wap_download_presign", "download"),
    Method("lakefs reader pre_sign=True -> file", "hl_download_presign", "download"),
    Method("curl -T file (streamed)", "curl_upload", "upload"),
    Method("lakefs_wap.objects.upload <- file", "wap_upload", "upload"),
    Method("lakefs_sdk upload_object <- bytes", "sdk_upload", "upload"),
    Method("lakefs writer <- file", "hl_upload", "upload"),
    Method("lakefs-spec put_file <- file", "spec_upload", "upload"),
    Method("lakefs_wap.objects.upload presign=True", "wap_upload_presign", "upload"),
    Method("lakefs writer pre_sign=True <- file", "hl_upload_presign", "upload"),
]
BASELINE = {"download": "curl_download", "upload": "curl_upload"}


def child(method: str, repository: str, file: str) -> None:
    """One measurement in this fresh process; prints JSON.

    The connection comes from the LAKECTL_* environment, so the secret is on no command line.
    """
    import resource

    from lakefs_wap import connect

    connection = connect()
    target = f"bench/{method}-{uuid.uuid4().hex[:8]}.bin"
    out = f"{file}.{method}.out"
    log = count_requests()
    run = _prepare(method, connection, repository, file, target, out)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    mark = log.count
    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    if method.startswith("curl"):
        # curl's own peak is not measurable from here: the forked child's
        # pre-exec copy of this Python process sets the children's high-water mark.
        requests, growth_kib = 1, float("nan")
    else:
        requests, growth_kib = log.count - mark, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline
    size = os.path.getsize(file)
    if method.endswith("download") and method not in ("sdk_download",):
        assert os.path.getsize(out) == size, f"{method} wrote {os.path.getsize(out)} of {size} bytes"
    Path(out).unlink(missing_ok=True)
    if method.endswith("upload"):
        stored = connection.sdk.objects_api.stat_object(repository, "main", target).size_bytes
        assert stored == size, f"{method} stored {stored} of {size} bytes"
    print(json.dumps({"seconds": elapsed, "requests": requests, "growth_mib": growth_kib / 1024}))


def _prepare(method: str, connection: Any, repository: str, file: str, target: str, out: str) -> Any:
    """The measured call, with its client built and warmed (one small request) beforehand."""
    settings = connection.settings
    object_url = f"{settings.api_url}/repositories/{repository}"
    if method.startswith("curl"):
        if method == "curl_download":
            url = f"{object_url}/refs/main/objects?path={SOURCE_PATH}"
            arguments = ["-o", out, url]
        else:
            url = f"{object_url}/branches/main/objects?path={target}"
            arguments = ["-X", "POST", "-H", "Content-Type: application/octet-stream", "-T", file, url]
        credentials = f'user = "{settings.access_key_id}:{settings.secret_access_key}"\n'

        def curl() -> None:
            subprocess.run(  # noqa: S603 - fixed arguments; credentials go through stdin, not argv
                ["curl", "--silent", "--show-error", "--fail", "--config", "-", *arguments],  # noqa: S607
                input=credentials.encode(),
                check=True,
            )

        return curl
    connection.whoami()
    from lakefs_wap import objects

    if method.startswith("wap_download"):
        presign = method.endswith("presign")
        return lambda: objects.download(connection, repository, "main", SOURCE_PATH, out, presign=presign)
    if method == "wap_read_buffer":

        def read_buffer() -> None:
            Path(out).write_bytes(b"")  # nothing to compare on disk: the buffer's size is checked
            buffer = objects.read_buffer(connection, repository, "main", SOURCE_PATH)
            assert buffer.nbytes == os.path.getsize(file)

        return read_buffer
    if method.startswith("wap_upload"):
        presign = method.endswith("presign")
        return lambda: objects.upload(connection, repository, "main", target, Path(file), presign=presign)
    if method == "sdk_download":
        return lambda: connection.sdk.objects_api.get_object(repository, "main", SOURCE_PATH)
    if method == "sdk_upload":
        return lambda: connection.sdk.objects_api.upload_object(
            repository, "main", target, content=Path(file).read_bytes()
        )
    if method.startswith("hl_"):
        import lakefs

        client = lakefs.Client(
            host=settings.endpoint, username=settings.access_key_id, password=settings.secret_access_key
        )
        branch = lakefs.Repository(repository, client=client).branch("main")
        branch.get_commit()
        # The package presigns by itself whenever the storage can; the plain
        # rows ask it not to, so they measure the path through lakeFS.
        pre_sign = method.endswith("presign")
        if method.startswith("hl_download"):

            def hl_download() -> None:
                reader = branch.object(SOURCE_PATH).reader(mode="rb", pre_sign=pre_sign)
                with reader, open(out, "wb") as sink:
                    shutil.copyfileobj(reader, sink, CHUNK)  # type: ignore[misc]  # lakefs reader is untyped

            return hl_download

        def hl_upload() -> None:
            writer = branch.object(target).writer(mode="wb", pre_sign=pre_sign)
            with writer, open(file, "rb") as source:
                shutil.copyfileobj(source, writer, CHUNK)

        return hl_upload
    from lakefs_spec import LakeFSFileSystem

    fs = LakeFSFileSystem(
        host=settings.endpoint, username=settings.access_key_id, password=settings.secret_access_key, pre_sign=False
    )
    fs.ls(f"{repository}/main/bench/")
    if method == "spec_download":
        return lambda: fs.get_file(f"{repository}/main/{SOURCE_PATH}", out)
    return lambda: fs.put_file(file, f"{repository}/main/{target}")


def measure(access: ServerAccess, sizes_mib: list[int], repeat: int) -> list[dict[str, Any]]:
    from lakefs_wap import objects

    connection = connect_to(access)
    env = {**os.environ, **access.as_lakectl_env()}
    presigns = bool(connection.sdk.internal_api.get_storage_config().pre_sign_support)
    results = []
    with tempfile.TemporaryDirectory(prefix="lakefs-wap-bench-") as scratch:
        for size in sizes_mib:
            repository = f"bench-{uuid.uuid4().hex[:8]}"
            ensure_repository(connection.sdk.repositories_api, repository, access.storage_namespace(repository))
            file = Path(scratch) / f"{size}.bin"
            with file.open("wb") as out:
                for _ in range(size):
                    out.write(os.urandom(CHUNK))
            objects.upload(connection, repository, "main", SOURCE_PATH, file)
            methods = [m for m in METHODS if presigns or not m.name.endswith("presign")]
            samples: dict[str, list[dict[str, float]]] = {m.name: [] for m in methods}
            failures: dict[str, list[str]] = {}
            for repetition in range(repeat):
                turn = repetition % len(methods)
                for method in methods[turn:] + methods[:turn]:
                    command = [
                        sys.executable,
                        "-m",
                        "benchmarks.object_io",
                        "--child",
                        method.name,
                        repository,
                        str(file),
                    ]
                    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)  # noqa: S603
                    if done.returncode != 0:
                        # Reported in the table, not fatal: a client that cannot move
                        # the object at all is a result too.
                        reason = (done.stderr.strip().splitlines() or ["no output"])[-1][:120]
                        failures.setdefault(method.name, []).append(reason)
                        print(f"{method.name} failed: {reason}", file=sys.stderr)
                        continue
                    samples[method.name].append(json.loads(done.stdout.strip().splitlines()[-1]))
            file.unlink()
            results.append({"size_mib": size, "repeat": repeat, "samples": samples, "failures": failures})
    return results


def table(results: list[dict[str, Any]]) -> list[str]:
    lines = [
        f"{'method':<42} {'MiB':>6} {'seconds':>8} {'MiB/s':>8} {'vs curl':>8} {'requests':>8} {'RSS growth MiB':>15}"
    ]
    for result in results:
        size = result["size_mib"]
        medians = {
            name: {key: statistics.median(s[key] for s in samples) for key in ("seconds", "requests", "growth_mib")}
            for name, samples in result["samples"].items()
            if samples
        }
        for method in METHODS:
            failed = result["failures"].get(method.name)
            if failed:
                lines.append(f"{method.label:<42} {size:>6} failed {len(failed)} of {result['repeat']}: {failed[-1]}")
            if method.name not in medians:
                continue  # failed every time, or a presign row on storage that cannot presign
            row = medians[method.name]
            baseline = medians[BASELINE[method.direction]]["seconds"]
            lines.append(
                f"{method.label:<42} {size:>6} {row['seconds']:>8.3f} {size / row['seconds']:>8.1f} "
                f"{baseline / row['seconds']:>7.2f}x {row['requests']:>8.0f} {_mib(row['growth_mib']):>15}"
            )
    return lines


def _mib(value: float) -> str:
    return "-" if value != value else f"{value:.0f}"  # NaN: not measured


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024], help="object sizes in MiB")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="1 MiB, one repetition")
    parser.add_argument("--json", type=Path, default=default_results_path("object_io"))
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    sizes, repeat = ([1], 1) if args.smoke else (args.sizes, args.repeat)
    with lakefs_server() as access:
        results = measure(access, sizes, repeat)
        facts = machine_facts(connect_to(access).server_version())
    for line in [*describe_machine(facts), *table(results)]:
        print(line)
    write_results(args.json, {"machine": facts, "results": results})


if __name__ == "__main__":
    main()
