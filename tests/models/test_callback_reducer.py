"""The callback's events fold into a typed CallbackState (PROCESSES.md P2: every attempt recorded)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from models.callback import (
    ATTEMPTED,
    BOOKED,
    CALL,
    FOLLOW_UP_OPENED,
    OPENED,
    CallbackState,
    callback_of,
)
from models.case import EventType, RecordedEvent
from models.reducer import reduce

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
CUSTOMER = {"name": "张三", "phone": "13800000000", "timezone": "Asia/Shanghai", "member": True}


def _events() -> list[RecordedEvent]:
    payloads = [
        (OPENED, "kefu", T0, {"trigger": "service_completed", "trigger_key": "service_completed:R1", "subject": "s",
                              "subject_en": "s", "customer": CUSTOMER, "agent": "li.na", "max_attempts": 3,
                              "proposed_at": (T0 + timedelta(hours=2)).isoformat()}),
        (ATTEMPTED, "li.na", T0 + timedelta(hours=2), {"round": 1, "outcome": "not_convenient", "channel": "phone",
                                                       "note": None, "booked_at": (T0 + timedelta(days=1)).isoformat()}),
        (BOOKED, "kefu", T0 + timedelta(hours=2), {"round": 2, "at": (T0 + timedelta(days=1)).isoformat(),
                                                   "set_by": "customer", "reason": "r"}),
        (ATTEMPTED, "wang.fang", T0 + timedelta(days=1), {"round": 2, "outcome": "unsatisfied", "channel": "sms",
                                                          "note": "送货太慢", "booked_at": None}),
        (EventType.CLOSED, "kefu", T0 + timedelta(days=1), {"outcome": "unsatisfied"}),
        (FOLLOW_UP_OPENED, "kefu", T0 + timedelta(days=1), {"follow_up": "C-20261124-0001", "callback": "CB-1",
                                                            "original": "CB-1"}),
    ]
    return [RecordedEvent(seq=i, type=t, actor=a, at=at, payload=p) for i, (t, a, at, p) in enumerate(payloads, 1)]


def test_every_attempt_is_kept_with_time_agent_channel_outcome_and_note():
    """Seed 001 "必须保证回访信息的完整记录": the record keeps each attempt (《回访记录表》)."""
    state = reduce("CB-1", _events())
    callback = callback_of(state)
    assert isinstance(callback, CallbackState)
    assert [(a.attempt, a.by, a.channel, a.outcome, a.note) for a in callback.attempts] == [
        (1, "li.na", "phone", "not_convenient", None), (2, "wang.fang", "sms", "unsatisfied", "送货太慢")]
    assert callback.attempts[1].at == T0 + timedelta(days=1)
    assert callback.answer.outcome == "unsatisfied"
    assert (state.process, state.kind, state.owner, state.status, state.outcome) == (
        "callback", "service_completed", "li.na", "closed", "unsatisfied")


def test_a_booking_moves_the_next_call_and_names_who_chose_it():
    state = reduce("CB-1", _events()[:3])
    assert state.step == CALL and state.status == "open"
    assert callback_of(state).proposed_at == T0 + timedelta(days=1)
    assert callback_of(state).proposed_by == "customer"
    assert callback_of(state).next_attempt == 2


def test_each_attempt_is_the_call_steps_decision_in_its_round():
    """flows.waiting.decision_of reads attempt n as the decision of step "call", round n."""
    state = reduce("CB-1", _events()[:2])
    assert state.decision(CALL, 1)["outcome"] == "not_convenient"
    assert state.decision(CALL, 2) is None


def test_the_follow_up_complaint_shows_on_the_callback():
    state = reduce("CB-1", _events())
    assert callback_of(state).follow_up == "C-20261124-0001"
    assert state.parts["follow_ups"] == ["C-20261124-0001"]
