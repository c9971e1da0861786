"""The auditor's replay as Prefect tasks (flows/audit.py); each reads, none writes a case."""

from __future__ import annotations

from datetime import date

from prefect.artifacts import create_markdown_artifact

from kefu import runtime
from kefu.audit import report as reporting
from kefu.executor import prefect_check
from tasks import step


@step(name="replay-closed-cases", timeout_seconds=3600)
def replay_closed_cases(date_from: date, date_to: date) -> reporting.Report:
    """Replay the cases closed in the period under the rules recorded on their events."""
    return reporting.build(runtime.store().engine, runtime.rules(), date_from, date_to)


@step(name="cross-check-flow-runs", timeout_seconds=600)
def cross_check_flow_runs(report: reporting.Report) -> reporting.Report:
    """Compare each case with Prefect's record of its flow runs (states, task runs)."""
    report.prefect_note = prefect_check.cross_check(report.results)
    report.cases = [reporting.case_view(runtime.rules(), r, c["timeline"]) for r, c in zip(report.results, report.cases)]
    return report


@step(name="publish-audit-report")
def publish_audit_report(report: reporting.Report) -> str:
    """The report as a markdown artifact on this run (key audit-replay)."""
    markdown, _html = reporting.render(runtime.rules(), report)
    return str(create_markdown_artifact(key="audit-replay", markdown=markdown,
                                        description=f"Audit replay {report.period[0]} – {report.period[1]}"))
