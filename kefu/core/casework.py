"""The write path every process shares: decide on the case as it is, append, and keep its
deadlines in step — plus the actions any case allows (the customer's clock, a rules recompute,
a refused form on file, the flow run that executes it).

Every function re-reads the case, decides, and appends; a concurrent writer makes it re-read
and decide again. Steps that may run twice record once (idempotency keys).
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Collection, Iterator, Mapping, Sequence

from sqlmodel import Session

from kefu.core import clock, customer_messages, deadlines
from kefu.core.identity import SYSTEM
from kefu.core.refusals import InputRefused, unknown_staff
from kefu.core.rules import Rules
from kefu.core.store import CaseStore, ConcurrentChange, NewEvent
from models.case import CaseState, DeadlineState, EventType, RecordedEvent
from models.reducer import apply

# What a process adds to the events it decided: the deadlines they open and meet (a complaint's
# step deadlines). ``(rules, state before, decided events) -> more events``.
Follow = Callable[[Rules, CaseState, list[NewEvent]], list[NewEvent]]


def record(store: CaseStore, rules: Rules, case_id: str, decide: Callable[[CaseState], list[NewEvent]],
           also: Callable[[Session, CaseState], None] | None = None, follow: Follow | None = None) -> CaseState:
    """Append what ``decide`` decides on the case as it is now (nothing: already recorded), with
    the deadline events that follow from it; ``also`` writes in the same transaction (the outbox)."""
    for _ in range(10):
        state = store.state(case_id)
        events = decide(state)
        if not events:
            return state  # already recorded: the step ran before
        events = events + (follow(rules, state, events) if follow else []) + _clock_moves(rules, state, events)
        try:
            return store.append(state, events, rules.version, _with_customer_messages(rules, case_id, events, also))
        except ConcurrentChange:
            continue
    raise ConcurrentChange(f"{case_id} kept changing while recording; try again")


def _with_customer_messages(rules: Rules, case_id: str, events: list[NewEvent],
                            also: Callable[[Session, CaseState], None] | None) -> Callable[[Session, CaseState], None] | None:
    """``also``, and the outbox rows of the customer messages among ``events``: a message is
    queued in the transaction that records it, or neither happens (the transactional outbox)."""
    notices = [e for e in events if e.type == EventType.CUSTOMER_NOTIFIED]
    if not notices:
        return also

    def write(session: Session, state: CaseState) -> None:
        for event in notices:
            customer_messages.queue(session, rules, case_id, event)
        if also is not None:
            also(session, state)

    return write


def step_deadlines(human_steps: Collection[str], case_wide: Mapping[str, Sequence[str]] | None = None) -> Follow:
    """The deadlines of a process that moves step by step: leaving a human step meets its deadline,
    entering one (in a new round too) opens its own. ``case_wide`` (process → steps: a complaint's
    resolution) open with the case's first event and are met when it closes."""
    spans = case_wide or {}

    def follow(rules: Rules, before: CaseState, events: list[NewEvent]) -> list[NewEvent]:
        extra: list[NewEvent] = []
        for (step_before, round_before, status_before), after, event in replayed(before, events):
            spanning = spans.get(after.process, ())
            if after.last_seq == 1:  # the case's first event
                extra.extend(open_deadline(rules, after, step, 1, event) for step in spanning)
            if (after.step, after.round) != (step_before, round_before):
                if step_before in human_steps and any(
                    d.step == step_before and d.round == round_before and d.met_at is None for d in after.deadlines
                ):
                    extra.append(NewEvent(EventType.DEADLINE_MET, SYSTEM, event.at,
                                          {"step": str(step_before), "round": round_before}))
                if after.step in human_steps:
                    extra.append(open_deadline(rules, after, str(after.step), after.round, event))
            if status_before == "open" and after.status == "closed":
                extra.extend(NewEvent(EventType.DEADLINE_MET, SYSTEM, event.at, {"step": step, "round": 1})
                             for step in spanning)
        return extra

    return follow


def replayed(before: CaseState, events: list[NewEvent]) -> Iterator[tuple[tuple[str | None, int, str], CaseState, NewEvent]]:
    """For each event appended to ``before`` in turn: where the case was (step, round, status),
    the state just after it, and the event. One copy of ``before`` is folded forward: read the
    state before taking the next item."""
    after = before.model_copy(deep=True)
    for offset, event in enumerate(events, start=1):
        where = (after.step, after.round, after.status)
        apply(after, RecordedEvent(seq=before.last_seq + offset, type=event.type, actor=event.actor,
                                   at=event.at, payload=event.payload))
        yield where, after, event


def _clock_moves(rules: Rules, before: CaseState, events: list[NewEvent]) -> list[NewEvent]:
    """Move every open deadline the rules planned when the customer stops or restarts the clock."""
    if not any(e.type in (EventType.CLOCK_PAUSED, EventType.CLOCK_RESUMED) for e in events):
        return []
    moves: list[NewEvent] = []
    for _, after, event in replayed(before, events):
        if event.type in (EventType.CLOCK_PAUSED, EventType.CLOCK_RESUMED):
            reason = "the customer stopped the clock" if event.type == EventType.CLOCK_PAUSED else "the customer answered"
            moves.extend(rescheduled_deadline(rules, after, d, event.at, reason) for d in ruled_deadlines(after))
    return moves


