"""Quality gates: checks of what a run changed, run before anything is published.

A gate is any callable that takes a ``GateContext`` and returns a
``GateResult``, a ``bool``, a ``(bool, message)`` pair, or ``None`` (passed;
raise or ``assert`` to fail). ``run_gates`` runs every gate, even after one
failed, and turns a gate that raises into a failed result carrying the
exception, so one report lists everything that is wrong with a run.

Built-in gates are small frozen dataclasses, configured when constructed::

    gates = [
        ChangedSomething(),
        OnlyUnderPrefixes(["raw/", "curated/"]),
        NoDeletions(),
        TableRowCount(min_rows=1000, prefixes=["curated/"]),
        ParquetSchemaUnchanged(),
    ]

Each validates its arguments when constructed and raises ``BadInputError``
naming the gate, the argument and the fix: a single string where a list of
prefixes or paths is expected is taken as one item, never as its characters;
non-strings, empty strings, paths breaking the path rule of
``lakefs_wap.names``, negative or non-integer counts are refused.

Prefixes: ``"raw/"`` covers everything in the folder ``raw``; ``"raw"``
(no trailing ``/``) covers whole path segments only: ``raw`` itself and
``raw/...``, but not ``rawdata/...``. Every gate matches paths this way
(``lakefs_wap.names.under_prefix``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import lakefs
import lakefs_sdk

from lakefs_wap.connection import LakeFSConnection
from lakefs_wap.errors import BadInputError, NotFoundError, as_lakefs_error, is_infrastructure_error, translated
from lakefs_wap.names import under_prefix, validate_paths, validate_prefixes
from lakefs_wap.refs import iter_diff

_MESSAGE_LIMIT = 500


@dataclass(frozen=True)
class GateResult:
    name: str
    passed: bool
    message: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "message": self.message,
            "details": dict(self.details),
            "metrics": dict(self.metrics),
        }


GateOutcome = GateResult | bool | tuple[bool, str] | None
Gate = Callable[["GateContext"], GateOutcome]


@dataclass
class GateContext:
    """What a gate may look at: the run's ref, the commit it started from, and readers.

    ``changes()`` is the diff from ``base_ref`` to ``run_ref``, fetched a page
    at a time as the gate iterates.
    """

    connection: LakeFSConnection
    repository: str
    run_ref: str
    base_ref: str

    def changes(self, prefix: str | None = None) -> Iterator[lakefs_sdk.Diff]:
        return iter_diff(self.connection, self.repository, self.base_ref, self.run_ref, prefix=prefix)

    def open(self, path: str, ref: str | None = None) -> IO[bytes]:
        """A seekable binary reader of an object; reads are ranged requests, so
        a parquet footer can be read without downloading the file."""
        stored = lakefs.StoredObject(self.repository, ref or self.run_ref, path, client=self.connection.client)
        return stored.reader(mode="rb")

    def read_bytes(self, path: str, ref: str | None = None) -> bytes:
        with self.open(path, ref) as reader:
            return reader.read()

    def exists(self, path: str, ref: str | None = None) -> bool:
        target = ref or self.run_ref
        try:
            with translated(action=f"stat '{path}' on '{target}'", repository=self.repository, ref=target):
                self.connection.sdk.objects_api.stat_object(self.repository, target, path)
        except NotFoundError:
            return False
        return True


@dataclass(frozen=True)
class GateReport:
    """Every gate's result for one run ref."""

    repository: str
    run_ref: str
    base_ref: str
    results: Sequence[GateResult]

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def failed(self) -> list[GateResult]:
        return [result for result in self.results if not result.passed]

    def summary(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        lines = [f"{len(self.results) - len(self.failed)}/{len(self.results)} gates passed; the run {verdict}"]
        lines += [f"  {'ok  ' if r.passed else 'FAIL'} {r.name}: {r.message}" for r in self.results]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "run_ref": self.run_ref,
            "base_ref": self.base_ref,
            "passed": self.passed,
            "results": [result.as_dict() for result in self.results],
        }

    def as_metadata(self) -> dict[str, str]:
        """Compact commit metadata, readable in the lakeFS UI's commit view."""
        compact = [
            {"name": r.name, "passed": r.passed, "message": r.message[:_MESSAGE_LIMIT], "metrics": dict(r.metrics)}
            for r in self.results
        ]
        return {
            "lakefs_wap.gates_passed": "true" if self.passed else "false",
            "lakefs_wap.gates": json.dumps(compact, separators=(",", ":"), sort_keys=True),
        }


