"""LakeFSResource: the lakeFS connection and run-branch settings of a Dagster code location.

    LakeFSResource(
        endpoint="https://lakefs.example.com",
        access_key_id=EnvVar("LAKEFS_ACCESS_KEY_ID"),
        secret_access_key=EnvVar("LAKEFS_SECRET_ACCESS_KEY"),
        repository="lake",
    )

Every Dagster run gets its own lakeFS branch, named from the run id (a
re-execution uses its root run's id, so it continues on the same branch),
forked from ``source_branch`` and published into ``target_branch``.
"""

import os
from typing import Any

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field

from lakefs_wap import ConnectionSettings, LakeFSConnection, LakeFSWapError, RunBranch, connect
from lakefs_wap.names import validate_branch, validate_repository
from lakefs_wap.operations import ensure_repository
from lakefs_wap.settings import (
    CA_BUNDLE,
    CONNECT_TIMEOUT,
    MAX_ATTEMPTS,
    OPTIONAL_SETTINGS,
    PROXY,
    TIMEOUT,
    UI_URL,
    VERIFY_SSL,
    optional_settings,
)

DEFAULT_DAGSTER_URL = "http://localhost:3000"


class LakeFSResource(ConfigurableResource):  # type: ignore[type-arg]
    """Connection to lakeFS plus the repository and branches runs work on.

    Give the secret as ``EnvVar("...")`` so it never appears in the Dagster UI;
    it is left out of this resource's repr, logs and metadata either way.
    """

    endpoint: str = Field(description="lakeFS server URL, e.g. https://lakefs.example.com")
    access_key_id: str = Field(description="lakeFS access key id")
    secret_access_key: str = Field(description="lakeFS secret access key; use EnvVar", repr=False)
    repository: str = Field(description="the lakeFS repository assets live in")
    source_branch: str = Field(default="main", description="branch each run forks from")
    target_branch: str | None = Field(default=None, description="branch runs publish into (default: source_branch)")
    branch_prefix: str = Field(default="dagster", description="prefix of run-branch names")
    # The optional connection settings: the names, meanings and defaults of
    # lakefs_wap.settings, which the Airflow connection's extras share.
    verify_ssl: bool = Field(default=True, description=VERIFY_SSL.meaning)
    ca_bundle: str | None = Field(default=None, description=CA_BUNDLE.meaning)
    proxy: str | None = Field(default=None, description=PROXY.meaning)
    timeout: float = Field(default=TIMEOUT.default, description=TIMEOUT.meaning)
    connect_timeout: float = Field(default=CONNECT_TIMEOUT.default, description=CONNECT_TIMEOUT.meaning)
    max_attempts: int | None = Field(default=None, description=MAX_ATTEMPTS.meaning)
    max_retries: int | None = Field(default=None, description="old name of max_attempts, still accepted")
    ui_url: str | None = Field(default=None, description=UI_URL.meaning)
    dagster_url: str = Field(
        default_factory=lambda: os.environ.get("DAGSTER_WEBSERVER_URL", DEFAULT_DAGSTER_URL),
        description="base URL of the Dagster UI, for links on lakeFS commits",
    )

    def check_optional_settings(self, *, where: str = "LakeFSResource field") -> dict[str, Any]:
        """The optional settings as ``ConnectionSettings`` arguments; ``BadInputError`` naming a bad one."""
        options = {setting.name: getattr(self, setting.name) for setting in OPTIONAL_SETTINGS}
        options["max_retries"] = self.max_retries
        return optional_settings(options, where=where)

    def settings(self) -> ConnectionSettings:
        return ConnectionSettings(
            endpoint=self.endpoint,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
            **self.check_optional_settings(),
        )

    def connection(self) -> LakeFSConnection:
        return connect(self.settings())

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Fail the run at once, with the reason, if lakeFS cannot be used as configured."""
        try:
            validate_repository(self.repository)
            validate_branch(self.source_branch, role="source branch")
            if self.target_branch:
                validate_branch(self.target_branch, role="target branch")
            validate_branch(self.branch_prefix, role="run-branch prefix")
            connection = self.connection()  # also checks the connection settings
            connection.whoami()
            ensure_repository(connection, self.repository)
        except LakeFSWapError as error:
            # Same class (an unreachable server stays ServerUnavailableError), naming this resource.
            raise type(error)(
                f"LakeFSResource is misconfigured (endpoint {self.endpoint!r}): {error}",
                repository=error.repository,
                ref=error.ref,
                status=error.status,
                server_message=error.server_message,
            ) from error

    def run_branch(self, run: Any) -> RunBranch:
        """The run branch of a Dagster run (a ``DagsterRun``): its root run's, for re-executions."""
        return RunBranch(
            self.connection(),
            self.repository,
            run.root_run_id or run.run_id,
            source_branch=self.source_branch,
            target_branch=self.target_branch,
            prefix=self.branch_prefix,
        )

    def run_url(self, run_id: str) -> str:
        return f"{self.dagster_url.rstrip('/')}/runs/{run_id}"
