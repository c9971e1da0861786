"""The complaint process's decisions (PROCESSES.md P1): what each command and each step records,
for complaints and for their short branch, consultations and queries.

The CLI and the flow's tasks both call these functions, so a decision made in the dashboard
form and the same decision made on the command line end in the same event. Each records
through :func:`record`: the shared write path, with the complaint's step deadlines.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable

from sqlmodel import Session

from kefu.core import casework, clock, customer_messages
from kefu.core.assignment import assign_owner
from kefu.core.casework import SYSTEM
from kefu.core.refusals import FIELD_FIXES as SHARED_FIXES
from kefu.core.refusals import InputRefused, unknown_staff
from kefu.core.rules import Rules, StaffMember
from kefu.core.store import CaseStore, NewEvent
from kefu.core.texts import local_time, mask_phone, render_file, run_page
from kefu.processes.complaint.rules import CASE_WIDE_DEADLINES
from models.case import CaseState, EventType, StaffInput
from models.complaint import (
    CONTACT,
    HUMAN_STEPS,
    PROCESS,
    STEP_EVENT,
    ComplaintEvent,
    ContactRegistration,
    Step,
    chosen_option,
    complaint_of,
)

# What to write instead, per field, when an input's shape is wrong.
FIELD_FIXES = {
    **SHARED_FIXES,
    "content": "write what the customer said",
    "name": "give the complainant's name",
    "received_at": "give an ISO-8601 time with its UTC offset, e.g. 2026-11-23T09:30:00+08:00",
    "options": "give at least one --option",
    "choice": "choose an option by its number, 1 for the first",
    "signature": "add --signature with the customer's name",
    "department": "with --upheld give --department (see `kefu config show`); with --not-upheld give none",
    "category": "give one of complaint.yaml categories (see `kefu config show`)",
}
# Which CLI command answers each human step (for error messages that say what to do).
COMMANDS = {
    Step.ANSWER: "kefu contact answer",
    Step.JUDGEMENT: "kefu complaint judge",
    Step.INVESTIGATION: "kefu complaint investigate",
    Step.PROPOSAL: "kefu complaint propose",
    Step.APPROVAL: "kefu complaint approve",
    Step.IMPLEMENTATION: "kefu complaint implement",
    Step.REVIEW: "kefu complaint review",
}


def render(rules: Rules, template: str, **values: Any) -> str:
    """Render one of the customer texts named in ``complaint.yaml`` (``templates.<template>``)."""
    return render_file(rules, getattr(rules.complaint.templates, template), **values)


# -- the write path, with the complaint's step deadlines -----------------------------------------

# Leaving a human step meets its deadline, entering one opens its own; a complaint's resolution
# deadline spans the whole case (a consultation has none).
step_deadlines = casework.step_deadlines(HUMAN_STEPS, case_wide={PROCESS: CASE_WIDE_DEADLINES})


def record(store: CaseStore, rules: Rules, case_id: str, decide: Callable[[CaseState], list[NewEvent]],
           also: Callable[[Session, CaseState], None] | None = None) -> CaseState:
    return casework.record(store, rules, case_id, decide, also, follow=step_deadlines)


# -- 1. intake -----------------------------------------------------------------------------------

def classify(rules: Rules, reg: ContactRegistration) -> tuple[str, str | None, str | None, str]:
    """Kind, severity and category of a contact, and what decided them (the agent, a keyword rule,
    the default). A consultation or query has no severity and no category."""
    decided: dict[str, str | None] = {"kind": reg.kind, "severity": reg.severity, "category": reg.category}
    basis = [f"{name} given at intake" for name in ("severity", "kind", "category") if decided[name]]
    content = reg.content.lower()
    for i, rule in enumerate(rules.complaint.classification):
        hit = next((word for word in rule.any_of if word.lower() in content), None)
        if hit is None:
            continue
        for name in ("kind", "severity", "category"):
            if getattr(rule, name) and decided[name] is None:
                decided[name] = getattr(rule, name)
                basis.append(f"classification.{i} ({hit})")
    kind = decided["kind"]
    if kind is None:
        kind = rules.complaint.default_kind
        basis.append("default_kind")
    severity, category = decided["severity"], decided["category"]
    if rules.complaint.kinds[kind] == CONTACT:
        severity = category = None
    else:
        if severity is None:
            severity = rules.complaint.default_severity
            basis.append("default_severity")
        if category is None and rules.complaint.default_category:
            category = rules.complaint.default_category
            basis.append("default_category")
    return kind, severity, category, "; ".join(basis)


def check_category(rules: Rules, category: str | None) -> None:
    """A category is one complaint.yaml names (when the rules have categories at all)."""
    if category is not None and rules.complaint.categories and rules.complaint.category(category) is None:
        raise InputRefused("category", f"unknown category {category!r}",
                           f"use one of {', '.join(c.id for c in rules.complaint.categories)}")


def register_contact(store: CaseStore, rules: Rules, reg: ContactRegistration, imported: dict[str, Any] | None = None,
                     also: Callable[[Session, CaseState], None] | None = None) -> CaseState:
    """Fill the Complaint Register and classify the contact (step 1, 投诉受理). A contact taken in
    from a file keeps where it came from (``imported``: source, batch, external id, row); ``also``
    writes what must commit with it (the file row's key, so a re-import never opens it twice)."""
    if reg.channel not in rules.complaint.channels:
        raise InputRefused("channel", f"unknown channel {reg.channel!r}",
                           f"use one of {', '.join(rules.complaint.channels)}")
    if reg.kind is not None and reg.kind not in rules.complaint.kinds:
        raise InputRefused("kind", f"unknown kind {reg.kind!r}", f"use one of {', '.join(rules.complaint.kinds)}")
    if reg.severity is not None and reg.severity not in rules.complaint.severities:
        raise InputRefused("severity", f"unknown severity {reg.severity!r}",
                           f"use one of {', '.join(rules.complaint.severities)}")
    check_category(rules, reg.category)
    if reg.by != "intake" and rules.staff_member(reg.by) is None:
        raise unknown_staff(reg.by)
    kind, severity, category, basis = classify(rules, reg)
    process = rules.complaint.kinds[kind]
    owner = assign_owner(store, rules, reg.by)
    received_at = clock.as_utc(reg.received_at) if reg.received_at else clock.now()
    if received_at > clock.now():
        raise InputRefused("received_at", "is in the future", "give the time the customer actually contacted us")
    within = rules.complaint.registered_within_days
    if received_at < clock.now() - timedelta(days=within):
        raise InputRefused("received_at", f"is more than {within} days ago ({received_at.date().isoformat()})",
                           f"a contact is registered within {within} days of arriving: check the year and month")
    payload = reg.model_dump(mode="json", exclude={"kind", "severity", "category", "by", "received_at"})
    if category is not None:
        payload["category"] = category
    if imported is not None:
        payload["imported"] = imported
    payload.update(process=process, kind=kind, severity=severity, classified_by=basis,
                   received_at=received_at.isoformat(), owner=owner, **customer_messages.zone_on_record(rules, payload))
    first = NewEvent(ComplaintEvent.REGISTERED, reg.by, received_at, payload)
    events = [first] + step_deadlines(rules, CaseState(case_id=""), [first])
    day = received_at.astimezone(rules.department.department.zone).strftime("%Y%m%d")
    return store.create(rules.department.department.case_id_prefix, day, process, reg.name, events, rules.version,
                        also=also)


def acknowledge(store: CaseStore, rules: Rules, case_id: str) -> CaseState:
    """Tell the customer the complaint is registered and when to expect a judgement."""

    def decide(state: CaseState) -> list[NewEvent]:
        if "acknowledgement" in state.notices:
            return []
        judgement = next(d for d in state.deadlines if d.step == Step.JUDGEMENT)
        text = render(rules, "acknowledgement", name=state.intake["name"], case_id=case_id,
                      received_at_local=local_time(rules, state.opened_at),
                      judgement_due_local=local_time(rules, judgement.due_at))
        return [_notice(rules, state, "acknowledgement", text, "ack")]

    return record(store, rules, case_id, decide)


def request_manager_notification(store: CaseStore, rules: Rules, case_id: str) -> CaseState:
    """Major and crisis complaints are reported upward at once (the e-mail goes out with the escalation engine)."""

    def decide(state: CaseState) -> list[NewEvent]:
        role = rules.complaint.notify_at_intake.get(state.severity or "")
        if role is None or complaint_of(state).notifications:
            return []
        recipients = [s.id for s in rules.department.staff if s.role == role]
        return [NewEvent(ComplaintEvent.MANAGER_NOTIFICATION_REQUESTED, SYSTEM, clock.now(), {
            "severity": state.severity, "role": role, "recipients": recipients,
            "rule": f"complaint.yaml notify_at_intake.{state.severity}",
        }, idem_key="notify-at-intake")]

    def queue_alerts(session: Session, state: CaseState) -> None:
        from kefu.escalation import mail
        from kefu.settings import get_settings

        request = complaint_of(state).notifications[-1]
        owner = rules.staff_member(state.owner or "")
        run_url = run_page(get_settings().dashboard_url, state.flow_run_id)
        case = {"case_id": case_id, "customer_name": state.intake["name"],
                "phone_masked": mask_phone(state.intake.get("phone", "")), "severity": state.severity,
                "content": state.intake["content"], "received_at": local_time(rules, state.opened_at),  # type: ignore[arg-type]
                "owner_name": f"{owner.name} ({owner.id})" if owner else "-", "case_url": run_url,
                # Managers read the rule in words, zh-CN labels from config; the record keeps its key.
                "severity_zh": rules.label("severities", state.severity), "role": request["role"],
                "role_zh": rules.label("roles", request["role"])}
        for recipient in request["recipients"]:
            member = rules.staff_member(recipient)
            subject, text, html = mail.render_message(rules.directory, "escalation/intake_alert",
                                                      recipient=member.model_dump(), case=case)  # type: ignore[union-attr]
            mail.enqueue(session, key=f"intake-alert:{case_id}:{recipient}", to=[member.email],  # type: ignore[union-attr]
                         subject=subject, text=text, html=html)

    return record(store, rules, case_id, decide, also=queue_alerts)


# -- the human steps -----------------------------------------------------------------------------

def check_input(rules: Rules, state: CaseState, step: str, data: StaffInput) -> None:
    """The rules a human input must meet beyond its shape; raises :class:`InputRefused`."""
    if state.status != "open":
        raise InputRefused("case", f"{state.case_id} is closed ({state.outcome})", "nothing more can be recorded")
    if state.step != step:
        waiting = COMMANDS.get(state.step, "kefu itself (no person is needed now)")  # type: ignore[call-overload]
        raise InputRefused("step", f"{state.case_id} waits at {str(state.step)!r}, not {str(step)!r}",
                           f"the next action is `{waiting}`; see `kefu case show {state.case_id}`")
    member = rules.staff_member(data.by)
    if member is None:
        raise unknown_staff(data.by)
    allowed = rules.complaint.roles_for(step, state.severity)
    if member.role not in allowed:
        where = f"permissions.{step}" + (f".{state.severity}" if isinstance(rules.complaint.permissions[step], dict) else "")
        raise InputRefused(
            "by", f"{member.id} ({member.role}) may not act here: {step} of a {state.severity or state.kind} case needs "
                  f"one of: {', '.join(allowed)} (config complaint.yaml {where})",
            f"ask one of {', '.join(s.id for s in rules.department.staff if s.role in allowed)}")
    if step == Step.JUDGEMENT and data.upheld and rules.responsible_department(data.department) is None:  # type: ignore[attr-defined]
        raise InputRefused("department", f"unknown department {data.department!r}",  # type: ignore[attr-defined]
                           f"use one of {', '.join(d.id for d in rules.department.departments)}")
    if step in (Step.JUDGEMENT, Step.INVESTIGATION):
        check_category(rules, data.category)  # type: ignore[attr-defined]
    if step == Step.APPROVAL:
        options = state.decision(Step.PROPOSAL, state.round)["options"]  # type: ignore[index]
        if data.choice > len(options):  # type: ignore[attr-defined]
            raise InputRefused("choice", f"there are {len(options)} options in round {state.round}",
                               f"choose a number from 1 to {len(options)}")


def may_decide(step: str) -> Callable[[Rules, CaseState, StaffMember], bool]:
    """Who the form of ``step`` offers: the roles complaint.yaml permits there for the case's severity."""
    return lambda rules, state, member: member.role in rules.complaint.roles_for(step, state.severity)


def choices(step: str) -> Callable[[Rules, CaseState], dict[str, dict[Any, str]]]:
    """The pickers of the form of ``step``: upheld or not and the configured departments by name at
    the judgement, the options of the plan being approved at the approval, the customer's yes or no
    at the implementation (complaint.yaml answers)."""

    def pickers(rules: Rules, state: CaseState) -> dict[str, dict[Any, str]]:
        answers = rules.complaint.answers
        labels = rules.complaint.category_labels()
        if step == Step.JUDGEMENT:
            # Left as it is, the category intake proposed stands (the picker says which).
            proposed = complaint_of(state).category if state.parts.get(PROCESS) else None
            keep = {None: f"— 如受理时建议 as proposed: {labels.get(proposed, proposed or '-')}"} if labels else {}
            return {"department": rules.department_labels(), **({"category": {**keep, **labels}} if labels else {}),
                    **({"upheld": answers.upheld} if answers else {})}
        if step == Step.INVESTIGATION and labels:
            return {"category": {None: "— 不更正 no correction", **labels}}
        if step == Step.IMPLEMENTATION and answers:
            return {"accepted": answers.accepted}
        if step == Step.APPROVAL:
            proposal = state.decision(Step.PROPOSAL, state.round) or {"options": []}
            return {"choice": {i: f"{i}. {option}" for i, option in enumerate(proposal["options"], start=1)}}
        return {}

    return pickers


def submit(store: CaseStore, rules: Rules, case_id: str, step: str, data: StaffInput) -> CaseState:
    """Record a person's answer to a human step, if the rules allow it; else :class:`InputRefused`."""

    def decide(state: CaseState) -> list[NewEvent]:
        check_input(rules, state, step, data)
        payload = data.model_dump(mode="json", exclude={"by"})
        payload["round"] = state.round
        if step == Step.JUDGEMENT and payload["category"] is None:
            payload["category"] = complaint_of(state).category or rules.complaint.default_category
        if payload.get("category") is None:
            payload.pop("category", None)  # the investigation corrected nothing; old rules have none
        return [NewEvent(STEP_EVENT[Step(step)], data.by, clock.now(), payload, idem_key=f"{step}:{state.round}")]

    return record(store, rules, case_id, decide)


# -- the automated steps -------------------------------------------------------------------------

def _notice(rules: Rules, state: CaseState, purpose: str, text: str, key: str, round_: int | None = None) -> NewEvent:
    """A message to the complainant, by the way they came in (customer_messages.yaml)."""
    return customer_messages.notice(rules, purpose, text, state.intake, key, round_)


def send_not_upheld_reply(store: CaseStore, rules: Rules, case_id: str) -> CaseState:
    """Not upheld: reply tactfully, with the reason, and clear the misunderstanding."""

    def decide(state: CaseState) -> list[NewEvent]:
        if "not_upheld_reply" in state.notices:
            return []
        reason = state.decision(Step.JUDGEMENT)["reason"]  # type: ignore[index]
        text = render(rules, "not_upheld_reply", name=state.intake["name"], case_id=case_id, reason=reason)
        return [_notice(rules, state, "not_upheld_reply", text, "not-upheld-reply")]

    return record(store, rules, case_id, decide)


def record_discipline(store: CaseStore, rules: Rules, case_id: str, round_: int) -> CaseState:
    """The disciplinary note for the directly responsible person and the department head."""

    def decide(state: CaseState) -> list[NewEvent]:
        if round_ in complaint_of(state).discipline:
            return []
        judgement = state.decision(Step.JUDGEMENT)
        investigation = state.decision(Step.INVESTIGATION)
        department = rules.responsible_department(judgement["department"])  # type: ignore[index,arg-type]
        note = render(rules, "discipline_note", case_id=case_id, cause=investigation["cause"],  # type: ignore[index]
                      responsible=investigation["responsible"], option=chosen_option(state, round_),  # type: ignore[index]
                      responsible_department=department.name, responsible_department_en=department.name_en)  # type: ignore[union-attr]
        return [NewEvent(ComplaintEvent.DISCIPLINE_RECORDED, SYSTEM, clock.now(), {
            "round": round_, "responsible": investigation["responsible"],  # type: ignore[index]
            "department": judgement["department"], "note": note,  # type: ignore[index]
        }, idem_key=f"discipline:{round_}")]

    return record(store, rules, case_id, decide)


def send_answer(store: CaseStore, rules: Rules, case_id: str) -> CaseState:
    """Send the consultation's or query's answer to the customer."""

    def decide(state: CaseState) -> list[NewEvent]:
        if "contact_answer" in state.notices:
            return []
        answer = state.decision(Step.ANSWER)["answer"]  # type: ignore[index]
        text = render(rules, "contact_answer", name=state.intake["name"], answer=answer)
        return [_notice(rules, state, "contact_answer", text, "contact-answer")]

    return record(store, rules, case_id, decide)


def send_plan_notice(store: CaseStore, rules: Rules, case_id: str, round_: int) -> CaseState:
    """Tell the customer the approved plan and ask whether they accept it."""

    def decide(state: CaseState) -> list[NewEvent]:
        if f"plan_notice:{round_}" in state.notices:
            return []
        text = render(rules, "plan_notice", name=state.intake["name"], case_id=case_id,
                      option=chosen_option(state, round_))
        return [_notice(rules, state, "plan_notice", text, f"plan-notice:{round_}", round_)]

    return record(store, rules, case_id, decide)


def request_callback(store: CaseStore, rules: Rules, case_id: str) -> CaseState:
    """处理后有回访: the closed loop ends with a callback (the callback process takes it from here)."""

    def decide(state: CaseState) -> list[NewEvent]:
        if complaint_of(state).callback is not None:
            return []
        return [NewEvent(ComplaintEvent.CALLBACK_REQUESTED, SYSTEM, clock.now(), {
            "reason": "complaint_closed", "member": state.intake.get("member", False),
            "phone": state.intake.get("phone"), "name": state.intake.get("name"),
        }, idem_key="callback")]

    return record(store, rules, case_id, decide)


def close(store: CaseStore, rules: Rules, case_id: str, outcome: str) -> CaseState:
    """Close the case; archived with its outcome (not upheld cases still count in statistics)."""

    def decide(state: CaseState) -> list[NewEvent]:
        if state.status == "closed":
            return []
        return [NewEvent(EventType.CLOSED, SYSTEM, clock.now(), {"outcome": outcome}, idem_key="closed")]

    return record(store, rules, case_id, decide)




def recorder(step: str) -> Callable[[CaseStore, Rules, str, StaffInput], CaseState]:
    """How a person's input at ``step`` is recorded (the process list's human steps)."""

    def record_step(store: CaseStore, rules: Rules, case_id: str, data: StaffInput) -> CaseState:
        return submit(store, rules, case_id, step, data)

    return record_step
