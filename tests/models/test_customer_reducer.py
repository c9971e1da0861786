"""The customer record's fold (models/customer.py): the profile, its grade and owner, and every
change with who and when, from the events alone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from models.case import RecordedEvent
from models.customer import ASSIGNMENT, FIRST_CONTACT, customer_of
from models.reducer import reduce

T0 = datetime(2026, 11, 23, 1, 30, tzinfo=timezone.utc)


def event(seq: int, type_: str, actor: str, payload: dict, minutes: int = 0) -> RecordedEvent:
    return RecordedEvent(seq=seq, type=type_, actor=actor, at=T0 + timedelta(minutes=minutes), payload=payload)


def test_the_record_folds_registration_assignment_contact_and_changes():
    state = reduce("KH-20261123-0001", [
        event(1, "customer.registered", "li.na", {"profile": {"name": "王五", "phone": "13900005555",
                                                             "timezone": "Asia/Shanghai"}, "grade": "D"}),
        event(2, "customer.assigned", "chen.jing", {"owner": "zhang.wei", "grade": "D"}, 5),
        event(3, "customer.contacted", "zhang.wei", {"channel": "phone", "note": "ok",
                                                      "contacted_at": (T0 + timedelta(hours=2)).isoformat()}, 130),
        event(4, "case.closed", "kefu", {"outcome": "contacted"}, 130),
        event(5, "customer.updated", "wang.fang", {"changes": {"name": {"from": "王五", "to": "王五先生"},
                                                               "key": {"from": False, "to": True}}, "grade": "A"}, 200),
    ])
    customer = customer_of(state)
    assert (state.process, state.status, state.owner, state.step) == ("customer", "closed", "zhang.wei", None)
    assert state.decision(ASSIGNMENT)["owner"] == "zhang.wei" and state.decision(FIRST_CONTACT)["by"] == "zhang.wei"
    assert customer.profile.name == "王五先生" and customer.profile.key and customer.grade == "A"
    assert customer.collected_by == "li.na" and customer.contacted_at == T0 + timedelta(hours=2)
    assert [(c.by, sorted(c.fields)) for c in customer.changes] == [("wang.fang", ["key", "name"])]
    assert customer.touched_at == T0 + timedelta(minutes=200) and state.intake["name"] == "王五先生"
