"""Replay checks of the callback process (run by kefu.audit.replay): what the callback's rules
decided is recomputed from the record under the rules version on each event.

- The three-day deadline (seed 001 "三天之内") is planned by sla.yaml like any deadline (the
  shared check); one moved past it carries ``set_by: customer`` and must be the time the customer
  booked, its rungs spread over the longer span.
- Never in the customer's rest hours (seed 001 一个避免): the first proposed call and every
  booked time lie outside customer_messages.yaml quiet_hours in the customer's zone.
- Booked times: a customer's time follows their "not convenient" answer; ours follows an
  unreachable attempt, ``attempts.retry_after`` later and out of quiet hours.
- Members 100 % (seed 001 三个必保): a callback closes only as answered, or as unreachable after
  the attempts config gives a member (or another customer).
"""

from __future__ import annotations

from datetime import datetime

from kefu.core.customer_messages import quiet_time
from kefu.core.verdicts import Context, Divergence
from kefu.processes.callback.decisions import (
    customer_zone,
    earliest_call,
    propose_call_time,
    retry_call_time,
    rungs_moved_to,
)
from kefu.processes.callback.rules import ANSWERED
from models.callback import ATTEMPTED, BOOKED, CALL, OPENED, CallbackCustomer, callback_of
from models.case import CaseState, EventType, RecordedEvent, time_of


def _quiet(context: Context, event: RecordedEvent, what: str, at: datetime, customer: CallbackCustomer) -> Divergence | None:
    zone = customer_zone(context.rules, customer)
    quiet = quiet_time(context.rules)
    if quiet.is_quiet(at, zone):
        return Divergence(event.seq, event.type, f"{what} outside the customer's quiet hours ({zone.key})",
                          f"at or after {quiet.next_waking_moment(at, zone).isoformat()}", at.isoformat())
    return None


def opened(context: Context, state: CaseState, event: RecordedEvent) -> Divergence | None:
    """The attempts a member (or another customer) gets, and a first call outside quiet hours,
    ``propose_after`` the trigger at the earliest."""
    p, rules = event.payload, context.rules
    customer = CallbackCustomer(**p["customer"])
    attempts = rules.callback.max_attempts(customer.member)
    if p["max_attempts"] != attempts:
        return Divergence(event.seq, event.type, "attempts before the customer counts as unreachable",
                          attempts, p["max_attempts"])
    proposed = time_of(p["proposed_at"])
    divergence = _quiet(context, event, "the first call", proposed, customer)  # type: ignore[arg-type]
    if divergence is not None:
        return divergence
    # At the earliest: the time it was recorded (not in the event) can only move it later.
    earliest = propose_call_time(rules, earliest_call(rules, event.at), customer_zone(rules, customer))
    if proposed < earliest:  # type: ignore[operator]
        return Divergence(event.seq, event.type, "the first call, propose_after the trigger",
                          f"at or after {earliest.isoformat()}", p["proposed_at"])
    return None


def booked(context: Context, state: CaseState, event: RecordedEvent) -> Divergence | None:
    """A customer's time is the one their "not convenient" answer gave; ours is retry_after the
    unreachable attempt, moved out of quiet hours."""
    p, rules = event.payload, context.rules
    callback = callback_of(state)
    last = callback.attempts[-1] if callback.attempts else None
    at = time_of(p["at"])
    if p["set_by"] == "customer":
        if last is None or last.outcome != "not_convenient" or last.booked_at != at:
            return Divergence(event.seq, event.type, "the time the customer booked",
                              last.booked_at.isoformat() if last and last.booked_at else "a not_convenient attempt",
                              p["at"])
        return _quiet(context, event, "the booked call", at, callback.customer)  # type: ignore[arg-type]
    if last is None or last.outcome != "unreachable":
        return Divergence(event.seq, event.type, "a retry after an unreachable attempt",
                          "an unreachable attempt", last.outcome if last else None)
    expected = retry_call_time(rules, event.at, customer_zone(rules, callback.customer))
    if at != expected:
        return Divergence(event.seq, event.type, "the next attempt after unreachable", expected.isoformat(), p["at"])
    return None


def moved_by_customer(context: Context, state: CaseState, event: RecordedEvent) -> Divergence | None:
    """The call deadline moves only to a booked time past the three days, its rungs spread over
    the longer span."""
    p = event.payload
    if p.get("set_by") != "customer":
        return None
    callback, deadline = callback_of(state), state.deadline(CALL, 1)
    booked_at = callback.proposed_at if callback.proposed_by == "customer" else None
    due = time_of(p["due_at"])
    if deadline is None or booked_at is None or due != booked_at:
        return Divergence(event.seq, event.type, "the call deadline moved to the time the customer booked",
                          booked_at.isoformat() if booked_at else "a booked time", p["due_at"])
    if deadline.due_at is not None and booked_at <= deadline.due_at:
        return Divergence(event.seq, event.type, "a call deadline moved only when the booked time is past it",
                          f"after {deadline.due_at.isoformat()}", p["due_at"])
    rungs = rungs_moved_to(deadline, booked_at)
    if p["rungs"] != rungs:
        return Divergence(event.seq, event.type, "the moved deadline's rungs", rungs, p["rungs"])
    return None


def called_awake(context: Context, state: CaseState, event: RecordedEvent) -> Divergence | None:
    """Seed 001 一个避免: a phone call in the customer's quiet hours is only ever the customer's own
    (attempts recorded before the rule carry no ``customer_called`` and are not judged by it)."""
    p = event.payload
    if "customer_called" not in p or p["channel"] != "phone" or p["customer_called"]:
        return None
    return _quiet(context, event, "a call we made", event.at, callback_of(state).customer)


def closed(context: Context, state: CaseState, event: RecordedEvent) -> Divergence | None:
    """Closed with the customer's answer, or unreachable only after the last allowed attempt."""
    callback = callback_of(state)
    last = callback.attempts[-1] if callback.attempts else None
    if last is not None and last.outcome in ANSWERED:
        expected = last.outcome
    elif last is not None and last.outcome == "unreachable" and len(callback.attempts) >= callback.max_attempts:
        expected = "unreachable"
    else:
        expected = f"still open (attempt {len(callback.attempts)} of {callback.max_attempts})"
    if event.payload["outcome"] != expected:
        return Divergence(event.seq, event.type, "how the callback ends", expected, event.payload["outcome"])
    return None


CHECKS = ((OPENED, opened), (ATTEMPTED, called_awake), (BOOKED, booked), (str(EventType.DEADLINE_RESCHEDULED), moved_by_customer),
          (str(EventType.CLOSED), closed))
