"""What people give kefu: the intake register and the answer to each human step.

The same models are the CLI's validation and the Prefect dashboard's forms
(``suspend_flow_run(wait_for_input=...)``), so both paths record the same event.
Shape checks live here; rules that depend on config (who may approve, which departments
exist) are checked by ``kefu.cases`` when the input is recorded.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.complaint import Step


def _text(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    by: str = Field(description="处理人工号 / Your staff id (see `kefu staff`)", min_length=1)


class ContactRegistration(BaseModel):
    """《顾客投诉登记表》 Complaint Register: complainant, contact, channel, time, content."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(description="投诉人 / Complainant", min_length=1, max_length=200)
    phone: str = Field(description="联系电话 / Contact phone", pattern=r"^\+?[0-9][0-9 -]{5,19}$")
    channel: str = Field(description="渠道 / Channel")
    content: str = Field(description="投诉内容 / What the customer said", max_length=4000)
    received_at: datetime | None = Field(default=None, description="投诉时间 / When it was received")
    member: bool = Field(default=False, description="会员 / Member customer")
    order_ref: str | None = Field(default=None, max_length=80, description="订单号 / Order reference")
    follows: str | None = Field(default=None, max_length=40,
                                description="跟进的原案件 / The case this one follows up (e.g. after an unsatisfied callback)")
    kind: str | None = Field(default=None, description="consultation / query / complaint")
    severity: str | None = Field(default=None, description="general / major / crisis")
    by: str = Field(default="intake", description="受理人 / Registered by")

    _content = field_validator("content")(classmethod(lambda cls, v: _text(v)))

    @field_validator("received_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a UTC offset, e.g. 2026-11-23T09:30:00+08:00")
        return value


class AnswerInput(_Input):
    """咨询/查询答复 The answer to a consultation or query."""

    answer: str = Field(description="答复内容 / The answer given to the customer")
    _answer = field_validator("answer")(classmethod(lambda cls, v: _text(v)))


class JudgementInput(_Input):
    """投诉判定 Is the complaint grounded? Upheld names the responsible department."""

    upheld: bool = Field(description="投诉成立 / Upheld")
    department: str | None = Field(default=None, description="责任部门 / Responsible department (when upheld)")
    reason: str = Field(description="判定理由 / Reason")
    _reason = field_validator("reason")(classmethod(lambda cls, v: _text(v)))

    @model_validator(mode="after")
    def _department_when_upheld(self) -> "JudgementInput":
        if self.upheld and not self.department:
            raise ValueError("department: an upheld complaint names the responsible department")
        if not self.upheld and self.department:
            raise ValueError("department: a complaint that is not upheld names no department")
        return self


class InvestigationInput(_Input):
    """展开调查 The concrete cause and the responsible person."""

    cause: str = Field(description="原因 / Cause found")
    responsible: str = Field(description="直接责任人 / Responsible person")
    _cause = field_validator("cause", "responsible")(classmethod(lambda cls, v: _text(v)))


class ProposalInput(_Input):
    """提出处理方案 One or more candidate solutions."""

    options: list[str] = Field(description="处理方案（可多项）/ Candidate solutions", min_length=1)

    @field_validator("options")
    @classmethod
    def _no_empty_option(cls, value: list[str]) -> list[str]:
        return [_text(option) for option in value]


class ApprovalInput(_Input):
    """主管领导批示 The approver chooses one option (1 = the first)."""

    choice: int = Field(description="选定方案序号 / Number of the chosen option (1 = first)", ge=1)


class ImplementationInput(_Input):
    """实施处理方案 The customer accepts (and signs) or rejects the plan."""

    accepted: bool = Field(description="顾客接受方案 / The customer accepts")
    signature: str | None = Field(default=None, description="顾客签字 / Customer's signature (name)")
    feedback: str | None = Field(default=None, description="顾客反馈 / Customer's feedback")

    @model_validator(mode="after")
    def _signed_when_accepted(self) -> "ImplementationInput":
        if self.accepted and not (self.signature or "").strip():
            raise ValueError("signature: an accepted plan needs the customer's signature (name)")
        return self


class ReviewInput(_Input):
    """总结评价 Summary and improvement measures."""

    summary: str = Field(description="总结 / Summary of the handling")
    improvements: list[str] = Field(default=[], description="改进措施 / Improvement measures")
    _summary = field_validator("summary")(classmethod(lambda cls, v: _text(v)))


STEP_INPUT: dict[str, type[_Input]] = {
    Step.ANSWER: AnswerInput,
    Step.JUDGEMENT: JudgementInput,
    Step.INVESTIGATION: InvestigationInput,
    Step.PROPOSAL: ProposalInput,
    Step.APPROVAL: ApprovalInput,
    Step.IMPLEMENTATION: ImplementationInput,
    Step.REVIEW: ReviewInput,
}