def failed_gates_in(metadata: dict[str, str]) -> list[str]:
    """``"name: message"`` for each failed gate in a report recorded by ``GateReport.as_metadata``."""
    recorded = json.loads(metadata.get("lakefs_wap.gates", "[]"))
    return [f"{gate['name']}: {gate['message']}" for gate in recorded if not gate.get("passed")]


def gate_name(gate: Gate) -> str:
    name = getattr(gate, "name", None) or getattr(gate, "__name__", None) or type(gate).__name__
    return str(name)


def normalize(name: str, outcome: object) -> GateResult:
    if isinstance(outcome, GateResult):
        return outcome
    if outcome is None:
        return GateResult(name, True, "passed")
    if isinstance(outcome, bool):
        return GateResult(name, outcome, "passed" if outcome else "returned False")
    if isinstance(outcome, tuple) and len(outcome) == 2 and isinstance(outcome[0], bool):
        return GateResult(name, outcome[0], str(outcome[1]))
    return GateResult(
        name,
        False,
        f"gate returned {type(outcome).__name__}; return a GateResult, a bool, (bool, message) or None",
    )


def run_gates(context: GateContext, gates: Sequence[Gate]) -> GateReport:
    """Run every gate; a gate that raises is a failed gate with the exception as its message.

    Except an outage: a gate that meets an unreachable lakeFS, a 5xx after
    retries, or rejected credentials re-raises it, and no verdict is made.
    """
    results: list[GateResult] = []
    for gate in gates:
        name = gate_name(gate)
        try:
            result = normalize(name, gate(context))
        except Exception as error:  # a broken gate must not hide the others' verdicts
            if is_infrastructure_error(error):
                # An outage is no verdict on the data: let the orchestrator retry.
                raise as_lakefs_error(error, action=f"run gate '{name}'") from error
            text = str(error) or "assertion failed"
            result = GateResult(name, False, f"raised {type(error).__name__}: {text}")
        results.append(result)
    return GateReport(context.repository, context.run_ref, context.base_ref, results)


def validate_gates(gates: Iterable[Gate]) -> list[Gate]:
    """The gates as a list, refused (``BadInputError``) unless it is a list of callables.

    A single gate, a string or a mapping given where the list belongs is
    refused rather than iterated.
    """
    if isinstance(gates, (str, bytes, bytearray, Mapping)) or not isinstance(gates, Iterable):
        raise BadInputError(
            f"gates must be a list of gates such as [NoDeletions(), TableRowCount(min_rows=1)], "
            f"not a value of type {type(gates).__name__}; wrap a single gate in a list."
        )
    checked = list(gates)
    for position, gate in enumerate(checked):
        if not callable(gate):
            raise BadInputError(
                f"gates: item {position} is a {type(gate).__name__} ({gate!r:.80}), not a gate. A gate is a "
                "built-in gate such as NoDeletions() or a callable taking a GateContext; pass the gate "
                "itself, not its name or result."
            )
    return checked


class BuiltinGate:
    """Common base of the built-in gates, so a list mixing them is a list of gates to type checkers."""

    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise BadInputError(f"{type(self).__name__}(name=...) must be a non-empty string, got {self.name!r}.")

    def __call__(self, context: GateContext) -> GateResult:
        raise NotImplementedError

    def _argument(self, argument: str) -> str:
        return f"{type(self).__name__}({argument}=...)"

    def _set(self, argument: str, value: object) -> None:
        object.__setattr__(self, argument, value)  # frozen dataclass: normalised once, at construction

    def _prefixes(self, argument: str, *, optional: bool) -> None:
        value = getattr(self, argument)
        if value is None and optional:
            return
        hint = "; use None for everywhere" if optional else ""
        try:
            self._set(argument, validate_prefixes(value, what=self._argument(argument)))
        except BadInputError as error:
            raise type(error)(f"{error}{hint}") from None

    def _count(self, argument: str, *, optional: bool) -> None:
        value = getattr(self, argument)
        if value is None and optional:
            return
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise BadInputError(
                f"{self._argument(argument)} must be a whole number of 0 or more"
                f"{' (or None for no bound)' if optional else ''}, got {value!r}."
            )


