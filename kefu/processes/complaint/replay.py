"""Replay checks of the complaint process (and its consultations and queries): every human
decision was taken at the step the case waited at, by someone whose role may act there
(complaint.yaml permissions, under the rules of the time)."""

from __future__ import annotations

from kefu.core.verdicts import Context, Divergence
from models.case import CaseState, RecordedEvent
from models.complaint import EVENT_STEP, STEP_EVENT, ComplaintEvent


def decided_by_allowed(context: Context, state: CaseState, event: RecordedEvent) -> Divergence | None:
    """A human step is answered at the step the case waits at, by someone whose role may act there."""
    step = str(EVENT_STEP[event.type])  # type: ignore[index]
    if state.step != step:
        return Divergence(event.seq, event.type, "the step the case waited at", state.step, step)
    member = context.rules.staff_member(event.actor)
    allowed = context.rules.complaint.roles_for(step, state.severity)
    if member is None or member.role not in allowed:
        role = "not staff" if member is None else member.role
        return Divergence(event.seq, event.type, f"who may decide {step} ({state.severity or state.kind})",
                          f"one of the roles {allowed}", f"{event.actor} ({role})")
    return None


def archived_as_configured(context: Context, state: CaseState, event: RecordedEvent) -> Divergence | None:
    """A complaint taken in from a file was archived by staff, with a channel and a severity the
    rules of the time know (the rules its validation checked it by)."""
    p, rules = event.payload, context.rules
    if rules.staff_member(event.actor) is None:
        return Divergence(event.seq, event.type, "who archived the complaint", "a staff member", event.actor)
    if p.get("channel") not in rules.complaint.channels:
        return Divergence(event.seq, event.type, "the channel", f"one of {rules.complaint.channels}", p.get("channel"))
    if p.get("severity") not in rules.complaint.severities:
        return Divergence(event.seq, event.type, "the severity", f"one of {rules.complaint.severities}",
                          p.get("severity"))
    return categorized_as_configured(context, state, event)


def categorized_as_configured(context: Context, state: CaseState, event: RecordedEvent) -> Divergence | None:
    """A complaint's category is one of the classification statistics' lines in the rules of the
    time (rules from before the statistics have none, and judge no category), and the judgement
    always names one."""
    ids = [c.id for c in context.rules.complaint.categories]
    category = event.payload.get("category")
    if not ids or (category is None and event.type != ComplaintEvent.JUDGED):
        return None
    if category not in ids:
        return Divergence(event.seq, event.type, "the category", f"one of {ids}", category)
    return None


CHECKS = (*((str(event_type), decided_by_allowed) for event_type in STEP_EVENT.values()),
          (str(ComplaintEvent.ARCHIVED), archived_as_configured),
          *((str(event_type), categorized_as_configured)
            for event_type in (ComplaintEvent.REGISTERED, ComplaintEvent.JUDGED, ComplaintEvent.INVESTIGATED)))
CONTACT_CHECKS = ((str(ComplaintEvent.ANSWERED), decided_by_allowed),)
