"""A report that a person signs off (PROCESSES.md P8 报表与督导): one case per period, so a report is
on the record like any case — what kefu compiled, when it went to whom, who signed it off with
which analysis — and an unsigned report climbs the escalation ladder like a late complaint.

《顾客投诉分类统计表》 the Complaint Classification Statistics (seed 002 §4 (7) 总结评价): kefu
compiles the period's figures from the record, mails them to the roles config names, and waits
for the supervisor's analysis and proposed measures (提出改善对策); then the case closes.

An agent's work log 工作日志 and weekly or monthly report 周报、月报 (seed 002 第五條 客服代表崗位職責
(4), (6)): kefu compiles what the agent recorded in the period, one case per agent and period; the
agent writes up the summary and the special customer situations (特殊客户状况) it does not know,
and the log goes to the supervisor; then the case closes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from models.case import CaseState, Fold, RecordedEvent, StaffInput, text

PROCESS = "report"
COMPILE = "compile"    # kefu reads the record and writes the report
SIGN_OFF = "sign-off"  # the supervisor analyses it and proposes measures
WRITE_UP = "write-up"  # the agent writes up their own work log

OPENED = "report.opened"
COMPILED = "report.compiled"
SIGNED_OFF = "report.signed_off"
WRITTEN_UP = "report.written_up"

SIGNED_OFF_OUTCOME = "signed_off"
WRITTEN_UP_OUTCOME = "written_up"
COMPLAINT_STATISTICS = "statistics"  # the report's kinds: 《顾客投诉分类统计表》
WORK_LOG = "work_log"                # an agent's work log for a week or a month
# The step a report waits at once compiled, by its kind, and how it ends.
AWAITS = {COMPLAINT_STATISTICS: SIGN_OFF, WORK_LOG: WRITE_UP}
OUTCOMES = {COMPLAINT_STATISTICS: SIGNED_OFF_OUTCOME, WORK_LOG: WRITTEN_UP_OUTCOME}


class ReportState(BaseModel):
    report: str
    period_from: date
    period_to: date
    # What kefu compiled (the figures as the report showed them) and the files it wrote.
    figures: dict[str, Any] | None = None
    files: list[str] = Field(default_factory=list)
    recipients: list[str] = Field(default_factory=list)
    compiled_at: datetime | None = None
    analysis: str | None = None
    measures: list[str] = Field(default_factory=list)
    agent: str | None = None  # a work log: whose
    cadence: str | None = None  # a work log: "week" or "month"


def report_of(state: CaseState) -> ReportState:
    return state.parts[PROCESS]


def _opened(state: CaseState, event: RecordedEvent) -> None:
    p = event.payload
    state.process, state.kind, state.severity = PROCESS, p["report"], None
    state.opened_at, state.step, state.owner = event.at, COMPILE, p.get("owner")
    state.intake = {"name": p["title"], "content": p["title"], "channel": "kefu"}
    state.parts[PROCESS] = ReportState(report=p["report"], period_from=date.fromisoformat(p["period_from"]),
                                       period_to=date.fromisoformat(p["period_to"]),
                                       agent=p.get("agent"), cadence=p.get("cadence"))


def _compiled(state: CaseState, event: RecordedEvent) -> None:
    p = event.payload
    report = report_of(state)
    report.figures, report.files, report.recipients = p["figures"], p["files"], p["recipients"]
    report.compiled_at = event.at
    state.step = AWAITS[report.report]


def _signed_off(state: CaseState, event: RecordedEvent) -> None:
    p = event.payload
    report = report_of(state)
    report.analysis, report.measures = p["analysis"], p["measures"]
    state.decisions.setdefault(SIGN_OFF, {})[1] = {**p, "by": event.actor, "at": event.at}


def _written_up(state: CaseState, event: RecordedEvent) -> None:
    state.decisions.setdefault(WRITE_UP, {})[1] = {**event.payload, "by": event.actor, "at": event.at}


FOLDS: dict[str, Fold] = {OPENED: _opened, COMPILED: _compiled, SIGNED_OFF: _signed_off, WRITTEN_UP: _written_up}


def _texts(value: list[str]) -> list[str]:
    return [text(item) for item in value]


class SignOffInput(StaffInput):
    """签发 The supervisor's analysis of the period's figures and the improvements it calls for
    (并做数据分析统计，提出改善对策)."""

    analysis: str = Field(description="数据分析 / Analysis of the figures", max_length=4000)
    measures: list[str] = Field(default=[], description="改善对策 / Improvement measures")

    _analysis = field_validator("analysis")(classmethod(lambda cls, v: text(v)))
    _measures = field_validator("measures")(classmethod(lambda cls, v: _texts(v)))


class WriteUpInput(StaffInput):
    """填写工作日志 The agent's own part of their work log: what the period was like, the special
    customer situations to report to the supervisor (特殊客户状况需向部门组长汇报), and the plan for the
    next one. The counts are kefu's, from the record."""

    summary: str = Field(description="工作总结 / Summary of the period", max_length=4000)
    special: list[str] = Field(default=[], description="特殊客户状况 / Special customer situations")
    plans: str = Field(default="", description="下期计划 / Plan for the next period", max_length=2000)

    _summary = field_validator("summary")(classmethod(lambda cls, v: text(v)))
    _special = field_validator("special")(classmethod(lambda cls, v: _texts(v)))


INPUTS: dict[str, type[StaffInput]] = {SIGN_OFF: SignOffInput, WRITE_UP: WriteUpInput}
