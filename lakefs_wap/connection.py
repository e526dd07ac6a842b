"""The connection to a lakeFS server: settings, clients, retries, reuse.

``connect(settings)`` hands out one ``LakeFSConnection`` per process and
settings, so every caller shares one HTTP connection pool. The connection
gives the generated ``lakefs_sdk`` client (what lakefs-wap itself uses) and
the high-level ``lakefs.Client`` (for users who want its objects); both go
through the same pool, the same retry policy and the same ``lakefs-wap/<version>``
client header.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import lakefs
import lakefs_sdk
import urllib3
from lakefs.client import ServerConfiguration
from lakefs.config import ClientConfig
from lakefs_sdk.client import LakeFSClient, _WrappedApiClient

from lakefs_wap import __version__
from lakefs_wap.errors import BadInputError, translated
from lakefs_wap.retry import RetryPolicy, call_with_retries
from lakefs_wap.settings import http_url

CLIENT_HEADER = "X-Lakefs-Client"
CLIENT_NAME = f"lakefs-wap/{__version__}"
_API_PATH = "/api/v1"

# The requests that add a commit each time they land. The transport never
# repeats them after an ambiguous failure; write_once.write_once looks first.
_ADDS_A_COMMIT = re.compile(
    r"/repositories/[^/]+/(branches/[^/]+/(commits|revert|cherry-pick)|refs/[^/]+/merge/[^/]+)$"
)


def is_repeatable(method: str, path: str) -> bool:
    """Whether sending this request twice has the effect of sending it once."""
    return not (method.upper() == "POST" and _ADDS_A_COMMIT.search(path))


@dataclass(frozen=True)
class ConnectionSettings:
    """How to reach and authenticate to one lakeFS server.

    ``endpoint`` is the server's base URL (``https://lakefs.example.com``); a
    trailing ``/api/v1`` is accepted and removed. The secret never appears in
    ``repr()``. The names users give the optional settings in the Airflow
    connection and the Dagster resource (``timeout`` for ``read_timeout``,
    ``max_attempts`` for ``retry``) are defined once, in ``lakefs_wap.settings``.
    """

    endpoint: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    verify_ssl: bool = True
    ca_bundle: str | None = None
    proxy: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # Where a browser reaches the same server, for links (None: the endpoint).
    ui_url: str | None = None

    def __post_init__(self) -> None:
        endpoint = http_url(
            self.endpoint,
            f"invalid lakeFS endpoint {self.endpoint!r}: give the server's URL with its scheme, "
            "for example 'http://localhost:8000' or 'https://lakefs.example.com'.",
        )
        if endpoint.endswith(_API_PATH):
            endpoint = endpoint[: -len(_API_PATH)]
        object.__setattr__(self, "endpoint", endpoint)
        missing = [
            name for name in ("access_key_id", "secret_access_key") if not str(getattr(self, name) or "").strip()
        ]
        if missing:
            raise BadInputError(f"lakeFS connection to {endpoint} is missing {' and '.join(missing)}.")
        if self.ca_bundle is not None and not os.path.isfile(self.ca_bundle):
            raise BadInputError(f"CA bundle {self.ca_bundle!r} for {endpoint} does not exist or is not a file.")
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise BadInputError("lakeFS connect_timeout and read_timeout must be positive numbers of seconds.")
        if self.ui_url is not None:
            ui_url = http_url(
                self.ui_url,
                f"invalid lakeFS ui_url {self.ui_url!r}: give the address your browser opens lakeFS at, "
                "with its scheme, for example 'http://localhost:8000'.",
            )
            object.__setattr__(self, "ui_url", ui_url)

    @property
    def ui_base_url(self) -> str:
        """The base of links to this server's web UI: ``ui_url`` when given, else the endpoint."""
        return self.ui_url or self.endpoint

    @classmethod
    def from_lakectl(cls, **overrides: Any) -> ConnectionSettings:
        """Settings from ``LAKECTL_*`` environment variables or ``~/.lakectl.yaml``, as lakectl reads them."""
        try:
            config = ClientConfig()
        except lakefs.exceptions.NoAuthenticationFound as error:
            raise BadInputError(
                "no lakeFS connection settings given and none found in LAKECTL_SERVER_ENDPOINT_URL, "
                "LAKECTL_CREDENTIALS_ACCESS_KEY_ID, LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY or ~/.lakectl.yaml."
            ) from error
        values: dict[str, Any] = {
            "endpoint": config.host,
            "access_key_id": config.username,
            "secret_access_key": config.password,
        }
        values.update(overrides)
        return cls(**values)

    @property
    def api_url(self) -> str:
        return self.endpoint + _API_PATH


class _RetryingApiClient(_WrappedApiClient):
    """The SDK's API client with our retries and default timeouts on every request."""

    def __init__(self, configuration: lakefs_sdk.Configuration, settings: ConnectionSettings) -> None:
        super().__init__(configuration=configuration, header_name=CLIENT_HEADER, header_value=CLIENT_NAME)
        self.user_agent = f"{CLIENT_NAME} {self.user_agent}"
        self._policy = settings.retry
        self._timeout = (settings.connect_timeout, settings.read_timeout)

    def request(
        self,
        method: str,
        url: str,
        query_params: Any = None,
        headers: Any = None,
        post_params: Any = None,
        body: Any = None,
        _preload_content: bool = True,
        _request_timeout: Any = None,
    ) -> Any:
        timeout = _request_timeout or self._timeout
        parent = super().request

        def attempt() -> Any:
            # A fresh copy each time: the SDK deletes the multipart Content-Type
            # from the dict it is given, and a retry with that dict would send
            # an empty body (lakeFS then stores an empty object).
            fresh = dict(headers) if headers is not None else None
            return parent(method, url, query_params, fresh, post_params, body, _preload_content, timeout)  # type: ignore[no-untyped-call]

        path = urlsplit(url).path
        return call_with_retries(attempt, self._policy, f"{method} {path}", repeatable=is_repeatable(method, path))


