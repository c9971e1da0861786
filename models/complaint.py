"""The complaint case: its steps, its events, and the reducer that folds events into state.

The state is a pure function of the event list. Nothing else decides where a case is:
not the Prefect run, not the projection table.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Callable, Iterable

from pydantic import BaseModel


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


class EventType(StrEnum):
    REGISTERED = "contact.registered"
    ANSWERED = "contact.answered"
    MANAGER_NOTIFICATION_REQUESTED = "manager.notification_requested"
    CUSTOMER_NOTIFIED = "customer.notified"
    JUDGED = "complaint.judged"
    INVESTIGATED = "complaint.investigated"
    PLAN_PROPOSED = "plan.proposed"
    PLAN_APPROVED = "plan.approved"
    DISCIPLINE_RECORDED = "discipline.recorded"
    CUSTOMER_RESPONDED = "customer.responded"
    REVIEWED = "complaint.reviewed"
    CALLBACK_REQUESTED = "callback.requested"
    CLOSED = "case.closed"
    INPUT_REFUSED = "input.refused"
    DEADLINE_OPENED = "deadline.opened"
    DEADLINE_MET = "deadline.met"
    DEADLINE_RESCHEDULED = "deadline.rescheduled"
    DEADLINE_ESCALATED = "deadline.escalated"
    CLOCK_PAUSED = "clock.paused"
    CLOCK_RESUMED = "clock.resumed"
    FLOW_RUN_LINKED = "flow_run.linked"


# The event that answers each human step.
STEP_EVENT = {
    Step.ANSWER: EventType.ANSWERED,
    Step.JUDGEMENT: EventType.JUDGED,
    Step.INVESTIGATION: EventType.INVESTIGATED,
    Step.PROPOSAL: EventType.PLAN_PROPOSED,
    Step.APPROVAL: EventType.PLAN_APPROVED,
    Step.IMPLEMENTATION: EventType.CUSTOMER_RESPONDED,
    Step.REVIEW: EventType.REVIEWED,
}


class RecordedEvent(BaseModel):
    """An event as the reducer sees it (the table row, or one being appended)."""

    seq: int
    type: str
    actor: str
    at: datetime
    payload: dict[str, Any] = {}


class DeadlineState(BaseModel):
    step: str
    round: int
    opened_at: datetime
    due_at: datetime | None  # None while the customer has the clock stopped
    policy: str
    allowed: str = ""
    basis: str = "calendar"
    ladder: str = ""
    rungs: list[dict[str, Any]] = []
    escalated: list[int] = []
    met_at: datetime | None = None
    # Who set the due time when the rules did not (a time the customer booked, an agreed ship
    # date): such a deadline is not re-planned from the SLA when the rules or the clock change.
    set_by: str | None = None


class CaseState(BaseModel):
    case_id: str
    process: str = "complaint"
    kind: str = ""
    severity: str | None = None
    status: str = "open"
    step: str | None = None
    round: int = 1
    intake: dict[str, Any] = {}
    owner: str | None = None
    # Customer waits: [start, end or None]; the case's deadlines stop while one is open.
    pauses: list[tuple[datetime, datetime | None]] = []
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    outcome: str | None = None
    last_seq: int = 0
    flow_run_id: str | None = None
    flow_runs_linked: int = 0  # runs ever started for the case (a restart takes the next number)
    # The decision of each human step, per round: {"proposal": {1: {...}, 2: {...}}}.
    decisions: dict[str, dict[int, dict[str, Any]]] = {}
    # Refused inputs per (step, round) key "step:round": a refused form re-opens the wait.
    refusals: dict[str, int] = {}
    # The last refusal per "step:round" (field, problem, fix), shown on the re-opened form.
    last_refusal: dict[str, dict[str, Any]] = {}
    notices: dict[str, dict[str, Any]] = {}
    discipline: dict[int, dict[str, Any]] = {}
    notifications: list[dict[str, Any]] = []
    callback: dict[str, Any] | None = None
    deadlines: list[DeadlineState] = []
    # What only one process knows (a callback's attempts, an order's remark versions), keyed by
    # the process; the process's own module folds its events into it (see ``extend``).
    parts: dict[str, Any] = {}

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

    def chosen_option(self, round: int) -> str | None:
        approval = self.decision(Step.APPROVAL, round)
        proposal = self.decision(Step.PROPOSAL, round)
        if not approval or not proposal:
            return None
        return proposal["options"][approval["choice"] - 1]


# Events of the other processes (callback, order), folded by the module that owns them. The
# deadline, clock, refusal and flow-run events below are shared by every process.
_EXTENSIONS: dict[str, Callable[[CaseState, RecordedEvent], None]] = {}


def extend(event_types: Iterable[str], applier: Callable[[CaseState, RecordedEvent], None]) -> None:
    """Let a process module fold its own event types into the case state."""
    for event_type in event_types:
        taken = _EXTENSIONS.get(event_type)
        if event_type in EventType._value2member_map_ or (taken and taken.__module__ != applier.__module__):
            raise ValueError(f"event type {event_type!r} is already folded by another module")
        _EXTENSIONS[event_type] = applier


def _after_registration(state: CaseState) -> str:
    return Step.ANSWER if state.process == "contact" else Step.JUDGEMENT


def apply(state: CaseState, event: RecordedEvent) -> CaseState:
    """Fold one event into the state (mutates and returns it; the reducer owns the copy)."""
    p = event.payload
    t = event.type
    state.last_seq = event.seq
    round_ = p.get("round", state.round)
    if t == EventType.REGISTERED:
        state.process = p["process"]
        state.kind, state.severity = p["kind"], p.get("severity")
        state.intake = p
        state.owner = p.get("owner")
        state.opened_at = event.at
        state.step = _after_registration(state)
    elif t in (EventType.ANSWERED, EventType.JUDGED, EventType.INVESTIGATED, EventType.PLAN_PROPOSED,
               EventType.PLAN_APPROVED, EventType.CUSTOMER_RESPONDED, EventType.REVIEWED):
        step = next(s for s, e in STEP_EVENT.items() if e == t)
        state.decisions.setdefault(str(step), {})[round_] = {**p, "by": event.actor, "at": event.at}
        state.step = _next_step(state, step, p)
        if t == EventType.CUSTOMER_RESPONDED and not p["accepted"]:
            state.round = round_ + 1
    elif t == EventType.CUSTOMER_NOTIFIED:
        state.notices[p["purpose"] + (f":{p['round']}" if "round" in p else "")] = p
        if p["purpose"] == "not_upheld_reply":
            state.step = Step.CLOSING
        elif p["purpose"] == "plan_notice" and state.discipline.get(round_) is not None:
            state.step = Step.IMPLEMENTATION
    elif t == EventType.DISCIPLINE_RECORDED:
        state.discipline[round_] = p
        if f"plan_notice:{round_}" in state.notices:
            state.step = Step.IMPLEMENTATION
    elif t == EventType.MANAGER_NOTIFICATION_REQUESTED:
        state.notifications.append({**p, "at": event.at})
    elif t == EventType.CALLBACK_REQUESTED:
        state.callback = {**p, "at": event.at}
    elif t == EventType.CLOSED:
        state.status, state.step = "closed", None
        state.closed_at, state.outcome = event.at, p["outcome"]
    elif t == EventType.INPUT_REFUSED:
        key = f"{p['step']}:{p['round']}"
        state.refusals[key] = state.refusals.get(key, 0) + 1
        state.last_refusal[key] = p
    elif t == EventType.DEADLINE_OPENED:
        state.deadlines.append(DeadlineState(
            step=p["step"], round=p["round"], opened_at=event.at, due_at=_time(p["due_at"]), policy=p["policy"],
            allowed=p.get("allowed", ""), basis=p.get("basis", "calendar"), ladder=p.get("ladder", ""),
            rungs=p.get("rungs", []), set_by=p.get("set_by"),
        ))
    elif t == EventType.DEADLINE_RESCHEDULED:
        deadline = state.deadline(p["step"], p["round"])
        if deadline is not None:
            deadline.due_at, deadline.rungs = _time(p["due_at"]), p["rungs"]
            # A recompute under changed rules also names the policy now in force.
            deadline.policy = p.get("policy", deadline.policy)
            deadline.allowed = p.get("allowed", deadline.allowed)
            deadline.set_by = p.get("set_by", deadline.set_by)
    elif t == EventType.DEADLINE_ESCALATED:
        deadline = state.deadline(p["step"], p["round"])
        if deadline is not None:
            deadline.escalated.append(p["rung"])
    elif t == EventType.CLOCK_PAUSED:
        state.pauses.append((event.at, None))
    elif t == EventType.CLOCK_RESUMED:
        if state.paused:
            state.pauses[-1] = (state.pauses[-1][0], event.at)
    elif t == EventType.DEADLINE_MET:
        for deadline in state.deadlines:
            if deadline.step == p["step"] and deadline.round == p["round"] and deadline.met_at is None:
                deadline.met_at = event.at
    elif t == EventType.FLOW_RUN_LINKED:
        state.flow_run_id = p["flow_run_id"]
        state.flow_runs_linked += 1
    elif t in _EXTENSIONS:
        _EXTENSIONS[t](state, event)
    return state


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _next_step(state: CaseState, step: Step, p: dict[str, Any]) -> str:
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


def reduce(case_id: str, events: Iterable[RecordedEvent]) -> CaseState:
    """The case's current state, from its events alone."""
    state = CaseState(case_id=case_id)
    for event in events:
        apply(state, event)
    return state
