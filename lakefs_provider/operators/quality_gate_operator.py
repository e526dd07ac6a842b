from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lakefs_provider.links.lakefs_link import LakeFSLink
from lakefs_provider.operators._base import LakeFSBaseOperator
from lakefs_provider.version_compat import AirflowFailException
from lakefs_wap import GateContext, NotFoundError, RunBranch, operations, run_gates
from lakefs_wap.gates import Gate, GateReport, validate_gates

REPORT_KEY = "gate_report"


class LakeFSQualityGateOperator(LakeFSBaseOperator):
    """Run lakefs-wap quality gates against ``ref`` and fail the task if any gate fails.

    ``gates`` are built-in gates (``lakefs_wap.TableRowCount(...)`` ...) or any
    callables taking a ``GateContext``. Every gate runs; a failure fails the
    task at once, without retries (the data will not improve by retrying),
    with every failed gate and its message in the log.

    When ``ref`` is a branch, the report is recorded on it as an empty commit
    (``lakefs_wap.gates`` metadata) and gates compare with the commit the
    branch forked from ``source_branch`` (or with ``base_ref``). For a commit
    or tag, ``base_ref`` is required and nothing is recorded.

    Returns (XCom) the report as a dict; it is also pushed under the key
    ``gate_report`` before a failure, for downstream tasks and callbacks.
    ``run_id`` names the run in the recorded report (the branch name if not given).
    """

    template_fields: Sequence[str] = ("repo", "ref", "base_ref", "source_branch", "run_id", "lakefs_conn_id")
    operator_extra_links = (LakeFSLink(),)

    def __init__(
        self,
        *,
        repo: str,
        ref: str,
        gates: Sequence[Gate],
        base_ref: str | None = None,
        source_branch: str = "main",
        run_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.repo = repo
        self.ref = ref
        self.gates = validate_gates(gates)
        self.base_ref = base_ref
        self.source_branch = source_branch
        self.run_id = run_id
        self.report: GateReport | None = None

    def execute(self, context: Any) -> dict[str, Any]:
        connection = self.connection
        try:
            operations.branch_head(connection, self.repo, self.ref)
            is_branch = True
        except NotFoundError:
            is_branch = False
        if is_branch:
            run = RunBranch(
                connection, self.repo, self.run_id or self.ref, branch=self.ref, source_branch=self.source_branch
            )
            report = run.gate(self.gates, base_ref=self.base_ref or None, raise_on_failure=False)
        else:
            if not self.base_ref:
                raise AirflowFailException(
                    f"'{self.ref}' is not a branch of '{self.repo}': give base_ref= to compare it with."
                )
            run_ref = operations.get_commit(connection, self.repo, self.ref).id
            report = run_gates(GateContext(connection, self.repo, run_ref, self.base_ref), self.gates)
        self.report = report
        for line in report.summary().splitlines():
            self.log.info("%s", line)
        result = report.as_dict()
        context["ti"].xcom_push(key=REPORT_KEY, value=result)
        if is_branch:
            self.link_to_branch(context, self.repo, self.ref)
        if not report.passed:
            failed = "; ".join(f"{r.name}: {r.message}" for r in report.failed)
            raise AirflowFailException(
                f"{len(report.failed)} of {len(report.results)} quality gate(s) failed on '{self.ref}' "
                f"in '{self.repo}': {failed}"
            )
        return result

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """For the OpenLineage provider: the data judged, at the commit judged, with each gate's verdict."""
        from lakefs_provider import openlineage as ol

        if self.report is None:
            return ol.operator_lineage()
        judged = ol.input_dataset(
            self.connection.settings.endpoint,
            self.repo,
            self.ref,
            version=self.report.run_ref,
            gates=self.report.results,
        )
        return ol.operator_lineage(inputs=[judged])

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """A failed gate is the lineage worth having most: the same datasets, with the failing verdicts."""
        return self.get_openlineage_facets_on_complete(task_instance)
