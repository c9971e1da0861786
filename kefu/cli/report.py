"""``kefu report …`` (P8 报表与督导): 《顾客投诉分类统计表》 for any period, the period's report
case to sign off, and the sign-off; the daily registers (morning screen, digest, order ledger), the
monthly analyses, an agent's work log and its write-up (``kefu report callbacks`` lives with the
callbacks)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Optional

import typer

from kefu import runtime
from kefu.cli.case import case_json, decide
from kefu.cli.support import BadInput, ByOpt, JsonOpt, caller, command, emit, parse_day, written
from kefu.executor import service
from kefu.processes.report import decisions as reports
from kefu.processes.report import documents
from kefu.processes.report.statistics import Period, compile_statistics, month_before, month_of
from kefu.settings import get_settings
from models.report import SIGN_OFF, WRITE_UP

report_app = typer.Typer(no_args_is_help=True, help="Reports 报表: complaint statistics, registers, work logs, sign-offs.")

FromOpt = typer.Option(..., "--from", help="First day (YYYY-MM-DD, the department's zone).")
ToOpt = typer.Option(..., "--to", help="Last day, inclusive.")


def _period(start: str, end: str) -> Period:
    first, last = parse_day(start, "from"), parse_day(end, "to")
    if last < first:
        raise BadInput("to", f"{end} is before --from {start}", "give a --to on or after --from")
    return Period(first, last)


@report_app.command("complaints")
@command
def report_complaints(
    start: str = FromOpt, end: str = ToOpt,
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for the XLSX (with its chart), Markdown and PNG files."),
    artifact: bool = typer.Option(False, "--artifact", help="Also publish it in the Prefect dashboard (needs `kefu up`)."),
    as_json: bool = JsonOpt,
) -> None:
    """《顾客投诉分类统计表》 for a period: counts by kind, severity, category, channel and responsible
    department, upheld or not, steps on time and late, handling times, repeats, callbacks' satisfaction,
    the reviews' measures, and the trend against the period before (archived complaints included)."""
    period, rules = _period(start, end), runtime.rules()
    if artifact:  # the flow writes the files and publishes the same report in the dashboard
        from flows.report import complaint_statistics_now

        folder = out or get_settings().resolved_reports_dir / f"{period.first}-{period.last}"
        published = complaint_statistics_now(period.first, period.last, str(folder.resolve()))
        figures, text, files = published["figures"], published["text"], published["files"]
    else:
        stats = compile_statistics(runtime.store(), rules, period)
        figures, text = stats.figures(), documents.markdown(rules, stats)
        files = written("out", out, lambda: documents.write(rules, stats, out)) if out else {}
    emit(as_json, {**figures, "files": files},
         text + ("\n\n" + "\n".join(f"{k}: {v}" for k, v in files.items()) if files else ""))


def _day(on: str | None) -> date:
    from kefu.core import clock

    return parse_day(on, "on") if on else clock.now().astimezone(runtime.rules().department.department.zone).date()


OnOpt = typer.Option(None, "--on", help="The day (YYYY-MM-DD; default: today in the department's zone).")
OutOpt = typer.Option(None, "--out", help="Also write its Markdown and XLSX files to this folder.")


@report_app.command("morning")
@command
def report_morning(on: Optional[str] = OnOpt, as_json: bool = JsonOpt) -> None:
    """The supervisor's morning screen 晨会议程 (what the 07:45 schedule mails): yesterday's work, what is
    open by step, the missed deadlines, what falls due today, orders at risk, who is away."""
    from kefu.processes.report import morning

    rules = runtime.rules()
    screen = morning.morning_screen(runtime.store(), rules, _day(on), rules.report.morning.oldest)
    emit(as_json, screen.figures(), morning.markdown(rules, screen))


def _register(as_json: bool, figures: dict, text: str, out: Optional[Path], stem: str, sheets: list,
              chart: Optional[bytes] = None) -> None:
    from kefu.processes.report.registers import write_register

    files = written("out", out, lambda: write_register(out, stem, text, sheets, chart)) if out else {}
    emit(as_json, {**figures, "files": files},
         text + ("\n\n" + "\n".join(f"{k}: {v}" for k, v in files.items()) if files else ""))


