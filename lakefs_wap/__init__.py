"""lakefs-wap core: write-audit-publish on lakeFS, free of any orchestrator.

Airflow support lives in ``lakefs_provider`` and Dagster support in
``dagster_lakefs``; both are thin layers over this package, which never imports
either orchestrator.
"""

__version__ = "0.1.0"

from lakefs_wap.connection import ConnectionSettings, LakeFSConnection, connect
from lakefs_wap.errors import (
    AuthenticationError,
    BadInputError,
    BranchBusyError,
    ConflictError,
    EndpointNotLakeFSError,
    GateFailedError,
    HookRejectedError,
    InvalidNameError,
    LakeFSWapError,
    MergeConflictError,
    NotFoundError,
    NothingToCommitError,
    PermissionDeniedError,
    RunStateError,
    ServerUnavailableError,
)
from lakefs_wap.gates import (
    ChangeCount,
    ChangedSomething,
    GateContext,
    GateReport,
    GateResult,
    NoDeletions,
    OnlyUnderPrefixes,
    ParquetSchemaUnchanged,
    RequiredPaths,
    TableRowCount,
    run_gates,
)
from lakefs_wap.names import run_branch_name
from lakefs_wap.record import RunRecord, index_legacy_publishes
from lakefs_wap.retry import RetryPolicy
from lakefs_wap.revert import revert_run
from lakefs_wap.run_branch import (
    RunBranch,
    RunState,
    RunStatus,
    find_published_run,
    revert_published_run,
)
from lakefs_wap.verdict import RecordedGate, Verdict

__all__ = [
    "AuthenticationError",
    "BadInputError",
    "BranchBusyError",
    "ChangeCount",
    "ChangedSomething",
    "ConflictError",
    "ConnectionSettings",
    "EndpointNotLakeFSError",
    "GateContext",
    "GateFailedError",
    "GateReport",
    "GateResult",
    "HookRejectedError",
    "InvalidNameError",
    "LakeFSConnection",
    "LakeFSWapError",
    "MergeConflictError",
    "NoDeletions",
    "NotFoundError",
    "NothingToCommitError",
    "OnlyUnderPrefixes",
    "ParquetSchemaUnchanged",
    "PermissionDeniedError",
    "RecordedGate",
    "RequiredPaths",
    "RetryPolicy",
    "RunBranch",
    "RunRecord",
    "RunState",
    "RunStateError",
    "RunStatus",
    "ServerUnavailableError",
    "TableRowCount",
    "Verdict",
    "__version__",
    "connect",
    "find_published_run",
    "index_legacy_publishes",
    "revert_published_run",
    "revert_run",
    "run_branch_name",
    "run_gates",
]