def _under(path: str, prefixes: Sequence[str] | None) -> bool:
    return prefixes is None or any(under_prefix(path, prefix) for prefix in prefixes)


def _listing(paths: Sequence[str], total: int, limit: int = 10) -> str:
    shown = ", ".join(repr(p) for p in paths[:limit])
    return shown + (f" and {total - limit} more" if total > limit else "")


@dataclass(frozen=True)
class ChangedSomething(BuiltinGate):
    """The run changed at least one object."""

    name: str = "changed_something"

    def __call__(self, context: GateContext) -> GateResult:
        first = next(context.changes(), None)
        if first is None:
            return GateResult(self.name, False, f"the run changed nothing relative to {context.base_ref[:12]}")
        return GateResult(self.name, True, f"the run changed objects (first: {first.path!r})")


@dataclass(frozen=True)
class OnlyUnderPrefixes(BuiltinGate):
    """Every changed path lies under one of ``prefixes``."""

    prefixes: Sequence[str]
    name: str = "only_under_prefixes"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._prefixes("prefixes", optional=False)

    def __call__(self, context: GateContext) -> GateResult:
        outside = [d.path for d in context.changes() if not _under(d.path, self.prefixes)]
        if outside:
            return GateResult(
                self.name,
                False,
                f"{len(outside)} change(s) outside {list(self.prefixes)}: {_listing(outside, len(outside))}",
                details={"outside": outside[:100]},
                metrics={"outside": len(outside)},
            )
        return GateResult(self.name, True, f"all changes are under {list(self.prefixes)}")


@dataclass(frozen=True)
class NoDeletions(BuiltinGate):
    """The run deleted nothing (or nothing under ``prefixes`` when given)."""

    prefixes: Sequence[str] | None = None
    name: str = "no_deletions"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._prefixes("prefixes", optional=True)

    def __call__(self, context: GateContext) -> GateResult:
        removed = [d.path for d in context.changes() if d.type == "removed" and _under(d.path, self.prefixes)]
        scope = f" under {list(self.prefixes)}" if self.prefixes else ""
        if removed:
            return GateResult(
                self.name,
                False,
                f"the run deleted {len(removed)} object(s){scope}: {_listing(removed, len(removed))}",
                details={"removed": removed[:100]},
                metrics={"removed": len(removed)},
            )
        return GateResult(self.name, True, f"no deletions{scope}")


@dataclass(frozen=True)
class RequiredPaths(BuiltinGate):
    """Each of ``paths`` exists on the run ref after the run."""

    paths: Sequence[str]
    name: str = "required_paths"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._set("paths", validate_paths(self.paths, what=self._argument("paths")))

    def __call__(self, context: GateContext) -> GateResult:
        missing = [path for path in self.paths if not context.exists(path)]
        if missing:
            return GateResult(self.name, False, f"missing required path(s): {_listing(missing, len(missing))}")
        return GateResult(self.name, True, f"all {len(self.paths)} required path(s) exist")


@dataclass(frozen=True)
class ChangeCount(BuiltinGate):
    """The number of changed objects is within ``[minimum, maximum]``."""

    minimum: int | None = None
    maximum: int | None = None
    name: str = "change_count"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._count("minimum", optional=True)
        self._count("maximum", optional=True)
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise BadInputError(
                f"ChangeCount(minimum={self.minimum}, maximum={self.maximum}): the minimum is above the maximum, "
                "so no run could pass; swap them or lower the minimum."
            )

    def __call__(self, context: GateContext) -> GateResult:
        count = 0
        for _ in context.changes():
            count += 1
            if self.maximum is not None and count > self.maximum:
                return GateResult(
                    self.name, False, f"more than {self.maximum} objects changed", metrics={"changed": count}
                )
        if self.minimum is not None and count < self.minimum:
            return GateResult(
                self.name, False, f"{count} object(s) changed, fewer than {self.minimum}", metrics={"changed": count}
            )
        return GateResult(self.name, True, f"{count} object(s) changed", metrics={"changed": count})


TABLE_SUFFIXES = (".parquet", ".csv")


