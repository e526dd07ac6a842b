"""The commit-metadata vocabulary lakefs-wap writes, defined once.

Every key starts with ``lakefs_wap.`` so it is easy to find in the lakeFS UI
and never collides with a user's own metadata.
"""

from __future__ import annotations

from enum import Enum

RESERVED_PREFIX = "lakefs_wap."
KEY_KIND = "lakefs_wap.kind"
KEY_RUN_ID = "lakefs_wap.run_id"
KEY_RUN_KEY = "lakefs_wap.run_key"
KEY_BASE = "lakefs_wap.base_commit"
KEY_RUN_COMMIT = "lakefs_wap.run_commit"
KEY_GATED_COMMIT = "lakefs_wap.gated_commit"
KEY_GATED_METARANGE = "lakefs_wap.gated_metarange"
KEY_GATES_PASSED = "lakefs_wap.gates_passed"
KEY_GATES = "lakefs_wap.gates"
KEY_REASON = "lakefs_wap.reason"
KEY_REVERTS = "lakefs_wap.reverts"
KEY_SOURCE_BRANCH = "lakefs_wap.source_branch"
KEY_CHANGES = "lakefs_wap.changes"


class CommitKind(str, Enum):
    """What a commit made by lakefs-wap records (``lakefs_wap.kind``)."""

    DATA = "data"  # the run's data, on its branch
    GATES = "gates"  # an empty commit recording the gates' verdict on one data commit
    FAILED = "failed"  # an empty commit: the run is kept for debugging, with why
    PUBLISH = "publish"  # the merge of a gated commit into the target
    REVERT = "revert"  # the merge that undid a run's publishes
