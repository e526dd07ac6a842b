"""Bad input to the core: each case raises the documented error, with a message naming
the problem and the fix, and no write request reaches lakeFS (it sits behind a
recording ``FaultProxy``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from lakefs_wap import (
    BadInputError,
    ChangeCount,
    ChangedSomething,
    ConnectionSettings,
    InvalidNameError,
    LakeFSConnection,
    NoDeletions,
    OnlyUnderPrefixes,
    ParquetSchemaUnchanged,
    RequiredPaths,
    RetryPolicy,
    RunBranch,
    ServerUnavailableError,
    TableRowCount,
    connect,
    objects,
    operations,
)
from lakefs_wap.errors import EndpointNotLakeFSError
from lakefs_wap.gates import validate_gates
from lakefs_wap.limits import (
    COMMIT_METADATA_MAX_BYTES,
    OBJECT_METADATA_MAX_BYTES,
    check_commit_metadata,
)
from lakefs_wap.revert import revert_commit
from lakefs_wap.watch import find_object, new_commit_since
from tests.bad_input import (
    LEAD_PENDING,
    Case,
    assert_clear,
    assert_no_writes,
    closed_port_endpoint,
    not_lakefs_server,
)
from tests.fault_proxy import FaultProxy

TOO_BIG = "x" * (COMMIT_METADATA_MAX_BYTES + 1)


def upload(path: Any, source: Any = b"x", **kwargs: Any) -> Any:
    return lambda c, repo, tmp: objects.upload(c, repo, "main", path, source, **kwargs)


def elsewhere(endpoint: str, call: Any) -> Any:
    """Run ``call`` on a connection to ``endpoint`` with the session's credentials, without retries."""

    def run(c: LakeFSConnection, repo: str, tmp: Path) -> Any:
        settings = replace(c.settings, endpoint=endpoint, retry=RetryPolicy.never())
        return call(connect(settings), repo)

    return run


def on_not_lakefs(call: Any) -> Any:
    def run(c: LakeFSConnection, repo: str, tmp: Path) -> Any:
        with not_lakefs_server() as (endpoint, _):
            return elsewhere(endpoint, call)(c, repo, tmp)

    return run


