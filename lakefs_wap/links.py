"""Links into the lakeFS web UI, defined once for the Airflow links, Dagster metadata and the demo.

Every part taken from users (repository, commit, branch, path) is quoted, so a
name with ``&``, ``#`` or ``?`` cannot turn into another page. ``base`` is the
UI's address as a browser reaches it: ``ConnectionSettings.ui_base_url``.
"""

from __future__ import annotations

from urllib.parse import quote


def _quoted(value: str) -> str:
    return quote(value, safe="")


def commit_url(base: str, repository: str, commit_id: str) -> str:
    """The page of one commit."""
    return f"{base.rstrip('/')}/repositories/{_quoted(repository)}/commits/{_quoted(commit_id)}"


def branch_url(base: str, repository: str, branch: str) -> str:
    """The object browser at a branch (or any ref)."""
    return f"{base.rstrip('/')}/repositories/{_quoted(repository)}/objects?ref={_quoted(branch)}"


def object_url(base: str, repository: str, ref: str, path: str) -> str:
    """The page of one object at a ref."""
    return f"{base.rstrip('/')}/repositories/{_quoted(repository)}/object?ref={_quoted(ref)}&path={_quoted(path)}"


__all__ = ["branch_url", "commit_url", "object_url"]
