"""The person who must act is told: when a case reaches a step its owner may not decide (a
plan waits for a supervisor's 批示), the people who may are e-mailed at once, with what they must
decide and the link to the form — not only when the deadline's ladder climbs.

Through the outbox, keyed by case, step and round: a flow run that re-executes (after every
resume) or a refused answer that re-opens the form asks once, not again.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from kefu.core.rules import Rules, StaffMember
from kefu.core.texts import local_time, mask_phone, run_page
from kefu.escalation import mail
from models.case import CaseState


def ask(engine: Engine, rules: Rules, state: CaseState, step: str, round_: int, deciders: list[StaffMember],
        what: str, dashboard_url: str) -> int:
    """E-mail ``deciders`` that ``step`` of the case waits for them (``what``: the form's text);
    how many messages were queued now (0 when they were asked before)."""
    deadline = state.deadline(step, round_)
    case = {"case_id": state.case_id, "customer_name": state.intake.get("name", ""),
            "phone_masked": mask_phone(state.intake.get("phone", "")), "step": step, "round": round_,
            "what": what.replace("**", ""), "case_url": run_page(dashboard_url, state.flow_run_id),
            "due_at": local_time(rules, deadline.due_at) if deadline and deadline.due_at else None}
    queued = 0
    with Session(engine) as session, session.begin():
        for member in deciders:
            subject, text, html = mail.render_message(rules.directory, "escalation/decision_request",
                                                      recipient=member.model_dump(), case=case, label=rules.label)
            queued += mail.enqueue(session, key=f"ask:{state.case_id}:{step}:{round_}:{member.id}", to=[member.email],
                                   subject=subject, text=text, html=html)
    return queued


def who_to_ask(rules: Rules, state: CaseState, allowed: list[StaffMember]) -> list[StaffMember]:
    """Of the staff allowed to decide, the ones to tell: nobody when the case's owner is one of
    them (the owner moves it on), else the holders of the lowest role allowed (supervisors before
    managers: the ladder reaches the higher ones if they do not act)."""
    if not allowed or any(member.id == state.owner for member in allowed):
        return []
    order = rules.department.all_roles
    lowest = min(allowed, key=lambda member: order.index(member.role)).role
    return [member for member in allowed if member.role == lowest]
