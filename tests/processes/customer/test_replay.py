"""Replay of customer records (kefu/processes/customer/replay.py on kefu.audit.replay): each grade
follows the classification standard of the time, each assignment the roles and skills, the first
contact its owner and the customer's quiet hours. On SQLite and PostgreSQL."""

from __future__ import annotations

from audit_cases import rewrite_event
from customers import register
from people import signed_in

from kefu.audit import replay
from kefu.processes.customer import decisions as customers
from models.customer import AssignmentInput, FirstContactInput


def onboarded(store, rules) -> str:
    case_id = register(store, rules, name="华南五金 陈总", phone="13500001111", key=True).case_id
    with signed_in("chen.jing"):
        customers.record_assignment(store, rules, case_id, AssignmentInput(by="chen.jing", owner="li.na"))
    with signed_in("li.na"):
        customers.record_first_contact(store, rules, case_id, FirstContactInput(by="li.na", note="电话沟通"))
        customers.update_customer(store, rules, case_id, {"agreement": True, "key": False}, "li.na")
    return case_id


def test_a_customer_onboarded_and_changed_replays_consistent(store, rules, frozen_clock):
    (result,) = replay.replay(store.engine, [onboarded(store, rules)])
    assert result.verdict == "consistent", result.summary()


def test_a_grade_rewritten_after_the_fact_is_divergent(store, rules, frozen_clock):
    """《客户分类管理标准》: a key customer recorded as grade D does not follow from customer.yaml."""
    case_id = onboarded(store, rules)
    rewrite_event(store, case_id, lambda e: {"payload": {**e.payload, "grade": "D"}}
                  if e.type == "customer.registered" else {})
    (result,) = replay.replay(store.engine, [case_id])
    assert result.verdict == "divergent" and "grade" in result.summary()


def test_a_key_customer_given_to_an_agent_without_the_skill_is_divergent(store, rules, frozen_clock):
    case_id = onboarded(store, rules)
    rewrite_event(store, case_id, lambda e: {"payload": {**e.payload, "owner": "zhang.wei"}}
                  if e.type == "customer.assigned" else {})
    (result,) = replay.replay(store.engine, [case_id])
    assert result.verdict == "divergent" and "owner" in result.summary()