GATE_CASES = [
    Case(
        "only-under-prefixes-int-item",
        lambda *_: OnlyUnderPrefixes(["raw/", 3]),  # type: ignore[list-item]
        BadInputError,
        ["OnlyUnderPrefixes(prefixes=...)", "item 1 is a int", "give strings such as"],
    ),
    Case(
        "only-under-prefixes-empty-string",
        lambda *_: OnlyUnderPrefixes([""]),
        InvalidNameError,
        ["item 0 of OnlyUnderPrefixes(prefixes=...)", "it is empty", "'raw/'"],
    ),
    Case(
        "only-under-prefixes-number",
        lambda *_: OnlyUnderPrefixes(5),  # type: ignore[arg-type]
        BadInputError,
        ["OnlyUnderPrefixes(prefixes=...)", "list of strings such as ['raw/', 'curated/']", "type int"],
    ),
    Case(
        "only-under-prefixes-empty-list",
        lambda *_: OnlyUnderPrefixes([]),
        BadInputError,
        ["OnlyUnderPrefixes(prefixes=...) is empty", "give at least one"],
    ),
    Case(
        "only-under-prefixes-bytes",
        lambda *_: OnlyUnderPrefixes(b"raw/"),  # type: ignore[arg-type]
        BadInputError,
        ["OnlyUnderPrefixes(prefixes=...)", "type bytes", "list of strings"],
    ),
    Case(
        "only-under-prefixes-mapping",
        lambda *_: OnlyUnderPrefixes({"raw/": True}),  # type: ignore[arg-type]
        BadInputError,
        ["OnlyUnderPrefixes(prefixes=...)", "type dict"],
    ),
    Case(
        "only-under-prefixes-dot-dot",
        lambda *_: OnlyUnderPrefixes(["raw/../curated/"]),
        InvalidNameError,
        ["OnlyUnderPrefixes(prefixes=...)", "'..' segment", "Path prefixes are"],
    ),
    Case(
        "only-under-prefixes-newline",
        lambda *_: OnlyUnderPrefixes(["raw/\n"]),
        InvalidNameError,
        ["OnlyUnderPrefixes(prefixes=...)", "control character '\\n'"],
    ),
    Case(
        "no-deletions-number",
        lambda *_: NoDeletions(prefixes=7),  # type: ignore[arg-type]
        BadInputError,
        ["NoDeletions(prefixes=...)", "list of strings", "use None for everywhere"],
    ),
    Case(
        "no-deletions-none-item",
        lambda *_: NoDeletions(prefixes=["raw/", None]),  # type: ignore[list-item]
        BadInputError,
        ["NoDeletions(prefixes=...)", "item 1 is a NoneType"],
    ),
    Case(
        "no-deletions-empty-list",
        lambda *_: NoDeletions(prefixes=[]),
        BadInputError,
        ["NoDeletions(prefixes=...) is empty", "use None for everywhere"],
    ),
    Case(
        "required-paths-empty",
        lambda *_: RequiredPaths([]),
        BadInputError,
        ["RequiredPaths(paths=...) is empty", "['raw/orders.csv']"],
    ),
    Case(
        "required-paths-folder",
        lambda *_: RequiredPaths(["curated/"]),
        InvalidNameError,
        ["item 0 of RequiredPaths(paths=...)", "names a folder", "Object paths are"],
    ),
    Case(
        "required-paths-double-slash",
        lambda *_: RequiredPaths(["curated//report.csv"]),
        InvalidNameError,
        ["RequiredPaths(paths=...)", "empty segment ('//')"],
    ),
    Case(
        "required-paths-int",
        lambda *_: RequiredPaths([1]),  # type: ignore[list-item]
        BadInputError,
        ["RequiredPaths(paths=...)", "item 0 is a int"],
    ),
    Case(
        "required-paths-one-string-is-checked-whole",
        lambda *_: RequiredPaths("raw/"),
        InvalidNameError,
        ["RequiredPaths(paths=...)", "'raw/'", "names a folder"],
    ),
    Case(
        "change-count-minimum-above-maximum",
        lambda *_: ChangeCount(5, 1),
        BadInputError,
        ["ChangeCount(minimum=5, maximum=1)", "above the maximum", "swap them"],
    ),
    Case(
        "change-count-negative",
        lambda *_: ChangeCount(minimum=-1),
        BadInputError,
        ["ChangeCount(minimum=...)", "whole number of 0 or more", "-1"],
    ),
    Case(
        "change-count-bool",
        lambda *_: ChangeCount(maximum=True),
        BadInputError,
        ["ChangeCount(maximum=...)", "whole number", "got True"],
    ),
    Case(
        "change-count-string",
        lambda *_: ChangeCount(minimum="3"),  # type: ignore[arg-type]
        BadInputError,
        ["ChangeCount(minimum=...)", "got '3'"],
    ),
    Case(
        "table-row-count-string",
        lambda *_: TableRowCount(min_rows="ten"),  # type: ignore[arg-type]
        BadInputError,
        ["TableRowCount(min_rows=...)", "whole number of 0 or more", "got 'ten'"],
    ),
    Case(
        "table-row-count-negative",
        lambda *_: TableRowCount(min_rows=-5),
        BadInputError,
        ["TableRowCount(min_rows=...)", "got -5"],
    ),
    Case(
        "table-row-count-float",
        lambda *_: TableRowCount(min_rows=1.5),  # type: ignore[arg-type]
        BadInputError,
        ["TableRowCount(min_rows=...)", "got 1.5"],
    ),
    Case(
        "table-row-count-empty-prefix",
        lambda *_: TableRowCount(prefixes=["curated/", ""]),
        InvalidNameError,
        ["item 1 of TableRowCount(prefixes=...)", "it is empty"],
    ),
    Case(
        "parquet-schema-prefixes-number",
        lambda *_: ParquetSchemaUnchanged(prefixes=3),  # type: ignore[arg-type]
        BadInputError,
        ["ParquetSchemaUnchanged(prefixes=...)", "list of strings"],
    ),
    Case(
        "parquet-schema-require-base-string",
        lambda *_: ParquetSchemaUnchanged(require_base="yes"),  # type: ignore[arg-type]
        BadInputError,
        ["ParquetSchemaUnchanged(require_base=...)", "True or False", "'yes'"],
    ),
    Case(
        "gate-name-empty",
        lambda *_: ChangedSomething(name=" "),
        BadInputError,
        ["ChangedSomething(name=...)", "non-empty string"],
    ),
    Case(
        "gates-a-string",
        lambda *_: validate_gates("no_deletions"),  # type: ignore[arg-type]
        BadInputError,
        ["gates must be a list of gates", "type str"],
    ),
    Case(
        "gates-a-single-gate",
        lambda *_: validate_gates(NoDeletions()),  # type: ignore[arg-type]
        BadInputError,
        ["type NoDeletions", "wrap a single gate in a list"],
    ),
    Case(
        "gates-a-mapping",
        lambda *_: validate_gates({"no_deletions": NoDeletions()}),  # type: ignore[dict-item]
        BadInputError,
        ["gates must be a list", "type dict"],
    ),
    Case(
        "gates-bytes",
        lambda *_: validate_gates(b"gate"),  # type: ignore[arg-type]
        BadInputError,
        ["gates must be a list", "type bytes"],
    ),
    Case(
        "gates-item-a-string",
        lambda *_: validate_gates([NoDeletions(), "raw/"]),  # type: ignore[list-item]
        BadInputError,
        ["item 1 is a str", "not a gate", "pass the gate itself"],
    ),
    Case(
        "gates-item-none",
        lambda *_: validate_gates([None]),  # type: ignore[list-item]
        BadInputError,
        ["item 0 is a NoneType", "not a gate"],
    ),
]

