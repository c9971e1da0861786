"""The reports' automated steps as Prefect tasks; each records through its decisions
(``kefu.processes.report.decisions``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from kefu import runtime
from kefu.core.texts import run_page
from kefu.executor import orchestration
from kefu.processes.report import decisions as reports
from kefu.processes.report import digest, documents, feedback, ledger, satisfaction
from kefu.processes.report.morning import markdown as morning_markdown
from kefu.processes.report.statistics import Period, compile_statistics
from kefu.settings import get_settings
from models.case import CaseState
from models.report import SIGN_OFF, WORK_LOG, report_of
from tasks import step


@step(name="open-complaint-statistics")
def open_complaint_statistics(first: date, last: date) -> CaseState:
    """Open the period's 《顾客投诉分类统计表》 case (one per period) and start its run."""
    state = reports.open_statistics(runtime.store(), runtime.rules(), Period(first, last))
    if state.flow_run_id is None:
        orchestration.start_run(state)
    return state


# Reading a million archived complaints takes seconds, not the minute of a step.
@step(name="compile-report", timeout_seconds=600)
def compile_report(case_id: str) -> CaseState:
    """Compile the period's figures from the record, write the files and mail them to the roles
    report.yaml names (in the transaction that records what was compiled)."""
    store, settings = runtime.store(), get_settings()
    state = store.state(case_id)
    return reports.compile_report(store, runtime.rules(), case_id, settings.resolved_reports_dir / case_id,
                                  run_url=run_page(settings.dashboard_url, state.flow_run_id))


def report_markdown(case: CaseState) -> str:
    """The compiled report as Markdown, from the figures on its record (the dashboard's artifact)."""
    rules, report = runtime.rules(), report_of(case)
    if report.report == WORK_LOG:
        return reports.work_log_markdown(rules, case)
    return documents.markdown(rules, reports.statistics_from(report.figures or {}), case.decision(SIGN_OFF))  # type: ignore[arg-type]


@step(name="open-work-logs")
def open_work_logs(cadence: str, first: date, last: date) -> list[str]:
    """Open each agent's work log of the period (one per agent and period) and start their runs."""
    opened = reports.open_work_logs(runtime.store(), runtime.rules(), cadence, Period(first, last))
    for state in opened:
        if state.flow_run_id is None:
            orchestration.start_run(state)
    return [state.case_id for state in opened]


@step(name="compile-complaint-statistics", timeout_seconds=600)
def compile_complaint_statistics(first: date, last: date, out: str) -> dict[str, Any]:
    """《顾客投诉分类统计表》 for any period, without a case (``kefu report complaints --artifact``)."""
    rules = runtime.rules()
    stats = compile_statistics(runtime.store(), rules, Period(first, last))
    files = documents.write(rules, stats, Path(out))
    return {"text": documents.markdown(rules, stats), "figures": stats.figures(),
            "files": {k: str(v) for k, v in files.items()}}


@step(name="send-morning-screen")
def send_morning_screen(day: date) -> str:
    """The day's stand-up agenda, mailed to the supervisors (once a day each); returns its Markdown."""
    rules = runtime.rules()
    screen = reports.send_morning_screen(runtime.store(), rules, day, run_url=get_settings().dashboard_url)
    return morning_markdown(rules, screen)


@step(name="send-daily-digest", timeout_seconds=300)
def send_daily_digest(day: date) -> str:
    """The day's complaints, suggestions and what is left over, written to the reports folder and
    mailed to the store manager (once a day each); returns its Markdown."""
    rules, settings = runtime.rules(), get_settings()
    compiled, _ = reports.send_daily_digest(runtime.store(), rules, day, settings.resolved_reports_dir / "daily",
                                            run_url=settings.dashboard_url)
    return digest.markdown(rules, compiled)


@step(name="send-order-ledger", timeout_seconds=300)
def send_order_ledger(day: date) -> str:
    """The day's order ledger, written to the reports folder and mailed to the roles report.yaml
    names (once a day each); returns its Markdown."""
    rules, settings = runtime.rules(), get_settings()
    compiled, _ = reports.send_order_ledger(runtime.store(), rules, day, settings.resolved_reports_dir / "daily",
                                            run_url=settings.dashboard_url)
    return ledger.markdown(rules, compiled)


@step(name="send-satisfaction-analysis", timeout_seconds=300)
def send_satisfaction_analysis(first: date, last: date) -> str:
    """The period's satisfaction analysis, written to the reports folder with its chart and mailed
    to the general manager and the manager (once a period each); returns its Markdown."""
    rules, settings = runtime.rules(), get_settings()
    compiled, _ = reports.send_satisfaction_analysis(runtime.store(), rules, Period(first, last),
                                                     settings.resolved_reports_dir / "monthly",
                                                     run_url=settings.dashboard_url)
    return satisfaction.markdown(rules, compiled)


@step(name="send-monthly-feedback", timeout_seconds=300)
def send_monthly_feedback(first: date, last: date) -> str:
    """The period's feedback, written to the reports folder and mailed to the manager and the
    departments concerned (once a period each); returns its Markdown."""
    rules, settings = runtime.rules(), get_settings()
    compiled, _ = reports.send_monthly_feedback(runtime.store(), rules, Period(first, last),
                                                settings.resolved_reports_dir / "monthly", run_url=settings.dashboard_url)
    return feedback.markdown(rules, compiled)
