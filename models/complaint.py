"""The complaint case 投诉处理 (PROCESSES.md P1) and its short branch, consultations 咨询 and
queries 查询: the steps, the events, what only a complaint knows, and the people's inputs.

Intake registers every contact (``contact.registered``) and classifies it: a complaint runs
judgement → investigation → plan and approval → implementation → review; a consultation or
query (process ``contact``) waits for its answer and closes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlmodel import JSON, Column, SQLModel
from sqlmodel import Field as column

from models.case import (
    EMAIL_PATTERN,
    PHONE_PATTERN,
    CaseState,
    EventType,
    Fold,
    RecordedEvent,
    StaffInput,
    aware,
    plain,
    text,
    zone_name,
)
from models.records import utc_column

PROCESS, CONTACT = "complaint", "contact"
ARCHIVED_OUTCOME = "archived"  # a historic complaint taken in from a file, closed as it ended there


class Step(StrEnum):
    """Where a case waits. Human steps wait for a person; the others for kefu itself."""

    ANSWER = "answer"                  # a consultation or query waits for its answer
    JUDGEMENT = "judgement"            # 2. 投诉判定
    REPLY = "reply"                    # not upheld: the tactful reply goes out
    INVESTIGATION = "investigation"    # 3. 展开调查
    PROPOSAL = "proposal"              # 4. 提出处理方案
    APPROVAL = "approval"              # 4. 主管领导批示
    REMEDY = "remedy"                  # 5. discipline recorded, customer notified
    IMPLEMENTATION = "implementation"  # 5. the customer accepts (signs) or rejects
    REVIEW = "review"                  # 6. 总结评价
    CLOSING = "closing"                # callback requested, case closed


HUMAN_STEPS = (
    Step.ANSWER, Step.JUDGEMENT, Step.INVESTIGATION, Step.PROPOSAL,
    Step.APPROVAL, Step.IMPLEMENTATION, Step.REVIEW,
)


class ComplaintEvent(StrEnum):
    REGISTERED = "contact.registered"
    # A historic complaint taken in from a file (an archive, another helpdesk's export): recorded
    # closed, as it ended there, with no flow run (kefu intake complaints --as archive).
    ARCHIVED = "complaint.archived"
    ANSWERED = "contact.answered"
    MANAGER_NOTIFICATION_REQUESTED = "manager.notification_requested"
    JUDGED = "complaint.judged"
    INVESTIGATED = "complaint.investigated"
    PLAN_PROPOSED = "plan.proposed"
    PLAN_APPROVED = "plan.approved"
    DISCIPLINE_RECORDED = "discipline.recorded"
    CUSTOMER_RESPONDED = "customer.responded"
    REVIEWED = "complaint.reviewed"
    CALLBACK_REQUESTED = "callback.requested"


# The event that answers each human step.
STEP_EVENT = {
    Step.ANSWER: ComplaintEvent.ANSWERED,
    Step.JUDGEMENT: ComplaintEvent.JUDGED,
    Step.INVESTIGATION: ComplaintEvent.INVESTIGATED,
    Step.PROPOSAL: ComplaintEvent.PLAN_PROPOSED,
    Step.APPROVAL: ComplaintEvent.PLAN_APPROVED,
    Step.IMPLEMENTATION: ComplaintEvent.CUSTOMER_RESPONDED,
    Step.REVIEW: ComplaintEvent.REVIEWED,
}
EVENT_STEP = {event: step for step, event in STEP_EVENT.items()}


class ComplaintState(BaseModel):
    """What only a complaint knows: the disciplinary notes per round, the upward notifications,
    the callback it asked for."""

    discipline: dict[int, dict[str, Any]] = Field(default_factory=dict)
    notifications: list[dict[str, Any]] = Field(default_factory=list)
    callback: dict[str, Any] | None = None
    # The line of the classification statistics: intake's proposal, then the judgement's, then the
    # investigation's correction (complaint.yaml categories).
    category: str | None = None


def complaint_of(state: CaseState) -> ComplaintState:
    return state.parts[PROCESS]


def chosen_option(state: CaseState, round_: int) -> str | None:
    """The plan the approver chose in ``round_`` (None before the approval)."""
    approval = state.decision(Step.APPROVAL, round_)
    proposal = state.decision(Step.PROPOSAL, round_)
    if not approval or not proposal:
        return None
    return proposal["options"][approval["choice"] - 1]


# -- the folds ----------------------------------------------------------------------------------

def _registered(state: CaseState, event: RecordedEvent) -> None:
    p = event.payload
    state.process = p["process"]
    state.kind, state.severity = p["kind"], p.get("severity")
    state.intake = p
    state.owner = p.get("owner")
    state.opened_at = event.at
    state.step = Step.ANSWER if state.process == CONTACT else Step.JUDGEMENT
    state.parts[PROCESS] = ComplaintState(category=p.get("category"))


def _archived(state: CaseState, event: RecordedEvent) -> None:
    p = event.payload
    state.process, state.kind, state.severity = PROCESS, "complaint", p["severity"]
    state.intake = p
    state.opened_at = event.at
    state.step = None
    state.parts[PROCESS] = ComplaintState(category=p.get("category"))


def _decided(state: CaseState, event: RecordedEvent) -> None:
    p = event.payload
    round_ = p.get("round", state.round)
    step = EVENT_STEP[event.type]  # type: ignore[index]
    state.decisions.setdefault(str(step), {})[round_] = {**p, "by": event.actor, "at": event.at}
    state.step = _next_step(step, p)
    if p.get("category"):
        complaint_of(state).category = p["category"]
    if event.type == ComplaintEvent.CUSTOMER_RESPONDED and not p["accepted"]:
        state.round = round_ + 1


def _next_step(step: Step, p: dict[str, Any]) -> str:
    if step == Step.ANSWER:
        return Step.CLOSING
    if step == Step.JUDGEMENT:
        return Step.INVESTIGATION if p["upheld"] else Step.REPLY
    if step == Step.INVESTIGATION:
        return Step.PROPOSAL
    if step == Step.PROPOSAL:
        return Step.APPROVAL
    if step == Step.APPROVAL:
        return Step.REMEDY
    if step == Step.IMPLEMENTATION:
        return Step.REVIEW if p["accepted"] else Step.PROPOSAL
    return Step.CLOSING  # review


def _discipline_recorded(state: CaseState, event: RecordedEvent) -> None:
    round_ = event.payload.get("round", state.round)
    complaint_of(state).discipline[round_] = event.payload
    if f"plan_notice:{round_}" in state.notices:
        state.step = Step.IMPLEMENTATION


def _notification_requested(state: CaseState, event: RecordedEvent) -> None:
    complaint_of(state).notifications.append({**event.payload, "at": event.at})


def _callback_requested(state: CaseState, event: RecordedEvent) -> None:
    complaint_of(state).callback = {**event.payload, "at": event.at}


def _after_notice(state: CaseState, event: RecordedEvent) -> None:
    """A notice moves a complaint on: the not-upheld reply closes it; the plan notice, with the
    disciplinary note, hands the plan to the customer."""
    p = event.payload
    round_ = p.get("round", state.round)
    if p["purpose"] == "not_upheld_reply":
        state.step = Step.CLOSING
    elif p["purpose"] == "plan_notice" and complaint_of(state).discipline.get(round_) is not None:
        state.step = Step.IMPLEMENTATION


FOLDS: dict[str, Fold] = {
    ComplaintEvent.REGISTERED: _registered,
    ComplaintEvent.ARCHIVED: _archived,
    **{event: _decided for event in STEP_EVENT.values()},
    ComplaintEvent.DISCIPLINE_RECORDED: _discipline_recorded,
    ComplaintEvent.MANAGER_NOTIFICATION_REQUESTED: _notification_requested,
    ComplaintEvent.CALLBACK_REQUESTED: _callback_requested,
}
# What a complaint (or a consultation) does on an event every process shares.
REACTIONS: dict[str, Fold] = {EventType.CUSTOMER_NOTIFIED: _after_notice}


# -- what people give kefu: the intake register and the answer to each human step --------------

class ContactRegistration(BaseModel):
    """《顾客投诉登记表》 Complaint Register: complainant, contact, channel, time, content."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(description="投诉人 / Complainant", min_length=1, max_length=200)
    phone: str = Field(description="联系电话 / Contact phone", pattern=PHONE_PATTERN)
    # How the customer is reached besides their phone, and in which zone their rest hours lie
    # (kefu.core.customer_messages: without one, the phone number's zone, else the department's).
    email: str | None = Field(default=None, max_length=200, pattern=EMAIL_PATTERN,
                              description="电子邮箱 / E-mail address (optional)")
    timezone: str | None = Field(default=None, description="所在时区 / The customer's time zone (optional)")
    channel: str = Field(description="渠道 / Channel")
    content: str = Field(description="投诉内容 / What the customer said", max_length=4000)
    # What the complaint is about (complaint.yaml categories); without one, intake proposes it.
    category: str | None = Field(default=None, max_length=60, description="投诉类别 / Category (optional)")
    received_at: datetime | None = Field(default=None, description="投诉时间 / When it was received")
    member: bool = Field(default=False, description="会员 / Member customer")
    order_ref: str | None = Field(default=None, max_length=80, description="订单号 / Order reference")
    follows: str | None = Field(default=None, max_length=40,
                                description="跟进的原案件 / The case this one follows up (e.g. after an unsatisfied callback)")
    kind: str | None = Field(default=None, description="consultation / query / complaint")
    severity: str | None = Field(default=None, description="general / major / crisis")
    by: str = Field(default="intake", description="受理人 / Registered by")

    _content = field_validator("content")(classmethod(lambda cls, v: plain(text(v))))
    _name = field_validator("name")(classmethod(lambda cls, v: plain(v)))
    _aware = field_validator("received_at")(classmethod(lambda cls, v: aware(v)))
    _zone = field_validator("timezone")(classmethod(lambda cls, v: zone_name(v)))