PATH_CASES = [
    Case("upload-empty-path", upload(""), InvalidNameError, ["invalid object path ''", "it is empty", "Object paths"]),
    Case("upload-double-slash", upload("raw//a.csv"), InvalidNameError, ["'raw//a.csv'", "empty segment ('//')"]),
    Case("upload-dot-dot", upload("raw/../a.csv"), InvalidNameError, ["'..' segment", "not resolved"]),
    Case("upload-dot", upload("./a.csv"), InvalidNameError, ["'.' segment"]),
    Case("upload-trailing-slash", upload("raw/"), InvalidNameError, ["ends in '/'", "names a folder"]),
    Case("upload-newline", upload("raw/a\nb.csv"), InvalidNameError, ["control character '\\n'"]),
    Case("upload-tab", upload("raw/a\tb.csv"), InvalidNameError, ["control character '\\t'"]),
    Case("upload-delete-char", upload("raw/a\x7fb.csv"), InvalidNameError, ["control character '\\x7f'"]),
    Case("upload-path-not-a-string", upload(5), InvalidNameError, ["it is a int, not a string"]),
    Case("upload-two-leading-slashes", upload("//raw/a.csv"), InvalidNameError, ["empty segment"]),
    Case("upload-only-a-slash", upload("/"), InvalidNameError, ["it is only '/'"]),
    Case(
        "download-folder-path",
        lambda c, repo, tmp: objects.download(c, repo, "main", "raw/", tmp / "out"),
        InvalidNameError,
        ["names a folder"],
    ),
    Case(
        "read-bytes-dot-dot",
        lambda c, repo, tmp: objects.read_bytes(c, repo, "main", "a/../b"),
        InvalidNameError,
        ["'..' segment"],
    ),
    Case(
        "stat-double-slash",
        lambda c, repo, tmp: objects.stat(c, repo, "main", "a//b"),
        InvalidNameError,
        ["empty segment"],
    ),
    Case(
        "upload-directory-bad-prefix",
        lambda c, repo, tmp: list(objects.iter_directory(tmp, prefix="../elsewhere")),
        InvalidNameError,
        ["invalid upload prefix", "'..' segment"],
    ),
    Case(
        "upload-many-bad-branch",
        lambda c, repo, tmp: objects.upload_many(c, repo, "bad/branch", []),
        InvalidNameError,
        ["invalid branch name 'bad/branch'"],
    ),
    Case(
        "find-object-bad-prefix",
        lambda c, repo, tmp: find_object(c, repo, "main", prefix="raw//"),
        InvalidNameError,
        ["invalid path prefix 'raw//'", "empty segment"],
    ),
    Case(
        "find-object-folder-path",
        lambda c, repo, tmp: find_object(c, repo, "main", path="raw/"),
        InvalidNameError,
        ["names a folder"],
    ),
    Case(
        "watch-prefixes-not-strings",
        lambda c, repo, tmp: new_commit_since(c, repo, "main", "a" * 64, [1]),  # type: ignore[list-item]
        BadInputError,
        ["prefixes: item 0 is a int"],
    ),
    Case(
        "watch-prefix-dot-dot",
        lambda c, repo, tmp: new_commit_since(c, repo, "main", "a" * 64, "../raw"),
        InvalidNameError,
        ["'..' segment"],
    ),
]

