"""Streaming object I/O and bulk upload against the real server."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from lakefs_wap import BadInputError, ConflictError, LakeFSWapError, NotFoundError, objects
from tests.fault_proxy import FaultProxy


def test_upload_bytes_text_file_and_stream(connection, repo, tmp_path: Path) -> None:
    local = tmp_path / "orders.csv"
    local.write_bytes(b"id\n1\n")
    objects.upload(connection, repo.id, "main", "a.bin", b"\x00\x01")
    objects.upload(connection, repo.id, "main", "b.txt", "héllo")
    objects.upload(connection, repo.id, "main", "c.csv", local, content_type="text/csv")
    stats = objects.upload(connection, repo.id, "main", "d.bin", io.BytesIO(b"streamed"), metadata={"owner": "ops"})
    assert stats.path == "d.bin"
    assert stats.size_bytes == 8
    assert objects.read_bytes(connection, repo.id, "main", "a.bin") == b"\x00\x01"
    assert objects.read_bytes(connection, repo.id, "main", "b.txt") == "héllo".encode()
    assert objects.stat(connection, repo.id, "main", "c.csv").content_type == "text/csv"
    assert objects.stat(connection, repo.id, "main", "d.bin").metadata == {"owner": "ops"}


def test_large_file_round_trip_streams(connection, repo, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with big.open("wb") as out:
        for _ in range(24):
            out.write(os.urandom(1024 * 1024))
    digest = hashlib.sha256(big.read_bytes()).hexdigest()
    objects.upload(connection, repo.id, "main", "big/file.bin", big)
    target = tmp_path / "out" / "file.bin"
    assert objects.download(connection, repo.id, "main", "big/file.bin", target) == 24 * 1024 * 1024
    assert hashlib.sha256(target.read_bytes()).hexdigest() == digest
    assert [p.name for p in target.parent.iterdir()] == ["file.bin"]  # no partial files left behind


def test_non_seekable_stream_uploads_once(connection, repo) -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, b"from a pipe")
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        objects.upload(connection, repo.id, "main", "pipe.txt", pipe)
    assert objects.read_bytes(connection, repo.id, "main", "pipe.txt") == b"from a pipe"


def test_upload_retry_rewinds_the_body(proxy: FaultProxy, proxied, repo, tmp_path: Path) -> None:
    local = tmp_path / "data.csv"
    local.write_bytes(b"id\n" + b"1\n" * 1000)
    proxy.inject("POST", r"/objects\?path=data.csv", 503, times=2)
    objects.upload(proxied, repo.id, "main", "data.csv", local)
    assert len(proxy.requests_to("POST", r"/objects\?path=data.csv")) == 3
    assert objects.read_bytes(proxied, repo.id, "main", "data.csv") == local.read_bytes()


def test_download_retry_starts_over(proxy: FaultProxy, proxied, repo, tmp_path: Path) -> None:
    objects.upload(proxied, repo.id, "main", "x.txt", b"complete content")
    proxy.inject("GET", r"/objects\?path=x.txt", None, times=1)
    buffer = io.BytesIO()
    assert objects.download(proxied, repo.id, "main", "x.txt", buffer) == 16
    assert buffer.getvalue() == b"complete content"


def test_a_body_cut_off_mid_download_is_fetched_again(proxy: FaultProxy, proxied, repo, tmp_path: Path) -> None:
    content = os.urandom(3 * 1024 * 1024 + 17)
    objects.upload(proxied, repo.id, "main", "cut.bin", content)
    proxy.inject_truncated_body("GET", r"/objects\?path=cut.bin", keep=1024 * 1024 + 5, times=2)
    target = tmp_path / "cut.bin"
    assert objects.download(proxied, repo.id, "main", "cut.bin", target) == len(content)
    assert target.read_bytes() == content
    proxy.inject_truncated_body("GET", r"/objects\?path=cut.bin", keep=100, times=1)
    assert bytes(objects.read_buffer(proxied, repo.id, "main", "cut.bin")) == content
    assert len(proxy.requests_to("GET", r"/objects\?path=cut.bin")) == 5


def test_a_body_cut_off_on_every_try_fails_and_leaves_no_file(proxy: FaultProxy, proxied, repo, tmp_path: Path) -> None:
    objects.upload(proxied, repo.id, "main", "cut.bin", b"x" * 4096)
    proxy.inject_truncated_body("GET", r"/objects\?path=cut.bin", keep=10, times=100)
    target = tmp_path / "cut.bin"
    with pytest.raises(LakeFSWapError, match=r"cut\.bin"):
        objects.download(proxied, repo.id, "main", "cut.bin", target)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(LakeFSWapError, match=r"cut\.bin"):
        objects.read_buffer(proxied, repo.id, "main", "cut.bin")
    stream = io.BytesIO()
    with pytest.raises(LakeFSWapError, match=r"cut\.bin"):
        objects.download(proxied, repo.id, "main", "cut.bin", stream)


def test_read_buffer_holds_the_whole_object(connection, repo) -> None:
    content = os.urandom(2 * 1024 * 1024 + 1)
    objects.upload(connection, repo.id, "main", "whole.bin", content)
    assert bytes(objects.read_buffer(connection, repo.id, "main", "whole.bin")) == content
    objects.upload(connection, repo.id, "main", "empty.bin", b"")
    assert bytes(objects.read_buffer(connection, repo.id, "main", "empty.bin")) == b""
    with pytest.raises(NotFoundError, match=r"object 'nope\.bin' on 'main'"):
        objects.read_buffer(connection, repo.id, "main", "nope.bin")


def test_if_absent_refuses_to_overwrite(connection, repo) -> None:
    objects.upload(connection, repo.id, "main", "once.txt", b"first", if_absent=True)
    with pytest.raises(ConflictError):
        objects.upload(connection, repo.id, "main", "once.txt", b"second", if_absent=True)
    assert objects.read_bytes(connection, repo.id, "main", "once.txt") == b"first"


def test_a_leading_slash_is_kept_as_part_of_the_path(connection, repo) -> None:
    stats = objects.upload(connection, repo.id, "main", "/landing/a.csv", b"id\n1\n")
    assert stats.path == "/landing/a.csv"
    assert objects.read_bytes(connection, repo.id, "main", "/landing/a.csv") == b"id\n1\n"
    assert [o.path for o in repo.branch("main").objects()] == ["/landing/a.csv"]


def test_missing_object_and_failed_download_leave_nothing(connection, repo, tmp_path: Path) -> None:
    target = tmp_path / "never.bin"
    with pytest.raises(NotFoundError, match=r"object 'nope\.bin' on 'main'"):
        objects.download(connection, repo.id, "main", "nope.bin", target)
    assert list(tmp_path.iterdir()) == []


def test_a_download_onto_a_directory_is_refused_before_anything_is_fetched(connection, repo, tmp_path: Path) -> None:
    objects.upload(connection, repo.id, "main", "orders.csv", b"id\n1\n")
    target = tmp_path / "orders"
    target.mkdir()
    (target / "kept.txt").write_text("mine")
    with pytest.raises(BadInputError, match=r"orders' is a directory.*file path inside it"):
        objects.download(connection, repo.id, "main", "orders.csv", target)
    # Refused before any request: a missing object is not even looked for.
    with pytest.raises(BadInputError, match="is a directory"):
        objects.download(connection, repo.id, "main", "nope.bin", target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders"]
    assert [p.name for p in target.iterdir()] == ["kept.txt"]
    assert (target / "kept.txt").read_text() == "mine"


def test_bulk_upload_reports_each_failure_and_keeps_the_rest(connection, repo, tmp_path: Path) -> None:
    source = tmp_path / "batch"
    for i in range(40):
        (source / f"part={i % 4}").mkdir(parents=True, exist_ok=True)
        (source / f"part={i % 4}" / f"{i:02d}.csv").write_text(f"id\n{i}\n")
    items = list(objects.iter_directory(source, prefix="raw/batch"))
    items.insert(5, (tmp_path / "missing.csv", "raw/batch/missing.csv"))
    items.insert(9, (source / "part=0" / "00.csv", "raw/../escapes.csv"))

    result = objects.upload_many(connection, repo.id, "main", iter(items), workers=4)

    assert len(result.uploaded) == 40
    assert set(result.failed) == {"raw/batch/missing.csv", "raw/../escapes.csv"}
    assert isinstance(result.failed["raw/batch/missing.csv"], FileNotFoundError)
    assert "has a '..' segment" in str(result.failed["raw/../escapes.csv"])
    assert not result.ok
    assert "40 uploaded, 2 failed" in result.summary()
    listed = {o.path for o in repo.branch("main").objects(prefix="raw/batch/")}
    assert len(listed) == 40
    assert "raw/batch/part=3/39.csv" in listed


def test_presign_on_storage_that_cannot_presign_falls_back_asking_once_per_connection(
    proxy: FaultProxy, proxied, repo, tmp_path: Path
) -> None:
    if proxied.sdk.internal_api.get_storage_config().pre_sign_support:
        pytest.skip("the storage presigns: tests/core/test_presign.py covers this backend")
    proxy.seen.clear()
    objects.upload(proxied, repo.id, "main", "a.bin", b"first", presign=True)
    objects.upload(proxied, repo.id, "main", "b.bin", io.BytesIO(b"second"), presign=True)
    assert objects.download(proxied, repo.id, "main", "a.bin", tmp_path / "a.bin", presign=True) == 5
    assert bytes(objects.read_buffer(proxied, repo.id, "main", "b.bin", presign=True)) == b"second"
    assert (tmp_path / "a.bin").read_bytes() == b"first"
    # The local blockstore cannot presign: asked once, then every transfer goes
    # through lakeFS (one request each) without trying a presigned URL.
    seen = [(r.method, r.path.split("?")[0]) for r in proxy.seen]
    assert seen.count(("GET", "/api/v1/config/storage")) == 1, seen
    assert not [r for r in proxy.seen if "presign=true" in r.path or "/staging/" in r.path]
    assert len(seen) == 5, seen


def test_a_text_stream_is_refused_before_anything_is_sent(proxy: FaultProxy, proxied, repo) -> None:
    proxy.seen.clear()
    with pytest.raises(BadInputError, match="binary mode"):
        objects.upload(proxied, repo.id, "main", "t.txt", io.StringIO("héllo wörld"))  # type: ignore[arg-type]
    assert proxy.seen == []


class _Growing(io.BytesIO):
    """A file still being written: more bytes appear after its size was taken."""

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        if not chunk and not getattr(self, "grown", False):
            self.grown = True
            position = self.tell()
            self.write(b"appended later")
            self.seek(position)
            return super().read(size)
        return chunk


class _Shrinking(io.BytesIO):
    """A file truncated while it is read."""

    def read(self, size: int | None = -1) -> bytes:
        return super().read(min(size if size is not None and size >= 0 else 10, 10)) if self.tell() < 10 else b""


@pytest.mark.parametrize("stream", [_Growing(b"x" * 100), _Shrinking(b"y" * 100)], ids=["grows", "shrinks"])
def test_a_source_that_changes_size_mid_upload_fails_and_the_connection_stays_sound(
    stream: io.BytesIO, connection, repo
) -> None:
    with pytest.raises(BadInputError, match="the upload started"):
        objects.upload(connection, repo.id, "main", "moving.bin", stream)
    # Nothing half-sent lingers on a pooled connection: the next requests are answered correctly.
    for attempt in range(3):
        objects.upload(connection, repo.id, "main", f"after-{attempt}.bin", b"fine")
        assert objects.read_bytes(connection, repo.id, "main", f"after-{attempt}.bin") == b"fine"
    with pytest.raises(NotFoundError):
        objects.stat(connection, repo.id, "main", "moving.bin")
