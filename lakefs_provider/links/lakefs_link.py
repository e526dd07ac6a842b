"""The "lakeFS" button on a task: opens the commit or branch the task produced.

In Airflow 3 the link is computed while the task runs (when the endpoint,
repository and commit are known) and stored in XCom under ``xcom_key``; the
UI reads it from there.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink

from lakefs_provider.version_compat import XCom


def commit_url(endpoint: str, repository: str, commit_id: str) -> str:
    return f"{endpoint}/repositories/{quote(repository, safe='')}/commits/{quote(commit_id, safe='')}"


def branch_url(endpoint: str, repository: str, branch: str) -> str:
    return f"{endpoint}/repositories/{quote(repository, safe='')}/objects?ref={quote(branch, safe='')}"


class LakeFSLink(BaseOperatorLink):
    name = "lakeFS"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return str(XCom.get_value(ti_key=ti_key, key=self.xcom_key) or "")

    @classmethod
    def persist(cls, context: Any, url: str) -> None:
        context["ti"].xcom_push(key=cls().xcom_key, value=url)
