"""Every built-in gate, passing and failing, on real run branches; callables; all gates run."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakefs_wap import (
    ChangeCount,
    ChangedSomething,
    GateContext,
    GateResult,
    NoDeletions,
    OnlyUnderPrefixes,
    ParquetSchemaUnchanged,
    RequiredPaths,
    RunBranch,
    TableRowCount,
    Verdict,
    objects,
    run_gates,
)


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


ORDERS = pa.table({"order_id": [1, 2, 3], "amount": [9.5, 3.0, 1.25]})
MORE_ORDERS = pa.table({"order_id": [1, 2, 3, 4], "amount": [9.5, 3.0, 1.25, 8.0]})


@pytest.fixture
def base_and_run(connection, repo):
    """main holds a baseline; returns a function that makes a run with given writes/deletes and its gate context."""
    main = repo.branch("main")
    main.object("curated/orders.parquet").upload(data=parquet_bytes(ORDERS))
    main.object("raw/keep.csv").upload(data=b"a\n1\n")
    main.commit(message="baseline")

    def make(writes: dict[str, bytes], deletes: tuple[str, ...] = ()) -> GateContext:
        run = RunBranch(connection, repo.id, f"gates-{len(writes)}-{len(deletes)}-{sorted(writes)}")
        base = run.open()
        for path, data in writes.items():
            objects.upload(connection, repo.id, run.branch, path, data)
        for path in deletes:
            repo.branch(run.branch).object(path).delete()
        commit = run.commit(allow_empty=not writes and not deletes)
        return GateContext(connection, repo.id, run_ref=commit.id, base_ref=base)

    return make


def verdict(gate, context: GateContext) -> GateResult:
    (result,) = run_gates(context, [gate]).results
    return result


def test_changed_something(base_and_run) -> None:
    assert verdict(ChangedSomething(), base_and_run({"raw/a.csv": b"x\n"})).passed
    failed = verdict(ChangedSomething(), base_and_run({}))
    assert not failed.passed
    assert "changed nothing" in failed.message


def test_only_under_prefixes(base_and_run) -> None:
    context = base_and_run({"raw/a.csv": b"x\n", "curated/b.csv": b"x\n", "tmp/scratch.txt": b"oops"})
    assert verdict(OnlyUnderPrefixes(["raw/", "curated/", "tmp/"]), context).passed
    failed = verdict(OnlyUnderPrefixes(["raw/", "curated/"]), context)
    assert not failed.passed
    assert "1 change(s) outside ['raw/', 'curated/']: 'tmp/scratch.txt'" in failed.message
    assert failed.metrics == {"outside": 1}


def test_a_single_string_is_one_prefix_not_its_characters(base_and_run) -> None:
    context = base_and_run({"raw/a.csv": b"x\n", "rogue/x.csv": b"x\n"})
    failed = verdict(OnlyUnderPrefixes("raw/"), context)
    assert not failed.passed
    assert "'rogue/x.csv'" in failed.message
    assert OnlyUnderPrefixes("raw/").prefixes == ("raw/",)
    assert NoDeletions(prefixes="raw/").prefixes == ("raw/",)


def test_a_prefix_without_a_slash_matches_whole_segments(base_and_run) -> None:
    context = base_and_run({"raw": b"x", "raw/a.csv": b"x\n", "rawdata/b.csv": b"x\n"})
    failed = verdict(OnlyUnderPrefixes(["raw"]), context)
    assert not failed.passed
    assert failed.details == {"outside": ["rawdata/b.csv"]}
    assert verdict(OnlyUnderPrefixes(["raw", "rawdata/"]), context).passed
    assert not verdict(OnlyUnderPrefixes(["ra"]), context).passed
    assert verdict(OnlyUnderPrefixes(["ra"]), base_and_run({"ra/x.csv": b"x\n"})).passed


def test_no_deletions_everywhere_or_under_prefixes(base_and_run) -> None:
    context = base_and_run({"raw/new.csv": b"x\n"}, deletes=("raw/keep.csv",))
    failed = verdict(NoDeletions(), context)
    assert not failed.passed
    assert "'raw/keep.csv'" in failed.message
    assert verdict(NoDeletions(prefixes=["curated/"]), context).passed
    assert not verdict(NoDeletions(prefixes=["raw/"]), context).passed


def test_required_paths(base_and_run) -> None:
    context = base_and_run({"curated/_SUCCESS": b""})
    assert verdict(RequiredPaths(["curated/_SUCCESS", "raw/keep.csv"]), context).passed
    failed = verdict(RequiredPaths(["curated/_SUCCESS", "curated/report.json"]), context)
    assert not failed.passed
    assert "'curated/report.json'" in failed.message


def test_change_count_bounds(base_and_run) -> None:
    context = base_and_run({f"raw/{i}.csv": b"x\n" for i in range(5)})
    assert verdict(ChangeCount(minimum=5, maximum=5), context).metrics == {"changed": 5}
    assert "fewer than 6" in verdict(ChangeCount(minimum=6), context).message
    too_many = verdict(ChangeCount(maximum=3), context)
    assert not too_many.passed
    assert "more than 3" in too_many.message


def test_table_row_count_reads_parquet_and_csv(base_and_run) -> None:
    context = base_and_run(
        {
            "curated/orders.parquet": parquet_bytes(MORE_ORDERS),
            "raw/day.csv": b"id,amount\n1,2\n2,3\n",
            "raw/n.txt": b"x",
        }
    )
    passed = verdict(TableRowCount(min_rows=2), context)
    assert passed.passed
    assert passed.details["rows"] == {"curated/orders.parquet": 4, "raw/day.csv": 2}
    failed = verdict(TableRowCount(min_rows=3), context)
    assert not failed.passed
    assert "'raw/day.csv' has 2 rows, fewer than 3" in failed.message
    assert verdict(TableRowCount(min_rows=3, prefixes=["curated/"]), context).passed


def test_table_row_count_fails_unreadable_parquet(base_and_run) -> None:
    failed = verdict(TableRowCount(), base_and_run({"curated/broken.parquet": b"not parquet at all"}))
    assert not failed.passed
    assert "'curated/broken.parquet' is not readable" in failed.message


def test_parquet_schema_unchanged(base_and_run) -> None:
    same_schema = pa.table({"order_id": [7], "amount": [1.0]})
    assert verdict(
        ParquetSchemaUnchanged(), base_and_run({"curated/orders.parquet": parquet_bytes(same_schema)})
    ).passed
    changed = pa.table({"order_id": [7], "amount": ["1.0"], "note": ["x"]})
    failed = verdict(ParquetSchemaUnchanged(), base_and_run({"curated/orders.parquet": parquet_bytes(changed)}))
    assert not failed.passed
    assert "'curated/orders.parquet' schema changed: base {order_id: int64, amount: double}" in failed.message
    new_file = {"curated/new.parquet": parquet_bytes(ORDERS)}
    assert verdict(ParquetSchemaUnchanged(), base_and_run(new_file)).passed
    assert not verdict(ParquetSchemaUnchanged(require_base=True), base_and_run(new_file)).passed


def test_plain_callables_and_every_outcome_form(base_and_run) -> None:
    context = base_and_run({"raw/a.csv": b"x\n"})

    def returns_true(ctx):
        return True

    def returns_pair(ctx):
        return False, "custom reason"

    def asserts(ctx):
        assert ctx.exists("raw/missing.csv"), "raw/missing.csv must exist"

    def silent(ctx):
        return None

    def odd(ctx):
        return 42

    report = run_gates(context, [returns_true, returns_pair, asserts, silent, odd])
    by_name = {r.name: r for r in report.results}
    assert by_name["returns_true"].passed
    assert (by_name["returns_pair"].passed, by_name["returns_pair"].message) == (False, "custom reason")
    # (pytest rewrites asserts in test modules and appends its own explanation)
    assert by_name["asserts"].message.startswith("raised AssertionError: raw/missing.csv must exist")
    assert by_name["silent"].passed
    assert not by_name["odd"].passed
    assert "returned int" in by_name["odd"].message


def test_all_gates_run_and_the_report_lists_every_failure(base_and_run) -> None:
    context = base_and_run({"tmp/x.csv": b"h\n"})

    def explodes(ctx):
        raise RuntimeError("connection to the warehouse refused")

    report = run_gates(context, [explodes, OnlyUnderPrefixes(["raw/"]), TableRowCount(min_rows=1), ChangedSomething()])
    assert [r.passed for r in report.results] == [False, False, False, True]
    assert not report.passed
    summary = report.summary()
    assert "1/4 gates passed; the run FAILED" in summary
    assert "raised RuntimeError: connection to the warehouse refused" in summary
    assert Verdict.of_report(report, gated_metarange="m").as_metadata()["lakefs_wap.gates_passed"] == "false"


def test_diff_is_read_lazily_page_by_page(base_and_run, connection, monkeypatch) -> None:
    from lakefs_wap import refs

    context = base_and_run({f"raw/{i:03d}.csv": b"x\n" for i in range(30)})
    calls = []
    original = connection.sdk.refs_api.diff_refs

    def counting(*args, **kwargs):
        calls.append(kwargs.get("amount"))
        return original(*args, **kwargs)

    monkeypatch.setattr(connection.sdk.refs_api, "diff_refs", counting)
    monkeypatch.setattr(refs, "PAGE_SIZE", 10)
    first = next(refs.iter_diff(connection, context.repository, context.base_ref, context.run_ref, page_size=10))
    assert first.path == "raw/000.csv"
    assert calls == [10]
    everything = list(refs.iter_diff(connection, context.repository, context.base_ref, context.run_ref, page_size=10))
    assert len(everything) == 30
    assert len(calls) == 1 + 3


def test_the_builtin_gates_share_one_listing_of_the_diff(proxied, proxy, repo) -> None:
    from lakefs_wap import ChangeCount, GateContext, NoDeletions, OnlyUnderPrefixes, TableRowCount, run_gates

    main = repo.branch("main")
    base = main.get_commit().id
    for index in range(5):
        main.object(f"raw/{index}.csv").upload(data=b"id\n1\n")
    run_ref = main.commit("five tables").get_commit().id
    context = GateContext(proxied, repo.id, run_ref=run_ref, base_ref=base)
    gates = [OnlyUnderPrefixes(["raw/"]), NoDeletions(), ChangeCount(maximum=10), TableRowCount(min_rows=1)]

    report = run_gates(context, gates)

    assert report.passed, report.summary()
    assert [r.name for r in report.results] == [g.name for g in gates]
    assert len(proxy.requests_to("GET", r"/diff")) == 1  # one listing, four gates
    alone = [r.passed for r in (gate(context) for gate in gates)]
    assert alone == [True] * 4  # each gate on its own gives the same verdict
    assert len(proxy.requests_to("GET", r"/diff")) == 5
