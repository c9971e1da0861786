"""Replay checks of the customer archive: each grade is the one the classification standard of
the time gives the profile; each assignment was confirmed by a role that assigns, to an agent
with the grade's skill; the first contact was made by the owner, outside the customer's quiet
hours when it was a call or a visit."""

from __future__ import annotations

from datetime import datetime

from kefu.core.customer_messages import quiet_time
from kefu.core.verdicts import Context, Divergence
from kefu.processes.customer.decisions import IN_PERSON, customer_zone
from models.case import CaseState, RecordedEvent
from models.customer import ASSIGNED, CONTACTED, REGISTERED, UPDATED, CustomerProfile, customer_of


def graded_as_configured(context: Context, state: CaseState, event: RecordedEvent) -> Divergence | None:
    """The grade recorded with a new or changed profile is the standard's (customer.yaml grades)."""
    p = event.payload
    if event.type == REGISTERED:
        profile = CustomerProfile(**p["profile"])
    else:
        before = customer_of(state).profile
        profile = before.model_copy(update={k: v["to"] for k, v in p["changes"].items()})
        if "grade" not in p:
            p = {**p, "grade": customer_of(state).grade}
    expected = context.rules.customer.grade_of(profile.model_dump(include={"member", "key", "agreement"})).id
    if p.get("grade") != expected:
        return Divergence(event.seq, event.type, "the grade (customer.yaml grades)", expected, p.get("grade"))
    return None


def assigned_as_configured(context: Context, state: CaseState, event: RecordedEvent) -> Divergence | None:
    """Assigned by a role of customer.yaml assigned_by, to an active agent with the grade's skill."""
    rules, p = context.rules, event.payload
    member = rules.staff_member(event.actor)
    if member is None or member.role not in rules.customer.assigned_by:
        return Divergence(event.seq, event.type, "who assigns customers", f"one of {rules.customer.assigned_by}",
                          f"{event.actor} ({member.role if member else 'not staff'})")
    owner = rules.staff_member(p["owner"])
    grade = rules.customer.grade(customer_of(state).grade)
    skill = grade.skill if grade else None
    if owner is None or owner.role != rules.department.roles[0] or not owner.active or (
            skill is not None and skill not in rules.customer.skills.get(owner.id, [])):
        return Divergence(event.seq, event.type, "the owner", f"an active agent{' with skill ' + skill if skill else ''}",
                          p["owner"])
    return None


def contacted_by_owner(context: Context, state: CaseState, event: RecordedEvent) -> Divergence | None:
    """The owner made the first contact; a call or visit outside the customer's quiet hours."""
    p = event.payload
    if event.actor != state.owner:
        return Divergence(event.seq, event.type, "who made the first contact", state.owner, event.actor)
    zone = customer_zone(context.rules, customer_of(state).profile)
    if p["channel"] in IN_PERSON and quiet_time(context.rules).is_quiet(datetime.fromisoformat(p["contacted_at"]), zone):
        return Divergence(event.seq, event.type, f"a contact outside the customer's quiet hours ({zone.key})",
                          "outside customer_messages.yaml quiet_hours", p["contacted_at"])
    return None


CHECKS = ((REGISTERED, graded_as_configured), (UPDATED, graded_as_configured),
          (ASSIGNED, assigned_as_configured), (CONTACTED, contacted_by_owner))
