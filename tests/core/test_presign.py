"""Presigned URLs against lakeFS on a real S3 server (the s3 backend: PostgreSQL + MinIO).

The local blockstore cannot presign, so these run only in ``make test-s3``.
Each proves the bytes travel between the client and the S3 server directly:
lakeFS hands out a URL on the S3 server and never sees the data.
"""

from __future__ import annotations

import os
import urllib.request

import lakefs
import lakefs_sdk
import pytest
import urllib3

from tools.lakefs_server import ServerAccess

pytestmark = pytest.mark.s3


def _on_s3_server(url: str, lakefs_server: ServerAccess) -> None:
    assert not url.startswith(lakefs_server.endpoint), f"{url} points at lakeFS, not at the S3 server"
    if lakefs_server.s3 is not None:
        assert url.startswith(f"{lakefs_server.s3.endpoint}/{lakefs_server.s3.bucket}/")
    assert "X-Amz-Signature=" in url


def test_presigned_get_downloads_the_bytes_straight_from_the_s3_server(
    repo: lakefs.Repository, lakefs_client: lakefs.Client, lakefs_server: ServerAccess
) -> None:
    data = b"written through lakeFS, read from S3\n" * 100
    repo.branch("main").object("data/report.csv").upload(data=data, pre_sign=False)
    objects_api = lakefs_client.sdk_client.objects_api

    stats = objects_api.stat_object(repo.id, "main", "data/report.csv", presign=True)
    _on_s3_server(stats.physical_address, lakefs_server)
    with urllib.request.urlopen(stats.physical_address, timeout=30) as response:  # noqa: S310
        assert response.read() == data

    # get_object with presign answers with a redirect to the same kind of URL.
    response = urllib3.PoolManager().request(
        "GET",
        f"{lakefs_server.endpoint}/api/v1/repositories/{repo.id}/refs/main/objects",
        fields={"path": "data/report.csv", "presign": "true"},
        headers=urllib3.make_headers(basic_auth=f"{lakefs_server.access_key_id}:{lakefs_server.secret_access_key}"),
        redirect=False,
    )
    assert response.status == 302
    _on_s3_server(response.headers["Location"], lakefs_server)
    with urllib.request.urlopen(response.headers["Location"], timeout=30) as redirected:  # noqa: S310
        assert redirected.read() == data


def test_presigned_upload_round_trip(
    repo: lakefs.Repository, lakefs_client: lakefs.Client, lakefs_server: ServerAccess
) -> None:
    staging_api = lakefs_client.sdk_client.staging_api
    data = b"uploaded straight to S3, then linked into lakeFS"

    location = staging_api.get_physical_address(repo.id, "main", "data/uploaded.bin", presign=True)
    assert location.presigned_url is not None
    _on_s3_server(location.presigned_url, lakefs_server)
    put = urllib.request.Request(location.presigned_url, data=data, method="PUT")  # noqa: S310
    with urllib.request.urlopen(put, timeout=30) as response:  # noqa: S310
        etag = response.headers["ETag"].strip('"')
    linked = staging_api.link_physical_address(
        repo.id,
        "main",
        "data/uploaded.bin",
        lakefs_sdk.StagingMetadata(
            staging=location, checksum=etag, size_bytes=len(data), content_type="application/octet-stream", mtime=None
        ),
    )

    assert (linked.path, linked.size_bytes, linked.checksum) == ("data/uploaded.bin", len(data), etag)
    main = repo.branch("main")
    assert main.object("data/uploaded.bin").reader(pre_sign=False).read() == data
    commit = main.commit(message="link a presigned upload")
    assert repo.ref(commit.id).object("data/uploaded.bin").reader(pre_sign=False).read() == data
    if lakefs_server.s3 is not None:
        # The object is where lakeFS said it would be, in the bucket itself.
        stored = lakefs_client.sdk_client.objects_api.stat_object(repo.id, "main", "data/uploaded.bin")
        key = stored.physical_address.removeprefix(f"s3://{lakefs_server.s3.bucket}/")
        assert lakefs_server.s3.request("GET", key) == (200, data)


