"""LakeFSHook: an Airflow connection turned into a lakefs-wap connection.

Two connection shapes are accepted:

- conn type ``lakefs`` (this provider): host = lakeFS endpoint, login = access
  key id, password = secret access key; extras ``verify_ssl``, ``ca_bundle``,
  ``proxy``, ``timeout`` (read timeout, seconds), ``connect_timeout`` and
  ``max_attempts`` (tries per request, the first included; ``max_retries``, its
  old name, still works): the names and meanings of ``lakefs_wap.settings``,
  shared with the Dagster resource;
- the ``airflow-provider-lakefs`` shape: any conn type (usually ``http``) with
  the endpoint in host and ``access_key_id``/``secret_access_key`` in extras.

The methods below the connection part keep the signatures of the incumbent
provider's hook, so DAGs and custom operators written against it keep working.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import IO, Any, TypeVar

from lakefs_provider.hooks.results import ObjectContent, ObjectStatsDict, UploadedObject
from lakefs_provider.hooks.sdk_client import HookConnection
from lakefs_provider.version_compat import AirflowNotFoundException, BaseHook, mask_secret
from lakefs_wap import ConnectionSettings, LakeFSConnection, __version__, connect, objects, operations
from lakefs_wap.errors import (
    AuthenticationError,
    BadInputError,
    EndpointNotLakeFSError,
    LakeFSWapError,
    ServerUnavailableError,
    translated,
)
from lakefs_wap.names import validate_branch, validate_prefix, validate_repository
from lakefs_wap.refs import iter_log
from lakefs_wap.settings import optional_settings


def _extras(connection: Any) -> Mapping[str, Any]:
    """The connection's extras; Airflow would log and ignore extras that are not a JSON object."""
    conn_id = connection.conn_id
    raw = connection.extra
    if isinstance(raw, str) and raw.strip():
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError as error:
            # The text itself may hold a secret: say where it breaks, never what it says.
            raise BadInputError(
                f"lakeFS connection '{conn_id}': its Extra is not valid JSON ({error.msg} at line {error.lineno}, "
                f"column {error.colno}). Give a JSON object such as "
                '{"verify_ssl": false, "timeout": 60}, or leave Extra empty.'
            ) from None
        if not isinstance(parsed, dict):
            raise BadInputError(
                f"lakeFS connection '{conn_id}': its Extra is JSON but a {type(parsed).__name__}, not an object. "
                'Give a JSON object such as {"verify_ssl": false, "timeout": 60}.'
            )
    return connection.extra_dejson or {}


def settings_from_connection(connection: Any) -> ConnectionSettings:
    """Build core settings from an Airflow ``Connection`` (sync or async fetched)."""
    conn_id = connection.conn_id
    extras = _extras(connection)
    endpoint = (connection.host or extras.get("endpoint") or "").strip()
    if not endpoint:
        raise BadInputError(
            f"lakeFS connection '{conn_id}' has no endpoint: set its Host (lakeFS endpoint), "
            "for example 'https://lakefs.example.com'."
        )
    if "://" not in endpoint:
        endpoint = f"{connection.schema or 'http'}://{endpoint}"
    if connection.port and endpoint.count(":") < 2:
        endpoint = f"{endpoint.rstrip('/')}:{connection.port}"
    access_key_id = connection.login or extras.get("access_key_id")
    secret = connection.password or extras.get("secret_access_key")
    if not access_key_id:
        raise BadInputError(
            f"lakeFS connection '{conn_id}' has no access key id: set its Login (Access key ID) "
            "or the extra 'access_key_id'."
        )
    if not secret:
        raise BadInputError(
            f"lakeFS connection '{conn_id}' has no secret access key: set its Password (Secret access key) "
            "or the extra 'secret_access_key'."
        )
    mask_secret(secret)
    values: dict[str, Any] = {"endpoint": endpoint, "access_key_id": access_key_id, "secret_access_key": secret}
    values.update(optional_settings(extras, where=f"lakeFS connection '{conn_id}': extra"))
    try:
        return ConnectionSettings(**values)
    except BadInputError as error:
        raise BadInputError(f"lakeFS connection '{conn_id}': {error}") from None


def missing_connection(conn_id: str) -> BadInputError:
    return BadInputError(
        f"Airflow connection '{conn_id}' is not defined: create it (conn type 'lakefs', Host = lakeFS endpoint, "
        f"Login = access key id, Password = secret access key) or set AIRFLOW_CONN_{conn_id.upper()}."
    )