@report_app.command("digest")
@command
def report_digest(on: Optional[str] = OnOpt, out: Optional[Path] = OutOpt, as_json: bool = JsonOpt) -> None:
    """The daily digest 每日顾客投诉意见汇总 for the store manager (what the 17:30 schedule mails): the
    day's complaints, suggestions and questions, what customers said on callbacks, what closed, and the
    complaints left over."""
    from kefu.processes.report import digest

    rules, day = runtime.rules(), _day(on)
    compiled = digest.daily_digest(runtime.store(), rules, day, rules.report.daily_digest.left_over)
    _register(as_json, compiled.figures(), digest.markdown(rules, compiled), out, f"daily-digest-{day}",
              digest.sheets(rules, compiled))


@report_app.command("ledger")
@command
def report_ledger(on: Optional[str] = OnOpt, out: Optional[Path] = OutOpt, as_json: bool = JsonOpt) -> None:
    """The daily order ledger 每日台账明细 (what the 17:45 schedule mails): every order worked on that day,
    what was done to it and when, where it stands, the totals and each agent's part."""
    from kefu.processes.report import ledger

    rules, day = runtime.rules(), _day(on)
    compiled = ledger.order_ledger(runtime.store(), rules, day)
    _register(as_json, compiled.figures(), ledger.markdown(rules, compiled), out, f"order-ledger-{day}",
              ledger.sheets(rules, compiled))


def _month(text: str | None) -> Period:
    from kefu.core import clock

    if text is None:
        return month_before(clock.now().astimezone(runtime.rules().department.department.zone).date())
    try:
        return month_of(text)
    except ValueError:
        raise BadInput("month", f"{text!r} is not a month", "give it as YYYY-MM, e.g. 2026-11") from None


@report_app.command("satisfaction")
@command
def report_satisfaction(
    month: Optional[str] = typer.Option(None, "--month", help="The month (YYYY-MM; default: the month before this one)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write its Markdown, XLSX and chart (PNG) to this folder."),
    as_json: bool = JsonOpt,
) -> None:
    """The satisfaction analysis 满意度调查分析报告 of a month (what the monthly schedule mails to the
    general manager): how customers answered their callbacks, by reason, complaint category and
    caller, against the month before; what the less than satisfied said; the quality problems."""
    from kefu.processes.report import satisfaction

    rules, period = runtime.rules(), _month(month)
    compiled = satisfaction.satisfaction_analysis(runtime.store(), rules, period)
    _register(as_json, compiled.figures(), satisfaction.markdown(rules, compiled), out,
              f"satisfaction-{period.first}-{period.last}", satisfaction.sheets(rules, compiled),
              satisfaction.chart_png(rules, compiled) if out else None)