def test_high_level_sdk_round_trips_with_presign(repo: lakefs.Repository) -> None:
    # lakefs.Client presigns by default when the blockstore supports it, but it
    # reads that from a storage configuration cached per process across clients
    # and servers (see FACTS), so the mode is asked for here rather than assumed.
    obj = repo.branch("main").object("data/auto.txt")
    obj.upload(data=b"presigned both ways", pre_sign=True)
    reader = obj.reader(pre_sign=True)
    assert reader.read() == b"presigned both ways"


def test_lakefs_wap_moves_bytes_by_presigned_urls_and_lakefs_never_carries_them(
    proxy, proxied, repo: lakefs.Repository, tmp_path
) -> None:
    from lakefs_wap import ConflictError, objects

    data = os.urandom(3 * 1024 * 1024 + 5)
    stats = objects.upload(
        proxied, repo.id, "main", "data/big.bin", data, presign=True, content_type="text/csv", metadata={"owner": "ops"}
    )
    assert (stats.path, stats.size_bytes) == ("data/big.bin", len(data))
    target = tmp_path / "big.bin"
    assert objects.download(proxied, repo.id, "main", "data/big.bin", target, presign=True) == len(data)
    assert target.read_bytes() == data
    assert bytes(objects.read_buffer(proxied, repo.id, "main", "data/big.bin", presign=True)) == data

    seen = [(r.method, r.path) for r in proxy.seen]
    assert not [r for r in seen if r[0] == "POST" and "/objects?" in r[1]], seen  # no upload through lakeFS
    assert len([r for r in seen if "/staging/backing" in r[1]]) == 2, seen  # get address + link
    reads = [r for r in seen if r[0] == "GET" and "/objects?" in r[1]]
    assert len(reads) == 2, reads
    assert all("presign=true" in r[1] for r in reads), reads  # each answered by a redirect to the S3 server
    assert max(len(r.body) for r in proxy.seen) < 4096  # the bytes went to the S3 server, not through lakeFS
    stored = objects.stat(proxied, repo.id, "main", "data/big.bin")
    assert (stored.content_type, stored.metadata) == ("text/csv", {"owner": "ops"})
    with pytest.raises(ConflictError, match="already exists"):
        objects.upload(proxied, repo.id, "main", "data/big.bin", b"again", presign=True, if_absent=True)
    assert bytes(objects.read_buffer(proxied, repo.id, "main", "data/big.bin")) == data


def test_an_object_store_out_of_reach_falls_back_to_lakefs_once_and_for_all(
    proxy, proxied, repo: lakefs.Repository, lakefs_server: ServerAccess, tmp_path, caplog
) -> None:
    from lakefs_wap import objects
    from tools.processes import free_port

    assert lakefs_server.s3 is not None
    # Every presigned URL lakeFS hands out now names a port where nothing listens.
    proxy.rewrites.append((lakefs_server.s3.endpoint, f"http://127.0.0.1:{free_port()}"))
    data = os.urandom(256 * 1024)

    objects.upload(proxied, repo.id, "main", "data/fallback.bin", data, presign=True)
    assert objects.download(proxied, repo.id, "main", "data/fallback.bin", tmp_path / "f.bin", presign=True) == len(
        data
    )
    assert (tmp_path / "f.bin").read_bytes() == data
    assert bytes(objects.read_buffer(proxied, repo.id, "main", "data/fallback.bin", presign=True)) == data

    seen = [r.path for r in proxy.seen]
    assert len([p for p in seen if "/staging/backing" in p]) == 1, seen  # tried once, then off
    assert not [p for p in seen if "presign=true" in p and "/objects?" in p], seen
    warnings = [r.getMessage() for r in caplog.records if "presigned" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert "X-Amz-Signature" not in caplog.text
    assert lakefs_server.secret_access_key not in caplog.text