class _RedirectsOnly(urllib3.Retry):
    """urllib3's retry bookkeeping that follows redirects but raises every failure
    as it happened (as ``retries=False`` does, which also stops redirects)."""

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: TracebackType | None = None,
    ) -> _RedirectsOnly:
        if error is not None:
            raise error.with_traceback(_stacktrace)
        return super().increment(method, url, response, error, _pool, _stacktrace)


class _InstanceServerConfiguration(ServerConfiguration):
    """The high-level SDK keeps storage configuration in a class-level dict shared
    by every client in the process; this keeps one dict per client instead."""

    def __init__(self, client: lakefs.Client) -> None:
        self._storage_conf = {}
        super().__init__(client)


class _IsolatedClient(lakefs.Client):
    def _server_configuration(self) -> ServerConfiguration:
        if self._server_conf is None:
            self._server_conf = _InstanceServerConfiguration(self)
        return self._server_conf

    def storage_config_by_id(self, storage_id: str = "") -> Any:
        return self._server_configuration().storage_config_by_id(storage_id)

    @property
    def version(self) -> str:
        return str(self._server_configuration().version)


class LakeFSConnection:
    """A live connection to one lakeFS server. Get one with ``connect()``."""

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._sdk: LakeFSClient | None = None
        self._api_client: _RetryingApiClient | None = None

    def __repr__(self) -> str:
        return f"LakeFSConnection(endpoint={self.settings.endpoint!r}, access_key_id={self.settings.access_key_id!r})"

    @property
    def sdk(self) -> LakeFSClient:
        """The generated ``lakefs_sdk`` client, with retries, timeouts and our client header."""
        if self._sdk is None:
            with self._lock:
                if self._sdk is None:
                    self._sdk = self._build_sdk()
        return self._sdk

    def _build_sdk(self) -> LakeFSClient:
        settings = self.settings
        configuration = lakefs_sdk.Configuration(
            host=settings.api_url,
            username=settings.access_key_id,
            password=settings.secret_access_key,
            ssl_ca_cert=settings.ca_bundle,
        )
        configuration.verify_ssl = settings.verify_ssl
        configuration.proxy = settings.proxy  # type: ignore[assignment]
        # urllib3 would otherwise retry some failures silently; we retry them
        # ourselves, with backoff and a warning that says so. Redirects are
        # still followed: a presigned read (which the high-level SDK asks for
        # whenever the storage supports it) answers 302 to the object store,
        # and urllib3 drops the credentials when a redirect leaves this host.
        configuration.retries = _RedirectsOnly(  # type: ignore[assignment]
            total=None, connect=0, read=0, status=0, other=0, redirect=5, respect_retry_after_header=False
        )
        configuration.connection_pool_maxsize = 16
        client = LakeFSClient(configuration)
        retrying = self._api_client = _RetryingApiClient(configuration, settings)
        client._api = retrying
        for name, api in vars(client).items():
            if name.endswith("_api"):
                api.api_client = retrying
        return client

    @cached_property
    def client(self) -> lakefs.Client:
        """A high-level ``lakefs.Client`` sharing this connection's pool, retries and header."""
        settings = self.settings
        high_level = _IsolatedClient(  # type: ignore[no-untyped-call]
            host=settings.endpoint,
            username=settings.access_key_id,
            password=settings.secret_access_key,
            verify_ssl=settings.verify_ssl,
            ssl_ca_cert=settings.ca_bundle,
            proxy=settings.proxy,
        )
        high_level._client = self.sdk
        return high_level

    @property
    def api(self) -> _RetryingApiClient:
        """The shared API client, for the few raw requests the SDK cannot express (streaming)."""
        self.sdk  # noqa: B018 - builds the client on first use
        assert self._api_client is not None  # noqa: S101 - set by _build_sdk
        return self._api_client

    def whoami(self) -> str:
        """Check endpoint and credentials with one request; return the user id."""
        with translated(action="authenticate", missing="the lakeFS endpoint (is it a lakeFS server?)"):
            return str(self.sdk.auth_api.get_current_user().user.id)

    def server_version(self) -> str:
        with translated(action="read the server version"):
            version = self.sdk.config_api.get_config().version_config
        return str(version.version) if version and version.version else "unknown"


_connections: dict[tuple[int, ConnectionSettings], LakeFSConnection] = {}
_connections_lock = threading.Lock()


def connect(settings: ConnectionSettings | None = None, **overrides: Any) -> LakeFSConnection:
    """The process's connection for these settings (from lakectl config when none are given).

    Connections are keyed by process id too: a forked worker must not share
    the parent's open sockets.
    """
    if settings is None:
        settings = ConnectionSettings.from_lakectl(**overrides)
    elif overrides:
        settings = replace(settings, **overrides)
    key = (os.getpid(), settings)
    with _connections_lock:
        connection = _connections.get(key)
        if connection is None:
            connection = _connections[key] = LakeFSConnection(settings)
        return connection


__all__ = ["ConnectionSettings", "LakeFSConnection", "RetryPolicy", "connect"]
