"""A run-branch publish whose steps report OpenLineage datasets: the upload, the commit,
the gates (with their verdicts) and the publish (into the declared asset).

The repository comes from ``LAKEFS_WAP_ASSET_REPO`` (the asset URI is fixed when the
file is parsed); the tests set it to their throw-away repository.
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import Asset, dag

from lakefs_provider.operators.upload_operator import LakeFSUploadOperator
from lakefs_provider.run_branch_group import lakefs_run_branch
from lakefs_wap import OnlyUnderPrefixes, TableRowCount

REPO = os.environ.get("LAKEFS_WAP_ASSET_REPO", "example-repo")
ORDERS = Asset(f"lakefs://{REPO}/main/curated/orders")


@dag(dag_id="lineage_publish", schedule=None, start_date=pendulum.datetime(2026, 11, 1, tz="UTC"), catchup=False)
def lineage_publish() -> None:
    gates = [OnlyUnderPrefixes(["curated/"]), TableRowCount(min_rows=1)]
    with lakefs_run_branch(repo=REPO, gates=gates, prefix="lineage", assets=[ORDERS]) as run:
        LakeFSUploadOperator(
            task_id="write",
            repo=REPO,
            branch=run.branch_template,
            path="curated/orders/part-0.csv",
            content="order_id,amount\n1,9.50\n",
        )


lineage_publish()
