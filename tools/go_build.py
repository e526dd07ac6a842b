"""Servers built from a Go module pinned in a small wrapper module under ``tools/``.

Where a binary comes from, first match wins:

1. ``<ENV_VAR>`` (``LAKEFS_BIN``, ``MINIO_BIN``): a path to the binary;
2. the command on ``PATH``;
3. a build cached under ``$LAKEFS_WAP_CACHE_DIR`` (default
   ``${XDG_CACHE_HOME:-~/.cache}/lakefs-wap``) in a directory named after the
   pinned version, made on first use with Go.

A build never lands in the source tree, and an interrupted one never leaves a
binary that a later run would trust.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tools.processes import LakeFSUnavailable, progress


def cache_dir() -> Path:
    configured = os.environ.get("LAKEFS_WAP_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "lakefs-wap"


@dataclass(frozen=True)
class PinnedGoBinary:
    """A server program built from ``package`` at the version ``module_dir/go.mod`` requires of ``module``."""

    title: str  # how messages name it: "lakeFS"
    command: str  # the file name, also looked up on PATH: "lakefs"
    env_var: str  # names a binary to use instead: "LAKEFS_BIN"
    module_dir: Path
    module: str
    package: str
    ldflags: str = ""

    def pinned_version(self) -> str:
        go_mod = self.module_dir / "go.mod"
        pattern = rf"^require {re.escape(self.module)} (v\S+)$"
        match = re.search(pattern, go_mod.read_text(), re.MULTILINE)
        if match is None:
            raise LakeFSUnavailable(f"{go_mod} does not require {self.module}")
        return match.group(1)

    def cached_path(self) -> Path:
        return cache_dir() / f"{self.command}-{self.pinned_version()}" / self.command

    def find(self) -> Path | None:
        """An existing binary, or None when one would have to be built."""
        configured = os.environ.get(self.env_var)
        if configured:
            path = Path(configured).expanduser()
            if not (path.is_file() and os.access(path, os.X_OK)):
                raise LakeFSUnavailable(f"{self.env_var}={configured} is not an executable file; fix or unset it")
            return path
        on_path = shutil.which(self.command)
        if on_path:
            return Path(on_path)
        cached = self.cached_path()
        return cached if cached.is_file() else None

    def ensure(self) -> Path:
        return self.find() or self.build()

    def build(self, out: Path | None = None) -> Path:
        """Build the pinned version with Go; minutes on a cold module cache."""
        out = out or self.cached_path()
        go = shutil.which("go")
        if go is None:
            raise LakeFSUnavailable(
                f"no {self.title} server binary: {self.env_var} is unset, there is no `{self.command}` on PATH, "
                f"nothing is cached at {out}, and `go` is not installed to build one. "
                f"Install Go (https://go.dev/dl), or point {self.env_var} at a {self.title} binary."
            )
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + f".partial-{os.getpid()}")
        env = dict(os.environ, CGO_ENABLED="0", GOTOOLCHAIN="local", GOFLAGS="-mod=readonly")
        command = [go, "build", "-trimpath"]
        if self.ldflags:
            command += ["-ldflags", self.ldflags]
        command += ["-o", str(partial), self.package]
        version = self.pinned_version()
        progress(f"building {self.title} {version} with {_go_version(go)} into {out} (minutes when cold) ...")
        started = time.monotonic()
        process = subprocess.Popen(
            command, cwd=self.module_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        log_lines: list[str] = []
        for line in process.stdout or ():
            log_lines.append(line.rstrip())
            if line.startswith("go: downloading"):
                progress("  " + line.strip())
        status = process.wait()
        if status != 0:
            partial.unlink(missing_ok=True)
            tail = "\n".join(log_lines[-30:])
            raise LakeFSUnavailable(f"`go build {self.package}` failed with exit code {status}:\n{tail}")
        partial.replace(out)
        progress(f"built {out} in {time.monotonic() - started:.0f}s")
        return out


def _go_version(go: str) -> str:
    result = subprocess.run([go, "version"], capture_output=True, text=True, check=False)
    return result.stdout.strip() or "go (version unknown)"