def refuse_path_as_content(content: object, *, where: str) -> None:
    """airflow-provider-lakefs handed ``content`` to the generated SDK, which reads a
    ``str`` as the path of a local file to upload; lakefs-wap uploads text as text.
    A string naming an existing file is the one case where the two would silently
    store different bytes, so it is refused with both ways out."""
    if isinstance(content, str) and "\n" not in content and len(content) < 4096 and Path(content).is_file():
        raise BadInputError(
            f"{where}: content {content!r} names a local file. airflow-provider-lakefs uploaded that file; "
            "lakefs-wap uploads text as text. To upload the file give source_file= (operator) or "
            "content=pathlib.Path(...) / an open binary file; to store this text itself, give it as bytes."
        )


def name_the_connection(error: LakeFSWapError, conn_id: str, endpoint: str) -> LakeFSWapError:
    """The same error, naming the Airflow connection and endpoint it came through.

    For the errors whose fix is in the connection: an unreachable or wrong
    endpoint, refused credentials. Others are returned as they are.
    """
    if not isinstance(error, (ServerUnavailableError, EndpointNotLakeFSError, AuthenticationError)):
        return error
    named = f"Airflow connection '{conn_id}'"
    if named in error.message:
        return error
    return type(error)(
        f"{error.message} [{named}, endpoint {endpoint}]",
        repository=error.repository,
        ref=error.ref,
        status=error.status,
        server_message=error.server_message,
    )


def create_symlink_file(connection: LakeFSConnection, repo: str, branch: str, location: str | None = None) -> str:
    """Have lakeFS write the symlink manifests of ``branch`` (of ``location``, a path prefix, if given)."""
    validate_repository(repo)
    validate_branch(branch)
    if location:
        validate_prefix(location, what="symlink location")
    with translated(
        action=f"create symlink files for '{branch}'", repository=repo, ref=branch, missing=f"branch '{branch}'"
    ):
        answer = connection.sdk.internal_api.create_symlink_file(repo, branch, location=location or None)
    return str(answer.location)


def _pick(primary: str | None, alias: str | None, *, names: str) -> str:
    value = primary if primary is not None else alias
    if value is None:
        raise TypeError(f"missing required argument: {names}")
    return value


