"""Bad input through Dagster: the resource, the IO manager and ``lakefs_publish``. Each case
fails with the documented error, a message naming the problem and the fix, and no write
request reaches lakeFS (the resource's endpoint is a recording ``FaultProxy``)."""

from typing import Any

import pytest
from dagster import DagsterInstance, StaticPartitionsDefinition, asset, materialize

from dagster_lakefs import LakeFSIOManager, LakeFSResource, lakefs_publish
from lakefs_wap import BadInputError, InvalidNameError, NoDeletions, OnlyUnderPrefixes, ServerUnavailableError
from lakefs_wap.errors import EndpointNotLakeFSError
from lakefs_wap.limits import COMMIT_METADATA_MAX_BYTES
from tests.bad_input import (
    LEAD_PENDING,
    Case,
    assert_clear,
    assert_no_writes,
    closed_port_endpoint,
    find_cause,
    not_lakefs_server,
)
from tests.dagster import wap_defs
from tests.fault_proxy import FaultProxy


@asset(partitions_def=StaticPartitionsDefinition(["2026-11-22", ".."]))
def daily_orders() -> str:
    return "order_id\n1\n"


class Bed:
    """What a case needs: resource settings pointing at the proxy, and a way to run assets."""

    def __init__(self, proxy: FaultProxy, lakefs_server: Any, repo: Any, instance: DagsterInstance) -> None:
        self.settings = {
            "endpoint": proxy.endpoint,
            "access_key_id": lakefs_server.access_key_id,
            "secret_access_key": lakefs_server.secret_access_key,
            "repository": repo.id,
            "max_retries": 1,
        }
        self.instance = instance

    def run(self, assets: list[Any], io_prefix: str = "dagster", partition: str | None = None, **changes: Any) -> Any:
        lakefs = LakeFSResource(**{**self.settings, **changes})
        return materialize(
            assets,
            resources={"lakefs": lakefs, "io_manager": LakeFSIOManager(lakefs=lakefs, prefix=io_prefix)},
            instance=self.instance,
            partition_key=partition,
        )


def resource(**changes: Any) -> Any:
    return lambda bed: bed.run([wap_defs.orders], **changes)


def io_prefix(prefix: str) -> Any:
    return lambda bed: bed.run([wap_defs.orders], io_prefix=prefix)


def publish(**options: Any) -> Any:
    return lambda bed: bed.run([wap_defs.orders, lakefs_publish([wap_defs.orders], **options)])


def not_lakefs(bed: Bed) -> Any:
    with not_lakefs_server() as (endpoint, _):
        return bed.run([wap_defs.orders], endpoint=endpoint)


TOO_BIG = "x" * (COMMIT_METADATA_MAX_BYTES + 1)
MISCONFIGURED = "LakeFSResource is misconfigured"

CASES = [
    Case(
        "resource-source-branch-slash",
        resource(source_branch="feat/x"),
        InvalidNameError,
        [MISCONFIGURED, "invalid source branch name 'feat/x'", "no '/'"],
    ),
    Case(
        "resource-target-branch-dot",
        resource(target_branch="release.1"),
        InvalidNameError,
        [MISCONFIGURED, "invalid target branch name 'release.1'"],
    ),
    Case(
        "resource-branch-prefix-slash",
        resource(branch_prefix="runs/dagster"),
        InvalidNameError,
        [MISCONFIGURED, "invalid run-branch prefix name 'runs/dagster'"],
    ),
    Case(
        "resource-repository-name",
        resource(repository="Bad_Name"),
        InvalidNameError,
        [MISCONFIGURED, "invalid repository name 'Bad_Name'", "lowercase"],
    ),
    Case(
        "resource-negative-timeout",
        resource(timeout=-1.0),
        BadInputError,
        [MISCONFIGURED, "'timeout' must be a number of seconds greater than 0"],
    ),
    Case(
        "resource-endpoint-without-scheme",
        resource(endpoint="localhost:8000"),
        BadInputError,
        [MISCONFIGURED, "invalid lakeFS endpoint 'localhost:8000'", "http://localhost:8000"],
    ),
    Case(
        "resource-unreachable-endpoint",
        lambda bed: bed.run([wap_defs.orders], endpoint=closed_port_endpoint()),
        ServerUnavailableError,
        [MISCONFIGURED, "endpoint 'http://127.0.0.1:", "lakeFS at 127.0.0.1:", "did not answer"],
    ),
    Case(
        "resource-endpoint-not-lakefs",
        not_lakefs,
        EndpointNotLakeFSError,
        [MISCONFIGURED, "not a lakeFS server", "Check the endpoint"],
    ),
    Case(
        "io-manager-prefix-dot-dot",
        io_prefix("../up"),
        BadInputError,
        ["LakeFSIOManager prefix '../up'", "'..' segment", "'warehouse/assets'"],
    ),
    Case(
        "io-manager-prefix-double-slash",
        io_prefix("warehouse//assets"),
        BadInputError,
        ["LakeFSIOManager prefix 'warehouse//assets'", "empty segment"],
    ),
    Case(
        "io-manager-prefix-newline",
        io_prefix("dag\nster"),
        BadInputError,
        ["LakeFSIOManager prefix", "control character '\\n'"],
    ),
    Case(
        "io-manager-prefix-only-slashes",
        io_prefix("//"),
        BadInputError,
        ["LakeFSIOManager prefix '//'", "it is empty"],
    ),
    Case(
        "io-manager-partition-dot-dot",
        lambda bed: bed.run([daily_orders], partition=".."),
        InvalidNameError,
        ["invalid object path 'dagster/daily_orders/..'", "'..' segment"],
    ),
    Case(
        "publish-gates-a-string",
        publish(gates="no_deletions"),
        BadInputError,
        ["gates must be a list", "type str"],
    ),
    Case(
        "publish-gate-not-callable",
        publish(gates=[NoDeletions(), "raw/"]),
        BadInputError,
        ["item 1 is a str", "not a gate"],
    ),
    Case(
        "publish-only-under-a-number",
        lambda bed: publish(gates=[OnlyUnderPrefixes(7)])(bed),  # type: ignore[arg-type]
        BadInputError,
        ["OnlyUnderPrefixes(prefixes=...)", "list of strings"],
    ),
    Case(
        "publish-unknown-strategy",
        publish(strategy="theirs"),
        BadInputError,
        ["unknown merge strategy 'theirs'", "dest-wins"],
    ),
    Case(
        "publish-nested-metadata",
        publish(metadata={"rows": [1, 2]}),
        BadInputError,
        ["'rows'", "json.dumps"],
    ),
    Case(
        "publish-metadata-over-the-limit",
        publish(metadata={"blob": TOO_BIG}),
        BadInputError,
        ["over the limit", "'blob'"],
        note=LEAD_PENDING,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_dagster_refuses_bad_input_before_any_write(
    case: Case, proxy: FaultProxy, lakefs_server: Any, repo: Any, dagster_instance: DagsterInstance
) -> None:
    bed = Bed(proxy, lakefs_server, repo, dagster_instance)
    with pytest.raises(Exception) as raised:  # noqa: PT011 - the type is checked below, with the message
        case.call(bed)
    found = find_cause(raised.value, case.error)
    assert found is not None, f"no {case.error.__name__} in the chain of {raised.value!r}"
    assert_clear(found, case.error, case.words)
    assert lakefs_server.secret_access_key not in str(found)
    assert_no_writes(proxy)


def test_the_dagster_table_has_unique_ids() -> None:
    assert len({case.id for case in CASES}) == len(CASES) >= 15
