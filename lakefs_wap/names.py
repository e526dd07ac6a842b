"""Name rules of lakeFS, checked locally so that bad input never reaches the server,
and the derivation of run-branch names from orchestrator run ids.

The rules mirror lakeFS's own validators (server v1.x): repositories
``^[a-z0-9][a-z0-9-]{2,62}$``, branches ``^\\w[-\\w]*$`` with ASCII ``\\w``, tags
as in ``git check-ref-format`` (no ``/``, ``..``, ``@{``, control characters...),
and any ref without whitespace.

Object paths follow one rule here, stricter than lakeFS (which stores almost any
string): a non-empty string of ``/``-separated segments; one leading ``/`` is
accepted and kept as given; no control characters (``\\n``, ``\\t``, ...), no
empty segment (``//``), no ``.`` or ``..`` segment, and no trailing ``/`` (that
names a folder, not an object). Path prefixes follow the same rule, except that a
trailing ``/`` is what they usually end with. A prefix ending in ``/`` covers
everything in that folder; a prefix without one covers whole segments only: the
path itself and what lies below it, so ``raw`` covers ``raw`` and ``raw/x`` but
not ``rawdata/x``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from lakefs_wap.errors import BadInputError, InvalidNameError

_REPOSITORY = re.compile(r"^[a-z0-9][a-z0-9-]{2,62}$")
_BRANCH = re.compile(r"^\w[-\w]*$", re.ASCII)
_REF = re.compile(r"^\S+$")
_TAG_FORBIDDEN_CHARS = set("^:?*[\\/ ")

# Merge strategies lakeFS knows; None asks for its default.
MERGE_STRATEGIES = ("dest-wins", "source-wins")

# Run-branch names stay short enough to read in the lakeFS UI and in logs.
RUN_BRANCH_MAX_LENGTH = 96
_HASH_LENGTH = 10


def is_control_character(character: str) -> bool:
    """Whether ``character`` is an ASCII control character (U+0000 to U+001F, or DEL).

    The one reading of "control character" for names, paths and metadata keys.

    Example:
        >>> is_control_character("\\n"), is_control_character("a")
        (True, False)
    """
    return ord(character) < 32 or ord(character) == 127


def first_control_character(text: str) -> str | None:
    """The first control character in ``text`` (``is_control_character``), or None when it has none.

    Args:
        text: A name, path or metadata key.
    """
    return next((c for c in text if is_control_character(c)), None)


def validate_repository(name: str) -> str:
    """Check a repository name (``^[a-z0-9][a-z0-9-]{2,62}$``); return it unchanged.

    Args:
        name: The repository's name.

    Raises:
        InvalidNameError: The name breaks lakeFS's rule; nothing was sent.

    Example:
        >>> validate_repository("lake-prod")
        'lake-prod'
    """
    if not isinstance(name, str) or not _REPOSITORY.match(name):
        raise InvalidNameError(
            f"invalid repository name {name!r}: lakeFS repository names are 3-63 characters of lowercase "
            "letters, digits and '-', starting with a letter or digit (regex ^[a-z0-9][a-z0-9-]{2,62}$).",
            repository=name if isinstance(name, str) else None,
        )
    return name


def validate_branch(name: str, *, role: str = "branch") -> str:
    """Check a branch name (``^\\w[-\\w]*$``, ASCII); return it unchanged.

    Args:
        name: The branch's name.
        role: How the message names it ("source branch", "destination branch").

    Raises:
        InvalidNameError: The name breaks lakeFS's rule (a run id or a path
            gets a hint to use ``run_branch_name``).

    Example:
        >>> validate_branch("run-2026-01-01")
        'run-2026-01-01'
    """
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
    """Check a tag name against git's ref rules, as lakeFS does; return it unchanged.

    Args:
        name: The tag's name.

    Raises:
        InvalidNameError: The name breaks the rules; the message says which.

    Example:
        >>> validate_tag("v1.0")
        'v1.0'
    """
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
    if first_control_character(name) is not None or any(c.isspace() for c in name):
        return "it contains a control character or whitespace"
    return None


def validate_ref(ref: str, *, role: str = "ref") -> str:
    """Check a ref: a branch, tag or commit id, optionally with ``~N``/``^N`` suffixes; return it unchanged.

    Args:
        ref: The ref.
        role: How the message names it ("source ref", "baseline commit").

    Raises:
        InvalidNameError: Not a string, or it holds whitespace.
    """
    if not isinstance(ref, str) or not _REF.match(ref):
        raise InvalidNameError(
            f"invalid {role} {ref!r}: give a branch name, a tag or a commit id, without whitespace.",
            ref=ref if isinstance(ref, str) else None,
        )
    return ref


PATH_RULE = (
    "Object paths are '/'-separated names such as 'raw/orders.csv' (one leading '/' is allowed and kept), "
    "without control characters, empty segments ('//'), '.' or '..' segments, or a trailing '/'."
)
PREFIX_RULE = (
    "Path prefixes are '/'-separated names such as 'raw/' or 'raw/orders' (one leading '/' is allowed and kept), "
    "without control characters, empty segments ('//') or '.' and '..' segments."
)


def _path_problem(path: object, *, prefix: bool) -> str | None:
    if not isinstance(path, str):
        return f"it is a {type(path).__name__}, not a string"
    if not path:
        return "it is empty"
    control = first_control_character(path)
    if control is not None:
        return f"it contains the control character {control!r}"
    segments = path.removeprefix("/").split("/")
    if segments == [""]:
        return "it is only '/'"
    if segments[-1] == "":
        if not prefix:
            return "it ends in '/', which names a folder, not an object"
        segments.pop()
    if "" in segments:
        return "it has an empty segment ('//')"
    dots = next((s for s in segments if s in (".", "..")), None)
    if dots is not None:
        return f"it has a '{dots}' segment; lakeFS paths are not resolved like file-system paths"
    return None


def validate_path(path: str, *, what: str = "object path") -> str:
    """Check an object path against the one path rule (``PATH_RULE``); return it unchanged.

    Args:
        path: The object's path.
        what: How the message names it ("object path", "path (item 2 of paths)").

    Raises:
        InvalidNameError: The path breaks the rule; the message says how.

    Example:
        >>> validate_path("raw/orders.csv")
        'raw/orders.csv'
    """
    problem = _path_problem(path, prefix=False)
    if problem:
        raise InvalidNameError(f"invalid {what} {path!r}: {problem}. {PATH_RULE}")
    return path


def validate_prefix(prefix: str, *, what: str = "path prefix") -> str:
    """Check a path prefix: the path rule, but a trailing ``/`` is allowed. Return it unchanged.

    Args:
        prefix: The prefix ("raw/", "raw/orders").
        what: How the message names it.

    Raises:
        InvalidNameError: The prefix breaks the rule (``PREFIX_RULE``).
    """
    problem = _path_problem(prefix, prefix=True)
    if problem:
        raise InvalidNameError(f"invalid {what} {prefix!r}: {problem}. {PREFIX_RULE}")
    return prefix


def under_prefix(path: str, prefix: str) -> bool:
    """Whether ``path`` lies under ``prefix``: inside the folder for ``raw/``, the whole segment for ``raw``.

    Args:
        path: An object path.
        prefix: A prefix, checked by ``validate_prefix`` beforehand.

    Example:
        >>> under_prefix("raw/x", "raw"), under_prefix("rawdata/x", "raw")
        (True, False)
    """
    if prefix.endswith("/"):
        return path.startswith(prefix)
    return path == prefix or path.startswith(prefix + "/")


def _strings(value: object, *, what: str, example: str, allow_empty: bool) -> tuple[Any, ...]:
    """A list of strings given by a user: one string is one item, never its characters."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
        raise BadInputError(
            f"{what} must be a list of strings such as {example}, not a value of type {type(value).__name__}."
        )
    items = tuple(value)
    if not items and not allow_empty:
        raise BadInputError(f"{what} is empty: give at least one, such as {example}.")
    for position, item in enumerate(items):
        if not isinstance(item, str):
            raise BadInputError(
                f"{what}: item {position} is a {type(item).__name__} ({item!r:.80}), not a string; "
                f"give strings such as {example}."
            )
    return items


