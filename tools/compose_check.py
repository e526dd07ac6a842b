"""Validate a compose file against the Compose Specification without a container engine.

``tools/compose-check/`` is a small Go program on ``compose-go``, the loader Docker
Compose itself uses: it validates the file against the specification's JSON
schema, interpolates and normalizes it, checks references between services, and
prints the resulting project as JSON. It is built once with Go and cached like the
lakeFS binary (``tools/go_build.py``); ``COMPOSE_CHECK_BIN`` names a binary to use
instead.

Command line::

    python -m tools.compose_check build               # build it if needed, print its path
    python -m tools.compose_check docker-compose.yml  # print the normalized project
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.go_build import PinnedGoBinary, cache_dir
from tools.processes import LakeFSUnavailable

MODULE_DIR = Path(__file__).resolve().parent / "compose-check"


class ComposeFileInvalid(ValueError):
    """The compose file breaks the specification; the message is the validator's."""


@dataclass(frozen=True)
class _ComposeCheckBinary(PinnedGoBinary):
    def cached_path(self) -> Path:
        # The program is ours, not only the pinned library: a changed main.go (or
        # go.sum) must not reuse a binary built from the old one.
        digest = hashlib.sha256()
        for name in ("go.mod", "go.sum", "main.go"):
            digest.update((self.module_dir / name).read_bytes())
        name = f"{self.command}-{self.pinned_version()}-{digest.hexdigest()[:12]}"
        return cache_dir() / name / self.command


COMPOSE_CHECK = _ComposeCheckBinary(
    title="compose-check (Compose file validator)",
    command="compose-check",
    env_var="COMPOSE_CHECK_BIN",
    module_dir=MODULE_DIR,
    module="github.com/compose-spec/compose-go/v2",
    package=".",
)


def normalized_project(
    compose_file: Path, env: Mapping[str, str] | None = None, *, project_directory: Path | None = None
) -> dict[str, Any]:
    """The project Compose would run from ``compose_file``, as compose-go normalizes it.

    Variables for interpolation come from ``env`` only (default: none besides
    ``PATH``), so the result is the file's own defaults, not the caller's settings.
    Relative paths resolve against ``project_directory`` (default: the file's
    directory). Raises ``ComposeFileInvalid`` with the validator's message when the
    file is invalid.
    """
    binary = COMPOSE_CHECK.ensure()
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    environment.update(env or {})
    command = [str(binary)]
    if project_directory is not None:
        command += ["-project-directory", str(project_directory)]
    result = subprocess.run(
        [*command, str(compose_file)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=compose_file.parent,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise ComposeFileInvalid(result.stderr.strip() or f"compose-check exited with {result.returncode}")
    project: dict[str, Any] = json.loads(result.stdout)
    return project


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.compose_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("target", help="`build`, or a compose file to validate")
    args = parser.parse_args(argv)
    try:
        if args.target == "build":
            print(COMPOSE_CHECK.ensure())
            return 0
        print(json.dumps(normalized_project(Path(args.target).resolve()), indent=2))
        return 0
    except (LakeFSUnavailable, ComposeFileInvalid) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