def count_rows(reader: IO[bytes], path: str) -> int:
    """Rows of a parquet file (from its footer) or a CSV file (streamed, header excluded)."""
    if path.endswith(".parquet"):
        pq = _pyarrow_parquet()
        return int(pq.ParquetFile(reader).metadata.num_rows)
    text = io.TextIOWrapper(reader, encoding="utf-8", newline="")
    rows = sum(1 for _ in csv.reader(text))
    text.detach()
    return max(rows - 1, 0)


def _pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise RuntimeError("reading parquet needs pyarrow: pip install 'lakefs-wap[tables]' (or pyarrow)") from error
    return pq


def _changed_tables(context: GateContext, prefixes: Sequence[str] | None) -> Iterator[lakefs_sdk.Diff]:
    for diff in context.changes():
        if diff.type in ("added", "changed") and diff.path.endswith(TABLE_SUFFIXES) and _under(diff.path, prefixes):
            yield diff


@dataclass(frozen=True)
class TableRowCount(BuiltinGate):
    """Every added or changed parquet/CSV file is readable and has at least ``min_rows`` rows."""

    min_rows: int = 1
    prefixes: Sequence[str] | None = None
    name: str = "table_row_count"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._count("min_rows", optional=False)
        self._prefixes("prefixes", optional=True)

    def __call__(self, context: GateContext) -> GateResult:
        problems: list[str] = []
        rows_by_path: dict[str, int] = {}
        for diff in _changed_tables(context, self.prefixes):
            try:
                with context.open(diff.path) as reader:
                    rows = count_rows(reader, diff.path)
            except Exception as error:  # an unreadable file is this gate's finding, not a crash
                if is_infrastructure_error(error):
                    raise  # but an outage is no finding about the file: run_gates lets it propagate
                problems.append(f"{diff.path!r} is not readable ({type(error).__name__}: {error})")
                continue
            rows_by_path[diff.path] = rows
            if rows < self.min_rows:
                problems.append(f"{diff.path!r} has {rows} rows, fewer than {self.min_rows}")
        metrics = {"tables": float(len(rows_by_path)), "rows": float(sum(rows_by_path.values()))}
        if problems:
            return GateResult(
                self.name, False, "; ".join(problems[:10]), details={"rows": rows_by_path}, metrics=metrics
            )
        if not rows_by_path:
            return GateResult(self.name, True, "no parquet or CSV files changed", metrics=metrics)
        return GateResult(
            self.name,
            True,
            f"{len(rows_by_path)} table file(s), each with at least {self.min_rows} rows",
            details={"rows": rows_by_path},
            metrics=metrics,
        )


@dataclass(frozen=True)
class ParquetSchemaUnchanged(BuiltinGate):
    """Every changed parquet file has the same schema as its version on the base ref.

    New files have no base version; with ``require_base`` they fail, otherwise
    they pass.
    """

    prefixes: Sequence[str] | None = None
    require_base: bool = False
    name: str = "parquet_schema_unchanged"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._prefixes("prefixes", optional=True)
        if not isinstance(self.require_base, bool):
            raise BadInputError(
                f"ParquetSchemaUnchanged(require_base=...) must be True or False, got {self.require_base!r}."
            )

    def __call__(self, context: GateContext) -> GateResult:
        pq = _pyarrow_parquet()
        problems: list[str] = []
        checked = 0
        for diff in context.changes():
            if not diff.path.endswith(".parquet") or not _under(diff.path, self.prefixes):
                continue
            if diff.type == "added":
                if self.require_base:
                    problems.append(f"{diff.path!r} is new; there is no schema on the base to compare with")
                continue
            if diff.type != "changed":
                continue
            with context.open(diff.path) as new, context.open(diff.path, context.base_ref) as old:
                new_schema = pq.ParquetFile(new).schema_arrow
                old_schema = pq.ParquetFile(old).schema_arrow
            checked += 1
            if not new_schema.equals(old_schema):
                problems.append(
                    f"{diff.path!r} schema changed: base {_schema_text(old_schema)} -> run {_schema_text(new_schema)}"
                )
        if problems:
            return GateResult(self.name, False, "; ".join(problems[:10]), metrics={"checked": checked})
        return GateResult(
            self.name, True, f"{checked} changed parquet file(s) keep their schema", metrics={"checked": checked}
        )


def _schema_text(schema: Any) -> str:
    return "{" + ", ".join(f"{f.name}: {f.type}" for f in schema) + "}"
