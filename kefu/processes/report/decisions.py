"""The reports' decisions (PROCESSES.md P8): open a period's report, compile it from the record and
mail it, record the supervisor's sign-off. No Prefect here; the flow's tasks call these."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from kefu.core import casework, clock
from kefu.core.assignment import least_loaded
from kefu.core.casework import SYSTEM
from kefu.core.refusals import FIELD_FIXES as SHARED_FIXES
from kefu.core.refusals import InputRefused, unknown_staff
from kefu.core.rules import Rules, StaffMember
from kefu.core.store import CaseStore, NewEvent
from kefu.core.texts import local_time
from kefu.processes.report import digest, documents, feedback, ledger, registers, satisfaction, work_log
from kefu.processes.report.digest import DailyDigest
from kefu.processes.report.feedback import MonthlyFeedback
from kefu.processes.report.ledger import OrderLedger
from kefu.processes.report.morning import MorningScreen, morning_screen
from kefu.processes.report.morning import markdown as morning_markdown
from kefu.processes.report.satisfaction import SatisfactionAnalysis
from kefu.processes.report.statistics import ComplaintStatistics, Period, compile_statistics
from models.case import CaseState, EventType
from models.records import CaseEvent
from models.report import (
    AWAITS,
    COMPILED,
    COMPLAINT_STATISTICS,
    OPENED,
    PROCESS,
    SIGN_OFF,
    SIGNED_OFF,
    SIGNED_OFF_OUTCOME,
    WORK_LOG,
    WRITE_UP,
    WRITTEN_UP,
    WRITTEN_UP_OUTCOME,
    SignOffInput,
    WriteUpInput,
    report_of,
)

FIELD_FIXES = {**SHARED_FIXES, "analysis": "write what the figures show and why",
               "period": "give --from and --to as YYYY-MM-DD, --to on or after --from"}
COMMANDS = {SIGN_OFF: "kefu report sign-off", WRITE_UP: "kefu report write-up"}
TITLE = "《顾客投诉分类统计表》 {first} – {last}"
WORK_LOG_TITLE = "工作日志 {cadence} · {name} {first} – {last}"

step_deadlines = casework.step_deadlines((SIGN_OFF, WRITE_UP))


def record(store: CaseStore, rules: Rules, case_id: str, decide: Any, also: Any = None) -> CaseState:
    return casework.record(store, rules, case_id, decide, also, follow=step_deadlines)


def find_report(store: CaseStore, key: str) -> str | None:
    """The report case opened for ``key`` (``statistics:2026-11-01:2026-11-30``), if any."""
    with Session(store.engine) as session:
        return session.execute(sa.select(CaseEvent.case_id).where(
            CaseEvent.type == OPENED, CaseEvent.payload["key"].as_string() == key).limit(1)).scalar()


def owner_for(store: CaseStore, rules: Rules) -> str | None:
    """Who owns a new report: of the staff in the first role that signs off (the supervisors), the
    one with the fewest open reports."""
    role = rules.report.complaint_statistics.sign_off[0]
    staff = [s.id for s in rules.department.staff if s.role == role and s.active]
    return least_loaded(staff, store.open_cases_by_owner(PROCESS)) if staff else None


def open_statistics(store: CaseStore, rules: Rules, period: Period) -> CaseState:
    """The report case of 《顾客投诉分类统计表》 for ``period``: one per period, however often asked."""
    key = f"{COMPLAINT_STATISTICS}:{period.first.isoformat()}:{period.last.isoformat()}"
    existing = find_report(store, key)
    if existing is not None:
        return store.state(existing)
    now = clock.now()
    title = TITLE.format(first=period.first.isoformat(), last=period.last.isoformat())
    opened = NewEvent(OPENED, SYSTEM, now, {
        "report": COMPLAINT_STATISTICS, "key": key, "title": title, "period_from": period.first.isoformat(),
        "period_to": period.last.isoformat(), "owner": owner_for(store, rules)})
    day = now.astimezone(rules.department.department.zone).strftime("%Y%m%d")
    return store.create(rules.report.case_id_prefix, day, PROCESS, title, [opened], rules.version)


def period_of(state: CaseState) -> Period:
    report = report_of(state)
    return Period(report.period_from, report.period_to)


def compile_report(store: CaseStore, rules: Rules, case_id: str, out: Path, run_url: str | None = None
                   ) -> CaseState:
    """Compile the report from the record, write its files to ``out`` and mail them (the
    statistics to the roles report.yaml names, a work log to its agent), in the transaction that
    records what was compiled; again, nothing more (the files of the first compilation stand)."""
    state = store.state(case_id)
    report = report_of(state)
    if report.figures is not None:
        return state
    if report.report == WORK_LOG:
        return _compile_work_log(store, rules, state, out, run_url)
    return _compile_statistics(store, rules, state, out, run_url)


def _record_compiled(store: CaseStore, rules: Rules, case_id: str, figures: dict[str, Any], files: dict[str, Path],
                     recipients: list[StaffMember], send: Any) -> CaseState:
    """The compilation on the record, with ``send(session, compiled)`` queueing its e-mails in the
    same transaction: a retried step neither records nor mails twice."""

    def decide(current: CaseState) -> list[NewEvent]:
        if report_of(current).figures is not None:
            return []
        return [NewEvent(COMPILED, SYSTEM, clock.now(), {
            "figures": figures, "files": [path.name for path in files.values()],
            "recipients": [s.id for s in recipients]}, idem_key="compiled")]

    return record(store, rules, case_id, decide, also=send)


def _due_local(rules: Rules, compiled: CaseState) -> str:
    deadline = compiled.deadline(compiled.step, 1) if compiled.step else None
    return local_time(rules, deadline.due_at) if deadline else "-"


def _compile_statistics(store: CaseStore, rules: Rules, state: CaseState, out: Path, run_url: str | None
                        ) -> CaseState:
    from kefu.escalation import mail

    case_id = state.case_id
    stats = compile_statistics(store, rules, period_of(state))
    files = documents.write(rules, stats, out)
    settings = rules.report.complaint_statistics
    recipients = [s for s in rules.department.staff if s.role in settings.recipients and s.active]

    def send(session: Session, compiled: CaseState) -> None:
        chart = files["chart"].read_bytes()
        attachments = [mail.Attachment(files["chart"].name, "image/png", chart, cid="chart"),
                       mail.Attachment(files["xlsx"].name, registers.XLSX, files["xlsx"].read_bytes())]
        for member in recipients:
            subject, text, html = mail.render_message(
                rules.directory, settings.templates.mail, recipient=member.model_dump(), s=stats, case_id=case_id,
                tables=documents.tables(rules, stats), chart_cid="chart", command=f"{COMMANDS[SIGN_OFF]} {case_id}",
                due_local=_due_local(rules, compiled), run_url=run_url,
                department_name=rules.department.department.name,
                department_name_en=rules.department.department.name_en)
            mail.enqueue(session, key=f"report:{case_id}:{member.id}", to=[member.email], subject=subject,
                         text=text, html=html, attachments=attachments)

    return _record_compiled(store, rules, case_id, stats.figures(), files, recipients, send)


def _compile_work_log(store: CaseStore, rules: Rules, state: CaseState, out: Path, run_url: str | None
                      ) -> CaseState:
    report, settings = report_of(state), rules.report.work_log
    log = work_log.work_log(store, rules, report.agent or "", report.cadence or "week", period_of(state))
    text = work_log.markdown(rules, log)
    files = registers.write_register(out, f"work-log-{report.agent}-{log.first}-{log.last}", text,
                                     work_log.sheets(rules, log))
    agent = rules.staff_member(report.agent or "")
    recipients = [agent] if agent is not None and agent.active else []

    def send(session: Session, compiled: CaseState) -> None:
        registers.enqueue_register(
            session, rules, f"report:{state.case_id}", [(m.id, m.model_dump()) for m in recipients],
            settings.templates.mail, text, registers.mailed_files(files), w=log, case_id=state.case_id,
            cadence=settings.cadences[log.cadence], command=f"{COMMANDS[WRITE_UP]} {state.case_id}",
            due_local=_due_local(rules, compiled), run_url=run_url)

    return _record_compiled(store, rules, state.case_id, log.figures(settings.listed), files, recipients, send)


def open_work_log(store: CaseStore, rules: Rules, agent: str, cadence: str, period: Period) -> CaseState:
    """``agent``'s work log case for ``period``: one per agent, cadence and period, however often asked."""
    key = f"{WORK_LOG}:{cadence}:{agent}:{period.first.isoformat()}:{period.last.isoformat()}"
    existing = find_report(store, key)
    if existing is not None:
        return store.state(existing)
    now = clock.now()
    title = WORK_LOG_TITLE.format(cadence=rules.report.work_log.cadences[cadence], name=registers.staff_name(
        rules, agent), first=period.first.isoformat(), last=period.last.isoformat())
    opened = NewEvent(OPENED, SYSTEM, now, {
        "report": WORK_LOG, "key": key, "title": title, "period_from": period.first.isoformat(),
        "period_to": period.last.isoformat(), "owner": agent, "agent": agent, "cadence": cadence})
    day = now.astimezone(rules.department.department.zone).strftime("%Y%m%d")
    return store.create(rules.report.case_id_prefix, day, PROCESS, title, [opened], rules.version)


