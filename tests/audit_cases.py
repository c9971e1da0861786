"""Complaints taken to the end in-process, through the same decisions the flow's tasks call
(kefu.processes.complaint.decisions), on the settable business clock: material for the audit
tests (chain, replay, report), and the insider's rewrite that only replay can find."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from people import signed_in

from kefu import processes
from kefu.core import casework, clock
from kefu.escalation import sweep
from kefu.processes.complaint import decisions as complaints
from models.case import CaseState
from models.complaint import ContactRegistration


def complaint_form(step: str, data: dict):
    """A complaint's (or consultation's) human input, shape-checked as the CLI and the dashboard do."""
    process = "contact" if step == "answer" else "complaint"  # a consultation's one step
    return processes.parse_input(CaseState(case_id="", process=process), step, data)


def _submit(store, rules, case_id, step, **data):
    with signed_in(data["by"]):
        return complaints.submit(store, rules, case_id, step, complaint_form(step, data))


def later(hours: float) -> None:
    clock.set_now(clock.now() + timedelta(hours=hours))


def resolved_complaint(store, rules, *, severity: str | None = None, pause: bool = False,
                       escalate: bool = False, approver: str = "chen.jing") -> str:
    """A complaint judged, investigated, planned, approved, accepted, reviewed and closed.

    ``pause``: the customer stops the clock for a day during the investigation; ``escalate``: the
    investigation runs late enough for the sweep to fire rungs of its ladder."""
    reg = ContactRegistration(name="张三", phone="13812345678", channel="phone", content="快递送错了",
                              severity=severity)
    case_id = complaints.register_contact(store, rules, reg).case_id
    complaints.acknowledge(store, rules, case_id)
    if severity in rules.complaint.notify_at_intake:
        complaints.request_manager_notification(store, rules, case_id)
    later(1)
    _submit(store, rules, case_id, "judgement", upheld=True, department="logistics", reason="送错", by="li.na")
    if pause:
        later(2)
        with signed_in("li.na"):
            casework.pause_clock(store, rules, case_id, "customer travelling", "li.na")
            later(24)
            casework.resume_clock(store, rules, case_id, "customer back", "li.na")
    if escalate:
        for _ in range(4):
            later(12)
            sweep.escalate_due(store.engine, rules, dashboard_url="http://kefu.test", commands=processes.command_for)
    later(3)
    _submit(store, rules, case_id, "investigation", cause="分拣错误", responsible="王五", by="li.na")
    later(2)
    _submit(store, rules, case_id, "proposal", options=["退款", "换货"], by="li.na")
    later(1)
    _submit(store, rules, case_id, "approval", choice=1, by=approver)
    complaints.record_discipline(store, rules, case_id, 1)
    complaints.send_plan_notice(store, rules, case_id, 1)
    later(5)
    _submit(store, rules, case_id, "implementation", accepted=True, signature="张三", feedback="好", by="li.na")
    later(2)
    _submit(store, rules, case_id, "review", summary="已解决", improvements=["复核分拣"], by="chen.jing")
    complaints.request_callback(store, rules, case_id)
    complaints.close(store, rules, case_id, "resolved")
    return case_id


def at_approval(store, rules, severity: str = "general") -> str:
    """A complaint judged, investigated and given two options by its agent: waiting for 批示."""
    reg = ContactRegistration(name="张三", phone="13812345678", channel="phone", content="快递送错了",
                              kind="complaint", severity=severity)
    case_id = complaints.register_contact(store, rules, reg).case_id
    for step, data in (("judgement", dict(upheld=True, department="logistics", reason="送错")),
                       ("investigation", dict(cause="分拣错误", responsible="王五")),
                       ("proposal", dict(options=["退款 200 元", "换货并补偿运费"]))):
        with signed_in("li.na"):
            complaints.submit(store, rules, case_id, step, complaint_form(step, {**data, "by": "li.na"}))
    return case_id


def answered_consultation(store, rules) -> str:
    reg = ContactRegistration(name="李四", phone="13912345678", channel="phone", content="请问营业时间", kind="consultation")
    case_id = complaints.register_contact(store, rules, reg).case_id
    later(1)
    _submit(store, rules, case_id, "answer", answer="早九晚六", by="wang.fang")
    complaints.send_answer(store, rules, case_id)
    complaints.close(store, rules, case_id, "answered")
    return case_id


def rewrite_event(store, case_id: str, change) -> None:
    """An insider with the hash function rewrites a case's events — ``change(event)`` returns the
    fields to replace (``actor``, ``payload``, ``at``) — and re-chains and re-seals them consistently:
    verify finds nothing; only replay, holding the record against the rules, can."""
    from kefu.core import chain
    from models.records import CaseEvent

    events = store.events(case_id)
    rows = [{**dict(case_id=e.case_id, seq=e.seq, type=e.type, actor=e.actor, at=e.at, recorded_at=e.recorded_at,
                    idem_key=e.idem_key, config_version=e.config_version, id=e.id, payload=e.payload), **change(e)}
            for e in events]
    head = chain.chain(case_id, "", rows)
    table = CaseEvent.__table__
    with store.engine.begin() as conn:
        for row in rows:
            conn.execute(table.update().where(table.c.id == row["id"]).values(
                actor=row["actor"], at=row["at"], payload=row["payload"], prev_hash=row["prev_hash"],
                hash=row["hash"]))
        sealed = conn.execute(sa.text("SELECT seal FROM kefu_case WHERE id = :c"), {"c": case_id}).scalar()
        conn.execute(sa.text("UPDATE kefu_case SET last_hash = :h, seal = :s WHERE id = :c"),
                     {"h": head, "s": chain.seal_of(case_id, len(rows), head) if sealed else None, "c": case_id})
