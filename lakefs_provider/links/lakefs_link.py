"""The "lakeFS" button on a task: opens the commit or branch the task produced.

In Airflow 3 the link is computed while the task runs (when the endpoint,
repository and commit are known) and stored in XCom under ``xcom_key``; the
UI reads it from there.
"""

from __future__ import annotations

from typing import Any

from lakefs_provider.version_compat import BaseOperatorLink, XCom
from lakefs_wap.links import commit_url

# The commit page, in the placeholders airflow-provider-lakefs used.
LAKEFS_COMMIT_LINK = "{base_url}/repositories/{repo}/commits/{commit_digest}"


class LakeFSLink(BaseOperatorLink):
    name = "lakeFS"
    # The XCom key the link is stored under, as airflow-provider-lakefs named it.
    key = "lakefs_commit"
    format_str = LAKEFS_COMMIT_LINK

    @property
    def xcom_key(self) -> str:
        return self.key

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return str(XCom.get_value(ti_key=ti_key, key=self.xcom_key) or "")

    @classmethod
    def persist(
        cls,
        context: Any,
        url: Any = None,
        lakefs_base_url: str | None = None,
        repo: str | None = None,
        commit_digest: str | None = None,
        *,
        task_instance: Any = None,
    ) -> None:
        """Store the link of the running task: ``persist(context, url)``, or a commit's link
        the way airflow-provider-lakefs's custom operators stored it,
        ``persist(context, task_instance=self, lakefs_base_url=..., repo=..., commit_digest=...)``
        (``task_instance`` is not needed any more: the context has it)."""
        commit_parts = (lakefs_base_url, repo, commit_digest)
        if any(part is not None for part in commit_parts):
            if not (lakefs_base_url and repo and commit_digest):
                raise TypeError("LakeFSLink.persist needs all of lakefs_base_url=, repo= and commit_digest=")
            url = commit_url(lakefs_base_url.rstrip("/"), repo, commit_digest)
        elif not isinstance(url, str):
            raise TypeError("LakeFSLink.persist needs the link: persist(context, url)")
        context["ti"].xcom_push(key=cls.key, value=url)