def open_deadline(rules: Rules, state: CaseState, step: str, round_: int, cause: NewEvent) -> NewEvent:
    plan = deadlines.plan(rules, state.process, state.severity, step, round_, cause.at, state.pauses)
    return NewEvent(EventType.DEADLINE_OPENED, SYSTEM, cause.at, plan.event_payload())


def ruled_deadlines(state: CaseState) -> list[DeadlineState]:
    """The open deadlines the SLA rules planned. One whose due time somebody set (``set_by``: a
    time the customer booked, an order's agreed date) stays when the rules change or the clock stops."""
    return [d for d in state.open_deadlines() if d.set_by is None]


def rescheduled_deadline(rules: Rules, state: CaseState, deadline: DeadlineState, at: datetime, reason: str) -> NewEvent:
    """A deadline planned again from its history (opening time, pauses) under ``rules``."""
    plan = deadlines.plan(rules, state.process, state.severity, deadline.step, deadline.round,
                          deadline.opened_at, state.pauses).event_payload()
    return NewEvent(EventType.DEADLINE_RESCHEDULED, SYSTEM, at, {
        "step": deadline.step, "round": deadline.round, "due_at": plan["due_at"], "rungs": plan["rungs"],
        "policy": plan["policy"], "allowed": plan["allowed"], "reason": reason,
    })


# -- what any case allows -------------------------------------------------------------------------

def refuse(store: CaseStore, rules: Rules, case_id: str, step: str, round_: int, by: str,
           refusal: InputRefused) -> CaseState:
    """Record a refused dashboard input, so the form re-opens with the reason and the refusal is on
    file. kefu is its actor: ``by`` is only who the form named, perhaps with a wrong PIN."""
    nth = store.state(case_id).refusal_count(step, round_) + 1

    def decide(state: CaseState) -> list[NewEvent]:
        if state.refusal_count(step, round_) >= nth:
            return []
        return [NewEvent(EventType.INPUT_REFUSED, SYSTEM, clock.now(), {
            "step": step, "round": round_, "by": by, "field": refusal.field, "problem": refusal.problem,
            "fix": refusal.fix,
        }, idem_key=f"refused:{step}:{round_}:{nth}")]

    return record(store, rules, case_id, decide)


def pause_clock(store: CaseStore, rules: Rules, case_id: str, reason: str, by: str) -> CaseState:
    """The case waits for the customer (e.g. asked to be called later): its deadlines stop."""

    def decide(state: CaseState) -> list[NewEvent]:
        _check_clock_change(rules, state, by, reason)
        if state.paused:
            raise InputRefused("case", f"{case_id}'s clock is already stopped", f"`kefu case resume {case_id}` restarts it")
        return [NewEvent(EventType.CLOCK_PAUSED, by, clock.now(), {"reason": reason})]

    return record(store, rules, case_id, decide)


def resume_clock(store: CaseStore, rules: Rules, case_id: str, reason: str, by: str) -> CaseState:
    """The customer responded: the deadlines run again, moved by the time they were stopped."""

    def decide(state: CaseState) -> list[NewEvent]:
        _check_clock_change(rules, state, by, reason)
        if not state.paused:
            raise InputRefused("case", f"{case_id}'s clock is running", "nothing to resume")
        return [NewEvent(EventType.CLOCK_RESUMED, by, clock.now(), {"reason": reason})]

    return record(store, rules, case_id, decide)


def _check_clock_change(rules: Rules, state: CaseState, by: str, reason: str) -> None:
    if state.status != "open":
        raise InputRefused("case", f"{state.case_id} is closed", "a closed case has no running deadlines")
    if rules.staff_member(by) is None:
        raise unknown_staff(by)
    if not reason.strip():
        raise InputRefused("reason", "must not be empty", "say why the clock stops or restarts")


def recompute_deadlines(store: CaseStore, rules: Rules, case_id: str) -> list[dict]:
    """Recompute the case's open deadlines from its history under the rules in force now (after a
    calendar or SLA change); record and return the ones that moved."""
    changes: list[dict] = []

    def decide(state: CaseState) -> list[NewEvent]:
        changes.clear()
        events = []
        for deadline in ruled_deadlines(state):
            event = rescheduled_deadline(rules, state, deadline, clock.now(), f"recomputed under rules {rules.version}")
            was = None if deadline.due_at is None else deadline.due_at.isoformat()
            if event.payload["due_at"] == was and event.payload["rungs"] == deadline.rungs:
                continue
            changes.append({"case_id": state.case_id, "step": deadline.step, "round": deadline.round,
                            "was": was, "now": event.payload["due_at"], "policy": event.payload["policy"]})
            events.append(event)
        return events

    record(store, rules, case_id, decide)
    return changes


def link_flow_run(store: CaseStore, rules: Rules, case_id: str, flow_run_id: str) -> CaseState:
    """Remember which Prefect flow run executes the case (the record stays the truth)."""

    def decide(state: CaseState) -> list[NewEvent]:
        if state.flow_run_id == flow_run_id:
            return []
        return [NewEvent(EventType.FLOW_RUN_LINKED, SYSTEM, clock.now(), {"flow_run_id": flow_run_id})]

    return record(store, rules, case_id, decide)