def validate_prefixes(prefixes: str | Iterable[str], *, what: str, allow_empty: bool = False) -> tuple[str, ...]:
    """Prefixes as a tuple, each checked by ``validate_prefix``; a single string is one prefix.

    Args:
        prefixes: One prefix or an iterable of them.
        what: How the message names the whole list ("only_under").
        allow_empty: Accept an empty list.

    Raises:
        BadInputError: Not a list of strings, or empty when not allowed.
        InvalidNameError: An item breaks the prefix rule.

    Example:
        >>> validate_prefixes("raw/", what="prefixes")
        ('raw/',)
    """
    items = _strings(prefixes, what=what, example="['raw/', 'curated/']", allow_empty=allow_empty)
    return tuple(validate_prefix(item, what=f"prefix (item {n} of {what})") for n, item in enumerate(items))


def validate_paths(paths: str | Iterable[str], *, what: str, allow_empty: bool = False) -> tuple[str, ...]:
    """Object paths as a tuple, each checked by ``validate_path``; a single string is one path.

    Args:
        paths: One path or an iterable of them.
        what: How the message names the whole list ("required paths").
        allow_empty: Accept an empty list.

    Raises:
        BadInputError: Not a list of strings, or empty when not allowed.
        InvalidNameError: An item breaks the path rule.
    """
    items = _strings(paths, what=what, example="['raw/orders.csv']", allow_empty=allow_empty)
    return tuple(validate_path(item, what=f"path (item {n} of {what})") for n, item in enumerate(items))


def validate_strategy(strategy: str | None, *, repository: str | None = None) -> str | None:
    """A lakeFS merge strategy (``MERGE_STRATEGIES``), or None for lakeFS's default; anything else is refused.

    Args:
        strategy: ``"dest-wins"``, ``"source-wins"`` or None.
        repository: The repository the merge is for, kept on the error.

    Returns:
        ``strategy`` unchanged.

    Raises:
        BadInputError: Any other value.
    """
    if strategy is not None and strategy not in MERGE_STRATEGIES:
        raise BadInputError(
            f"unknown merge strategy {strategy!r}: use one of {MERGE_STRATEGIES} or None for the default.",
            repository=repository,
        )
    return strategy


def run_branch_name(run_id: str, prefix: str = "run") -> str:
    """A valid lakeFS branch name for an orchestrator run, the same every time.

    The readable part keeps the run id's letters and digits (``:``, ``+``,
    ``.`` and the like become ``-``); a hash of the exact prefix and run id is
    appended, so two run ids that read alike still get different branches.

    Args:
        run_id: The orchestrator's run id; not empty.
        prefix: A valid branch name that starts the run branch's name.

    Raises:
        InvalidNameError: An empty run id, or a prefix that is not a branch name
            or leaves no room for the run id.

    Example:
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
