"""A lakeFS that tests may crash: its own restartable server behind a crash-injecting proxy.

Clients talk to ``bed.access`` (the proxy); tests arm a crash at one request
with ``bed.crash_at(...)``, restart the server as an operator would with
``bed.restart()``, and read the end state straight from the server through
``bed.client``, which no crash rule touches.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

import lakefs

from tests.fault_proxy import Crash, CrashMode, FaultProxy
from tools.lakefs_server import LocalLakeFS, ServerAccess


@dataclass(frozen=True)
class CrashPoint:
    """One kind of write request, where a crash is injected: at the first one after ``skip`` of them."""

    name: str
    method: str
    path_pattern: str
    body_pattern: bytes | None = None
    skip: int = 0

    def matches(self, method: str, path: str, body: bytes) -> bool:
        return (
            method == self.method
            and re.search(self.path_pattern, path) is not None
            and (self.body_pattern is None or re.search(self.body_pattern, body) is not None)
        )


_RUN_BRANCH = r"/branches/run-[^/?]+"  # a run branch of the default prefix
_SCRATCH_BRANCH = r"/branches/(?!run-)[^/?]+"  # the branch a revert is built on
_END = r"(\?.*)?$"


def _kind(kind: str) -> bytes:
    return rb'"lakefs_wap\.kind":\s*"' + kind.encode() + rb'"'


# Every write request a run sends, from open to revert (tests/core/test_crash.py
# checks that a clean run sends no other). Each is where a crash is injected.
CRASH_POINTS = (
    CrashPoint("open-create-branch", "POST", r"/branches$", rb'"name":\s*"run-'),
    # At the second upload, when the first is staged already.
    CrashPoint("write-upload", "POST", _RUN_BRANCH + r"/objects\?path=", skip=1),
    CrashPoint("commit-data", "POST", _RUN_BRANCH + r"/commits" + _END, _kind("data")),
    CrashPoint("gate-report-commit", "POST", _RUN_BRANCH + r"/commits" + _END, _kind("gates")),
    CrashPoint("publish-merge", "POST", r"/refs/[^/]+/merge/main" + _END, _kind("publish")),
    CrashPoint("publish-record", "POST", r"/tags" + _END, rb"\.pub\."),
    CrashPoint("discard-delete-branch", "DELETE", _RUN_BRANCH + _END),
    CrashPoint("revert-create-branch", "POST", r"/branches$", rb'"name":\s*"(?!run-)'),
    CrashPoint("revert-restore-object", "POST", _SCRATCH_BRANCH + r"/objects/copy" + _END),
    CrashPoint("revert-delete-objects", "POST", _SCRATCH_BRANCH + r"/objects/delete" + _END),
    CrashPoint("revert-commit", "POST", _SCRATCH_BRANCH + r"/commits" + _END, _kind("revert")),
    CrashPoint("revert-merge", "POST", r"/refs/[^/]+/merge/main" + _END, _kind("revert")),
    CrashPoint("revert-record", "POST", r"/tags" + _END, rb"\.rev\."),
    CrashPoint("revert-delete-branch", "DELETE", _SCRATCH_BRANCH + _END),
)


def crash_point(name: str) -> CrashPoint:
    return next(point for point in CRASH_POINTS if point.name == name)


@dataclass
class CrashBed:
    server: LocalLakeFS
    proxy: FaultProxy

    @property
    def access(self) -> ServerAccess:
        """Where clients under test connect: through the proxy."""
        return ServerAccess(
            endpoint=self.proxy.endpoint,
            access_key_id=self.server.access.access_key_id,
            secret_access_key=self.server.access.secret_access_key,
        )

    @cached_property
    def client(self) -> lakefs.Client:
        """A client straight to the server, for setting up and for reading the end state."""
        direct = self.server.access
        return lakefs.Client(host=direct.endpoint, username=direct.access_key_id, password=direct.secret_access_key)

    def crash_at(self, point: CrashPoint, mode: CrashMode, *, restart_after: float | None = None) -> Crash:
        """Kill the server at the next request ``point`` matches; with ``restart_after``, restart it after that long."""
        return self.proxy.inject_crash(
            point.method,
            point.path_pattern,
            body_pattern=point.body_pattern,
            kill=self.server.kill,
            mode=mode,
            restart=self.server.restart if restart_after is not None else None,
            restart_after=restart_after,
            skip=point.skip,
        )

    def restart(self) -> None:
        """Start the server again, as an operator would, and wait until clients can reach it."""
        self.server.restart()
        self.proxy.wait_until_serving()

    def reset(self) -> None:
        """Disarm every rule and make sure the server is up, ready for the next test."""
        for crash in self.proxy.disarm():
            if crash.crashed.is_set() and crash.restart is not None:
                crash.restarted.wait(60)
        if not self.server.is_running():
            self.server.restart()
        self.proxy.wait_until_serving()

    def new_repository(self, hint: str) -> lakefs.Repository:
        slug = re.sub(r"[^a-z0-9]+", "-", hint.lower()).strip("-")[:40] or "test"
        name = f"c-{slug}-{uuid.uuid4().hex[:8]}"
        return lakefs.Repository(name, client=self.client).create(
            storage_namespace=f"local://{name}", default_branch="main"
        )


@contextmanager
def running_crash_bed() -> Iterator[CrashBed]:
    with LocalLakeFS() as server, FaultProxy(server.access.endpoint) as proxy:
        yield CrashBed(server, proxy)
