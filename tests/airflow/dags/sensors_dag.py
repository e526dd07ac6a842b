"""The lakeFS sensors in poke, reschedule and deferrable mode, one DAG each.

``started`` writes a marker object so the test knows the sensors are about to
poke; the test then commits (first outside, then inside ``curated/``) and
finally stages a flag object, from another thread, while the DAG waits.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, task

from lakefs_provider.sensors.commit_sensor import LakeFSCommitSensor
from lakefs_provider.sensors.file_sensor import LakeFSFileSensor


def sensors_dag(mode: str) -> Any:
    options: dict[str, Any] = {"poke_interval": 1, "timeout": 90}
    if mode == "deferrable":
        options["deferrable"] = True
    else:
        options["mode"] = mode
        options["deferrable"] = False

    @dag(dag_id=f"lakefs_sensors_{mode}", schedule=None, params={"repo": Param("", type="string")})
    def sensors() -> None:
        @task
        def started(params: dict[str, Any] | None = None) -> None:
            assert params is not None  # Airflow fills it in
            import lakefs

            from lakefs_provider.version_compat import BaseHook

            connection = BaseHook.get_connection("lakefs_default")
            client = lakefs.Client(host=connection.host, username=connection.login, password=connection.password)
            marker = lakefs.Repository(params["repo"], client=client).branch("markers").create("main", exist_ok=True)
            marker.object("started").upload(data=b"sensors about to poke")

        wait_for_commit = LakeFSCommitSensor(
            task_id="wait_for_commit", repo="{{ params.repo }}", branch="main", prefixes=["curated/"], **options
        )
        wait_for_flag = LakeFSFileSensor(
            task_id="wait_for_flag", repo="{{ params.repo }}", ref="main", path="landing/ready.flag", **options
        )
        started() >> wait_for_commit >> wait_for_flag

    return sensors()


for _mode in ("poke", "reschedule", "deferrable"):
    sensors_dag(_mode)
