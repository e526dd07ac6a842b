"""A throw-away S3 server on 127.0.0.1: MinIO, built from the Go module pinned in
``tools/minio-build/go.mod`` (or ``MINIO_BIN``, or a ``minio`` on PATH; see
``tools/go_build.py``), storing in a temporary directory, with one bucket made
at start.

Requests of our own (making the bucket, reading what lakeFS stored) are signed
with AWS Signature Version 4 by the few lines below, so nothing beyond the
standard library is needed.
"""

from __future__ import annotations

import hashlib
import hmac
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tools.go_build import PinnedGoBinary
from tools.processes import ChildProcess, LakeFSUnavailable, ManagedServer, check_port_free, free_port

MINIO = PinnedGoBinary(
    title="MinIO",
    command="minio",
    env_var="MINIO_BIN",
    module_dir=Path(__file__).resolve().parent / "minio-build",
    module="github.com/minio/minio",
    package="github.com/minio/minio",
)

# Fixed credentials of the throw-away server's root user; it only ever listens
# on 127.0.0.1 for as long as one test session.
LOCAL_S3_ACCESS_KEY_ID = "lakefswaplocals3"
LOCAL_S3_SECRET_ACCESS_KEY = "lakefs-wap-local-s3-secret-0123456789"  # noqa: S105
LOCAL_S3_REGION = "us-east-1"
LOCAL_S3_BUCKET = "lakefs-wap"


@dataclass(frozen=True)
class S3Access:
    """Where an S3 server listens, its credentials, and the bucket made for lakeFS."""

    endpoint: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    region: str
    bucket: str

    def request(self, method: str, key: str = "", body: bytes = b"") -> tuple[int, bytes]:
        """One signed path-style request on the bucket (or on ``key`` in it); returns status and body."""
        path = f"/{self.bucket}" + (f"/{urllib.parse.quote(key)}" if key else "")
        url = self.endpoint + path
        headers = sign_v4(self, method, url, body)
        request = urllib.request.Request(url, data=body or None, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as error:
            return int(error.code), bytes(error.read())


def sign_v4(access: S3Access, method: str, url: str, body: bytes) -> dict[str, str]:
    """The headers that authenticate one request with AWS Signature Version 4 (service ``s3``)."""
    parts = urllib.parse.urlsplit(url)
    now = time.gmtime()
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", now)
    day = amz_date[:8]
    payload_hash = hashlib.sha256(body).hexdigest()
    headers = {"host": parts.netloc, "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
    query = sorted(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    canonical_query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in query)
    signed_headers = ";".join(sorted(headers))
    canonical_request = "\n".join(
        [
            method,
            parts.path or "/",
            canonical_query,
            "".join(f"{name}:{headers[name]}\n" for name in sorted(headers)),
            signed_headers,
            payload_hash,
        ]
    )
    scope = f"{day}/{access.region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    key = ("AWS4" + access.secret_access_key).encode()
    for part in (day, access.region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access.access_key_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )
    return headers


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="-_.~")


class LocalMinIO(ManagedServer):
    """A MinIO server alive inside a ``with`` block, with ``bucket`` made; its data is removed on exit."""

    def __init__(
        self,
        binary: Path | None = None,
        *,
        port: int | None = None,
        bucket: str = LOCAL_S3_BUCKET,
        startup_timeout: float = 60.0,
    ) -> None:
        self.binary = binary or MINIO.ensure()
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.workdir = Path(tempfile.mkdtemp(prefix="lakefs-wap-minio-"))
        self.access = S3Access(
            endpoint=f"http://127.0.0.1:{self.port}",
            access_key_id=LOCAL_S3_ACCESS_KEY_ID,
            secret_access_key=LOCAL_S3_SECRET_ACCESS_KEY,
            region=LOCAL_S3_REGION,
            bucket=bucket,
        )
        self._process = ChildProcess("MinIO", self.workdir / "minio.log")

    def _start(self) -> None:
        check_port_free(self.port, "MinIO")
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.workdir),
            "MINIO_ROOT_USER": self.access.access_key_id,
            "MINIO_ROOT_PASSWORD": self.access.secret_access_key,
            "MINIO_SITE_REGION": self.access.region,
            # No web console, no update checks: an S3 API on loopback and nothing else.
            "MINIO_BROWSER": "off",
            "MINIO_UPDATE": "off",
            "MINIO_CALLHOME_ENABLE": "off",
        }
        self._process.start(
            [
                str(self.binary),
                "server",
                str(self.workdir / "data"),
                "--address",
                f"127.0.0.1:{self.port}",
                # Without it the console would pick a random port on every interface.
                "--console-address",
                f"127.0.0.1:{free_port()}",
                "--quiet",
            ],
            env=env,
            cwd=self.workdir,
        )
        # /minio/health/ready answers 200 before the object layer is up (then
        # requests get 503 XMinioServerNotInitialized): the bucket's creation
        # is the readiness check.
        self._process.wait_until(
            self._bucket_created, timeout=self.startup_timeout, waiting_for=f"create bucket {self.access.bucket!r}"
        )

    def _bucket_created(self) -> bool:
        try:
            status, body = self.access.request("PUT")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False
        if status == 503:
            return False
        if status != 200:
            raise LakeFSUnavailable(
                f"MinIO at {self.access.endpoint} refused to create bucket {self.access.bucket!r}: "
                f"HTTP {status} {body[:500]!r}"
            )
        return True

    def stop(self) -> None:
        self._process.end()
        shutil.rmtree(self.workdir, ignore_errors=True)
