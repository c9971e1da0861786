"""P8 Reports and supervision 报表与督导 — one flow run per report a person signs off or writes up
(PROCESSES.md P8; seed 002 §4 (7) 总结评价: 由客服主管填写《顾客投诉分类统计表》，并做数据分析统计，提出
改善对策, paraphrase; 第五條 (4) 負責做好工作日志、周報、月報).

1. kefu compiles the period's figures from the record, writes the workbook (and the chart) and the
   Markdown, and mails them — the statistics to the roles report.yaml names, a work log to its
   agent — one transaction with the record of what it compiled, so a retried run never mails twice.
2. The report appears in the dashboard as an artifact (the run's, and the latest under its key).
3. A person completes it before the deadline of sla.yaml (the form, with the report above it): the
   supervisor analyses the statistics and proposes measures; the agent writes up their own work
   log, which then goes to the supervisors. An unfinished report climbs the ladder.
4. The completed report replaces it in the dashboard.
The run is safe to start again at any moment: each step asks the report's record first.
"""

# No ``from __future__ import annotations`` here: Prefect builds the parameters' model from the
# real annotations (``date``), which a string annotation leaves undefined in its namespace.
from datetime import date, timedelta
from typing import Any

from prefect import flow
from prefect.artifacts import acreate_markdown_artifact, create_markdown_artifact

from flows.visibility import case_finished
from flows.waiting import decision_of, read_case
from kefu import runtime
from kefu.core import clock
from kefu.processes.report.statistics import Period, month_before, month_of, week_before
from models.report import AWAITS, OUTCOMES, report_of
from tasks.report import (
    compile_complaint_statistics,
    compile_report,
    open_complaint_statistics,
    open_work_logs,
    report_markdown,
    send_daily_digest,
    send_monthly_feedback,
    send_morning_screen,
    send_order_ledger,
    send_satisfaction_analysis,
)


def _artifact_key(case_id: str) -> str:
    return "report-" + case_id.lower()  # artifact keys: lowercase letters, digits and dashes


@flow(name="report", log_prints=True, on_completion=[case_finished])
async def report(case_id: str) -> str:
    """Compile one report, publish it, and wait for the person who completes it."""
    case = read_case(case_id)
    kind = report_of(case).report
    # A suspended run resumes from the top: once the person has completed the report (which closes
    # it), only its last step is left.
    if case.status != "closed":
        # 1. Compiled from the record and mailed (once).
        if report_of(case).figures is None:
            case = compile_report(case_id)
        # 2. In the dashboard, where ops look.
        await acreate_markdown_artifact(key=_artifact_key(case_id), markdown=report_markdown(case),
                                       description=f"{case.intake['name']} ({case_id})")
        # 3. The supervisor's analysis and measures, or the agent's own part of their work log.
        await decision_of(case_id, AWAITS[kind])
        case = read_case(case_id)
    # 4. The report as completed, in the dashboard.
    await acreate_markdown_artifact(key=_artifact_key(case_id), markdown=report_markdown(case),
                                   description=f"{case.intake['name']} ({case_id}), {OUTCOMES[kind].replace('_', ' ')}")
    return OUTCOMES[kind]


@flow(name="complaint-statistics", log_prints=True)
def complaint_statistics() -> str:
    """On schedule: open 《顾客投诉分类统计表》 for the period just ended (report.yaml)."""
    rules = runtime.rules()
    today = clock.now().astimezone(rules.department.department.zone).date()
    period = (month_before if rules.report.complaint_statistics.period == "month" else week_before)(today)
    return open_complaint_statistics(period.first, period.last).case_id


@flow(name="complaint-statistics-now", log_prints=True)
def complaint_statistics_now(first: date, last: date, out: str) -> dict[str, Any]:
    """《顾客投诉分类统计表》 for any period, at once, without a sign-off: the files, and the report as a
    dashboard artifact (``kefu report complaints --artifact``)."""
    report = compile_complaint_statistics(first, last, out)
    create_markdown_artifact(key="complaint-statistics", markdown=report["text"],
                             description=f"顾客投诉分类统计表 Complaint statistics {first} – {last}")
    return report


def _today() -> date:
    return clock.now().astimezone(runtime.rules().department.department.zone).date()


def _month(month: str | None) -> Period:
    """``YYYY-MM``, or by default the calendar month before today (a monthly schedule's run)."""
    return month_of(month) if month else month_before(_today())


@flow(name="morning-screen", log_prints=True)
def morning_screen(day: date | None = None) -> str:
    """Every morning: the supervisor's stand-up agenda (report.yaml morning), mailed and in the dashboard."""
    day = day or _today()
    agenda = send_morning_screen(day)
    create_markdown_artifact(key="morning-screen", markdown=agenda, description=f"晨会议程 Morning stand-up {day}")
    return agenda


@flow(name="daily-digest", log_prints=True)
def daily_digest(day: date | None = None) -> str:
    """Every evening: the day's complaints and suggestions for the store manager (report.yaml
    daily_digest), mailed with its workbook and in the dashboard."""
    day = day or _today()
    text = send_daily_digest(day)
    create_markdown_artifact(key="daily-digest", markdown=text, description=f"每日投诉意见汇总 Daily digest {day}")
    return text


@flow(name="order-ledger", log_prints=True)
def order_ledger(day: date | None = None) -> str:
    """Every evening: the day's order ledger 每日台账明细 (report.yaml order_ledger), mailed with its
    workbook and in the dashboard."""
    day = day or _today()
    text = send_order_ledger(day)
    create_markdown_artifact(key="order-ledger", markdown=text, description=f"每日台账明细 Order ledger {day}")
    return text


@flow(name="satisfaction-analysis", log_prints=True)
def satisfaction_analysis(month: str | None = None) -> str:
    """Once a month: the satisfaction analysis of ``month`` (YYYY-MM; by default the month before
    today) for the general manager (report.yaml satisfaction), mailed with its chart and workbook
    and in the dashboard."""
    period = _month(month)
    text = send_satisfaction_analysis(period.first, period.last)
    create_markdown_artifact(key="satisfaction-analysis", markdown=text,
                             description=f"满意度调查分析报告 Satisfaction analysis {period.first} – {period.last}")
    return text


@flow(name="monthly-feedback", log_prints=True)
def monthly_feedback(month: str | None = None) -> str:
    """Once a month: the feedback of ``month`` (YYYY-MM; by default the month before today) to the
    manager and the departments concerned (report.yaml feedback), mailed and in the dashboard."""
    period = _month(month)
    text = send_monthly_feedback(period.first, period.last)
    create_markdown_artifact(key="monthly-feedback", markdown=text,
                             description=f"每月信息反馈 Monthly feedback {period.first} – {period.last}")
    return text


@flow(name="weekly-work-logs", log_prints=True)
def weekly_work_logs(first: date | None = None) -> list[str]:
    """Every Monday: each agent's work log of the week before (or of the week from ``first``), one
    report case each, for them to write up (report.yaml work_log)."""
    period = week_before(_today()) if first is None else Period(first, first + timedelta(days=6))
    return open_work_logs("week", period.first, period.last)


@flow(name="monthly-work-logs", log_prints=True)
def monthly_work_logs(month: str | None = None) -> list[str]:
    """On the 1st: each agent's work log of ``month`` (YYYY-MM; by default the month before today),
    one report case each, for them to write up (report.yaml work_log)."""
    period = _month(month)
    return open_work_logs("month", period.first, period.last)