def open_work_logs(store: CaseStore, rules: Rules, cadence: str, period: Period) -> list[CaseState]:
    """The work logs of ``period`` for every active member of the roles report.yaml work_log names."""
    settings = rules.report.work_log
    return [open_work_log(store, rules, member.id, cadence, period) for member in rules.department.staff
            if member.role in settings.roles and member.active]


def work_log_markdown(rules: Rules, state: CaseState) -> str:
    """A work log as compiled (its figures on the record), with the agent's part once written."""
    report = report_of(state)
    if report.figures is None:
        return "（工作日志编制中 being compiled）"
    write_up = state.decision(WRITE_UP)
    if write_up is not None:
        write_up = {**write_up, "at_local": local_time(rules, write_up["at"])}
    return work_log.markdown(rules, work_log.WorkLog.from_figures(report.figures), write_up)


def may_write_up(rules: Rules, state: CaseState, member: StaffMember) -> bool:
    """A work log is written up by its agent, and by nobody for them."""
    return member.id == state.owner


def _completing(rules: Rules, state: CaseState, kind: str, by: str, done: str) -> StaffMember:
    """Who completes a report of ``kind`` waiting at its step (report.AWAITS), once it is compiled
    and not yet ``done``; whether they may is the step's own rule."""
    step = AWAITS[kind]
    if state.process != PROCESS or state.kind != kind:
        raise InputRefused("case_id", f"{state.case_id} is not a {rules.label('kinds', kind)} ({kind}) report",
                           f"{COMMANDS[step]} takes a report waiting at {step} (kefu case list --step {step})")
    if state.status == "closed":
        raise InputRefused("case", f"{state.case_id} is {done} already", "nothing more can be recorded")
    if state.step != step:
        raise InputRefused("step", f"{state.case_id} is still being compiled", "wait until its e-mail has gone out")
    member = rules.staff_member(by)
    if member is None:
        raise unknown_staff(by)
    return member


