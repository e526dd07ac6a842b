"""Reverting a run: exactly the paths it changed go back, and nothing else moves.

lakeFS's own revert (v1.84) can also remove objects that a *later* commit
added when their paths sort before the reverted commit's paths, so it is not
used here. Instead the revert is built on a scratch branch from what the
run's publishes changed, checked, and merged into the target in one merge:

1. every publish of the run since its last revert is read from its record
   (``record``); each merge's first parent is the target just before it;
2. the paths each publish changed come from the two-dot diff parent..merge;
3. if a later commit changed one of those paths, the revert is refused and
   names the paths: undoing the run would undo someone else's change too;
4. on the scratch branch ``wap-revert-<run key>`` each path is restored from
   the target as it was before the first publish of the run that changed it
   (a server-side copy) or deleted if it did not exist then; the result is
   committed;
5. the scratch commit's diff against the target head must touch only the
   run's paths; then it is squash-merged (one revert commit on the target),
   recorded with a ``rev`` tag, and the scratch branch is deleted.

Every step is safe to repeat: a retry finds the scratch branch's revert commit
(merged or not) and carries on from there.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import lakefs_sdk

from lakefs_wap import operations
from lakefs_wap.connection import LakeFSConnection
from lakefs_wap.errors import BadInputError, LakeFSWapError, NotFoundError, RunStateError, translated
from lakefs_wap.keys import KEY_KIND, KEY_REVERTS, KEY_RUN_KEY, CommitKind
from lakefs_wap.names import validate_branch, validate_repository
from lakefs_wap.record import (
    ID_LENGTH,
    Outcome,
    RunRecord,
    is_run_commit,
    iter_commits_since,
    next_sequence,
    read_records,
    record_tag,
    write_record,
)
from lakefs_wap.refs import iter_diff

logger = logging.getLogger("lakefs_wap.revert")

_DELETE_BATCH = 1000
_PATHS_NAMED = 20


@dataclass
class RunChanges:
    """What a run's publishes changed on the target, path by path."""

    # path -> the commit to restore it from (the target just before the first of the
    # undone commits that changed it), or None when it did not exist there
    restore_from: dict[str, str | None] = field(default_factory=dict)
    by_publish: list[set[str]] = field(default_factory=list)

    @property
    def paths(self) -> set[str]:
        return set(self.restore_from)


def scratch_branch(run_key: str) -> str:
    return f"wap-revert-{run_key}"