class AnswerInput(StaffInput):
    """咨询/查询答复 The answer to a consultation or query."""

    answer: str = Field(description="答复内容 / The answer given to the customer")
    _answer = field_validator("answer")(classmethod(lambda cls, v: text(v)))


class JudgementInput(StaffInput):
    """投诉判定 Is the complaint grounded? Upheld names the responsible department."""

    upheld: bool = Field(description="投诉成立 / Upheld")
    department: str | None = Field(default=None, description="责任部门 / Responsible department (when upheld)")
    # Without one, the category intake proposed stands; the judgement records it either way.
    category: str | None = Field(default=None, description="投诉类别 / Category (default: as proposed at intake)")
    reason: str = Field(description="判定理由 / Reason")
    _reason = field_validator("reason")(classmethod(lambda cls, v: text(v)))

    @model_validator(mode="after")
    def _department_when_upheld(self) -> "JudgementInput":
        if self.upheld and not self.department:
            raise ValueError("department: an upheld complaint names the responsible department")
        if not self.upheld and self.department:
            raise ValueError("department: a complaint that is not upheld names no department")
        return self


class InvestigationInput(StaffInput):
    """展开调查 The concrete cause and the responsible person."""

    cause: str = Field(description="原因 / Cause found")
    responsible: str = Field(description="直接责任人 / Responsible person")
    category: str | None = Field(default=None, description="更正投诉类别 / Corrected category (optional)")
    _cause = field_validator("cause", "responsible")(classmethod(lambda cls, v: text(v)))


