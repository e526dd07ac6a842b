"""lakefs-wap gates as Dagster asset checks of the publish asset.

Each gate given to ``lakefs_publish`` is declared as one blocking
``AssetCheckSpec`` of the publish asset, named after the gate, and every
verdict becomes one ``AssetCheckResult`` carrying the gate's message, metrics
and details and the commits it judged. Check names must be unique per asset,
so gates whose names would collide are refused when the definitions load.
"""

import inspect
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from dagster import AssetCheckResult, AssetCheckSpec, AssetKey, MetadataValue

from lakefs_wap import BadInputError, GateReport
from lakefs_wap.gates import gate_name
from lakefs_wap.verdict import Verdict

# Dagster's rule for names of asset checks (and of most things).
_NOT_IN_NAMES = re.compile(r"[^A-Za-z0-9_]")
# Details larger than this are left out of the check's metadata (they are in the lakeFS report).
DETAILS_MAX_CHARS = 8192


def check_name(gate: Any) -> str:
    """The asset check name of a gate: its name with what Dagster does not allow in names as ``_``."""
    return _NOT_IN_NAMES.sub("_", gate_name(gate)) or "gate"


def _description(gate: Any) -> str:
    if inspect.isfunction(gate) or inspect.ismethod(gate):
        doc = inspect.getdoc(gate)
        return f"lakefs-wap gate {gate.__qualname__}" + (f": {doc.splitlines()[0]}" if doc else "")
    return f"lakefs-wap gate {gate!r}"  # the built-in gates show their settings


def gate_check_specs(gates: Sequence[Any], asset_key: AssetKey) -> list[AssetCheckSpec]:
    """One blocking check of ``asset_key`` per gate: any failing gate blocks the publish."""
    names = [check_name(gate) for gate in gates]
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in seen:
            raise BadInputError(
                f"lakefs_publish '{asset_key.to_user_string()}': gates {seen[name] + 1} and {index + 1} would both "
                f"be the asset check '{name}', and check names must be unique per asset. Give one of them "
                f"another name: name=... for a built-in gate (e.g. TableRowCount(name='curated_rows')), "
                "a differently named function for your own."
            )
        seen[name] = index
    return [
        AssetCheckSpec(name, asset=asset_key, blocking=True, description=_description(gate))
        for name, gate in zip(names, gates, strict=True)
    ]


def _metric_value(value: Any) -> Any:
    if isinstance(value, bool):
        return MetadataValue.bool(value)
    if isinstance(value, int):
        return MetadataValue.int(value)
    if isinstance(value, float):
        return MetadataValue.float(value)
    return MetadataValue.text(str(value))


def _details_value(details: Mapping[str, Any]) -> Any:
    try:
        text = json.dumps(dict(details), default=str, sort_keys=True)
    except (TypeError, ValueError):
        return None
    if len(text) > DETAILS_MAX_CHARS:
        return None
    return MetadataValue.json(json.loads(text))


def check_result(
    spec: AssetCheckSpec,
    passed: bool,
    message: str,
    *,
    metrics: Mapping[str, Any],
    details: Mapping[str, Any] | None,
    judged: Mapping[str, str],
) -> AssetCheckResult:
    metadata: dict[str, Any] = {"lakefs/message": MetadataValue.text(message)}
    metadata.update({key: MetadataValue.text(value) for key, value in judged.items() if value})
    metadata.update({f"lakefs/metric/{name}": _metric_value(value) for name, value in metrics.items()})
    if details:
        value = _details_value(details)
        if value is not None:
            metadata["lakefs/details"] = value
    return AssetCheckResult(
        asset_key=spec.asset_key,
        check_name=spec.name,
        passed=passed,
        description=message or None,
        metadata=metadata,
    )


def results_of_report(specs: Sequence[AssetCheckSpec], report: GateReport) -> list[AssetCheckResult]:
    """One result per spec, from the report of a gate run (results in the order of the gates)."""
    judged = {"lakefs/gated_commit": report.run_ref, "lakefs/base_commit": report.base_ref}
    return [
        check_result(spec, result.passed, result.message, metrics=result.metrics, details=result.details, judged=judged)
        for spec, result in zip(specs, report.results, strict=True)
    ]


def results_of_recorded_verdict(
    specs: Sequence[AssetCheckSpec], metadata: Mapping[str, str], *, gated_commit: str
) -> list[AssetCheckResult] | None:
    """The results recorded in a publish's metadata (its ``Verdict``), or None if it
    holds no verdict for exactly these gates (say the gates changed since)."""
    verdict = Verdict.from_metadata(metadata)
    if verdict is None or len(verdict.gates) != len(specs):
        return None
    judged = {"lakefs/gated_commit": gated_commit}
    results = []
    for spec, gate in zip(specs, verdict.gates, strict=True):
        if _NOT_IN_NAMES.sub("_", gate.name) != spec.name:
            return None
        results.append(
            check_result(spec, gate.passed, gate.message, metrics=dict(gate.metrics), details=None, judged=judged)
        )
    return results


__all__ = ["check_name", "gate_check_specs", "results_of_recorded_verdict", "results_of_report"]
