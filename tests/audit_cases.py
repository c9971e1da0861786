"""Complaints taken to the end in-process, through the same kefu.cases functions the flow's tasks
call, on the settable business clock: material for the audit tests (chain, replay, report)."""

from __future__ import annotations

from datetime import timedelta

from kefu import cases, clock, sweep
from models.inputs import ContactRegistration


def _submit(store, rules, case_id, step, **data):
    return cases.submit(store, rules, case_id, step, cases.parse_input(step, data))


def later(hours: float) -> None:
    clock.set_now(clock.now() + timedelta(hours=hours))


def resolved_complaint(store, rules, *, severity: str | None = None, pause: bool = False,
                       escalate: bool = False, approver: str = "chen.jing") -> str:
    """A complaint judged, investigated, planned, approved, accepted, reviewed and closed.

    ``pause``: the customer stops the clock for a day during the investigation; ``escalate``: the
    investigation runs late enough for the sweep to fire rungs of its ladder."""
    reg = ContactRegistration(name="张三", phone="13812345678", channel="phone", content="快递送错了",
                              severity=severity)
    case_id = cases.register_contact(store, rules, reg).case_id
    cases.acknowledge(store, rules, case_id)
    if severity in rules.complaint.notify_at_intake:
        cases.request_manager_notification(store, rules, case_id)
    later(1)
    _submit(store, rules, case_id, "judgement", upheld=True, department="logistics", reason="送错", by="li.na")
    if pause:
        later(2)
        cases.pause_clock(store, rules, case_id, "customer travelling", "li.na")
        later(24)
        cases.resume_clock(store, rules, case_id, "customer back", "li.na")
    if escalate:
        for _ in range(4):
            later(12)
            sweep.escalate_due(store.engine, rules, dashboard_url="http://kefu.test")
    later(3)
    _submit(store, rules, case_id, "investigation", cause="分拣错误", responsible="王五", by="li.na")
    later(2)
    _submit(store, rules, case_id, "proposal", options=["退款", "换货"], by="li.na")
    later(1)
    _submit(store, rules, case_id, "approval", choice=1, by=approver)
    cases.record_discipline(store, rules, case_id, 1)
    cases.send_plan_notice(store, rules, case_id, 1)
    later(5)
    _submit(store, rules, case_id, "implementation", accepted=True, signature="张三", feedback="好", by="li.na")
    later(2)
    _submit(store, rules, case_id, "review", summary="已解决", improvements=["复核分拣"], by="chen.jing")
    cases.request_callback(store, rules, case_id)
    cases.close(store, rules, case_id, "resolved")
    return case_id


def answered_consultation(store, rules) -> str:
    reg = ContactRegistration(name="李四", phone="13912345678", channel="phone", content="请问营业时间", kind="consultation")
    case_id = cases.register_contact(store, rules, reg).case_id
    later(1)
    _submit(store, rules, case_id, "answer", answer="早九晚六", by="wang.fang")
    cases.send_answer(store, rules, case_id)
    cases.close(store, rules, case_id, "answered")
    return case_id
