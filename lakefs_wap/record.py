"""A run's outcomes in lakeFS, found in one request at any history length.

Each outcome of a run is a lakeFS tag named after the run::

    wap.<run key>.<sequence>.<outcome>.<id>

- ``pub``: the run's gated commit ``<id>`` was merged; the tag points at the merge;
- ``same``: the gated commit ``<id>`` changed nothing on the target; it points at that commit;
- ``rev``: the run's publishes were reverted; it points at the revert merge ``<id>``.

``<sequence>`` numbers the run's outcomes 1, 2, 3... (6 digits, so names sort
in order). Tags resolve in one request, list by prefix in
one page, survive the deletion of the run branch, and cannot be moved, which
makes creating one the natural "done" mark of a step: creating it again is a
no-op. Branch names cannot contain ``.``, so one run's prefix never matches
another's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

import lakefs_sdk

from lakefs_wap import operations
from lakefs_wap.connection import LakeFSConnection
from lakefs_wap.errors import translated
from lakefs_wap.keys import KEY_KIND, KEY_RUN_COMMIT, KEY_RUN_KEY, CommitKind
from lakefs_wap.refs import PAGE_SIZE, iter_log

TAG_PREFIX = "wap."
ID_LENGTH = 16
_TAG = re.compile(r"^wap\.(?P<run_key>\w[-\w]*)\.(?P<sequence>\d{6})\.(?P<outcome>pub|same|rev)\.(?P<id>[0-9a-f]+)$")


class Outcome(str, Enum):
    PUBLISHED = "pub"
    UNCHANGED = "same"
    REVERTED = "rev"


@dataclass(frozen=True)
class RunRecord:
    """One recorded outcome of a run (a tag)."""

    tag: str
    run_key: str
    sequence: int
    outcome: Outcome
    short_id: str  # the gated commit (pub, same) or the revert merge (rev), shortened
    commit_id: str  # what the tag points at

    @property
    def merge_commit(self) -> str | None:
        """The merge commit of a publish or a revert; None for an unchanged verdict."""
        return None if self.outcome is Outcome.UNCHANGED else self.commit_id

    def is_for(self, commit_id: str) -> bool:
        return commit_id.startswith(self.short_id)


def record_tag(run_key: str, sequence: int, outcome: Outcome, commit_id: str) -> str:
    return f"{TAG_PREFIX}{run_key}.{sequence:06d}.{outcome.value}.{commit_id[:ID_LENGTH]}"


def next_sequence(records: list[RunRecord]) -> int:
    return max((r.sequence for r in records), default=0) + 1


def parse_record(tag: str, commit_id: str) -> RunRecord | None:
    match = _TAG.match(tag)
    if match is None:
        return None
    return RunRecord(
        tag=tag,
        run_key=match["run_key"],
        sequence=int(match["sequence"]),
        outcome=Outcome(match["outcome"]),
        short_id=match["id"],
        commit_id=commit_id,
    )


def read_records(connection: LakeFSConnection, repository: str, run_key: str) -> list[RunRecord]:
    """Every recorded outcome of ``run_key``, oldest first (usually one page: one request)."""
    prefix = f"{TAG_PREFIX}{run_key}."
    records: list[RunRecord] = []
    after = ""
    while True:
        with translated(action=f"read the records of run '{run_key}'", repository=repository):
            page = connection.sdk.tags_api.list_tags(repository, prefix=prefix, after=after or None, amount=PAGE_SIZE)
        for ref in page.results:
            record = parse_record(ref.id, ref.commit_id)
            if record is not None and record.run_key == run_key:
                records.append(record)
        if not page.pagination.has_more:
            break
        after = page.pagination.next_offset
    return sorted(records, key=lambda r: (r.sequence, r.tag))


def write_record(connection: LakeFSConnection, repository: str, tag: str, commit_id: str) -> None:
    """Create the record's tag; creating it again (a retry) is a no-op."""
    operations.tag_commit(connection, repository, tag, commit_id)


def iter_commits_since(
    connection: LakeFSConnection, repository: str, branch: str, seconds: int
) -> Iterator[lakefs_sdk.Commit]:
    """Commits of ``branch`` newest first, down to those made at ``seconds`` (server time).

    Used only to find a write whose answer was lost, so it walks what happened
    since the write began, never the whole history.
    """
    for commit in iter_log(connection, repository, branch, page_size=50):
        if commit.creation_date < seconds - 1:  # one-second resolution on both sides
            return
        yield commit


def is_run_commit(commit: lakefs_sdk.Commit, run_key: str, *kinds: CommitKind) -> bool:
    metadata = commit.metadata or {}
    return metadata.get(KEY_RUN_KEY) == run_key and metadata.get(KEY_KIND) in {kind.value for kind in kinds}


def index_legacy_publishes(
    connection: LakeFSConnection, repository: str, target_branch: str, *, limit: int | None = None
) -> int:
    """Record publishes made before run records existed (lakefs-wap 0.1), by walking the target's
    history once; return how many were recorded. Runs that have records already are left alone,
    so it is safe to run again."""
    legacy: dict[str, list[lakefs_sdk.Commit]] = {}
    for commit in iter_log(connection, repository, target_branch, limit=limit):
        metadata = commit.metadata or {}
        run_key = metadata.get(KEY_RUN_KEY)
        if metadata.get(KEY_KIND) == CommitKind.PUBLISH.value and run_key:
            legacy.setdefault(run_key, []).insert(0, commit)  # oldest first
    recorded = 0
    for run_key, publishes in legacy.items():
        if read_records(connection, repository, run_key):
            continue
        for sequence, commit in enumerate(publishes, start=1):
            gated = (commit.metadata or {}).get(KEY_RUN_COMMIT) or str(commit.id)
            write_record(connection, repository, record_tag(run_key, sequence, Outcome.PUBLISHED, gated), commit.id)
            recorded += 1
    return recorded


__all__ = [
    "Outcome",
    "RunRecord",
    "index_legacy_publishes",
    "iter_commits_since",
    "next_sequence",
    "read_records",
    "record_tag",
    "write_record",
]
