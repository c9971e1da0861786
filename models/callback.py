"""The callback case 回访 (PROCESSES.md P2): its events, its typed state, the call form.

A callback is a case like any other (``CaseState``): the shared deadline, clock and closing
events apply. What only a callback knows — who is called and why, the proposed time, every
attempt (《回访记录表》) — lives in ``state.parts["callback"]`` as a :class:`CallbackState`,
folded here from the callback's own events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from models.case import PHONE_PATTERN, CaseState, Fold, RecordedEvent, StaffInput, aware, plain, time_of

PROCESS = "callback"
CALL = "call"  # the one human step: the agent calls and records the answer

OPENED = "callback.opened"
ATTEMPTED = "callback.attempted"
BOOKED = "callback.booked"
FOLLOW_UP_OPENED = "callback.follow_up_opened"

Outcome = Literal["satisfied", "average", "unsatisfied", "not_convenient", "unreachable"]
Channel = Literal["phone", "email", "sms"]


class CallbackCustomer(BaseModel):
    id: str | None = None
    name: str = Field(min_length=1, max_length=200)
    _name = field_validator("name")(classmethod(lambda cls, v: plain(v)))
    phone: str = Field(pattern=PHONE_PATTERN)
    email: str | None = None
    timezone: str
    member: bool = False
    key: bool = False


class Attempt(BaseModel):
    """One line of 《回访记录表》: time, agent, channel, outcome, notes."""

    attempt: int
    at: datetime
    by: str
    channel: str
    outcome: str
    note: str | None = None
    booked_at: datetime | None = None


class CallbackState(BaseModel):
    trigger: str
    trigger_key: str
    source_case: str | None = None
    subject: str
    subject_en: str
    triggered_at: datetime
    customer: CallbackCustomer
    agent: str
    max_attempts: int
    proposed_at: datetime  # when the next call is to be made
    proposed_by: str = "kefu"  # or "customer": a time the customer booked
    attempts: list[Attempt] = []
    follow_up: str | None = None

    @property
    def next_attempt(self) -> int:
        return len(self.attempts) + 1

    @property
    def answer(self) -> Attempt | None:
        """The attempt in which the customer answered (satisfied, average or unsatisfied)."""
        return next((a for a in self.attempts if a.outcome in ("satisfied", "average", "unsatisfied")), None)


class CallAttemptInput(StaffInput):
    """回访记录 What the customer said on this call (one line of 《回访记录表》)."""

    outcome: Outcome = Field(description="回访结果 / satisfied, average, unsatisfied, not_convenient, unreachable")
    channel: Channel = Field(default="phone", description="方式 / phone, email or sms")
    note: str | None = Field(default=None, max_length=2000,
                             description="改进意见/备注 / What to improve (needed for average and unsatisfied)")
    booked_at: datetime | None = Field(default=None, description="客户约定的时间 / The time the customer asked "
                                                                 "for (not_convenient), with its UTC offset")
    customer_called: bool = Field(default=False, description="客户来电 / The customer called us: a call in their "
                                                             "quiet hours is then theirs, not ours")

    _aware = field_validator("booked_at")(classmethod(lambda cls, v: aware(v, "2026-11-24T10:00:00+08:00")))

    @model_validator(mode="after")
    def _complete(self) -> "CallAttemptInput":
        if self.outcome in ("average", "unsatisfied") and not (self.note or "").strip():
            raise ValueError("note: an average or unsatisfied answer records what the customer wants improved")
        if self.outcome == "not_convenient" and self.booked_at is None:
            raise ValueError("booked_at: a customer who cannot talk now books another time")
        if self.outcome != "not_convenient" and self.booked_at is not None:
            raise ValueError("booked_at: only a not_convenient call books another time")
        return self


def callback_of(state: CaseState) -> CallbackState:
    return state.parts["callback"]


def _apply(state: CaseState, event: RecordedEvent) -> None:
    p: dict[str, Any] = event.payload
    if event.type == OPENED:
        customer = CallbackCustomer(**p["customer"])
        state.process, state.kind, state.owner = PROCESS, p["trigger"], p["agent"]
        state.opened_at, state.step = event.at, CALL
        # What the shared views (case list, dashboard form) show of any case.
        state.intake = {"name": customer.name, "phone": customer.phone, "member": customer.member,
                        "channel": "callback", "content": p["subject"], "source_case": p.get("source_case")}
        state.parts["callback"] = CallbackState(
            trigger=p["trigger"], trigger_key=p["trigger_key"], source_case=p.get("source_case"),
            subject=p["subject"], subject_en=p["subject_en"], triggered_at=event.at, customer=customer,
            agent=p["agent"], max_attempts=p["max_attempts"], proposed_at=time_of(p["proposed_at"]),
        )
    elif event.type == ATTEMPTED:
        callback = callback_of(state)
        callback.attempts.append(Attempt(
            attempt=p["round"], at=event.at, by=event.actor, channel=p["channel"], outcome=p["outcome"],
            note=p.get("note"), booked_at=time_of(p.get("booked_at")),
        ))
        # Attempt n is the call step's decision in round n: flows.waiting.decision_of reads it.
        state.decisions.setdefault(CALL, {})[p["round"]] = {**p, "by": event.actor, "at": event.at}
    elif event.type == BOOKED:
        callback = callback_of(state)
        callback.proposed_at, callback.proposed_by = time_of(p["at"]), p["set_by"]
    elif event.type == FOLLOW_UP_OPENED:
        # Recorded on the callback and on the case the callback was about: the link shows on both.
        state.parts.setdefault("follow_ups", []).append(p["follow_up"])
        if "callback" in state.parts:
            callback_of(state).follow_up = p["follow_up"]


FOLDS: dict[str, Fold] = dict.fromkeys((OPENED, ATTEMPTED, BOOKED, FOLLOW_UP_OPENED), _apply)
# The dashboard's call form and the CLI's `kefu callback record` share this model.
INPUTS: dict[str, type[StaffInput]] = {CALL: CallAttemptInput}
