"""Name rules of lakeFS, checked locally so that bad input never reaches the server,
and the derivation of run-branch names from orchestrator run ids.

The rules mirror lakeFS's own validators (server v1.x): repositories
``^[a-z0-9][a-z0-9-]{2,62}$``, branches ``^\\w[-\\w]*$`` with ASCII ``\\w``, tags
as in ``git check-ref-format`` (no ``/``, ``..``, ``@{``, control characters...),
and any ref without whitespace.
"""

from __future__ import annotations

import hashlib
import re

from lakefs_wap.errors import InvalidNameError

_REPOSITORY = re.compile(r"^[a-z0-9][a-z0-9-]{2,62}$")
_BRANCH = re.compile(r"^\w[-\w]*$", re.ASCII)
_REF = re.compile(r"^\S+$")
_TAG_FORBIDDEN_CHARS = set("^:?*[\\/ ")

# Run-branch names stay short enough to read in the lakeFS UI and in logs.
RUN_BRANCH_MAX_LENGTH = 96
_HASH_LENGTH = 10


def validate_repository(name: str) -> str:
    if not isinstance(name, str) or not _REPOSITORY.match(name):
        raise InvalidNameError(
            f"invalid repository name {name!r}: lakeFS repository names are 3-63 characters of lowercase "
            "letters, digits and '-', starting with a letter or digit (regex ^[a-z0-9][a-z0-9-]{2,62}$).",
            repository=name if isinstance(name, str) else None,
        )
    return name


def validate_branch(name: str, *, role: str = "branch") -> str:
    """Check a branch name; ``role`` names it in the message ("source branch", ...)."""
    if not isinstance(name, str) or not _BRANCH.match(name):
        hint = ""
        if isinstance(name, str) and any(c in name for c in "/.:+ "):
            hint = " Run ids and paths are not valid branch names; use run_branch_name() to derive one."
        raise InvalidNameError(
            f"invalid {role} name {name!r}: lakeFS branch names are letters, digits, '_' and '-', "
            f"starting with a letter, digit or '_' (regex ^\\w[-\\w]*$); no '/', '.', ':' or spaces.{hint}",
            ref=name if isinstance(name, str) else None,
        )
    return name


def validate_tag(name: str) -> str:
    problem = _tag_problem(name)
    if problem:
        raise InvalidNameError(
            f"invalid tag name {name!r}: {problem}. lakeFS tag names follow git's ref rules: "
            "no '/', '..', '@{', spaces or any of ^:?*[\\, and they may not end in '.' or '.lock'.",
            ref=name if isinstance(name, str) else None,
        )
    return name


def _tag_problem(name: object) -> str | None:
    if not isinstance(name, str) or not name:
        return "it is empty"
    if name == "@":
        return "'@' alone is reserved"
    if name.endswith((".", ".lock")):
        return "it ends in '.' or '.lock'"
    if ".." in name or "@{" in name:
        return "it contains '..' or '@{'"
    bad = sorted(set(name) & _TAG_FORBIDDEN_CHARS)
    if bad:
        return f"it contains {''.join(bad)!r}"
    if any(ord(c) < 32 or ord(c) == 127 or c.isspace() for c in name):
        return "it contains a control character or whitespace"
    return None


def validate_ref(ref: str, *, role: str = "ref") -> str:
    """A ref is a branch, tag or commit id, optionally with ``~N``/``^N`` suffixes."""
    if not isinstance(ref, str) or not _REF.match(ref):
        raise InvalidNameError(
            f"invalid {role} {ref!r}: give a branch name, a tag or a commit id, without whitespace.",
            ref=ref if isinstance(ref, str) else None,
        )
    return ref


def validate_path(path: str) -> str:
    if not isinstance(path, str) or not path:
        raise InvalidNameError(f"invalid object path {path!r}: give a non-empty path such as 'raw/orders.csv'.")
    if path.startswith("/"):
        raise InvalidNameError(f"invalid object path {path!r}: paths are relative to the branch; drop the leading '/'.")
    return path


def run_branch_name(run_id: str, prefix: str = "run") -> str:
    """A valid lakeFS branch name for an orchestrator run, the same every time.

    The readable part keeps the run id's letters and digits (``:``, ``+``,
    ``.`` and the like become ``-``); a hash of the exact prefix and run id is
    appended, so two run ids that read alike still get different branches.

    >>> run_branch_name("manual__2026-01-01T00:00:00+00:00", prefix="orders")
    'orders-manual__2026-01-01T00-00-00-00-00-b0508c0a5b'
    """
    if not isinstance(run_id, str) or not run_id.strip():
        raise InvalidNameError(f"invalid run id {run_id!r}: a run branch needs a non-empty run id.")
    validate_branch(prefix, role="run-branch prefix")
    digest = hashlib.sha256(f"{prefix}\0{run_id}".encode()).hexdigest()[:_HASH_LENGTH]
    readable = re.sub(r"[^\w-]+", "-", run_id, flags=re.ASCII).strip("-")
    room = RUN_BRANCH_MAX_LENGTH - len(prefix) - len(digest) - 2
    if room < 8:
        raise InvalidNameError(
            f"run-branch prefix {prefix!r} is too long: keep it under {RUN_BRANCH_MAX_LENGTH - _HASH_LENGTH - 10} "
            "characters so the run id stays readable in the branch name."
        )
    readable = readable[:room].rstrip("-")
    return f"{prefix}-{readable}-{digest}" if readable else f"{prefix}-{digest}"