@report_app.command("feedback")
@command
def report_feedback(
    month: Optional[str] = typer.Option(None, "--month", help="The month (YYYY-MM; default: the month before this one)."),
    out: Optional[Path] = OutOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The monthly feedback 每月信息反馈 (what the monthly schedule mails to the manager and the
    departments concerned): the month's upheld complaints by responsible department with their
    causes and measures, the customers' suggestions, what they said on callbacks."""
    from kefu.processes.report import feedback

    rules, period = runtime.rules(), _month(month)
    compiled = feedback.monthly_feedback(runtime.store(), rules, period)
    _register(as_json, compiled.figures(), feedback.markdown(rules, compiled), out,
              f"feedback-{period.first}-{period.last}", feedback.sheets(rules, compiled))


@report_app.command("open")
@command
def report_open(start: str = FromOpt, end: str = ToOpt, by: Optional[str] = ByOpt, as_json: bool = JsonOpt) -> None:
    """Open 《顾客投诉分类统计表》 for a period as a report case, as the schedule does each month: kefu
    compiles and mails it, and it waits for the supervisor's sign-off (one case per period)."""
    period, rules = _period(start, end), runtime.rules()
    verified = caller()
    if by is not None and by != verified.staff:
        raise BadInput("by", f"you are signed in as {verified.staff}, not {by}", "open a report as yourself")
    member = rules.staff_member(verified.staff)
    if member is None or member.role not in rules.report.complaint_statistics.sign_off:
        allowed = rules.report.complaint_statistics.sign_off
        raise BadInput("by", f"{verified.staff} may not open a report: it needs one of {', '.join(allowed)} "
                             "(config report.yaml complaint_statistics.sign_off)",
                       f"ask one of {', '.join(s.id for s in rules.department.staff if s.role in allowed)}")
    state = reports.open_statistics(runtime.store(), rules, period)
    note = service.start(state)
    emit(as_json, {**case_json(state), "flow_run": note}, f"{state.case_id}  {state.intake['name']}  (flow run {note})")


@report_app.command("sign-off")
@command
def report_sign_off(
    case_id: str = typer.Argument(..., help="The report case (R-…)."),
    analysis: str = typer.Option(..., "--analysis", help="What the figures show, and why (数据分析)."),
    measure: list[str] = typer.Option([], "--measure", help="An improvement measure (改善对策); repeat for more."),
    by: Optional[str] = ByOpt, as_json: bool = JsonOpt,
) -> None:
    """Sign off a report: the supervisor's analysis and proposed measures; the report closes."""
    decide(case_id, SIGN_OFF, {"analysis": analysis, "measures": measure, "by": by}, as_json)


@report_app.command("work-log")
@command
def report_work_log(
    agent: str = typer.Option(..., "--agent", help="Whose work log (a staff id, see `kefu staff`)."),
    week: Optional[str] = typer.Option(None, "--week", help="The week starting on this Monday (YYYY-MM-DD)."),
    month: Optional[str] = typer.Option(None, "--month", help="The month (YYYY-MM) instead of a week."),
    out: Optional[Path] = OutOpt, as_json: bool = JsonOpt,
) -> None:
    """An agent's work log 工作日志 as kefu compiles it (default: the week before this one): every
    contact, call, order and chase they recorded, each day's count, the deadlines missed on their
    cases and what is open with them. The Monday and monthly schedules open it for them to write up."""
    from datetime import timedelta

    from kefu.core import clock
    from kefu.processes.report import work_log
    from kefu.processes.report.statistics import week_before

    rules = runtime.rules()
    if rules.staff_member(agent) is None:
        raise BadInput("agent", f"{agent!r} is not on the staff list", "use an id from `kefu staff`")
    if week is not None and month is not None:
        raise BadInput("week", "give --week or --month, not both", "drop one of them")
    if month is not None:
        cadence, period = "month", _month(month)
    elif week is not None:
        monday = parse_day(week, "week")
        if monday.weekday() != 0:
            raise BadInput("week", f"{week} is a {monday:%A}, not a Monday", "give the Monday the week starts on")
        cadence, period = "week", Period(monday, monday + timedelta(days=6))
    else:
        cadence, period = "week", week_before(clock.now().astimezone(rules.department.department.zone).date())
    if cadence not in rules.report.work_log.cadences:
        raise BadInput(cadence, f"the department keeps no {cadence}ly work log (config report.yaml work_log.cadences)",
                       f"use one of {', '.join('--' + c for c in rules.report.work_log.cadences)}")
    log = work_log.work_log(runtime.store(), rules, agent, cadence, period)
    _register(as_json, log.figures(rules.report.work_log.listed), work_log.markdown(rules, log), out,
              f"work-log-{agent}-{period.first}-{period.last}", work_log.sheets(rules, log))


@report_app.command("write-up")
@command
def report_write_up(
    case_id: str = typer.Argument(..., help="Your work log case (R-…)."),
    summary: str = typer.Option(..., "--summary", help="What the period was like (工作总结)."),
    special: list[str] = typer.Option([], "--special", help="A special customer situation (特殊客户状况); repeat for more."),
    plans: str = typer.Option("", "--plans", help="Your plan for the next period (下期计划)."),
    by: Optional[str] = ByOpt, as_json: bool = JsonOpt,
) -> None:
    """Write up your work log: your summary, the special customer situations and your plan; it goes
    to the supervisors and closes."""
    decide(case_id, WRITE_UP, {"summary": summary, "special": special, "plans": plans, "by": by}, as_json)
