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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any

import lakefs
import lakefs_sdk

from lakefs_wap.connection import LakeFSConnection
from lakefs_wap.errors import BadInputError, NotFoundError, as_lakefs_error, is_infrastructure_error, translated
from lakefs_wap.names import under_prefix, validate_paths, validate_prefixes
from lakefs_wap.refs import iter_diff


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

    The built-in gates that judge the diff (``DiffGate``) share one listing of
    it, streamed page by page: however many of them run, the diff is read once.
    """
    results: dict[int, GateResult] = {}
    judging: dict[int, tuple[DiffGate, Any]] = {}
    satisfied: dict[int, tuple[DiffGate, Any]] = {}
    for index, gate in enumerate(gates):
        if isinstance(gate, DiffGate):
            state = _judged(gate.name, gate.start)
            if isinstance(state, GateResult):
                results[index] = state
            else:
                judging[index] = (gate, state)
    if judging:
        try:
            for diff in context.changes():
                for index, (gate, state) in list(judging.items()):
                    seen = _judged(gate.name, partial(gate.see, state, diff, context))
                    if isinstance(seen, GateResult):  # the gate broke on this entry
                        results[index] = seen
                        del judging[index]
                    elif seen:  # the gate has seen enough for its verdict
                        satisfied[index] = judging.pop(index)
                if not judging:
                    break  # nobody needs the rest of the diff
        except Exception as error:
            if is_infrastructure_error(error):
                raise as_lakefs_error(error, action="list the run's changes for the gates") from error
            raise
        for index, (gate, state) in {**judging, **satisfied}.items():
            results[index] = _judged(gate.name, partial(gate.finish, state, context))
    for index, gate in enumerate(gates):
        if index not in results:
            name = gate_name(gate)
            results[index] = _judged(name, partial(_call_gate, gate, name, context))
    return GateReport(context.repository, context.run_ref, context.base_ref, [results[i] for i in range(len(gates))])


def _call_gate(gate: Gate, name: str, context: GateContext) -> GateResult:
    return normalize(name, gate(context))


def _judged(name: str, step: Callable[[], Any]) -> Any:
    """Run one step of a gate; if it raises, the gate's failed result (an outage propagates)."""
    try:
        return step()
    except Exception as error:  # a broken gate must not hide the others' verdicts
        if is_infrastructure_error(error):
            # An outage is no verdict on the data: let the orchestrator retry.
            raise as_lakefs_error(error, action=f"run gate '{name}'") from error
        text = str(error) or "assertion failed"
        return GateResult(name, False, f"raised {type(error).__name__}: {text}")


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


class DiffGate(BuiltinGate):
    """A built-in gate that judges the diff entry by entry.

    ``run_gates`` feeds every such gate from one listing of the diff;
    calling the gate on its own lists the diff for it alone. A gate keeps what
    it needs in the state ``start`` returns, ``see`` takes each entry (True:
    it has seen enough), and ``finish`` gives the verdict.
    """

    def start(self) -> Any:
        return _Tally()

    def see(self, state: Any, diff: lakefs_sdk.Diff, context: GateContext) -> bool:
        raise NotImplementedError

    def finish(self, state: Any, context: GateContext) -> GateResult:
        raise NotImplementedError

    def __call__(self, context: GateContext) -> GateResult:
        state = self.start()
        for diff in context.changes():
            if self.see(state, diff, context):
                break
        return self.finish(state, context)


_PATHS_KEPT = 100


@dataclass
class _Tally:
    """A count and the first paths counted: bounded memory however long the diff."""

    count: int = 0
    paths: list[str] = field(default_factory=list)

    def add(self, path: str) -> None:
        self.count += 1
        if len(self.paths) < _PATHS_KEPT:
            self.paths.append(path)


@dataclass(frozen=True)
class ChangedSomething(DiffGate):
    """The run changed at least one object."""

    name: str = "changed_something"

    def see(self, state: _Tally, diff: lakefs_sdk.Diff, context: GateContext) -> bool:
        state.add(diff.path)
        return True

    def finish(self, state: _Tally, context: GateContext) -> GateResult:
        if not state.count:
            return GateResult(self.name, False, f"the run changed nothing relative to {context.base_ref[:12]}")
        return GateResult(self.name, True, f"the run changed objects (first: {state.paths[0]!r})")


@dataclass(frozen=True)
class OnlyUnderPrefixes(DiffGate):
    """Every changed path lies under one of ``prefixes``."""

    prefixes: Sequence[str]
    name: str = "only_under_prefixes"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._prefixes("prefixes", optional=False)

    def see(self, state: _Tally, diff: lakefs_sdk.Diff, context: GateContext) -> bool:
        if not _under(diff.path, self.prefixes):
            state.add(diff.path)
        return False

    def finish(self, state: _Tally, context: GateContext) -> GateResult:
        if state.count:
            return GateResult(
                self.name,
                False,
                f"{state.count} change(s) outside {list(self.prefixes)}: {_listing(state.paths, state.count)}",
                details={"outside": list(state.paths)},
                metrics={"outside": state.count},
            )
        return GateResult(self.name, True, f"all changes are under {list(self.prefixes)}")


