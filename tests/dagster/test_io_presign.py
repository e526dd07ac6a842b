"""The IO manager with presigned URLs, on lakeFS with S3 storage (``make test-s3``)."""

from __future__ import annotations

import pandas as pd
import pytest
from dagster import DagsterInstance, asset, materialize

from dagster_lakefs import LakeFSIOManager
from tests.dagster import wap_defs
from tests.dagster.test_wap import resolved_lakefs

pytestmark = pytest.mark.s3


@asset
def frame() -> pd.DataFrame:
    return pd.DataFrame({"id": range(50_000), "value": [0.5] * 50_000})


@asset
def total(frame: pd.DataFrame) -> str:
    return str(int(frame["id"].sum()))


def test_values_travel_by_presigned_urls_not_through_lakefs(
    lakefs_env, repo, dagster_instance: DagsterInstance, proxy, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_LAKEFS_ENDPOINT", proxy.endpoint)
    manager = LakeFSIOManager(lakefs=wap_defs.lakefs_resource(), presign=True)

    result = materialize(
        [frame, total],
        resources={"lakefs": wap_defs.lakefs_resource(), "io_manager": manager},
        instance=dagster_instance,
    )

    assert result.success
    assert result.output_for_node("total") == str(sum(range(50_000)))
    branch = resolved_lakefs().run_branch(dagster_instance.get_run_by_id(result.run_id)).branch
    assert repo.branch(branch).object("dagster/total.txt").reader(mode="r", pre_sign=False).read() == str(
        sum(range(50_000))
    )
    object_requests = [r for r in proxy.seen if "/objects" in r.path and "/objects/ls" not in r.path]
    assert not [r for r in object_requests if r.method == "POST"], "a value went through lakeFS"
    assert all("presign=true" in r.path for r in object_requests if r.method == "GET")
    assert max(len(r.body) for r in proxy.seen) < 4096  # the parquet bytes went to the S3 server
