"""Audit replay 审计复核 (issue 6): the cases closed in a period, replayed under the rules in force
at the time, cross-checked with Prefect's own record, and the report as an artifact on the run."""

# No ``from __future__ import annotations`` here: Prefect builds the parameters' model from the
# real annotations (``date``), which a string annotation leaves undefined in its namespace.
from datetime import date

from prefect import flow

from kefu import runtime
from kefu.core import clock
from tasks.audit import cross_check_flow_runs, publish_audit_report, replay_closed_cases


@flow(name="audit-replay", log_prints=True)
async def audit_replay(date_from: date | None = None, date_to: date | None = None) -> dict:
    """Replay the period's closed cases (default: today in the department's zone) and report."""
    today = clock.now().astimezone(runtime.rules().department.department.zone).date()
    # 1. Replay: every rule-derived decision recomputed with the recorded rules version.
    report = replay_closed_cases(date_from or today, date_to or date_from or today)
    # 2. Prefect's record of the same cases' runs, where retention has kept it.
    report = cross_check_flow_runs(report)
    # 3. The verdicts, where the auditor opens the run.
    publish_audit_report(report)
    summary = report.summary()
    print(f"{summary['cases']} cases replayed: {summary['consistent']} consistent, {summary['divergent']} divergent, "
          f"{summary['tampered']} tampered; {report.prefect_note}")
    return summary