class LakeFSHook(BaseHook):
    """Talks to lakeFS through the Airflow connection ``lakefs_conn_id``.

    ``get_conn()`` returns the core ``LakeFSConnection`` (shared per process),
    which operators hand to ``lakefs_wap`` calls, and which also has the API
    groups of the generated client (``branches_api``, ``objects_api``...) that
    airflow-provider-lakefs's ``get_conn()`` returned.
    """

    conn_name_attr = "lakefs_conn_id"
    default_conn_name = "lakefs_default"
    conn_type = "lakefs"
    hook_name = "lakeFS"
    # The X-Lakefs-Client header every request carries.
    client_id = f"lakefs-wap/{__version__}"

    def __init__(self, lakefs_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.lakefs_conn_id = lakefs_conn_id

    def settings(self) -> ConnectionSettings:
        try:
            connection = self.get_connection(self.lakefs_conn_id)
        except AirflowNotFoundException as error:
            raise missing_connection(self.lakefs_conn_id) from error
        return settings_from_connection(connection)

    @classmethod
    async def asettings(cls, lakefs_conn_id: str) -> ConnectionSettings:
        """The same, fetched without blocking an event loop (for triggers)."""
        try:
            connection = await cls.aget_connection(lakefs_conn_id)
        except AirflowNotFoundException as error:
            raise missing_connection(lakefs_conn_id) from error
        return settings_from_connection(connection)

    def get_conn(self) -> HookConnection:
        return HookConnection(connect(self.settings()))

    def get_base_url(self) -> str:
        """The lakeFS endpoint of the connection, with its scheme (``http://`` when none is given)."""
        return self.settings().endpoint

    @staticmethod
    def get_ui_field_behaviour() -> dict[str, Any]:
        """The connection form for Airflow before 3.2, which reads it from the hook."""
        from lakefs_provider.get_provider_info import connection_form_behaviour

        return connection_form_behaviour()

    @staticmethod
    def get_connection_form_widgets() -> dict[str, Any]:
        """The connection form's extra fields for Airflow before 3.2: the provider info's ``conn-fields``."""
        from lakefs_provider.get_provider_info import get_provider_info
        from lakefs_provider.version_compat import connection_form_widgets

        (lakefs_type,) = get_provider_info()["connection-types"]
        return connection_form_widgets(lakefs_type["conn-fields"])

    def test_connection(self) -> tuple[bool, str]:
        """What ``airflow connections test`` and the UI's Test button call."""
        try:
            connection = self.get_conn()
        except Exception as error:  # no usable settings: reported to the user as the test's verdict
            return False, str(error)
        try:
            user = connection.whoami()
            version = connection.server_version()
        except LakeFSWapError as error:  # reported to the user as the test's verdict
            return False, str(name_the_connection(error, self.lakefs_conn_id, connection.settings.endpoint))
        except Exception as error:  # reported to the user as the test's verdict
            return False, str(error)
        return True, f"Connected to lakeFS {version} at {connection.settings.endpoint} as '{user}'."

    # ----- the incumbent airflow-provider-lakefs hook API --------------------------

    def create_branch(
        self,
        repo: str | None = None,
        name: str | None = None,
        source_branch: str = "main",
        *,
        repository: str | None = None,
    ) -> str:
        """Create branch ``name`` from ``source_branch``; return its head commit id (existing branch: its head)."""
        repo_name = _pick(repo, repository, names="repo")
        return operations.create_branch(self.get_conn(), repo_name, _pick(name, None, names="name"), source_branch)

    def delete_branch(self, repo: str, branch: str) -> bool:
        return operations.delete_branch(self.get_conn(), repo, branch)

    def commit(self, repo: str, branch: str, msg: str, metadata: Mapping[str, Any] | None = None) -> str:
        return str(operations.commit(self.get_conn(), repo, branch, msg, metadata).id)

    def upload(self, repo: str, branch: str, path: str, content: bytes | str | IO[bytes]) -> UploadedObject:
        """Stage ``content`` at ``path``; return its physical address, with its stats as attributes."""
        refuse_path_as_content(content, where=f"LakeFSHook.upload of '{path}'")
        return UploadedObject(objects.upload(self.get_conn(), repo, branch, path, content))

    def merge(
        self, repo: str, source_ref: str, destination_branch: str, msg: str, metadata: Mapping[str, Any] | None = None
    ) -> str:
        return operations.merge(self.get_conn(), repo, source_ref, destination_branch, message=msg, metadata=metadata)

    def get_branch_commit_id(self, repo: str, branch: str | None = None, *, name: str | None = None) -> str:
        return operations.branch_head(self.get_conn(), repo, _pick(branch, name, names="branch"))

    def get_commit(self, repo: str, ref: str) -> dict[str, Any]:
        return operations.commit_as_dict(operations.get_commit(self.get_conn(), repo, ref))

    def log_commits(self, repo: str, ref: str, size: int = 100) -> Iterator[dict[str, Any]]:
        """Commits reachable from ``ref``, newest first, fetched ``size`` at a time."""
        for commit in iter_log(self.get_conn(), repo, ref, page_size=size):
            yield operations.commit_as_dict(commit)

    def stat_object(self, repo: str, ref: str, path: str) -> ObjectStatsDict:
        """The object's stats: a dict whose keys also read as attributes."""
        return ObjectStatsDict.of(objects.stat(self.get_conn(), repo, ref, path))

    def get_object(self, repo: str, ref: str, path: str) -> ObjectContent:
        """A (small) object's content, read into memory: bytes that also have ``read()``."""
        return ObjectContent(objects.read_bytes(self.get_conn(), repo, ref, path))

    def create_symlink_file(self, repo: str, branch: str, location: str | None = None) -> str:
        """Write Hive-style symlink manifests of ``branch`` (under ``location``, a path prefix,
        if given) to the repository's storage namespace; return where lakeFS wrote them."""
        return create_symlink_file(self.get_conn(), repo, branch, location)


F = TypeVar("F", bound=Callable[..., Any])


def _naming_the_connection(method: F) -> F:
    @functools.wraps(method)
    def run(self: UsesLakeFSHook, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except LakeFSWapError as error:
            connection = self.__dict__.get("connection")
            if connection is None:
                raise
            named = name_the_connection(error, self.lakefs_conn_id, connection.settings.endpoint)
            if named is error:
                raise
            raise named from error

    return run  # type: ignore[return-value]


class UsesLakeFSHook:
    """For operators and sensors: the hook and the core connection for ``self.lakefs_conn_id``.

    Their ``execute`` and ``poke`` name the Airflow connection and its endpoint
    in errors whose fix lies in the connection (unreachable, not lakeFS, wrong
    credentials): the core does not know which connection it was given.
    """

    lakefs_conn_id: str

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("execute", "poke"):
            method = cls.__dict__.get(name)
            if callable(method):
                setattr(cls, name, _naming_the_connection(method))

    @cached_property
    def hook(self) -> LakeFSHook:
        return LakeFSHook(lakefs_conn_id=self.lakefs_conn_id)

    @cached_property
    def connection(self) -> LakeFSConnection:
        # Looked up once per task execution: fetching an Airflow connection
        # is a round trip to the supervisor or a secrets backend.
        return self.hook.get_conn()
