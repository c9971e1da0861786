"""Replay of callbacks (kefu/processes/callback/replay.py on kefu.audit.replay): what the callback's
rules decided follows from the record under the rules of the time. An insider who rewrites a
decision and re-hashes the chain passes verify; replay names the event. On SQLite and PostgreSQL.

Seed 001 客户服务部工作职责及规范 "一个避免，三个必保": never disturb the customer in their rest time;
call back 100 % of members; record every callback; call back within three days (三天之内), or at
the time the customer asked for."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from audit_cases import rewrite_event
from people import signed_in

from kefu.audit import replay
from kefu.core import clock
from kefu.processes.callback import decisions as callbacks
from models.callback import ATTEMPTED, BOOKED, OPENED, CallAttemptInput, CallbackCustomer

SHANGHAI = ZoneInfo("Asia/Shanghai")


def opened(store, rules, ref: str = "R1", is_member: bool = True) -> str:
    customer = CallbackCustomer(name="张三", phone="13800000000", timezone="Asia/Shanghai", member=is_member)
    return callbacks.open_for_service(store, rules, reference=ref, service="空调维修", customer=customer,
                                      completed_at=clock.now()).case_id


def call(store, rules, case_id: str, outcome: str, **extra) -> None:
    with signed_in("li.na"):
        callbacks.record_attempt(store, rules, case_id, CallAttemptInput(outcome=outcome, by="li.na", **extra))


def verdict(store, case_id: str) -> replay.CaseReplay:
    (result,) = replay.replay(store.engine, [case_id])
    return result


def booked_past_three_days(store, rules) -> str:
    """The customer cannot talk and books a time five days on; then answers."""
    case_id = opened(store, rules)
    booked = datetime.combine(clock.now().date() + timedelta(days=5), datetime.min.time().replace(hour=10),
                              tzinfo=SHANGHAI)
    call(store, rules, case_id, "not_convenient", booked_at=booked)
    clock.set_now(booked)
    call(store, rules, case_id, "satisfied")
    return case_id


def never_reached(store, rules) -> str:
    """A member called until the attempts callback.yaml gives a member run out."""
    case_id = opened(store, rules, "R2")
    while store.state(case_id).status == "open":
        clock.set_now(store.state(case_id).parts["callback"].proposed_at + timedelta(minutes=5))
        call(store, rules, case_id, "unreachable")
    return case_id


def test_callbacks_booked_answered_and_unreachable_replay_consistent(store, rules, frozen_clock):
    booked, unreachable = booked_past_three_days(store, rules), never_reached(store, rules)
    result = verdict(store, booked)
    assert result.verdict == "consistent", result.summary()
    assert any("set by customer" in note for note in result.notes)  # the moved deadline is the customer's
    result = verdict(store, unreachable)
    assert result.verdict == "consistent", result.summary()
    assert store.state(unreachable).outcome == "unreachable"


def test_a_first_call_rewritten_into_the_customers_rest_hours_is_divergent(store, rules, frozen_clock):
    """一个避免: 22:30 in the customer's zone lies in callback.yaml quiet_hours (21:00–09:00)."""
    case_id = opened(store, rules)
    night = datetime.combine(clock.now().date() + timedelta(days=1), datetime.min.time().replace(hour=22, minute=30),
                             tzinfo=SHANGHAI)
    rewrite_event(store, case_id, lambda e: {"payload": {**e.payload, "proposed_at": night.isoformat()}}
                  if e.type == OPENED else {})
    result = verdict(store, case_id)
    assert result.verdict == "divergent" and result.divergence.event == OPENED
    assert "quiet hours" in result.divergence.what


def test_fewer_attempts_for_a_member_than_config_gives_is_divergent(store, rules, frozen_clock):
    """三个必保 (100 % of members): a member's callback counts as unreachable only after
    callback.yaml attempts.member calls."""
    case_id = opened(store, rules)
    rewrite_event(store, case_id, lambda e: {"payload": {**e.payload, "max_attempts": 1}} if e.type == OPENED else {})
    result = verdict(store, case_id)
    assert result.verdict == "divergent" and result.divergence.expected == rules.callback.attempts.member


def test_a_booked_time_that_is_not_the_customers_is_divergent(store, rules, frozen_clock):
    """The next call after "not convenient" is the time the customer asked for."""
    case_id = booked_past_three_days(store, rules)
    rewrite_event(store, case_id, lambda e: {"payload": {**e.payload, "at": (datetime.fromisoformat(e.payload["at"])
                                                                            + timedelta(days=2)).isoformat()}}
                  if e.type == BOOKED else {})
    result = verdict(store, case_id)
    assert result.verdict == "divergent" and result.divergence.event == BOOKED
    assert result.divergence.what == "the time the customer booked"


def test_a_retry_time_that_does_not_follow_from_retry_after_is_divergent(store, rules, frozen_clock):
    """After an unreachable call the next attempt is callback.yaml attempts.retry_after later, out of quiet hours."""
    case_id = opened(store, rules)
    call(store, rules, case_id, "unreachable")
    rewrite_event(store, case_id, lambda e: {"payload": {**e.payload, "at": (datetime.fromisoformat(e.payload["at"])
                                                                            + timedelta(days=4)).isoformat()}}
                  if e.type == BOOKED else {})
    result = verdict(store, case_id)
    assert result.verdict == "divergent" and result.divergence.what == "the next attempt after unreachable"


def test_a_callback_closed_unreachable_with_attempts_left_is_divergent(store, rules, frozen_clock):
    """The customer answered; the record rewritten to 'unreachable' does not follow from the calls."""
    case_id = opened(store, rules)
    call(store, rules, case_id, "satisfied")
    rewrite_event(store, case_id, lambda e: {"payload": {**e.payload, "outcome": "unreachable"}} if e.type == "case.closed" else {})
    result = verdict(store, case_id)
    assert result.verdict == "divergent" and result.divergence.what == "how the callback ends"
    assert (result.divergence.expected, result.divergence.recorded) == ("satisfied", "unreachable")


def test_a_night_call_recorded_as_the_customers_own_then_rewritten_as_ours_is_divergent(store, rules, frozen_clock):
    """一个避免: a phone call in the customer's quiet hours is only ever the customer's own call."""
    case_id = opened(store, rules)
    clock.set_now(datetime.combine(clock.now().date(), datetime.min.time().replace(hour=22, minute=30), tzinfo=SHANGHAI))
    call(store, rules, case_id, "satisfied", customer_called=True)
    assert verdict(store, case_id).verdict == "consistent"
    rewrite_event(store, case_id, lambda e: {"payload": {**e.payload, "customer_called": False}}
                  if e.type == ATTEMPTED else {})
    result = verdict(store, case_id)
    assert result.verdict == "divergent" and result.divergence.event == ATTEMPTED
