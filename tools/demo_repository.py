"""The one rule for making sure a repository exists, used wherever the demo, the stacks and the benchmarks set one up.

Creating is the check: lakeFS answers 409 for a repository that exists. A caller
that loses a race can instead get 400 "storage namespace already in use" (the
winner's marker object is there before its repository is); then the repository
is there at that namespace, and that counts as existing too.
"""

from __future__ import annotations

import time

from lakefs_sdk import RepositoriesApi, RepositoryCreation
from lakefs_sdk.exceptions import ApiException, NotFoundException

from lakefs_wap import ConnectionSettings, connect
from tools.lakefs_server import ServerAccess
from tools.stack import DEMO_REPOSITORY

HTTP_CONFLICT = 409
_RACE_LOOKUPS = 10


def ensure_repository(
    repositories: RepositoriesApi, name: str, storage_namespace: str, *, default_branch: str = "main"
) -> bool:
    """Create repository ``name`` at ``storage_namespace`` unless it exists.

    Returns True when this call created it, False when it was there already (or
    another caller created it first). Any other refusal is raised as the SDK's error.
    """
    creation = RepositoryCreation.from_dict(
        {"name": name, "storage_namespace": storage_namespace, "default_branch": default_branch}
    )
    try:
        repositories.create_repository(creation)
    except ApiException as error:
        if error.status == HTTP_CONFLICT or _exists_at(repositories, name, storage_namespace):
            return False
        raise
    return True


def _exists_at(repositories: RepositoriesApi, name: str, storage_namespace: str) -> bool:
    # The racing winner may still be between writing its marker and recording the
    # repository: look a few times before calling the refusal real.
    for _ in range(_RACE_LOOKUPS):
        try:
            return repositories.get_repository(name).storage_namespace == storage_namespace
        except NotFoundException:
            time.sleep(0.2)
        except ApiException:
            return False
    return False


def ensure_demo_repository(access: ServerAccess, name: str = DEMO_REPOSITORY) -> bool:
    """The repository the example DAGs and Dagster definitions write to, on the server of ``access``."""
    connection = connect(ConnectionSettings(access.endpoint, access.access_key_id, access.secret_access_key))
    return ensure_repository(connection.sdk.repositories_api, name, access.storage_namespace(name))