def revert_run(
    connection: LakeFSConnection,
    repository: str,
    target_branch: str,
    run_key: str,
    *,
    message: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> str:
    """Undo every publish of ``run_key`` on ``target_branch`` since its last revert; return the revert merge.

    Reverting again returns the recorded revert. Raises ``RunStateError`` when
    the run has no publish to revert, or when later commits changed the run's
    paths (they are named; nothing is changed then).
    """
    validate_repository(repository)
    validate_branch(target_branch, role="target branch")
    records = read_records(connection, repository, run_key)
    pending = _publishes_since_last_revert(records)
    if not pending:
        reverts = [r for r in records if r.outcome is Outcome.REVERTED]
        if reverts:
            operations.delete_branch(connection, repository, scratch_branch(run_key), missing_ok=True)
            return reverts[-1].commit_id
        raise RunStateError(
            f"run '{run_key}' has no recorded publish in repository '{repository}'; nothing to revert. "
            "(Publishes made by lakefs-wap 0.1 are found after lakefs_wap.record.index_legacy_publishes().)",
            repository=repository,
            ref=target_branch,
        )
    merges = [operations.get_commit(connection, repository, record.commit_id) for record in pending]
    undone = [(merge, str(merge.parents[0])) for merge in merges]
    text = message or f"lakefs-wap: revert run {run_key}"
    return _revert(connection, repository, target_branch, run_key, records, undone, text, metadata)


def revert_commit(
    connection: LakeFSConnection,
    repository: str,
    branch: str,
    ref: str,
    *,
    parent_number: int | None = None,
    message: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> str:
    """Undo the changes of one commit (``ref``) on ``branch``, checked the same way as a run's revert.

    For a merge commit, ``parent_number`` (default 1) names the parent it is
    undone against. Reverting the same commit again returns the recorded
    revert (a ``wap.commit-<id>...`` tag).
    """
    validate_repository(repository)
    validate_branch(branch)
    commit = operations.get_commit(connection, repository, ref)
    parents = list(commit.parents)
    number = parent_number if parent_number is not None else 1
    if not parents or number < 1 or number > len(parents):
        raise BadInputError(
            f"cannot revert {commit.id[:12]} ('{ref}') in repository '{repository}': it has {len(parents)} "
            f"parent(s), so parent_number {parent_number} names none. Give 1 for the branch a merge went into.",
            repository=repository,
            ref=ref,
        )
    key = f"commit-{commit.id[:ID_LENGTH]}"
    records = read_records(connection, repository, key)
    reverts = [r for r in records if r.outcome is Outcome.REVERTED]
    if reverts:
        operations.delete_branch(connection, repository, scratch_branch(key), missing_ok=True)
        return reverts[-1].commit_id
    text = message or f"Revert {commit.id[:12]} ('{ref}')"
    return _revert(connection, repository, branch, key, records, [(commit, parents[number - 1])], text, metadata)


def _revert(
    connection: LakeFSConnection,
    repository: str,
    target_branch: str,
    run_key: str,
    records: list[RunRecord],
    undone: list[tuple[lakefs_sdk.Commit, str]],
    text: str,
    metadata: Mapping[str, Any] | None,
) -> str:
    """Undo ``undone`` (each commit with the parent it is undone against) on ``target_branch``."""
    scratch = scratch_branch(run_key)
    merges = [commit for commit, _ in undone]
    reverted_ids = ",".join(str(m.id) for m in merges)
    revert_metadata = {
        **operations.metadata_strings(metadata),
        KEY_KIND: CommitKind.REVERT.value,
        KEY_RUN_KEY: run_key,
        KEY_REVERTS: reverted_ids,
    }

    revert_commit = _resumable_revert_commit(connection, repository, scratch, run_key, reverted_ids)
    resumed = revert_commit is not None
    if revert_commit is None:
        changes = _changes_of(connection, repository, undone)
        head = operations.branch_head(connection, repository, target_branch)
        if not changes.paths:
            # lakeFS made an empty merge (the target had the run's data already): nothing to undo.
            write_record(
                connection, repository, record_tag(run_key, next_sequence(records), Outcome.REVERTED, head), head
            )
            return head
        _refuse_if_changed_later(connection, repository, target_branch, head, undone, changes)
        revert_commit = _build_on_scratch(connection, repository, scratch, head, changes, text, revert_metadata)
        _check_touches_only(connection, repository, head, revert_commit, changes, scratch)

    since = int(revert_commit.creation_date)

    def landed() -> str | None:
        for commit in iter_commits_since(connection, repository, target_branch, since):
            if (
                is_run_commit(commit, run_key, CommitKind.REVERT)
                and commit.id != revert_commit.id
                and (commit.metadata or {}).get(KEY_REVERTS) == reverted_ids
            ):
                return str(commit.id)
        return None

    # An interrupted attempt may have merged already, its answer or its record lost.
    merge_id = landed() if resumed else None
    if merge_id is None:
        # Squashed: the target's history gets one revert commit, not the scratch commit too.
        merge_id = operations.merge(
            connection,
            repository,
            str(revert_commit.id),
            target_branch,
            message=text,
            metadata=revert_metadata,
            squash_merge=True,
            landed=landed,
        )
    write_record(
        connection, repository, record_tag(run_key, next_sequence(records), Outcome.REVERTED, merge_id), merge_id
    )
    operations.delete_branch(connection, repository, scratch, missing_ok=True)
    logger.info("reverted run %s on '%s' as %s", run_key, target_branch, merge_id)
    return merge_id


def _publishes_since_last_revert(records: list[RunRecord]) -> list[RunRecord]:
    pending: list[RunRecord] = []
    for record in records:
        if record.outcome is Outcome.PUBLISHED:
            pending.append(record)
        elif record.outcome is Outcome.REVERTED:
            pending = []
    return pending


def _resumable_revert_commit(
    connection: LakeFSConnection, repository: str, scratch: str, run_key: str, reverted_ids: str
) -> lakefs_sdk.Commit | None:
    """The revert commit an interrupted attempt left on the scratch branch, if it is this revert's."""
    try:
        head = operations.get_commit(connection, repository, scratch)
    except NotFoundError:
        return None
    if is_run_commit(head, run_key, CommitKind.REVERT) and (head.metadata or {}).get(KEY_REVERTS) == reverted_ids:
        return head
    operations.delete_branch(connection, repository, scratch, missing_ok=True)  # a half-built attempt
    return None


def _changes_of(
    connection: LakeFSConnection, repository: str, undone: list[tuple[lakefs_sdk.Commit, str]]
) -> RunChanges:
    changes = RunChanges()
    for commit, parent in undone:
        changed: set[str] = set()
        for diff in iter_diff(connection, repository, parent, str(commit.id)):
            changed.add(diff.path)
            # The earliest undone commit that touched a path says what it was before the run.
            changes.restore_from.setdefault(diff.path, None if diff.type == "added" else parent)
        changes.by_publish.append(changed)
    return changes


def _refuse_if_changed_later(
    connection: LakeFSConnection,
    repository: str,
    target_branch: str,
    head: str,
    undone: list[tuple[lakefs_sdk.Commit, str]],
    changes: RunChanges,
) -> None:
    """Refuse when a commit not being undone changed one of the run's paths after the run did.

    After each undone commit, a path it changed may change again only by the
    next undone commit that changes it: the window to check runs from the
    commit to that next one's parent (or to the target's head).
    """
    windows: dict[tuple[int, str], set[str]] = {}
    for index, changed in enumerate(changes.by_publish):
        for path in changed:
            later = next((j for j in range(index + 1, len(undone)) if path in changes.by_publish[j]), None)
            end = undone[later][1] if later is not None else head
            windows.setdefault((index, end), set()).add(path)
    touched: set[str] = set()
    for (index, end), paths in windows.items():
        start = str(undone[index][0].id)
        if start == end:
            continue
        touched.update(diff.path for diff in iter_diff(connection, repository, start, end) if diff.path in paths)
    if touched:
        listing = ", ".join(repr(p) for p in sorted(touched)[:_PATHS_NAMED])
        more = f" and {len(touched) - _PATHS_NAMED} more" if len(touched) > _PATHS_NAMED else ""
        what = ", ".join(str(commit.id)[:12] for commit, _ in undone)
        raise RunStateError(
            f"cannot revert {what} on '{target_branch}' in repository '{repository}': later commits changed "
            f"{len(touched)} of its path(s): {listing}{more}. Reverting would undo their changes too. "
            "Revert those later changes first, or fix the paths by hand.",
            repository=repository,
            ref=target_branch,
        )


def _build_on_scratch(
    connection: LakeFSConnection,
    repository: str,
    scratch: str,
    head: str,
    changes: RunChanges,
    message: str,
    metadata: dict[str, str],
) -> lakefs_sdk.Commit:
    if operations.create_branch(connection, repository, scratch, head, exist_ok=True) != head:
        # Left by an attempt that began from another head (its creation's answer was lost): start afresh.
        operations.delete_branch(connection, repository, scratch)
        operations.create_branch(connection, repository, scratch, head, exist_ok=False)
    objects_api = connection.sdk.objects_api
    gone = sorted(path for path, source in changes.restore_from.items() if source is None)
    for path, source in sorted(changes.restore_from.items()):
        if source is not None:
            with translated(action=f"restore '{path}' from {source[:12]}", repository=repository, ref=scratch):
                objects_api.copy_object(
                    repository,
                    scratch,
                    path,
                    lakefs_sdk.ObjectCopyCreation(src_path=path, src_ref=source),  # type: ignore[call-arg]
                )
    for start in range(0, len(gone), _DELETE_BATCH):
        batch = gone[start : start + _DELETE_BATCH]
        with translated(action=f"remove {len(batch)} path(s) the run added", repository=repository, ref=scratch):
            result = objects_api.delete_objects(repository, scratch, lakefs_sdk.PathList(paths=batch))
        if result.errors:
            raise LakeFSWapError(
                f"could not remove {len(result.errors)} path(s) on '{scratch}' while reverting: "
                f"{result.errors[0].path}: {result.errors[0].message}",
                repository=repository,
                ref=scratch,
            )
    return operations.commit(connection, repository, scratch, message, metadata)


def _check_touches_only(
    connection: LakeFSConnection,
    repository: str,
    head: str,
    revert_commit: lakefs_sdk.Commit,
    changes: RunChanges,
    scratch: str,
) -> None:
    """The revert must change the run's paths and nothing else; otherwise it is not merged."""
    stray = [
        d.path for d in iter_diff(connection, repository, head, str(revert_commit.id)) if d.path not in changes.paths
    ]
    if stray:
        raise LakeFSWapError(
            f"the revert built on '{scratch}' would also change {len(stray)} path(s) the run never touched "
            f"({', '.join(repr(p) for p in stray[:_PATHS_NAMED])}); it was not merged. The scratch branch is kept "
            "for inspection; please report this.",
            repository=repository,
            ref=scratch,
        )