CONTENT_CASES = [
    Case("upload-no-content", upload("raw/a.csv", None), BadInputError, ["the content is None", "b'' writes an empty"]),
    Case("upload-a-number", upload("raw/a.csv", 42), BadInputError, ["type int", "serialize other values"]),
    Case("upload-a-list", upload("raw/a.csv", [b"a"]), BadInputError, ["type list", "binary stream"]),
    Case(
        "object-metadata-newline",
        upload("raw/a.csv", metadata={"source": "a\nb"}),
        BadInputError,
        ["'source'", "printable ASCII", "base64"],
    ),
    Case(
        "object-metadata-key-with-space",
        upload("raw/a.csv", metadata={"my key": "v"}),
        BadInputError,
        ["'my key'", "HTTP headers", "no spaces"],
    ),
    Case(
        "object-metadata-non-ascii",
        upload("raw/a.csv", metadata={"city": "Zürich"}),
        BadInputError,
        ["non-ASCII", "Percent-encode"],
    ),
    Case(
        "object-metadata-too-big",
        upload("raw/a.csv", metadata={"blob": "x" * OBJECT_METADATA_MAX_BYTES}),
        BadInputError,
        ["over the limit", f"{OBJECT_METADATA_MAX_BYTES:,}"],
    ),
    Case(
        "object-metadata-value-a-number",
        upload("raw/a.csv", metadata={"rows": 5}),
        BadInputError,
        ["'rows'", "is a int", "give a string"],
    ),
]

OPERATION_CASES = [
    Case(
        "commit-empty-message",
        lambda c, repo, tmp: operations.commit(c, repo, "main", " ", allow_empty=True),
        BadInputError,
        ["needs a non-empty message"],
    ),
    Case(
        "commit-nested-metadata",
        lambda c, repo, tmp: operations.commit(c, repo, "main", "m", {"config": {"a": 1}}, allow_empty=True),
        BadInputError,
        ["'config'", "json.dumps"],
    ),
    Case(
        "merge-unknown-strategy",
        lambda c, repo, tmp: operations.merge(c, repo, "main", "main", strategy="theirs"),
        BadInputError,
        ["unknown merge strategy 'theirs'", "dest-wins"],
    ),
    Case(
        "revert-negative-parent",
        lambda c, repo, tmp: revert_commit(c, repo, "main", "main", parent_number=-1),
        BadInputError,
        ["parent_number", "-1"],
    ),
    Case(
        "create-branch-with-slash",
        lambda c, repo, tmp: operations.create_branch(c, repo, "feature/x", "main"),
        InvalidNameError,
        ["invalid branch name 'feature/x'", "no '/'"],
    ),
    Case(
        "create-tag-dot-dot",
        lambda c, repo, tmp: operations.create_tag(c, repo, "v1..2", "main"),
        InvalidNameError,
        ["invalid tag name 'v1..2'", "'..'"],
    ),
    Case(
        "run-branch-bad-source",
        lambda c, repo, tmp: RunBranch(c, repo, "run-1", source_branch="ma/in"),
        InvalidNameError,
        ["invalid source branch name 'ma/in'"],
    ),
    Case(
        "run-branch-empty-run-id",
        lambda c, repo, tmp: RunBranch(c, repo, "  "),
        BadInputError,
        ["non-empty run id"],
    ),
    Case(
        "commit-metadata-limit",
        lambda *_: check_commit_metadata({"blob": TOO_BIG}),
        BadInputError,
        ["over the limit", f"{COMMIT_METADATA_MAX_BYTES:,}", "'blob'", "as an object"],
    ),
    Case(
        "commit-metadata-key-control",
        lambda *_: check_commit_metadata({"a\tb": "v"}),
        BadInputError,
        ["'a\\tb'", "control character"],
    ),
    Case(
        "commit-with-metadata-over-the-limit",
        lambda c, repo, tmp: operations.commit(c, repo, "main", "m", {"blob": TOO_BIG}, allow_empty=True),
        BadInputError,
        ["over the limit", "'blob'"],
        note=LEAD_PENDING,
    ),
    Case(
        "merge-with-metadata-over-the-limit",
        lambda c, repo, tmp: operations.merge(c, repo, "main", "main", metadata={"blob": TOO_BIG}, allow_empty=True),
        BadInputError,
        ["over the limit", "'blob'"],
        note=LEAD_PENDING,
    ),
    Case(
        "commit-metadata-key-with-newline",
        lambda c, repo, tmp: operations.commit(c, repo, "main", "m", {"a\nb": "v"}, allow_empty=True),
        BadInputError,
        ["control character"],
        note=LEAD_PENDING,
    ),
    Case(
        "delete-the-default-branch",
        lambda c, repo, tmp: operations.delete_branch(c, repo, "main"),
        BadInputError,
        ["'main'", "default branch of repository", "Delete another branch"],
        note=LEAD_PENDING,
    ),
]

