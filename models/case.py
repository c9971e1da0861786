"""What every case is, whatever its process: its state, the events every process shares, and
the base of every person's input.

The state is a pure function of the event list (``models.reducer``). Nothing else decides
where a case is: not the Prefect run, not the projection table. What only one process knows
(a complaint's disciplinary notes, a callback's attempts, an order's remark versions) lives in
``CaseState.parts[<process>]``, folded by that process's own module.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from enum import StrEnum
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field

# A phone number as people write it: digits, optional +, spaces or dashes (every process's customer).
PHONE_PATTERN = r"^\+?[0-9][0-9 -]{5,19}$"


class EventType(StrEnum):
    """The events every process records the same way: notices, deadlines, the customer's clock,
    refused inputs, the flow run, the close."""

    CUSTOMER_NOTIFIED = "customer.notified"
    CLOSED = "case.closed"
    INPUT_REFUSED = "input.refused"
    DEADLINE_OPENED = "deadline.opened"
    DEADLINE_MET = "deadline.met"
    DEADLINE_RESCHEDULED = "deadline.rescheduled"
    DEADLINE_ESCALATED = "deadline.escalated"
    CLOCK_PAUSED = "clock.paused"
    CLOCK_RESUMED = "clock.resumed"
    FLOW_RUN_LINKED = "flow_run.linked"


class RecordedEvent(BaseModel):
    """An event as the reducer sees it (the table row, or one being appended)."""

    seq: int
    type: str
    actor: str
    at: datetime
    payload: dict[str, Any] = Field(default_factory=dict)


class DeadlineState(BaseModel):
    step: str
    round: int
    opened_at: datetime
    due_at: datetime | None  # None while the customer has the clock stopped
    policy: str
    allowed: str = ""
    basis: str = "calendar"
    ladder: str = ""
    rungs: list[dict[str, Any]] = Field(default_factory=list)
    escalated: list[int] = Field(default_factory=list)
    met_at: datetime | None = None
    # Who set the due time when the rules did not (a time the customer booked, an agreed ship
    # date): such a deadline is not re-planned from the SLA when the rules or the clock change.
    set_by: str | None = None


class CaseState(BaseModel):
    case_id: str
    process: str = ""
    kind: str = ""
    severity: str | None = None
    status: str = "open"
    step: str | None = None
    round: int = 1
    # What the shared views (case list, dashboard form, digests) show of any case: name, phone,
    # channel, content.
    intake: dict[str, Any] = Field(default_factory=dict)
    owner: str | None = None
    # Customer waits: [start, end or None]; the case's deadlines stop while one is open.
    pauses: list[tuple[datetime, datetime | None]] = Field(default_factory=list)
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    outcome: str | None = None
    last_seq: int = 0
    last_at: datetime | None = None  # the business time of the last event: the next is never earlier
    flow_run_id: str | None = None
    flow_runs_linked: int = 0  # runs ever started for the case (a restart takes the next number)
    # The decision of each human step, per round: {"proposal": {1: {...}, 2: {...}}}.
    decisions: dict[str, dict[int, dict[str, Any]]] = Field(default_factory=dict)
    # Refused inputs per (step, round) key "step:round": a refused form re-opens the wait.
    refusals: dict[str, int] = Field(default_factory=dict)
    # The last refusal per "step:round" (field, problem, fix), shown on the re-opened form.
    last_refusal: dict[str, dict[str, Any]] = Field(default_factory=dict)
    notices: dict[str, dict[str, Any]] = Field(default_factory=dict)
    deadlines: list[DeadlineState] = Field(default_factory=list)
    # What only one process knows, keyed by the process (see the module docstring).
    parts: dict[str, Any] = Field(default_factory=dict)

    def decision(self, step: str, round: int = 1) -> dict[str, Any] | None:
        return self.decisions.get(str(step), {}).get(round)

    def refusal_count(self, step: str, round: int) -> int:
        return self.refusals.get(f"{step}:{round}", 0)

    def open_deadlines(self) -> list[DeadlineState]:
        return [d for d in self.deadlines if d.met_at is None]

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1][1] is None

    def deadline(self, step: str, round_: int) -> DeadlineState | None:
        return next((d for d in self.deadlines if d.step == step and d.round == round_), None)


# How one event changes the state (mutates it; the reducer owns the copy).
Fold = Callable[[CaseState, RecordedEvent], None]


def time_of(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _notified(state: CaseState, event: RecordedEvent) -> None:
    p = event.payload
    state.notices[p["purpose"] + (f":{p['round']}" if "round" in p else "")] = p


def _closed(state: CaseState, event: RecordedEvent) -> None:
    state.status, state.step = "closed", None
    state.closed_at, state.outcome = event.at, event.payload["outcome"]


def _refused(state: CaseState, event: RecordedEvent) -> None:
    p = event.payload
    key = f"{p['step']}:{p['round']}"
    state.refusals[key] = state.refusals.get(key, 0) + 1
    state.last_refusal[key] = p


def _deadline_opened(state: CaseState, event: RecordedEvent) -> None:
    p = event.payload
    state.deadlines.append(DeadlineState(
        step=p["step"], round=p["round"], opened_at=event.at, due_at=time_of(p["due_at"]), policy=p["policy"],
        allowed=p.get("allowed", ""), basis=p.get("basis", "calendar"), ladder=p.get("ladder", ""),
        rungs=p.get("rungs", []), set_by=p.get("set_by"),
    ))


def _deadline_rescheduled(state: CaseState, event: RecordedEvent) -> None:
    p = event.payload
    deadline = state.deadline(p["step"], p["round"])
    if deadline is not None:
        deadline.due_at, deadline.rungs = time_of(p["due_at"]), p["rungs"]
        # A recompute under changed rules also names the policy now in force.
        deadline.policy = p.get("policy", deadline.policy)
        deadline.allowed = p.get("allowed", deadline.allowed)
        deadline.set_by = p.get("set_by", deadline.set_by)


def _deadline_escalated(state: CaseState, event: RecordedEvent) -> None:
    p = event.payload
    deadline = state.deadline(p["step"], p["round"])
    if deadline is not None:
        deadline.escalated.append(p["rung"])


def _deadline_met(state: CaseState, event: RecordedEvent) -> None:
    p = event.payload
    for deadline in state.deadlines:
        if deadline.step == p["step"] and deadline.round == p["round"] and deadline.met_at is None:
            deadline.met_at = event.at


def _clock_paused(state: CaseState, event: RecordedEvent) -> None:
    state.pauses.append((event.at, None))


def _clock_resumed(state: CaseState, event: RecordedEvent) -> None:
    if state.paused:
        state.pauses[-1] = (state.pauses[-1][0], event.at)


def _flow_run_linked(state: CaseState, event: RecordedEvent) -> None:
    state.flow_run_id = event.payload["flow_run_id"]
    state.flow_runs_linked += 1


FOLDS: dict[str, Fold] = {
    EventType.CUSTOMER_NOTIFIED: _notified,
    EventType.CLOSED: _closed,
    EventType.INPUT_REFUSED: _refused,
    EventType.DEADLINE_OPENED: _deadline_opened,
    EventType.DEADLINE_RESCHEDULED: _deadline_rescheduled,
    EventType.DEADLINE_ESCALATED: _deadline_escalated,
    EventType.DEADLINE_MET: _deadline_met,
    EventType.CLOCK_PAUSED: _clock_paused,
    EventType.CLOCK_RESUMED: _clock_resumed,
    EventType.FLOW_RUN_LINKED: _flow_run_linked,
}


# -- what people give kefu ------------------------------------------------------------------------

def text(value: str) -> str:
    """A free-text field: trimmed, and not empty."""
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


# Invisible characters that reorder or hide how a text reads (bidi controls such as U+202E,
# which can make a digest show another name than the one recorded).
_SPOOFING = {*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C}


def plain(value: str) -> str:
    """Text others will read (a name, what the customer said): no control or bidi characters."""
    for ch in value:
        if ord(ch) in _SPOOFING or (unicodedata.category(ch) == "Cc" and ch not in "\n\t"):
            raise ValueError(f"contains the invisible character U+{ord(ch):04X}, which changes how the text reads; "
                             "remove it")
    return value


EMAIL_PATTERN = r"^[^@\s<>,]+@[^@\s<>,]+\.[^@\s<>,]+$"


def zone_name(value: str | None) -> str | None:
    """An IANA time zone name a person gives (a customer's zone), or a ValueError saying what to write."""
    if value is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai or Europe/Rome") from None
    return value


def aware(value: datetime | None, example: str = "2026-11-23T09:30:00+08:00") -> datetime | None:
    """A time a person gives must say its UTC offset (business times are never guessed)."""
    if value is not None and value.tzinfo is None:
        raise ValueError(f"needs a UTC offset, e.g. {example}")
    return value


class StaffInput(BaseModel):
    """The answer to a human step, the same model for the CLI and the Prefect dashboard's form
    (``suspend_flow_run(wait_for_input=...)``): shape checks here; the rules that depend on
    config (who may act, which departments exist) are checked when the input is recorded."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    by: str = Field(description="处理人工号 / Your staff id (see `kefu staff`)", min_length=1)
