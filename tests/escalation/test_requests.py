"""The person who must act is told (kefu/escalation/requests.py): a plan waiting for 批示 is
e-mailed to the approvers the rules name (seed 002 §4 (7): 主管领导…作出批示; complaint.yaml
permissions.approval), with the options, once per round; a step the owner decides mails nobody."""

from __future__ import annotations

from audit_cases import at_approval
from sqlmodel import Session, select

from kefu import processes
from kefu.escalation import requests
from models.outbox import OutboxMessage


def _ask(store, rules, case_id: str, step: str) -> int:
    state = store.state(case_id)
    to_ask = processes.to_ask(rules, state, step)
    what = "处理方案 Options (round 1):\n1. 退款 200 元\n2. 换货并补偿运费"
    return requests.ask(store.engine, rules, state, step, 1, to_ask, what, "http://kefu.test") if to_ask else 0


def _outbox(store) -> list[OutboxMessage]:
    with Session(store.engine) as session:
        return list(session.exec(select(OutboxMessage)).all())


def test_a_plan_waiting_for_approval_is_mailed_to_the_approvers_with_its_options(store, rules, frozen_clock):
    case_id = at_approval(store, rules)
    assert _ask(store, rules, case_id, "approval") == 2
    messages = _outbox(store)
    assert sorted(m.to for m in messages) == [["chen.jing@kefu.example"], ["zhao.lei@kefu.example"]]
    assert all(case_id in m.subject and "2. 换货并补偿运费" in m.text and "http://kefu.test" in m.text
               for m in messages)


def test_the_approvers_are_asked_once_per_round(store, rules, frozen_clock):
    case_id = at_approval(store, rules)
    _ask(store, rules, case_id, "approval")
    assert _ask(store, rules, case_id, "approval") == 0
    assert len(_outbox(store)) == 2


def test_a_step_its_owner_decides_mails_nobody(store, rules, frozen_clock):
    case_id = at_approval(store, rules)
    assert _ask(store, rules, case_id, "implementation") == 0 and _outbox(store) == []
