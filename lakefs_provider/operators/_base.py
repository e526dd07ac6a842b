"""What every lakeFS operator shares: the connection id, the hook, the link."""

from __future__ import annotations

from typing import Any

from lakefs_provider.hooks.lakefs_hook import LakeFSHook, UsesLakeFSHook
from lakefs_provider.links.lakefs_link import LakeFSLink
from lakefs_provider.version_compat import BaseOperator
from lakefs_wap.links import branch_url, commit_url


class LakeFSBaseOperator(UsesLakeFSHook, BaseOperator):
    """Base of the lakeFS operators. ``lakefs_conn_id`` names the Airflow connection."""

    ui_color = "#7fd0c4"

    def __init__(self, *, lakefs_conn_id: str = LakeFSHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lakefs_conn_id = lakefs_conn_id

    def link_to_commit(self, context: Any, repository: str, commit_id: str) -> None:
        LakeFSLink.persist(context, commit_url(self.connection.settings.ui_base_url, repository, commit_id))

    def link_to_branch(self, context: Any, repository: str, branch: str) -> None:
        LakeFSLink.persist(context, branch_url(self.connection.settings.ui_base_url, repository, branch))
