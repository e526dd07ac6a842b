"""LakeFSResourceComponent: the lakeFS resource (and, if asked, the IO manager) from YAML.

For projects that declare their definitions with Dagster components (``dg``):
``dg scaffold defs dagster_lakefs.LakeFSResourceComponent lakefs`` writes a
``defs.yaml`` such as::

    type: dagster_lakefs.LakeFSResourceComponent
    attributes:
      endpoint: "{{ env.LAKEFS_ENDPOINT }}"
      repository: example-repo
      access_key_id_env: LAKEFS_ACCESS_KEY_ID          # the variables' names, not their values
      secret_access_key_env: LAKEFS_SECRET_ACCESS_KEY
      io_manager_key: io_manager                        # store every asset on the run's branch

The component adds ``LakeFSResource`` under ``resource_key`` (``lakefs``), the
key ``lakefs_publish`` and ``lakefs_failed_run_sensor`` use, and with
``io_manager_key`` a ``LakeFSIOManager`` on it. The optional settings have the
names and meanings of the Airflow connection's extras (``lakefs_wap.settings``).
"""

import re
from typing import Any

from dagster import Definitions, EnvVar
from dagster.components import Component, ComponentLoadContext, Model, Resolvable
from pydantic import Field

from dagster_lakefs.io_manager import LakeFSIOManager
from dagster_lakefs.resource import LakeFSResource
from lakefs_wap import BadInputError
from lakefs_wap.settings import CA_BUNDLE, CONNECT_TIMEOUT, MAX_ATTEMPTS, PROXY, TIMEOUT, UI_URL, VERIFY_SSL

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class LakeFSResourceComponent(Component, Model, Resolvable):
    """A lakeFS connection for this code location: ``LakeFSResource``, and optionally ``LakeFSIOManager``.

    Credentials are never written in YAML: give the *names* of the environment
    variables holding them (``access_key_id_env``, ``secret_access_key_env``).
    The resource reads them when a run starts, so the secret stays out of the
    definitions, the run's snapshot and the Dagster UI. (A ``{{ env.X }}``
    template would put the value itself there: templates are resolved when
    the definitions load.) Non-secret settings may use ``{{ env.X }}``.
    """

    endpoint: str = Field(description="lakeFS server URL, e.g. https://lakefs.example.com")
    repository: str = Field(description="the lakeFS repository assets live in")
    access_key_id_env: str = Field(
        default="LAKEFS_ACCESS_KEY_ID", description="name of the environment variable holding the access key id"
    )
    secret_access_key_env: str = Field(
        default="LAKEFS_SECRET_ACCESS_KEY",
        description="name of the environment variable holding the secret access key",
    )
    source_branch: str = Field(default="main", description="branch each run forks from")
    target_branch: str | None = Field(default=None, description="branch runs publish into (default: source_branch)")
    branch_prefix: str = Field(default="dagster", description="prefix of run-branch names")
    verify_ssl: bool = Field(default=True, description=VERIFY_SSL.meaning)
    ca_bundle: str | None = Field(default=None, description=CA_BUNDLE.meaning)
    proxy: str | None = Field(default=None, description=PROXY.meaning)
    timeout: float = Field(default=TIMEOUT.default, description=TIMEOUT.meaning)
    connect_timeout: float = Field(default=CONNECT_TIMEOUT.default, description=CONNECT_TIMEOUT.meaning)
    max_attempts: int = Field(default=MAX_ATTEMPTS.default, description=MAX_ATTEMPTS.meaning)
    ui_url: str | None = Field(default=None, description=UI_URL.meaning)
    dagster_url: str | None = Field(
        default=None,
        description="base URL of the Dagster UI, for links on lakeFS commits "
        "(default: $DAGSTER_WEBSERVER_URL or http://localhost:3000)",
    )
    resource_key: str = Field(default="lakefs", description="resource key of the LakeFSResource")
    io_manager_key: str | None = Field(
        default=None,
        description="also add a LakeFSIOManager under this key ('io_manager' makes it every asset's default)",
    )
    io_manager_prefix: str = Field(default="dagster", description="path prefix of asset objects in the repository")
    presign: bool = Field(default=False, description="IO manager: move bytes by presigned URLs where possible")

    def resource(self) -> LakeFSResource:
        # Left out unless given, so that the resource's own default applies.
        optional: dict[str, Any] = {"dagster_url": self.dagster_url} if self.dagster_url else {}
        return LakeFSResource(
            endpoint=self.endpoint,
            access_key_id=EnvVar(self.access_key_id_env),
            secret_access_key=EnvVar(self.secret_access_key_env),
            repository=self.repository,
            source_branch=self.source_branch,
            target_branch=self.target_branch,
            branch_prefix=self.branch_prefix,
            verify_ssl=self.verify_ssl,
            ca_bundle=self.ca_bundle,
            proxy=self.proxy,
            timeout=self.timeout,
            connect_timeout=self.connect_timeout,
            max_attempts=self.max_attempts,
            ui_url=self.ui_url,
            **optional,
        )

    def build_defs(self, context: ComponentLoadContext) -> Definitions:
        for field_name in ("access_key_id_env", "secret_access_key_env"):
            if not _ENV_NAME.fullmatch(getattr(self, field_name)):
                # Never echo the value: a secret pasted here by mistake must not reach a log.
                raise BadInputError(
                    f"LakeFSResourceComponent: '{field_name}' must be the name of an environment variable "
                    "(letters, digits and '_', e.g. LAKEFS_SECRET_ACCESS_KEY), not a credential: the value given "
                    "is not such a name and is not shown. Put the credential in that variable instead."
                )
        resource = self.resource()
        # The optional settings are plain values here: refuse bad ones when the definitions
        # load, not in every run's resource setup.
        resource.check_optional_settings(where="LakeFSResourceComponent attribute")
        resources: dict[str, object] = {self.resource_key: resource}
        if self.io_manager_key:
            resources[self.io_manager_key] = LakeFSIOManager(
                lakefs=resource, prefix=self.io_manager_prefix, presign=self.presign
            )
        return Definitions(resources=resources)


__all__ = ["LakeFSResourceComponent"]
