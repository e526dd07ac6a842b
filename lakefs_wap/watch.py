"""One-shot checks for "has something new arrived?", the body of every sensor.

Orchestrator sensors (Airflow sensors and triggers, Dagster sensors) call these
on each poll; each check is a few small requests and keeps no state: the
caller holds the baseline.
"""

from __future__ import annotations

from collections.abc import Iterable

from lakefs_wap.connection import LakeFSConnection
from lakefs_wap.errors import NotFoundError, translated
from lakefs_wap.names import validate_path, validate_prefix, validate_prefixes, validate_ref, validate_repository
from lakefs_wap.operations import branch_head

# A sensor looks at the newest commits only; a burst larger than this between
# two polls still fires, on the newest commits.
_WATCH_WINDOW = 1000


def new_commit_since(
    connection: LakeFSConnection,
    repository: str,
    branch: str,
    baseline: str,
    prefixes: str | Iterable[str] | None = None,
) -> str | None:
    """The head of ``branch`` once it has commits after ``baseline`` (touching ``prefixes`` if given), else None.

    The head, not the matching commit itself: readers want what the branch
    shows, and lakeFS's prefix-filtered log leaves out merge commits, so the
    matching commit may be a run's commit behind the merge that published it.
    They filter as lakeFS filters a log: by plain string prefix.

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        branch: The branch watched.
        baseline: The commit id the watch started from.
        prefixes: Only commits touching these count; a single string is one prefix.

    Example:
        >>> new_commit_since(connection, "lake", "main", baseline, prefixes="curated/")  # doctest: +SKIP
        'c1f0...'
    """
    validate_ref(baseline, role="baseline commit")
    wanted = validate_prefixes(prefixes, what="prefixes", allow_empty=True) if prefixes is not None else ()
    head = branch_head(connection, repository, branch)
    if head == baseline:
        return None
    with translated(action=f"read the log of '{branch}'", repository=repository, ref=branch):
        page = connection.sdk.refs_api.log_commits(
            repository,
            head,
            amount=_WATCH_WINDOW,
            prefixes=list(wanted) or None,
            limit=True,
            stop_at=baseline,
        )
    newer = [commit.id for commit in page.results if commit.id != baseline]
    return head if newer else None


def find_object(
    connection: LakeFSConnection,
    repository: str,
    ref: str,
    *,
    path: str | None = None,
    prefix: str | None = None,
) -> str | None:
    """The path of ``path``, or of the first object under ``prefix``, if it exists on ``ref``.

    On a branch this sees uncommitted (staged) objects too.

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        ref: The branch, tag or commit.
        path: An exact object path (give this or ``prefix``).
        prefix: Any object under this prefix.
    """
    validate_repository(repository)
    validate_ref(ref)
    if (path is None) == (prefix is None):
        raise ValueError("give exactly one of path= or prefix=")
    if prefix is not None:
        validate_prefix(prefix)
    if path is not None:
        validate_path(path)
        try:
            with translated(
                action=f"stat '{path}' on '{ref}'", repository=repository, ref=ref, missing=f"object '{path}'"
            ):
                connection.sdk.objects_api.stat_object(repository, ref, path)
        except NotFoundError:
            _ensure_ref(connection, repository, ref)
            return None
        return path
    with translated(
        action=f"list objects under '{prefix}' on '{ref}'",
        repository=repository,
        ref=ref,
        missing=f"repository '{repository}' and ref '{ref}'",
    ):
        listing = connection.sdk.objects_api.list_objects(repository, ref, prefix=prefix, amount=1)
    return str(listing.results[0].path) if listing.results else None


def _ensure_ref(connection: LakeFSConnection, repository: str, ref: str) -> None:
    """A 404 on stat means 'no object' only if the ref itself exists."""
    with translated(
        action=f"find ref '{ref}'", repository=repository, ref=ref, missing=f"repository '{repository}' and ref '{ref}'"
    ):
        connection.sdk.refs_api.log_commits(repository, ref, amount=1)


__all__ = ["find_object", "new_commit_since"]