def record_write_up(store: CaseStore, rules: Rules, case_id: str, data: WriteUpInput) -> CaseState:
    """The agent's summary, special situations and plan; the log, complete, goes to the roles
    report.yaml work_log.recipients names, in the same transaction; the case closes."""
    settings = rules.report.work_log

    def decide(state: CaseState) -> list[NewEvent]:
        member = _completing(rules, state, WORK_LOG, data.by, "written up")
        if not may_write_up(rules, state, member):
            raise InputRefused("by", f"{case_id} is {state.owner}'s work log, not {member.id}'s",
                               f"only {state.owner} writes it up")
        now = clock.now()
        return [NewEvent(WRITTEN_UP, data.by, now, {"summary": data.summary, "special": data.special,
                                                   "plans": data.plans}, idem_key="written-up"),
                NewEvent(EventType.CLOSED, SYSTEM, now, {"outcome": WRITTEN_UP_OUTCOME}, idem_key="closed")]

    def send(session: Session, written: CaseState) -> None:
        figures = report_of(written).figures or {}
        log = work_log.WorkLog.from_figures(figures)
        members = [s for s in rules.department.staff if s.role in settings.recipients and s.active]
        registers.enqueue_register(
            session, rules, f"report:{case_id}:written", [(m.id, m.model_dump()) for m in members],
            settings.templates.written, work_log_markdown(rules, written), [], w=log, case_id=case_id,
            cadence=settings.cadences[log.cadence], run_url=None)

    return record(store, rules, case_id, decide, also=send)


def may_sign_off(rules: Rules, state: CaseState, member: StaffMember) -> bool:
    return member.role in rules.report.complaint_statistics.sign_off


def record_sign_off(store: CaseStore, rules: Rules, case_id: str, data: SignOffInput) -> CaseState:
    """The supervisor's analysis and measures (并做数据分析统计，提出改善对策); the report closes."""

    def decide(state: CaseState) -> list[NewEvent]:
        member = _completing(rules, state, COMPLAINT_STATISTICS, data.by, "signed off")
        allowed = rules.report.complaint_statistics.sign_off
        if not may_sign_off(rules, state, member):
            raise InputRefused("by", f"{member.id} ({member.role}) may not sign off a report: it needs one of "
                                     f"{', '.join(allowed)} (config report.yaml complaint_statistics.sign_off)",
                               f"ask one of {', '.join(s.id for s in rules.department.staff if s.role in allowed)}")
        now = clock.now()
        return [NewEvent(SIGNED_OFF, data.by, now, {"analysis": data.analysis, "measures": data.measures},
                         idem_key="signed-off"),
                NewEvent(EventType.CLOSED, SYSTEM, now, {"outcome": SIGNED_OFF_OUTCOME}, idem_key="closed")]

    return record(store, rules, case_id, decide)


