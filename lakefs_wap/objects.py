"""Moving object bytes in and out of lakeFS with bounded memory.

The generated SDK reads a whole upload into memory and builds a multipart
body; these helpers instead stream a file (or any readable) as the request
body, and stream downloads to disk in chunks, so memory stays flat whatever the
object's size. Requests share the connection's pool, credentials, client
header and retry policy; a retried upload rewinds its source first (a source
that cannot rewind is sent once, without retries).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, TypeVar
from urllib.parse import quote, urlencode

import lakefs_sdk
import lakefs_sdk.exceptions as sdk
import urllib3
from lakefs_sdk.rest import RESTResponse

from lakefs_wap import presign as presigned
from lakefs_wap.connection import LakeFSConnection
from lakefs_wap.errors import BadInputError, ConflictError, LakeFSWapError, translated
from lakefs_wap.limits import check_object_metadata
from lakefs_wap.names import validate_branch, validate_path, validate_prefix, validate_ref, validate_repository
from lakefs_wap.retry import RetryPolicy, call_with_retries

Source = bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes]
CHUNK_SIZE = 1024 * 1024
_AUTH = ["basic_auth"]
_USER_METADATA_HEADER = "X-Lakefs-Meta-"


def _headers(connection: LakeFSConnection, resource_path: str, method: str, extra: Mapping[str, str]) -> dict[str, str]:
    api = connection.api
    headers = {**api.default_headers, **extra}
    api.update_params_for_auth(headers, None, _AUTH, resource_path, method, None)  # type: ignore[no-untyped-call]
    return headers


def _check(response: Any) -> None:
    if not 200 <= response.status < 300:
        raise sdk.ApiException(http_resp=RESTResponse(response))


@contextmanager
def _opened(source: Source) -> Iterator[tuple[IO[bytes] | memoryview | bytes, int | None]]:
    """The body to send and its length (None when unknown)."""
    if isinstance(source, str):
        data = source.encode("utf-8")
        yield data, len(data)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        view = memoryview(source)  # sent as it is: no copy of a large in-memory value
        yield view, view.nbytes
    elif isinstance(source, os.PathLike):
        with open(source, "rb") as stream:
            yield stream, os.fstat(stream.fileno()).st_size
    else:
        length = None
        if _seekable(source):
            start = source.tell()
            length = source.seek(0, os.SEEK_END) - start
            source.seek(start)
        yield source, length


def _check_source(source: object, path: str, branch: str) -> None:
    if source is None:
        raise BadInputError(
            f"nothing to upload to '{path}' on branch '{branch}': the content is None. Give bytes, text, a "
            "local file path or a binary stream (b'' writes an empty object).",
            ref=branch,
        )
    if isinstance(source, io.TextIOBase):
        raise BadInputError(
            f"cannot upload a text stream to '{path}' on branch '{branch}': its length in characters is not "
            "its length in bytes. Open the file in binary mode ('rb'), or pass the text itself as a str.",
            ref=branch,
        )
    if isinstance(source, (bytes, bytearray, memoryview, str, os.PathLike)) or callable(getattr(source, "read", None)):
        return
    raise BadInputError(
        f"cannot upload a value of type {type(source).__name__} to '{path}' on branch '{branch}': give bytes, "
        "text, a local file path (pathlib.Path) or a binary stream; serialize other values first (e.g. json.dumps).",
        ref=branch,
    )


def _seekable(stream: IO[bytes]) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def upload(
    connection: LakeFSConnection,
    repository: str,
    branch: str,
    path: str,
    source: Source,
    *,
    content_type: str | None = None,
    metadata: Mapping[str, str] | None = None,
    if_absent: bool = False,
    presign: bool = False,
) -> lakefs_sdk.ObjectStats:
    """Stage ``source`` at ``path`` on ``branch``: bytes, text (UTF-8), a local file path, or a binary stream.

    ``None`` or any other value is refused before anything is sent (``b""`` is
    an empty object); so are paths and object metadata breaking
    ``lakefs_wap.names.validate_path`` and ``lakefs_wap.limits``.

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        branch: The branch to stage the object on.
        path: The object's path (``lakefs_wap.names.PATH_RULE``).
        source: bytes, text, a local file path or a binary stream.
        content_type: The object's content type; ``application/octet-stream`` by default.
        metadata: Object user metadata (``lakefs_wap.limits.check_object_metadata``).
        if_absent: Fail with a conflict when the path already has an object
            (lakeFS's ``If-None-Match: *``).
        presign: Send the bytes straight to the object store by a presigned
            URL (then link them: three requests), falling back to the path
            through lakeFS where that cannot work (``lakefs_wap.presign``).

    Returns:
        The staged object's stats.

    Raises:
        BadInputError: A bad path, source or metadata; nothing was sent.
        ConflictError: ``if_absent`` and the path already has an object.

    Example:
        >>> upload(connection, "lake", "run-1", "raw/orders.csv", Path("orders.csv"))  # doctest: +SKIP
    """
    validate_repository(repository)
    validate_branch(branch)
    validate_path(path)
    _check_source(source, path, branch)
    check_object_metadata(metadata or {}, path=path)
    headers = _upload_headers(content_type, metadata or {}, if_absent=if_absent)
    with _opened(source) as (data, length):
        if length is not None:
            headers["Content-Length"] = str(length)
        body = _UploadBody(data, length, path)
        try:
            with translated(
                action=f"upload '{path}' to branch '{branch}'",
                repository=repository,
                ref=branch,
                missing=f"repository '{repository}' and branch '{branch}'",
            ):
                target = _UploadTarget(connection, repository, branch, path)
                return _send_upload(target, body, headers, metadata or {}, if_absent=if_absent, presign=presign)
        except LakeFSWapError as error:
            if if_absent and error.status == 412:
                raise _already_exists(repository, branch, path, error) from error
            raise


def _upload_headers(content_type: str | None, metadata: Mapping[str, str], *, if_absent: bool) -> dict[str, str]:
    headers = {"Accept": "application/json", "Content-Type": content_type or "application/octet-stream"}
    if if_absent:
        headers["If-None-Match"] = "*"
    for key, value in metadata.items():
        headers[_USER_METADATA_HEADER + key] = value
    return headers


class _UploadBody:
    """An upload's body, and whether a retry can send it again from where it started."""

    def __init__(self, data: IO[bytes] | memoryview | bytes, length: int | None, path: str) -> None:
        self.data = data
        self.length = length
        self.path = path
        self.in_memory = isinstance(data, (bytes, memoryview))
        self.rewindable = self.in_memory or _seekable(data)  # type: ignore[arg-type]
        self.start = data.tell() if not self.in_memory and self.rewindable else 0  # type: ignore[union-attr]

    def rewind(self) -> None:
        if not isinstance(self.data, (bytes, memoryview)):
            self.data.seek(self.start)

    def sendable(self) -> Any:
        # Buffers go as they are (urllib3 sends any buffer, though its
        # annotation names bytes only); streams exactly as long as announced.
        if self.in_memory or self.length is None:
            return self.data
        return _exactly(self.data, self.length, self.path)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _UploadTarget:
    connection: LakeFSConnection
    repository: str
    branch: str
    path: str


def _send_upload(
    target: _UploadTarget,
    body: _UploadBody,
    headers: dict[str, str],
    metadata: Mapping[str, str],
    *,
    if_absent: bool,
    presign: bool,
) -> lakefs_sdk.ObjectStats:
    """The presigned way when asked for and possible, else a POST through lakeFS with retries."""
    connection, repository, branch, path = target.connection, target.repository, target.branch, target.path
    if presign and body.rewindable and presigned.supported(connection):
        stats = presigned.upload(
            connection,
            repository,
            branch,
            path,
            body.sendable(),
            body.length,
            content_type=headers["Content-Type"],
            metadata=metadata,
            if_absent=if_absent,
            rewind=body.rewind,
            timeout=_timeout(connection),
        )
        if stats is not None:
            return stats
    resource = f"/repositories/{quote(repository, safe='')}/branches/{quote(branch, safe='')}/objects"
    url = f"{connection.settings.api_url}{resource}?{urlencode({'path': path})}"

    def send() -> Any:
        response = connection.api.rest_client.pool_manager.request(
            "POST",
            url,
            headers=_headers(connection, resource, "POST", headers),
            body=body.sendable(),
            timeout=_timeout(connection),
            preload_content=True,
        )
        _check(response)
        return response

    policy = connection.settings.retry if body.rewindable else RetryPolicy.never()
    response = call_with_retries(send, policy, f"POST {resource}", before_retry=body.rewind)
    return lakefs_sdk.ObjectStats(**json.loads(response.data))


def _already_exists(repository: str, branch: str, path: str, error: LakeFSWapError) -> ConflictError:
    return ConflictError(
        f"'{path}' already exists on branch '{branch}' in repository '{repository}', and "
        "if_absent=True refuses to overwrite it.",
        repository=repository,
        ref=branch,
        status=412,
        server_message=error.server_message,
    )


def _exactly(stream: IO[bytes], length: int, path: str) -> Iterator[bytes]:
    """The announced ``length`` bytes of ``stream``, no more and no fewer.

    A stream that grows or shrinks while it is sent (a file still being
    written) must fail the upload: sending the surplus would leave bytes on the
    kept-alive connection that the server reads as the start of the next
    request, and a short body would leave the server waiting.
    """
    left = length
    while left > 0:
        chunk = stream.read(min(CHUNK_SIZE, left))
        if not chunk:
            raise BadInputError(
                f"the source of '{path}' ended after {length - left} of the {length} bytes it had when the "
                "upload started: was the file changed while it was uploaded?"
            )
        left -= len(chunk)
        # Look for a surplus before the last chunk goes out: the server must
        # never receive a complete body for an upload that fails.
        if left <= 0 and stream.read(1):
            raise BadInputError(
                f"the source of '{path}' has more than the {length} bytes it had when the upload started: "
                "was the file still being written? Upload it once it is complete."
            )
        yield chunk


def _timeout(connection: LakeFSConnection) -> Any:
    return urllib3.Timeout(connect=connection.settings.connect_timeout, read=connection.settings.read_timeout)


def download(
    connection: LakeFSConnection,
    repository: str,
    ref: str,
    path: str,
    destination: os.PathLike[str] | str | IO[bytes],
    *,
    chunk_size: int = CHUNK_SIZE,
    presign: bool = False,
) -> int:
    """Stream an object to a local file (written atomically) or a binary stream.

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        ref: The branch, tag or commit to read from.
        path: The object's path.
        destination: A local file path (its folder is created; the file
            appears whole or not at all) or a writable binary stream.
        chunk_size: Bytes read from the network at a time.
        presign: Read the bytes straight from the object store by a presigned
            URL, falling back to the path through lakeFS where that cannot work.

    Returns:
        The number of bytes written.

    Raises:
        BadInputError: A bad name, or ``destination`` is an existing directory
            (refused before anything is fetched).
        NotFoundError: The object does not exist on ``ref``.

    Example:
        >>> download(connection, "lake", "main", "raw/orders.csv", "/tmp/orders.csv")  # doctest: +SKIP
        5
    """
    validate_repository(repository)
    validate_ref(ref)
    validate_path(path)
    if isinstance(destination, (str, os.PathLike)):
        target = Path(destination)
        _refuse_directory(target, repository, ref, path)
        return _download_to_file(connection, repository, ref, path, target, chunk_size, presign)
    return _download_into(connection, repository, ref, path, destination, chunk_size, presign)


def _refuse_directory(target: Path, repository: str, ref: str, path: str) -> None:
    if target.is_dir():
        raise BadInputError(
            f"cannot download '{path}' from '{ref}' to '{target}': '{target}' is a directory. Give a file path "
            f"inside it, such as '{target / PurePosixPath(path).name}'.",
            repository=repository,
            ref=ref,
        )


def _download_to_file(
    connection: LakeFSConnection,
    repository: str,
    ref: str,
    path: str,
    target: Path,
    chunk_size: int,
    presign: bool,
) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename, so a failed download never
    # leaves a truncated file where a complete one is expected.
    handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            written = _download_into(connection, repository, ref, path, stream, chunk_size, presign)
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return written


def _download_into(
    connection: LakeFSConnection,
    repository: str,
    ref: str,
    path: str,
    stream: IO[bytes],
    chunk_size: int,
    presign: bool,
) -> int:
    rewindable = _seekable(stream)
    start = stream.tell() if rewindable else 0

    def rewind() -> None:
        stream.seek(start)
        stream.truncate()

    def copy(response: Any) -> int:
        return _copy_body(response, stream, chunk_size)

    return _fetch_object(connection, repository, ref, path, copy, rewind if rewindable else None, presign)


def read_buffer(
    connection: LakeFSConnection, repository: str, ref: str, path: str, *, presign: bool = False
) -> memoryview:
    """A whole object in memory, read straight into one buffer of its size (no copies on the way).

    For objects a parser wants whole (parquet, say) without a temporary file;
    ``download`` streams objects of any size in bounded memory instead.

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        ref: The branch, tag or commit to read from.
        path: The object's path.
        presign: Read straight from the object store by a presigned URL where possible.

    Returns:
        The object's bytes.

    Example:
        >>> data = read_buffer(connection, "lake", "main", "t.parquet")  # doctest: +SKIP
        >>> table = pyarrow.parquet.read_table(pyarrow.py_buffer(data))  # doctest: +SKIP
    """
    validate_repository(repository)
    validate_ref(ref)
    validate_path(path)

    def fill(response: Any) -> memoryview:
        length = _content_length(response)
        if length is None:  # no length announced: gather the chunks, then join them once
            collected = io.BytesIO()
            _copy_body(response, collected, CHUNK_SIZE)
            return collected.getbuffer()
        whole = memoryview(bytearray(length))
        filled = 0
        while filled < length and (count := _read_into(response, whole[filled:])):
            filled += count
        _check_complete(response, filled)
        return whole

    return _fetch_object(connection, repository, ref, path, fill, lambda: None, presign)


_Result = TypeVar("_Result")


def _fetch_object(
    connection: LakeFSConnection,
    repository: str,
    ref: str,
    path: str,
    consume: Callable[[Any], _Result],
    rewind: Callable[[], None] | None,
    presign: bool,
) -> _Result:
    """GET an object and hand the open response to ``consume``; a failed try is
    repeated from the start after ``rewind`` (never, when ``rewind`` is None)."""
    resource = f"/repositories/{quote(repository, safe='')}/refs/{quote(ref, safe='')}/objects"
    url = f"{connection.settings.api_url}{resource}?{urlencode({'path': path})}"
    policy = connection.settings.retry if rewind is not None else RetryPolicy.never()

    # Asked once, outside the retries: a retry after a presigned body broke off
    # goes through lakeFS (``transfer_failed`` switches presigning off).
    presign = presign and presigned.supported(connection)

    def fetch() -> _Result:
        headers = _headers(connection, resource, "GET", {"Accept": "application/octet-stream"})
        response = None
        if presign and presigned.supported(connection):
            response = presigned.open_download(connection, repository, url, headers, _timeout(connection))
        from_store = response is not None
        if response is None:
            response = connection.api.rest_client.pool_manager.request(
                "GET", url, headers=headers, timeout=_timeout(connection), preload_content=False
            )
        try:
            if not 200 <= response.status < 300:
                response.read()
                _check(response)
            return consume(response)
        except BaseException as error:
            response.close()  # a half-read body must not go back to the pool for the next request
            if from_store and isinstance(error, presigned.UNREACHABLE):
                presigned.transfer_failed(connection, repository, error)
            raise
        finally:
            response.release_conn()

    with translated(
        action=f"download '{path}' from '{ref}'",
        repository=repository,
        ref=ref,
        missing=f"object '{path}' on '{ref}'",
    ):
        return call_with_retries(fetch, policy, f"GET {resource}", before_retry=rewind)


def _copy_body(response: Any, sink: IO[bytes], chunk_size: int) -> int:
    """Write the whole body to ``sink`` through one reused buffer; return its length, checked."""
    buffer = memoryview(bytearray(chunk_size))
    written = 0
    while count := _read_into(response, buffer):
        sink.write(buffer[:count])
        written += count
    _check_complete(response, written)
    return written


def _read_into(response: Any, buffer: memoryview) -> int:
    """Read the next body bytes straight into ``buffer``; 0 at the end.

    urllib3's own ``read`` allocates and copies every chunk on its way through
    its decoding buffer, which costs a third of the throughput on a fast link.
    An unencoded body (lakeFS never compresses object data) is read from the
    underlying ``http.client`` response instead, which fills the buffer from
    the socket directly; anything else goes through urllib3.
    """
    raw = getattr(response, "_fp", None)
    if raw is not None and not response.headers.get("Content-Encoding"):
        return int(raw.readinto(buffer))
    data = response.read(len(buffer))
    buffer[: len(data)] = data
    return len(data)


def _content_length(response: Any) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value is not None and value.isdigit() else None


def _check_complete(response: Any, received: int) -> None:
    """A body shorter than announced is a dropped connection, not a small object:
    ``http.client`` returns what arrived without complaint, so count it here."""
    expected = _content_length(response)
    if expected is not None and received != expected:
        raise urllib3.exceptions.ProtocolError(
            f"the connection closed after {received} of {expected} bytes of the object"
        )


def read_bytes(connection: LakeFSConnection, repository: str, ref: str, path: str) -> bytes:
    """A whole (small) object in memory. For large objects use ``download``.

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        ref: The branch, tag or commit to read from.
        path: The object's path.

    Raises:
        NotFoundError: The object does not exist on ``ref``.
    """
    validate_repository(repository)
    validate_ref(ref)
    validate_path(path)
    with translated(
        action=f"read '{path}' from '{ref}'", repository=repository, ref=ref, missing=f"object '{path}' on '{ref}'"
    ):
        return bytes(connection.sdk.objects_api.get_object(repository, ref, path))


def stat(connection: LakeFSConnection, repository: str, ref: str, path: str) -> lakefs_sdk.ObjectStats:
    """The stats of the object at ``path`` on ``ref`` (size, checksum, content type, user metadata).

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        ref: The branch, tag or commit.
        path: The object's path.

    Raises:
        NotFoundError: The object does not exist on ``ref``.
    """
    validate_repository(repository)
    validate_ref(ref)
    validate_path(path)
    with translated(
        action=f"stat '{path}' on '{ref}'", repository=repository, ref=ref, missing=f"object '{path}' on '{ref}'"
    ):
        return connection.sdk.objects_api.stat_object(repository, ref, path)


@dataclass
class BulkUploadResult:
    """What a bulk upload did: each uploaded path's stats, each failed path's error."""

    uploaded: dict[str, lakefs_sdk.ObjectStats] = field(default_factory=dict)
    failed: dict[str, LakeFSWapError | OSError] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether every item was uploaded."""
        return not self.failed

    def summary(self) -> str:
        """``40 uploaded, 2 failed`` and the first ten failures, one a line."""
        text = f"{len(self.uploaded)} uploaded, {len(self.failed)} failed"
        shown = list(self.failed.items())[:10]
        return text + "".join(f"\n  {path}: {error}" for path, error in shown)


def upload_many(
    connection: LakeFSConnection,
    repository: str,
    branch: str,
    items: Iterable[tuple[os.PathLike[str] | str, str]],
    *,
    workers: int = 8,
) -> BulkUploadResult:
    """Upload many ``(local file, lakeFS path)`` pairs with at most ``workers`` in flight.

    Items are consumed lazily (a generator over millions of files is fine) and
    every failure is reported in the result without stopping the others.

    Args:
        connection: The lakeFS connection.
        repository: The repository's name.
        branch: The branch to stage the objects on.
        items: ``(local file, lakeFS path)`` pairs, e.g. from ``iter_directory``.
        workers: Uploads in flight at once; at least 1.

    Returns:
        Each uploaded path's stats and each failed path's error.

    Example:
        >>> result = upload_many(connection, "lake", "run-1", iter_directory("out/", prefix="raw/"))  # doctest: +SKIP
        >>> result.ok  # doctest: +SKIP
        True
    """
    validate_repository(repository)
    validate_branch(branch)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    result = BulkUploadResult()
    lock = threading.Lock()

    def one(local: os.PathLike[str] | str, path: str) -> None:
        try:
            stats = upload(connection, repository, branch, path, Path(local))
        except (LakeFSWapError, OSError) as error:
            with lock:
                result.failed[path] = error
            return
        with lock:
            result.uploaded[path] = stats

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lakefs-upload") as pool:
        pending: set[Future[None]] = set()
        for local, path in items:
            if len(pending) >= workers * 2:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()
            pending.add(pool.submit(one, local, path))
        for future in pending:
            future.result()
    return result


def iter_directory(local_dir: os.PathLike[str] | str, prefix: str = "") -> Iterator[tuple[Path, str]]:
    """``(file, lakeFS path)`` pairs for every file under ``local_dir``, for ``upload_many``.

    Args:
        local_dir: The local folder; its files are listed recursively, sorted.
        prefix: The lakeFS path prefix the files go under (``raw/batch``).

    Raises:
        InvalidNameError: ``prefix`` breaks the path rule.
        NotADirectoryError: ``local_dir`` is not a directory.
    """
    if prefix:
        validate_prefix(prefix, what="upload prefix")
    root = Path(local_dir)
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a directory")
    clean_prefix = prefix.strip("/")
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = file.relative_to(root).as_posix()
        yield file, f"{clean_prefix}/{relative}" if clean_prefix else relative
