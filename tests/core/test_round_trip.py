"""The foundation's promise: tests reach a real lakeFS server and its answers are real."""

from __future__ import annotations

import lakefs
import pytest


def test_branch_upload_commit_merge_read_back(repo: lakefs.Repository) -> None:
    main = repo.branch("main")
    main_before = main.get_commit().id
    run_branch = repo.branch("ingest-round-trip").create(source_reference="main")

    run_branch.object("raw/orders.csv").upload(data=b"id,amount\n1,9.5\n2,3.0\n")
    commit = run_branch.commit(message="ingest orders", metadata={"run_key": "round-trip-1"})
    merge_id = run_branch.merge_into(main, message="publish ingest-round-trip")

    assert main.object("raw/orders.csv").reader(mode="rb").read() == b"id,amount\n1,9.5\n2,3.0\n"
    head = main.get_commit()
    assert head.id == merge_id
    assert set(head.parents) == {main_before, commit.get_commit().id}
    assert commit.get_commit().metadata == {"run_key": "round-trip-1"}


def test_each_test_gets_an_empty_repository_of_its_own(repo: lakefs.Repository, lakefs_client: lakefs.Client) -> None:
    assert list(repo.branch("main").objects()) == []
    assert [b.id for b in repo.branches()] == ["main"]
    names = {r.id for r in lakefs.repositories(client=lakefs_client)}
    assert repo.id in names


def test_server_rejects_wrong_secret(lakefs_server) -> None:
    intruder = lakefs.Client(host=lakefs_server.endpoint, username=lakefs_server.access_key_id, password="not-it")  # noqa: S106
    with pytest.raises(lakefs.exceptions.NotAuthorizedException):
        list(lakefs.repositories(client=intruder))
