"""The gates' verdict on one commit of a run, as lakefs-wap records it in lakeFS.

``RunBranch.gate`` writes a ``Verdict`` into an empty commit on the run
branch; ``publish`` carries its gate results into the merge commit on the
target. Every reader (the run's status, the Airflow publish events and
OpenLineage facets, the Dagster asset checks, the demo's report) reads it back
with ``Verdict.from_metadata``, so the metadata keys and their encoding are
written and parsed here only::

    verdict = Verdict.from_metadata(commit.metadata)
    if verdict is not None and verdict.passed:
        print(verdict.gated_commit, [gate.name for gate in verdict.gates])
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import lakefs_sdk

from lakefs_wap.gates import GateReport
from lakefs_wap.keys import (
    KEY_BASE,
    KEY_CHANGES,
    KEY_GATED_COMMIT,
    KEY_GATED_METARANGE,
    KEY_GATES,
    KEY_GATES_PASSED,
    KEY_KIND,
    KEY_RUN_KEY,
    CommitKind,
)

_MESSAGE_LIMIT = 500  # a gate's message as recorded: commit metadata is shown whole in the lakeFS UI
NO_CHANGES = "none"  # ``changes`` of a run that wrote nothing


@dataclass(frozen=True)
class RecordedGate:
    """One gate's result as recorded on a commit: compact, without the details."""

    name: str
    passed: bool
    message: str = ""
    metrics: Mapping[str, float] = field(default_factory=dict)

    def as_text(self) -> str:
        """``"name: message"``, as refusals name a failed gate."""
        return f"{self.name}: {self.message}"


@dataclass(frozen=True)
class Verdict:
    """The gates' verdict on ``gated_commit``, judged against ``base_commit``.

    Args:
        gated_commit: the run commit the gates judged; ``publish`` merges exactly this commit.
        base_commit: the commit the run's changes were measured from.
        gates: each gate's recorded result, in the order the gates ran.
        passed: whether every gate passed (as recorded).
        gated_metarange: the judged commit's content (metarange id), on the verdict commit only:
            a verdict commit whose own metarange differs holds data the gates never saw.
        changes: ``"none"`` when the run wrote nothing (publishing it merges nothing).
    """

    gated_commit: str
    base_commit: str
    gates: tuple[RecordedGate, ...]
    passed: bool
    gated_metarange: str | None = None
    changes: str | None = None

    @classmethod
    def of_report(cls, report: GateReport, *, gated_metarange: str, changes: str | None = None) -> Verdict:
        """The verdict a gate run gives on ``report.run_ref``."""
        gates = tuple(
            RecordedGate(r.name, r.passed, r.message[:_MESSAGE_LIMIT], dict(r.metrics)) for r in report.results
        )
        return cls(report.run_ref, report.base_ref, gates, report.passed, gated_metarange, changes)

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str] | None) -> Verdict | None:
        """The verdict recorded in a commit's metadata (a verdict commit or a publish merge), or None
        when it records none or the record is not readable."""
        metadata = metadata or {}
        gates = recorded_gates(metadata)
        if gates is None or KEY_GATES_PASSED not in metadata:
            return None
        return cls(
            gated_commit=metadata.get(KEY_GATED_COMMIT, ""),
            base_commit=metadata.get(KEY_BASE, ""),
            gates=gates,
            passed=metadata[KEY_GATES_PASSED] == "true",
            gated_metarange=metadata.get(KEY_GATED_METARANGE),
            changes=metadata.get(KEY_CHANGES),
        )

    @classmethod
    def recorded_by(cls, commit: lakefs_sdk.Commit, run_key: str) -> Verdict | None:
        """The verdict ``commit`` records if it is ``run_key``'s verdict commit, else None."""
        metadata = commit.metadata or {}
        if metadata.get(KEY_RUN_KEY) != run_key or metadata.get(KEY_KIND) != CommitKind.GATES.value:
            return None
        return cls.from_metadata(metadata)

    def is_current(self, head: lakefs_sdk.Commit) -> bool:
        """Whether ``head`` holds exactly what was judged: nothing came in with or after the verdict."""
        return self.gated_metarange is not None and head.meta_range_id == self.gated_metarange

    @property
    def changed_nothing(self) -> bool:
        return self.changes == NO_CHANGES

    @property
    def failed(self) -> tuple[str, ...]:
        """``"name: message"`` of each failed gate."""
        return tuple(gate.as_text() for gate in self.gates if not gate.passed)

    def gates_text(self) -> str:
        """The gate results as recorded: compact JSON, readable in the lakeFS UI's commit view."""
        compact = [
            {"name": g.name, "passed": g.passed, "message": g.message, "metrics": dict(g.metrics)} for g in self.gates
        ]
        return json.dumps(compact, separators=(",", ":"), sort_keys=True)

    def result_metadata(self) -> dict[str, str]:
        """The gate results alone: what a publish merge carries of its verdict."""
        return {KEY_GATES_PASSED: "true" if self.passed else "false", KEY_GATES: self.gates_text()}

    def as_metadata(self) -> dict[str, str]:
        """Everything a verdict commit records."""
        metadata = {KEY_GATED_COMMIT: self.gated_commit, KEY_BASE: self.base_commit, **self.result_metadata()}
        if self.gated_metarange is not None:
            metadata[KEY_GATED_METARANGE] = self.gated_metarange
        if self.changes:
            metadata[KEY_CHANGES] = self.changes
        return metadata


def recorded_gates(metadata: Mapping[str, str]) -> tuple[RecordedGate, ...] | None:
    """The gate results recorded in ``metadata`` (``lakefs_wap.gates``), or None if there are none
    or they are not a list of named results (metadata written by hand, or damaged)."""
    try:
        entries: Any = json.loads(metadata[KEY_GATES])
    except (KeyError, ValueError, TypeError):
        return None
    if not isinstance(entries, list):
        return None
    gates = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            return None
        metrics = entry.get("metrics")
        gates.append(
            RecordedGate(
                entry["name"],
                bool(entry.get("passed")),
                str(entry.get("message", "")),
                dict(metrics) if isinstance(metrics, dict) else {},
            )
        )
    return tuple(gates)


__all__ = ["NO_CHANGES", "RecordedGate", "Verdict", "recorded_gates"]
