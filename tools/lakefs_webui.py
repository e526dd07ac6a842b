"""A lakeFS server with its web UI, built from the pinned lakeFS module's own sources.

The lakeFS binary of the test bed (``tools/lakefs_server.py``) is built from
the published Go module, whose ``webui/dist`` holds only a placeholder: its
``/`` says "lakeFS UI Not Built". The module does carry the UI's sources
(``webui/``, a Vite app with a lock file), so this builds the real thing:

1. copy the module's source tree (``go mod download`` puts it in the module
   cache, read-only) to ``<cache>/lakefs-ui-src-<version>/``;
2. ``npm ci`` and ``npm run build`` in its ``webui/`` (fills ``webui/dist``);
3. ``go build ./cmd/lakefs`` in that tree, now the main module, so its own
   ``replace`` directives apply, with the same version stamp as the test bed's
   binary, into ``<cache>/lakefs-ui-<version>/lakefs``;
4. remove the copied tree (its ``node_modules`` alone is about 700 MB).

Only ``make demo`` uses it; the tests and CI never build it.
``LAKEFS_UI_BIN`` names a UI-carrying binary to use instead.

Command line: ``python -m tools.lakefs_webui build`` builds it (if needed) and
prints its path.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from tools.go_build import PinnedGoBinary, cache_dir
from tools.lakefs_server import BUILD_MODULE_DIR, _lakefs_binary
from tools.processes import LakeFSUnavailable

ENV_VAR = "LAKEFS_UI_BIN"
LAKEFS_MODULE = "github.com/treeverse/lakefs"
# Text of lakeFS's placeholder page, served at / by a binary built without its UI.
PLACEHOLDER_TITLE = "lakeFS UI Not Built"


@dataclass(frozen=True)
class _SourceTreeBinary(PinnedGoBinary):
    """``go build`` inside lakeFS's own tree: the version comes from the copy, not from a ``require`` line."""

    version: str = ""

    def pinned_version(self) -> str:
        return self.version


def pinned_version() -> str:
    return _lakefs_binary().pinned_version()


def cached_path() -> Path:
    return cache_dir() / f"lakefs-ui-{pinned_version()}" / "lakefs"


def source_dir() -> Path:
    return cache_dir() / f"lakefs-ui-src-{pinned_version()}"


def find() -> Path | None:
    """A lakeFS binary with the UI: ``LAKEFS_UI_BIN``, else the cached build, else None."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        path = Path(configured).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise LakeFSUnavailable(f"{ENV_VAR}={configured} is not an executable file; fix or unset it")
        return path
    cached = cached_path()
    return cached if cached.is_file() else None


def serves_ui(endpoint: str) -> bool:
    """Whether the lakeFS at ``endpoint`` serves its web UI rather than the placeholder page."""
    try:
        with urllib.request.urlopen(f"{endpoint.rstrip('/')}/", timeout=10) as response:  # noqa: S310
            page = response.read(200_000).decode(errors="replace")
    except OSError:
        return False
    return PLACEHOLDER_TITLE not in page and '<div id="root">' in page


def missing_tools() -> list[str]:
    """What this machine lacks to build the UI (empty when it can)."""
    return [tool for tool in ("go", "node", "npm") if shutil.which(tool) is None]


def _run(command: list[str], cwd: Path, env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise LakeFSUnavailable(f"{what} failed with exit code {result.returncode} in {cwd}:\n{tail}")


def _module_source(version: str, env: dict[str, str]) -> Path:
    """The pinned lakeFS module's directory in Go's module cache, downloaded if needed."""
    go = shutil.which("go") or "go"
    result = subprocess.run(
        [go, "mod", "download", "-json", f"{LAKEFS_MODULE}@{version}"],
        cwd=BUILD_MODULE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        found = json.loads(result.stdout)
    except json.JSONDecodeError:
        found = {}
    if result.returncode != 0 or not found.get("Dir"):
        detail = found.get("Error") or result.stderr.strip()
        raise LakeFSUnavailable(f"`go mod download {LAKEFS_MODULE}@{version}` failed: {detail}")
    return Path(found["Dir"])


def _copy_tree(source: Path, target: Path) -> None:
    """Copy the read-only module tree to ``target``, writable, replacing an interrupted copy."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, symlinks=True)
    for directory, _, files in os.walk(target):
        for name in [".", *files]:
            path = Path(directory, name)
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def build(say: Callable[[str], None], out: Path | None = None) -> Path:
    """Build lakeFS with its UI into the cache; minutes (npm downloads, Vite, then Go). Returns the binary."""
    missing = missing_tools()
    if missing:
        raise LakeFSUnavailable(
            f"cannot build the lakeFS web UI: {', '.join(missing)} not found on PATH "
            "(Node.js >= 18 with npm, and Go, are needed)"
        )
    version = pinned_version()
    out = out or cached_path()
    env = dict(os.environ, GOTOOLCHAIN="local")
    started = time.monotonic()
    tree = source_dir()
    say(f"[lakefs-ui] copying the lakeFS {version} module's sources to {tree} ...")
    _copy_tree(_module_source(version, env), tree)
    webui = tree / "webui"
    try:
        say("[lakefs-ui] npm ci (downloads about 700 MB of packages the first time) ...")
        _run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], webui, env, "npm ci")
        say(f"[lakefs-ui] npm run build (Vite) ... [{time.monotonic() - started:.0f}s so far]")
        # The UI shows this as its version, like the server's own stamp.
        _run(["npm", "run", "build"], webui, dict(env, VERSION=f"dev-{version}"), "npm run build")
        if not (webui / "dist" / "index.html").is_file():
            raise LakeFSUnavailable(f"npm run build left no {webui / 'dist' / 'index.html'}")
        say(f"[lakefs-ui] go build ./cmd/lakefs with the UI embedded ... [{time.monotonic() - started:.0f}s so far]")
        binary = replace(
            _SourceTreeBinary(
                "lakeFS with web UI", "lakefs", ENV_VAR, tree, LAKEFS_MODULE, "./cmd/lakefs", version=version
            ),
            ldflags=_lakefs_binary().ldflags,
        )
        binary.build(out)
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    say(f"[lakefs-ui] built {out} in {time.monotonic() - started:.0f}s")
    return out


def _main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["build"]:
        print("usage: python -m tools.lakefs_webui build", file=sys.stderr)
        return 2
    try:
        print(find() or build(lambda line: print(line, file=sys.stderr, flush=True)))
    except LakeFSUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main())
