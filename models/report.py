"""A report that a person signs off (PROCESSES.md P8 报表与督导): one case per period, so a report is
on the record like any case — what kefu compiled, when it went to whom, who signed it off with
which analysis — and an unsigned report climbs the escalation ladder like a late complaint.

《顾客投诉分类统计表》 the Complaint Classification Statistics (seed 002 §4 (7) 总结评价): kefu
compiles the period's figures from the record, mails them to the roles config names, and waits
for the supervisor's analysis and proposed measures (提出改善对策); then the case closes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from models.case import CaseState, Fold, RecordedEvent, StaffInput, text

PROCESS = "report"
COMPILE = "compile"    # kefu reads the record and writes the report
SIGN_OFF = "sign-off"  # the supervisor analyses it and proposes measures

OPENED = "report.opened"
COMPILED = "report.compiled"
SIGNED_OFF = "report.signed_off"

SIGNED_OFF_OUTCOME = "signed_off"
COMPLAINT_STATISTICS = "statistics"  # the report's kind: 《顾客投诉分类统计表》


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


def report_of(state: CaseState) -> ReportState:
    return state.parts[PROCESS]


def _opened(state: CaseState, event: RecordedEvent) -> None:
    p = event.payload
    state.process, state.kind, state.severity = PROCESS, p["report"], None
    state.opened_at, state.step, state.owner = event.at, COMPILE, p.get("owner")
    state.intake = {"name": p["title"], "content": p["title"], "channel": "kefu"}
    state.parts[PROCESS] = ReportState(report=p["report"], period_from=date.fromisoformat(p["period_from"]),
                                       period_to=date.fromisoformat(p["period_to"]))


def _compiled(state: CaseState, event: RecordedEvent) -> None:
    p = event.payload
    report = report_of(state)
    report.figures, report.files, report.recipients = p["figures"], p["files"], p["recipients"]
    report.compiled_at = event.at
    state.step = SIGN_OFF


def _signed_off(state: CaseState, event: RecordedEvent) -> None:
    p = event.payload
    report = report_of(state)
    report.analysis, report.measures = p["analysis"], p["measures"]
    state.decisions.setdefault(SIGN_OFF, {})[1] = {**p, "by": event.actor, "at": event.at}


FOLDS: dict[str, Fold] = {OPENED: _opened, COMPILED: _compiled, SIGNED_OFF: _signed_off}


class SignOffInput(StaffInput):
    """签发 The supervisor's analysis of the period's figures and the improvements it calls for
    (并做数据分析统计，提出改善对策)."""

    analysis: str = Field(description="数据分析 / Analysis of the figures", max_length=4000)
    measures: list[str] = Field(default=[], description="改善对策 / Improvement measures")

    _analysis = field_validator("analysis")(classmethod(lambda cls, v: text(v)))

    @field_validator("measures")
    @classmethod
    def _no_empty_measure(cls, value: list[str]) -> list[str]:
        return [text(measure) for measure in value]


INPUTS: dict[str, type[StaffInput]] = {SIGN_OFF: SignOffInput}