@dataclass(frozen=True)
class NoDeletions(DiffGate):
    """The run deleted nothing (or nothing under ``prefixes`` when given)."""

    prefixes: Sequence[str] | None = None
    name: str = "no_deletions"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._prefixes("prefixes", optional=True)

    def see(self, state: _Tally, diff: lakefs_sdk.Diff, context: GateContext) -> bool:
        if diff.type == "removed" and _under(diff.path, self.prefixes):
            state.add(diff.path)
        return False

    def finish(self, state: _Tally, context: GateContext) -> GateResult:
        scope = f" under {list(self.prefixes)}" if self.prefixes else ""
        if state.count:
            return GateResult(
                self.name,
                False,
                f"the run deleted {state.count} object(s){scope}: {_listing(state.paths, state.count)}",
                details={"removed": list(state.paths)},
                metrics={"removed": state.count},
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
class ChangeCount(DiffGate):
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

    def see(self, state: _Tally, diff: lakefs_sdk.Diff, context: GateContext) -> bool:
        state.count += 1
        return self.maximum is not None and state.count > self.maximum  # enough seen to fail

    def finish(self, state: _Tally, context: GateContext) -> GateResult:
        count = state.count
        if self.maximum is not None and count > self.maximum:
            return GateResult(self.name, False, f"more than {self.maximum} objects changed", metrics={"changed": count})
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


def _is_changed_table(diff: lakefs_sdk.Diff, prefixes: Sequence[str] | None) -> bool:
    return diff.type in ("added", "changed") and diff.path.endswith(TABLE_SUFFIXES) and _under(diff.path, prefixes)


@dataclass(frozen=True)
class TableRowCount(DiffGate):
    """Every added or changed parquet/CSV file is readable and has at least ``min_rows`` rows."""

    min_rows: int = 1
    prefixes: Sequence[str] | None = None
    name: str = "table_row_count"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._count("min_rows", optional=False)
        self._prefixes("prefixes", optional=True)

    def start(self) -> _Tables:
        return _Tables()

    def see(self, state: _Tables, diff: lakefs_sdk.Diff, context: GateContext) -> bool:
        if not _is_changed_table(diff, self.prefixes):
            return False
        try:
            with context.open(diff.path) as reader:
                rows = count_rows(reader, diff.path)
        except Exception as error:  # an unreadable file is this gate's finding, not a crash
            if is_infrastructure_error(error):
                raise  # but an outage is no finding about the file: run_gates lets it propagate
            state.problems.append(f"{diff.path!r} is not readable ({type(error).__name__}: {error})")
            return False
        state.tables += 1
        state.rows += rows
        if len(state.rows_by_path) < _PATHS_KEPT:
            state.rows_by_path[diff.path] = rows
        if rows < self.min_rows:
            state.problems.append(f"{diff.path!r} has {rows} rows, fewer than {self.min_rows}")
        return False

    def finish(self, state: _Tables, context: GateContext) -> GateResult:
        metrics = {"tables": float(state.tables), "rows": float(state.rows)}
        details = {"rows": dict(state.rows_by_path)}
        if state.problems:
            return GateResult(self.name, False, "; ".join(state.problems[:10]), details=details, metrics=metrics)
        if not state.tables:
            return GateResult(self.name, True, "no parquet or CSV files changed", metrics=metrics)
        return GateResult(
            self.name,
            True,
            f"{state.tables} table file(s), each with at least {self.min_rows} rows",
            details=details,
            metrics=metrics,
        )


@dataclass
class _Tables:
    tables: int = 0
    rows: int = 0
    rows_by_path: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ParquetSchemaUnchanged(DiffGate):
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

    def start(self) -> _Tables:
        return _Tables()

    def see(self, state: _Tables, diff: lakefs_sdk.Diff, context: GateContext) -> bool:
        if not diff.path.endswith(".parquet") or not _under(diff.path, self.prefixes):
            return False
        if diff.type == "added":
            if self.require_base:
                state.problems.append(f"{diff.path!r} is new; there is no schema on the base to compare with")
            return False
        if diff.type != "changed":
            return False
        pq = _pyarrow_parquet()
        with context.open(diff.path) as new, context.open(diff.path, context.base_ref) as old:
            new_schema = pq.ParquetFile(new).schema_arrow
            old_schema = pq.ParquetFile(old).schema_arrow
        state.tables += 1
        if not new_schema.equals(old_schema):
            state.problems.append(
                f"{diff.path!r} schema changed: base {_schema_text(old_schema)} -> run {_schema_text(new_schema)}"
            )
        return False

    def finish(self, state: _Tables, context: GateContext) -> GateResult:
        checked = state.tables
        if state.problems:
            return GateResult(self.name, False, "; ".join(state.problems[:10]), metrics={"checked": checked})
        return GateResult(
            self.name, True, f"{checked} changed parquet file(s) keep their schema", metrics={"checked": checked}
        )


def _schema_text(schema: Any) -> str:
    return "{" + ", ".join(f"{f.name}: {f.type}" for f in schema) + "}"
