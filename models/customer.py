"""The customer record 客户资料 (PROCESSES.md P5; seed 001 客户服务部工作职责及规范 一、客户资料管理):
its events, its typed state, the forms of its two human steps.

A customer is a case like any other, so its profile and every change to it sit in the same
hash-chained record as complaints and orders (who changed what, and when). The case is the
customer's onboarding: collected (资料收集) → assigned by the supervisor (资料处理, balanced by the
number of customers and skill) → contacted by the owner within one week (一周内与客户进行沟通,
并做详细备案), then closed as "contacted"; the profile lives on, and later changes are appended to
it. What only a customer knows lives in ``state.parts["customer"]`` as a :class:`CustomerState`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from models.case import (
    EMAIL_PATTERN,
    PHONE_PATTERN,
    CaseState,
    Fold,
    RecordedEvent,
    StaffInput,
    aware,
    plain,
    zone_name,
)

PROCESS = "customer"
ASSIGNMENT = "assignment"        # the supervisor confirms the owner (资料处理)
FIRST_CONTACT = "first-contact"  # the owner's first contact, within one week

REGISTERED = "customer.registered"
UPDATED = "customer.updated"
ASSIGNED = "customer.assigned"
CONTACTED = "customer.contacted"

CONTACTED_OUTCOME = "contacted"
Channel = Literal["phone", "email", "sms", "visit"]
# The profile fields a person may change (``kefu customer update``); the grade follows the flags.
PROFILE_FIELDS = ("name", "phone", "email", "address", "timezone", "member", "key", "agreement")


class CustomerProfile(BaseModel):
    """Who the customer is and how to reach them (客户档案: 联系人, 联系方式, 地址)."""

    name: str = Field(min_length=1, max_length=200, description="客户名称/联系人 / Name")
    phone: str = Field(pattern=PHONE_PATTERN, description="电话 / Phone")
    email: str | None = Field(default=None, pattern=EMAIL_PATTERN, description="电邮 / E-mail")
    address: str | None = Field(default=None, max_length=500, description="地址 / Address")
    timezone: str | None = Field(default=None, description="时区 / IANA time zone (default: from the phone number)")
    member: bool = Field(default=False, description="会员 / A member")
    key: bool = Field(default=False, description="重点客户 / A key customer (大客户)")
    agreement: bool = Field(default=False, description="协议客户 / An agreement customer")

    _plain = field_validator("name", "address")(classmethod(lambda cls, v: v if v is None else plain(v)))
    _zone = field_validator("timezone")(classmethod(lambda cls, v: zone_name(v)))


class Change(BaseModel):
    at: datetime
    by: str
    fields: dict[str, dict[str, Any]]  # field -> {"from": old, "to": new}
    reason: str | None = None


class CustomerState(BaseModel):
    profile: CustomerProfile
    grade: str
    collected_by: str
    owner: str | None = None
    assigned_at: datetime | None = None
    contacted_at: datetime | None = None
    changes: list[Change] = Field(default_factory=list)
    # The last time anybody looked at the record (registered, changed, contacted): the monthly
    # refresh reminder names the ones untouched for too long.
    touched_at: datetime


class CustomerRegistration(StaffInput, CustomerProfile):
    """新客户资料 A new customer's record, as an agent collected it (``kefu customer add``, a row of
    ``kefu intake customers``): the profile, and who collected it. The grade follows customer.yaml's
    classification standard."""

    def profile(self) -> CustomerProfile:
        return CustomerProfile(**self.model_dump(exclude={"by"}))


class AssignmentInput(StaffInput):
    """分配客户 The supervisor confirms who owns the customer (the proposal, or another agent)."""

    owner: str = Field(min_length=1, description="负责客服 / The agent who will own the customer")


class FirstContactInput(StaffInput):
    """首次沟通备案 The owner's first contact with the customer, and what was said."""

    channel: Channel = Field(default="phone", description="方式 / phone, email, sms or visit")
    note: str = Field(min_length=1, max_length=2000, description="沟通记录 / What was said (详细备案)")
    at: datetime | None = Field(default=None, description="沟通时间 / When, with its UTC offset (default: now)")

    _aware = field_validator("at")(classmethod(lambda cls, v: aware(v)))
    _note = field_validator("note")(classmethod(lambda cls, v: plain(v)))


def customer_of(state: CaseState) -> CustomerState:
    return state.parts["customer"]


def _shared_view(state: CaseState, profile: CustomerProfile) -> None:
    """What the case list, the dashboard and the digests show of any case."""
    state.intake = {"name": profile.name, "phone": profile.phone, "email": profile.email,
                    "member": profile.member, "channel": "archive", "content": profile.address or ""}


def _apply(state: CaseState, event: RecordedEvent) -> None:
    p: dict[str, Any] = event.payload
    if event.type == REGISTERED:
        profile = CustomerProfile(**p["profile"])
        state.process, state.kind, state.opened_at, state.step = PROCESS, "customer", event.at, ASSIGNMENT
        state.parts["customer"] = CustomerState(profile=profile, grade=p["grade"], collected_by=event.actor,
                                                touched_at=event.at)
        if p.get("imported"):
            state.parts["imported"] = p["imported"]
        _shared_view(state, profile)
        return
    customer = customer_of(state)
    customer.touched_at = event.at
    if event.type == UPDATED:
        changed = {name: change["to"] for name, change in p["changes"].items() if name in PROFILE_FIELDS}
        customer.profile = customer.profile.model_copy(update=changed)
        customer.grade = p.get("grade", customer.grade)
        customer.changes.append(Change(at=event.at, by=event.actor, fields=p["changes"], reason=p.get("reason")))
        _shared_view(state, customer.profile)
    elif event.type == ASSIGNED:
        customer.owner, customer.assigned_at = p["owner"], event.at
        state.owner, state.step = p["owner"], FIRST_CONTACT
        state.decisions.setdefault(ASSIGNMENT, {})[1] = {**p, "by": event.actor, "at": event.at}
    elif event.type == CONTACTED:
        customer.contacted_at = datetime.fromisoformat(p["contacted_at"])
        state.step = None
        state.decisions.setdefault(FIRST_CONTACT, {})[1] = {**p, "by": event.actor, "at": event.at}


FOLDS: dict[str, Fold] = dict.fromkeys((REGISTERED, UPDATED, ASSIGNED, CONTACTED), _apply)
INPUTS: dict[str, type[StaffInput]] = {ASSIGNMENT: AssignmentInput, FIRST_CONTACT: FirstContactInput}