CONNECTION_CASES = [
    Case(
        "endpoint-without-scheme",
        lambda *_: ConnectionSettings("localhost:8000", "AKIA", "secret"),
        BadInputError,
        ["invalid lakeFS endpoint 'localhost:8000'", "http://localhost:8000"],
    ),
    Case(
        "unreachable-endpoint",
        lambda c, repo, tmp: elsewhere(closed_port_endpoint(), lambda e, r: operations.branch_head(e, r, "main"))(
            c, repo, tmp
        ),
        ServerUnavailableError,
        ["lakeFS at 127.0.0.1:", "did not answer", "Check that the server is up"],
    ),
    Case(
        "not-lakefs-read",
        on_not_lakefs(lambda e, r: operations.branch_head(e, r, "main")),
        EndpointNotLakeFSError,
        ["not a lakeFS server", "HTTP 404", "Check the endpoint"],
    ),
    Case(
        "not-lakefs-create-branch",
        on_not_lakefs(lambda e, r: operations.create_branch(e, r, "feature", "main")),
        EndpointNotLakeFSError,
        ["not a lakeFS server", "create branch 'feature'"],
    ),
    Case(
        "not-lakefs-upload",
        on_not_lakefs(lambda e, r: objects.upload(e, r, "main", "raw/a.csv", b"x")),
        EndpointNotLakeFSError,
        ["not a lakeFS server", "upload 'raw/a.csv'"],
    ),
]

CASES = GATE_CASES + PATH_CASES + CONTENT_CASES + OPERATION_CASES + CONNECTION_CASES


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_refused_clearly_before_any_write(
    case: Case, proxied: LakeFSConnection, proxy: FaultProxy, repo: Any, tmp_path: Path
) -> None:
    with pytest.raises(Exception) as raised:  # noqa: PT011 - the type is checked below, with the message
        case.call(proxied, repo.id, tmp_path)
    assert_clear(raised.value, case.error, case.words)
    assert_no_writes(proxy)


def test_the_table_is_large_and_has_unique_ids() -> None:
    assert len(CASES) >= 60
    assert len({case.id for case in CASES}) == len(CASES)


def test_an_unreachable_endpoint_is_named_with_its_port(settings: ConnectionSettings) -> None:
    endpoint = closed_port_endpoint()
    connection = connect(replace(settings, endpoint=endpoint, retry=RetryPolicy.never()))
    with pytest.raises(ServerUnavailableError) as raised:
        operations.branch_head(connection, "some-repo", "main")
    assert f"lakeFS at {endpoint.removeprefix('http://')} did not answer" in str(raised.value)


def test_a_not_lakefs_server_is_not_reported_as_a_missing_repository(settings: ConnectionSettings) -> None:
    with not_lakefs_server() as (endpoint, seen):
        connection = connect(replace(settings, endpoint=endpoint, retry=RetryPolicy.never()))
        with pytest.raises(EndpointNotLakeFSError) as raised:
            operations.ensure_repository(connection, "some-repo")
    assert "not found" not in str(raised.value).lower()
    assert seen == ["GET /api/v1/repositories/some-repo"]


def test_an_empty_object_is_legitimate_content(proxied: LakeFSConnection, repo: Any) -> None:
    assert objects.upload(proxied, repo.id, "main", "raw/empty.csv", b"").size_bytes == 0
    assert objects.read_bytes(proxied, repo.id, "main", "raw/empty.csv") == b""


@pytest.mark.parametrize(
    "path", ["raw/orders.csv", "/raw/orders.csv", "a", "x/.hidden", "a/b..c/d", "with space/and%25.csv", "日本/データ"]
)
def test_valid_paths_pass_unchanged(path: str) -> None:
    from lakefs_wap.names import validate_path

    assert validate_path(path) == path


def test_prefixes_keep_their_trailing_slash_and_a_string_is_one_prefix() -> None:
    from lakefs_wap.names import under_prefix, validate_prefixes

    assert validate_prefixes("raw/", what="p") == ("raw/",)
    assert validate_prefixes(["raw/", "/abs", "raw/ord"], what="p") == ("raw/", "/abs", "raw/ord")
    assert under_prefix("raw/a.csv", "raw/")
    assert under_prefix("raw", "raw")
    assert under_prefix("raw/a.csv", "raw")
    assert not under_prefix("rawdata/a.csv", "raw")
    assert not under_prefix("raw", "raw/")