class ProposalInput(StaffInput):
    """提出处理方案 One or more candidate solutions."""

    options: list[str] = Field(description="处理方案（可多项）/ Candidate solutions", min_length=1)

    @field_validator("options")
    @classmethod
    def _no_empty_option(cls, value: list[str]) -> list[str]:
        return [text(option) for option in value]


class ApprovalInput(StaffInput):
    """主管领导批示 The approver chooses one option (1 = the first)."""

    choice: int = Field(description="选定方案序号 / Number of the chosen option (1 = first)", ge=1)


class ImplementationInput(StaffInput):
    """实施处理方案 The customer accepts (and signs) or rejects the plan."""

    accepted: bool = Field(description="顾客接受方案 / The customer accepts")
    signature: str | None = Field(default=None, description="顾客签字 / Customer's signature (name)")
    feedback: str | None = Field(default=None, description="顾客反馈 / Customer's feedback")

    @model_validator(mode="after")
    def _signed_when_accepted(self) -> "ImplementationInput":
        if self.accepted and not (self.signature or "").strip():
            raise ValueError("signature: an accepted plan needs the customer's signature (name)")
        return self


class ReviewInput(StaffInput):
    """总结评价 Summary and improvement measures."""

    summary: str = Field(description="总结 / Summary of the handling")
    improvements: list[str] = Field(default=[], description="改进措施 / Improvement measures")
    _summary = field_validator("summary")(classmethod(lambda cls, v: text(v)))


# The form of each human step (the dashboard's and the CLI's).
INPUTS: dict[str, type[StaffInput]] = {
    Step.JUDGEMENT: JudgementInput,
    Step.INVESTIGATION: InvestigationInput,
    Step.PROPOSAL: ProposalInput,
    Step.APPROVAL: ApprovalInput,
    Step.IMPLEMENTATION: ImplementationInput,
    Step.REVIEW: ReviewInput,
}
CONTACT_INPUTS: dict[str, type[StaffInput]] = {Step.ANSWER: AnswerInput}


# -- the classification statistics' projection ---------------------------------------------------

class ComplaintFact(SQLModel, table=True):
    """A contact as 《顾客投诉分类统计表》 counts it: one row per complaint, consultation or query,
    a projection of its events like ``kefu_case`` (kefu.processes.complaint.report.fact_of), so
    the statistics of a million archived complaints are a few GROUP BYs, not a million replays.
    ``last_seq`` says which record it was made from: a row behind its case is made again."""

    __tablename__ = "kefu_complaint_fact"

    case_id: str = column(primary_key=True, max_length=40)
    last_seq: int
    opened_at: datetime = utc_column(index=True)
    closed_at: datetime | None = utc_column(nullable=True)
    process: str = column(max_length=20)
    kind: str = column(max_length=20)
    status: str = column(max_length=10)
    outcome: str | None = column(default=None, max_length=40)
    archived: bool = False
    severity: str | None = column(default=None, max_length=20)
    category: str | None = column(default=None, max_length=60)
    channel: str | None = column(default=None, max_length=20)
    department: str | None = column(default=None, max_length=40)  # responsible, when upheld
    upheld: bool | None = None  # None: not judged (yet, or in its source)
    rounds: int = 0  # plans proposed
    handling_hours: float | None = None  # received → closed
    follows: str | None = column(default=None, max_length=40)
    # The same customer again (a repeat complaint): a digest of their phone, never the number.
    customer: str | None = column(default=None, max_length=16, index=True)
    improvements: list[str] = column(default_factory=list, sa_column=Column(JSON, nullable=False))
