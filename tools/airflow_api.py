"""A small client for Airflow 3's public REST API (``/api/v2``), as the stack, the demo and the e2e tests use it.

Sign-in is the simple auth manager's ``POST /auth/token``; the token is fetched
again once when the api-server answers 401 (it expired).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tools.processes import LakeFSUnavailable


class AirflowUnavailable(LakeFSUnavailable):
    """The Airflow stack could not be started or did not get ready; the message has the log's tail."""


@dataclass(frozen=True)
class AirflowAccess:
    """Where the api-server listens and how to sign in to it."""

    url: str
    username: str
    password: str = field(repr=False)

    @property
    def api(self) -> str:
        return f"{self.url}/api/v2"

    def token(self, timeout: float = 30.0) -> str:
        """A JWT for the REST API, from the simple auth manager's ``POST /auth/token``."""
        body = json.dumps({"username": self.username, "password": self.password}).encode()
        request = urllib.request.Request(  # noqa: S310 - our own loopback server
            f"{self.url}/auth/token", data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return str(json.load(response)["access_token"])
        except urllib.error.HTTPError as error:
            raise AirflowUnavailable(
                f"Airflow refused a token for {self.username!r} at {self.url}/auth/token: HTTP {error.code}"
            ) from None


class AirflowAPIError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, detail: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {detail[:1000]}")
        self.status = status


class AirflowAPI:
    """A few lines of JSON over HTTP to ``/api/v2`` with a bearer token (fetched again when it expires)."""

    def __init__(self, access: AirflowAccess, *, timeout: float = 120.0) -> None:
        self.access = access
        self.timeout = timeout
        self._token: str | None = None

    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        for attempt in (1, 2):
            if self._token is None:
                self._token = self.access.token(self.timeout)
            request = urllib.request.Request(  # noqa: S310 - our own loopback server
                f"{self.access.api}/{path.lstrip('/')}",
                data=json.dumps(body).encode() if body is not None else None,
                method=method,
                headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                    raw = response.read()
                    return json.loads(raw) if raw else None
            except urllib.error.HTTPError as error:
                if error.code == 401 and attempt == 1:
                    self._token = None  # expired: sign in again, once
                    continue
                raise AirflowAPIError(method, path, error.code, error.read().decode(errors="replace")) from None
        raise AssertionError("unreachable")

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.request("POST", path, body)

    def patch(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.request("PATCH", path, body)


def get_json(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own loopback server
            value = json.load(response)
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def dag_known(api: AirflowAPI, dag_id: str) -> bool:
    try:
        api.get(f"dags/{dag_id}")
    except AirflowAPIError as error:
        if error.status == 404:
            return False
        raise
    return True


def import_errors(api: AirflowAPI) -> list[str]:
    listing = api.get("importErrors")
    return [f"{error.get('filename')}: {error.get('stack_trace', '')[-300:]}" for error in listing["import_errors"]]