def form_description(rules: Rules, store: CaseStore, state: CaseState, step: str, round_: int) -> str:
    """Above the form: the report itself, as compiled (its figures on the record)."""
    if step == WRITE_UP:
        return work_log_markdown(rules, state)
    report = report_of(state)
    if report.figures is None:
        return "（报表编制中 being compiled）"
    return documents.markdown(rules, statistics_from(report.figures))


def statistics_from(figures: dict[str, Any]) -> ComplaintStatistics:
    """The statistics as a report recorded them (``report.compiled``'s figures)."""
    return ComplaintStatistics(
        period=Period(date.fromisoformat(figures["from"]), date.fromisoformat(figures["to"])),
        **{k: figures[k] for k in ("total", "complaints", "archived", "open", "by_kind", "by_severity", "by_category",
                                   "by_channel", "by_department", "upheld", "not_upheld", "unjudged", "steps", "closed",
                                   "mean_handling_hours", "worst_handling_hours", "repeat_customers", "follow_ups",
                                   "callbacks", "satisfaction", "previous")},
        rounds={int(k): v for k, v in figures["rounds"].items()}, kpis=figures.get("kpis", {}),
        improvements=[tuple(item) for item in figures["improvements"]])  # type: ignore[misc]


def send_morning_screen(store: CaseStore, rules: Rules, day: date, run_url: str | None = None) -> MorningScreen:
    """The day's stand-up agenda, mailed to the roles report.yaml morning names (once a day each)."""
    screen = morning_screen(store, rules, day, rules.report.morning.oldest)
    registers.mail_register(store, rules, "morning", day, rules.report.morning.recipients,
                            rules.report.morning.templates.mail, morning_markdown(rules, screen), m=screen,
                            run_url=run_url)
    return screen


def send_daily_digest(store: CaseStore, rules: Rules, day: date, out: Path, run_url: str | None = None
                      ) -> tuple[DailyDigest, dict[str, Path]]:
    """The day's complaints and suggestions, written to ``out`` and mailed with the workbook to the
    roles report.yaml daily_digest names (once a day each)."""
    settings = rules.report.daily_digest
    compiled = digest.daily_digest(store, rules, day, settings.left_over)
    text = digest.markdown(rules, compiled)
    files = registers.publish(store, rules, "digest", day, settings, out, f"daily-digest-{day.isoformat()}", text,
                              digest.sheets(rules, compiled), d=compiled, run_url=run_url)
    return compiled, files


def send_order_ledger(store: CaseStore, rules: Rules, day: date, out: Path, run_url: str | None = None
                      ) -> tuple[OrderLedger, dict[str, Path]]:
    """The day's order ledger, written to ``out`` and mailed with the workbook to the roles
    report.yaml order_ledger names (once a day each)."""
    settings = rules.report.order_ledger
    compiled = ledger.order_ledger(store, rules, day)
    text = ledger.markdown(rules, compiled)
    files = registers.publish(store, rules, "ledger", day, settings, out, f"order-ledger-{day.isoformat()}", text,
                              ledger.sheets(rules, compiled), o=compiled, run_url=run_url)
    return compiled, files


def send_satisfaction_analysis(store: CaseStore, rules: Rules, period: Period, out: Path, run_url: str | None = None
                               ) -> tuple[SatisfactionAnalysis, dict[str, Path]]:
    """The month's satisfaction analysis, written to ``out`` (with its chart) and mailed, chart
    inline and workbook attached, to the roles report.yaml satisfaction names (once a month each)."""
    settings = rules.report.satisfaction
    compiled = satisfaction.satisfaction_analysis(store, rules, period)
    text = satisfaction.markdown(rules, compiled)
    files = registers.publish(store, rules, "satisfaction", period.first, settings, out,
                              f"satisfaction-{period.first.isoformat()}-{period.last.isoformat()}", text,
                              satisfaction.sheets(rules, compiled), satisfaction.chart_png(rules, compiled),
                              a=compiled, run_url=run_url)
    return compiled, files


def send_monthly_feedback(store: CaseStore, rules: Rules, period: Period, out: Path, run_url: str | None = None
                          ) -> tuple[MonthlyFeedback, dict[str, Path]]:
    """The month's feedback, written to ``out`` and mailed with its workbook to the roles report.yaml
    feedback names and the departments concerned (once a month each)."""
    settings = rules.report.feedback
    compiled = feedback.monthly_feedback(store, rules, period)
    text = feedback.markdown(rules, compiled)
    files = registers.publish(store, rules, "feedback", period.first, settings, out,
                              f"feedback-{period.first.isoformat()}-{period.last.isoformat()}", text,
                              feedback.sheets(rules, compiled),
                              departments=compiled.concerned if settings.departments else [], f=compiled,
                              run_url=run_url)
    return compiled, files
