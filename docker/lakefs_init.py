"""One-shot set-up of the compose stack's lakeFS: its first admin, then the demo repository.

Run by the ``lakefs-init`` service of ``docker-compose.yml`` in a plain Python image,
so it uses the standard library only. Safe to run again: an admin or a repository
that exists already is left as it is. lakeFS creates the admin from its own
configuration only on a local database; on PostgreSQL the setup API does it.

Settings (environment): ``LAKEFS_ENDPOINT``, ``LAKEFS_ADMIN_USER``,
``LAKEFS_ACCESS_KEY_ID``, ``LAKEFS_SECRET_ACCESS_KEY``, ``LAKEFS_REPOSITORY`` and
``LAKEFS_STORAGE_NAMESPACE`` (where the repository keeps its objects, e.g.
``s3://lakefs-wap/lakefs-wap-demo``); ``LAKEFS_INIT_TIMEOUT`` seconds to wait for
lakeFS to answer (default 120).
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

REQUIRED = (
    "LAKEFS_ENDPOINT",
    "LAKEFS_ADMIN_USER",
    "LAKEFS_ACCESS_KEY_ID",
    "LAKEFS_SECRET_ACCESS_KEY",
    "LAKEFS_REPOSITORY",
    "LAKEFS_STORAGE_NAMESPACE",
)


class InitError(Exception):
    """The set-up cannot go on; the message says what to fix."""


def _request(
    method: str, url: str, body: Mapping[str, Any] | None = None, auth: tuple[str, str] | None = None
) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - configured URL
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_for_lakefs(endpoint: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        try:
            status, _ = _request("GET", f"{endpoint}/_health")
            if status == 200:
                return
            last = f"HTTP {status}"
        except (urllib.error.URLError, OSError) as error:
            last = str(error)
        time.sleep(1)
    raise InitError(f"lakeFS at {endpoint} did not answer /_health within {timeout:.0f}s ({last})")


def set_up_admin(endpoint: str, user: str, access_key_id: str, secret_access_key: str) -> bool:
    """Create the first admin with these keys; False when lakeFS was set up before."""
    body = {"username": user, "key": {"access_key_id": access_key_id, "secret_access_key": secret_access_key}}
    status, answer = _request("POST", f"{endpoint}/api/v1/setup_lakefs", body)
    if status == 409:
        return False
    if status // 100 != 2:
        raise InitError(f"lakeFS refused to set up admin {user!r}: HTTP {status} {_message(answer)}")
    return True


def create_repository(endpoint: str, auth: tuple[str, str], name: str, namespace: str) -> bool:
    """Create repository ``name`` with a ``main`` branch; False when it exists."""
    body = {"name": name, "storage_namespace": namespace, "default_branch": "main"}
    status, answer = _request("POST", f"{endpoint}/api/v1/repositories", body, auth)
    if status == 409:
        return False
    if status == 401:
        raise InitError(
            "lakeFS rejected the keys in LAKEFS_ACCESS_KEY_ID/LAKEFS_SECRET_ACCESS_KEY (HTTP 401): it was set up "
            "with other keys. Use those, or wipe the stack's volumes (`docker compose down -v`) and start again."
        )
    if status // 100 != 2:
        raise InitError(
            f"lakeFS refused to create repository {name!r} at {namespace}: HTTP {status} {_message(answer)}"
        )
    return True


def _message(answer: bytes) -> str:
    try:
        return str(json.loads(answer).get("message", ""))[:500]
    except (ValueError, AttributeError):
        return answer[:500].decode(errors="replace")


def main(environ: Mapping[str, str] = os.environ) -> int:
    missing = [name for name in REQUIRED if not environ.get(name)]
    try:
        if missing:
            raise InitError(f"missing settings: {', '.join(missing)} (set them in the service's environment)")
        endpoint = environ["LAKEFS_ENDPOINT"].rstrip("/")
        try:
            timeout = float(environ.get("LAKEFS_INIT_TIMEOUT", "120"))
        except ValueError:
            raise InitError(
                f"LAKEFS_INIT_TIMEOUT must be a number of seconds, got {environ['LAKEFS_INIT_TIMEOUT']!r}"
            ) from None
        access_key_id, secret = environ["LAKEFS_ACCESS_KEY_ID"], environ["LAKEFS_SECRET_ACCESS_KEY"]
        user, repository = environ["LAKEFS_ADMIN_USER"], environ["LAKEFS_REPOSITORY"]
        wait_for_lakefs(endpoint, timeout)
        made_admin = set_up_admin(endpoint, user, access_key_id, secret)
        print(f"lakeFS admin {user!r} " + ("created" if made_admin else "was set up before"), flush=True)
        made_repository = create_repository(
            endpoint, (access_key_id, secret), repository, environ["LAKEFS_STORAGE_NAMESPACE"]
        )
        print(f"repository {repository!r} " + ("created" if made_repository else "exists already"), flush=True)
    except InitError as error:
        print(f"lakefs-init: {error}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
