"""The complaint process's decisions: what each command and each step records.

The CLI and the flow's tasks both call these functions, so a decision made in the
dashboard form and the same decision made on the command line end in the same event.
Every function re-reads the case, decides, and appends; a concurrent writer makes it
re-read and decide again. Steps that may run twice record once (idempotency keys).
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from pydantic import ValidationError
from sqlmodel import Session

from kefu import clock, deadlines
from kefu.rules import Rules
from kefu.store import CaseStore, ConcurrentChange, NewEvent
from kefu.texts import local_time, mask_phone, render
from models.complaint import HUMAN_STEPS, STEP_EVENT, CaseState, DeadlineState, EventType, RecordedEvent, Step, apply
from models.inputs import ContactRegistration, STEP_INPUT, _Input

SYSTEM = "kefu"
# Which CLI command answers each human step (for error messages that say what to do).
STEP_COMMAND = {
    Step.ANSWER: "kefu contact answer",
    Step.JUDGEMENT: "kefu complaint judge",
    Step.INVESTIGATION: "kefu complaint investigate",
    Step.PROPOSAL: "kefu complaint propose",
    Step.APPROVAL: "kefu complaint approve",
    Step.IMPLEMENTATION: "kefu complaint implement",
    Step.REVIEW: "kefu complaint review",
    "call": "kefu callback record",
    # P3 orders (kefu.orders): the command is followed by the order id.
    "payment": "kefu order paid", "remark": "kefu order remark", "verification": "kefu order verify",
    "shipment": "kefu order shipped", "delivery": "kefu order delivered", "chase-reply": "kefu order chase --via phone",
    **{step: f"kefu order step {step}" for step in ("stock-check", "finance-confirmation", "director-approval",
                                                    "handover", "invoice")},
}


class InputRefused(Exception):
    """Bad input a person can fix; nothing was recorded. Names the field and the fix."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field, self.problem, self.fix = field, problem, fix
        super().__init__(f"{field}: {problem} — {fix}")


# What to write instead, per field, when an input's shape is wrong.
FIELD_FIXES = {
    "phone": "give the customer's phone number in digits, e.g. 13812345678 or +86 138 1234 5678",
    "content": "write what the customer said",
    "name": "give the complainant's name",
    "received_at": "give an ISO-8601 time with its UTC offset, e.g. 2026-11-23T09:30:00+08:00",
    "by": "give your staff id (see `kefu staff`)",
    "options": "give at least one --option",
    "choice": "choose an option by its number, 1 for the first",
    "signature": "add --signature with the customer's name",
    "department": "with --upheld give --department (see `kefu config show`); with --not-upheld give none",
}


def refusal_from_validation(exc: ValidationError) -> InputRefused:
    error = exc.errors()[0]
    message = error["msg"].removeprefix("Value error, ")
    field = ".".join(str(p) for p in error["loc"])
    if ": " in message and not field:
        field, message = message.split(": ", 1)
    field = field or "input"
    return InputRefused(field, message, FIELD_FIXES.get(field.split(".")[0], "correct this value and try again"))


# -- the shared write path ----------------------------------------------------------------------

def _deadline_events(rules: Rules, before: CaseState, events: list[NewEvent]) -> list[NewEvent]:
    """Close the deadline of the step a case leaves, open one for the human step it enters, and
    move every open deadline when the customer stops or restarts the clock."""
    after = before.model_copy(deep=True)
    extra: list[NewEvent] = []
    for offset, event in enumerate(events, start=1):
        step_before, round_before, was_open = after.step, after.round, after.status == "open"
        apply(after, RecordedEvent(seq=before.last_seq + offset, type=event.type, actor=event.actor,
                                   at=event.at, payload=event.payload))
        if event.type == EventType.REGISTERED and after.process == "complaint":
            extra.append(open_deadline(rules, after, "resolution", 1, event))
        if (after.step, after.round) != (step_before, round_before):
            if step_before in HUMAN_STEPS and any(
                d.step == step_before and d.round == round_before and d.met_at is None for d in after.deadlines
            ):
                extra.append(NewEvent(EventType.DEADLINE_MET, SYSTEM, event.at,
                                      {"step": str(step_before), "round": round_before}))
            if after.step in HUMAN_STEPS:
                extra.append(open_deadline(rules, after, str(after.step), after.round, event))
        if was_open and after.status == "closed" and after.process == "complaint":
            extra.append(NewEvent(EventType.DEADLINE_MET, SYSTEM, event.at, {"step": "resolution", "round": 1}))
        if event.type in (EventType.CLOCK_PAUSED, EventType.CLOCK_RESUMED):
            extra.extend(_reschedule(rules, after, event, "the customer stopped the clock"
                                     if event.type == EventType.CLOCK_PAUSED else "the customer answered"))
    return extra


def open_deadline(rules: Rules, state: CaseState, step: str, round_: int, cause: NewEvent) -> NewEvent:
    plan = deadlines.plan(rules, state.process, state.severity, step, round_, cause.at, state.pauses)
    return NewEvent(EventType.DEADLINE_OPENED, SYSTEM, cause.at, plan.event_payload())


# What a deadline the customer booked shows as its allowance (kefu.callbacks).
CUSTOMER_CHOICE = "the customer's choice"


def _ruled_deadlines(state: CaseState) -> list[DeadlineState]:
    """The open deadlines the SLA rules planned. One whose due time somebody set (``set_by``: a
    time the customer booked, an order's agreed date) stays when the rules change or the clock stops."""
    return [d for d in state.open_deadlines() if d.set_by is None]


def _reschedule(rules: Rules, state: CaseState, cause: NewEvent, reason: str) -> list[NewEvent]:
    return [rescheduled_deadline(rules, state, deadline, cause.at, reason) for deadline in _ruled_deadlines(state)]


def rescheduled_deadline(rules: Rules, state: CaseState, deadline: DeadlineState, at: datetime, reason: str) -> NewEvent:
    """A deadline planned again from its history (opening time, pauses) under ``rules``."""
    plan = deadlines.plan(rules, state.process, state.severity, deadline.step, deadline.round,
                          deadline.opened_at, state.pauses).event_payload()
    return NewEvent(EventType.DEADLINE_RESCHEDULED, SYSTEM, at, {
        "step": deadline.step, "round": deadline.round, "due_at": plan["due_at"], "rungs": plan["rungs"],
        "policy": plan["policy"], "allowed": plan["allowed"], "reason": reason,
    })


def record(store: CaseStore, rules: Rules, case_id: str, decide: Callable[[CaseState], list[NewEvent]],
            also: Callable[[Session, CaseState], None] | None = None) -> CaseState:
    for _ in range(10):
        state = store.state(case_id)
        events = decide(state)
        if not events:
            return state  # already recorded: the step ran before
        events = events + _deadline_events(rules, state, events)
        try:
            return store.append(state, events, rules.version, also)
        except ConcurrentChange:
            continue
    raise ConcurrentChange(f"{case_id} kept changing while recording; try again")


# -- 1. intake -----------------------------------------------------------------------------------

def classify(rules: Rules, reg: ContactRegistration) -> tuple[str, str | None, str]:
    """Kind and severity of a contact, and what decided them (the agent, a keyword rule, the default)."""
    kind, severity, basis = reg.kind, reg.severity, []
    content = reg.content.lower()
    for i, rule in enumerate(rules.complaint.classification):
        hit = next((word for word in rule.any_of if word.lower() in content), None)
        if hit is None:
            continue
        if rule.kind and kind is None:
            kind = rule.kind
            basis.append(f"classification.{i} ({hit})")
        if rule.severity and severity is None:
            severity = rule.severity
            basis.append(f"classification.{i} ({hit})")
    if reg.kind:
        basis.insert(0, "kind given at intake")
    if reg.severity:
        basis.insert(0, "severity given at intake")
    if kind is None:
        kind = rules.complaint.default_kind
        basis.append("default_kind")
    process = rules.complaint.kinds[kind]
    if process == "contact":
        severity = None
    elif severity is None:
        severity = rules.complaint.default_severity
        basis.append("default_severity")
    return kind, severity, "; ".join(basis)


def register_contact(store: CaseStore, rules: Rules, reg: ContactRegistration) -> CaseState:
    """Fill the Complaint Register and classify the contact (step 1, 投诉受理)."""
    if reg.channel not in rules.complaint.channels:
        raise InputRefused("channel", f"unknown channel {reg.channel!r}",
                           f"use one of {', '.join(rules.complaint.channels)}")
    if reg.kind is not None and reg.kind not in rules.complaint.kinds:
        raise InputRefused("kind", f"unknown kind {reg.kind!r}", f"use one of {', '.join(rules.complaint.kinds)}")
    if reg.severity is not None and reg.severity not in rules.complaint.severities:
        raise InputRefused("severity", f"unknown severity {reg.severity!r}",
                           f"use one of {', '.join(rules.complaint.severities)}")
    if reg.by != "intake" and rules.staff_member(reg.by) is None:
        raise _unknown_staff(reg.by)
    kind, severity, basis = classify(rules, reg)
    process = rules.complaint.kinds[kind]
    owner = assign_owner(store, rules, reg.by)
    received_at = clock.as_utc(reg.received_at) if reg.received_at else clock.now()
    if received_at > clock.now():
        raise InputRefused("received_at", "is in the future", "give the time the customer actually contacted us")
    payload = reg.model_dump(mode="json", exclude={"kind", "severity", "by", "received_at"})
    payload.update(process=process, kind=kind, severity=severity, classified_by=basis,
                   received_at=received_at.isoformat(), owner=owner)
    first = NewEvent(EventType.REGISTERED, reg.by, received_at, payload)
    events = [first] + _deadline_events(rules, _blank(), [first])
    day = received_at.astimezone(rules.department.department.zone).strftime("%Y%m%d")
    return store.create(rules.department.department.case_id_prefix, day, process, reg.name, events, rules.version)


def assign_owner(store: CaseStore, rules: Rules, registered_by: str) -> str:
    """The agent who owns a new case: the one who took it, or else the agent holding the fewest
    open cases (PROCESSES.md P5: "按照负责客户数量均衡" — balance the number per agent)."""
    member = rules.staff_member(registered_by)
    if member is not None and member.role == rules.department.roles[0]:
        return member.id
    agents = [s.id for s in rules.department.staff if s.role == rules.department.roles[0]]
    load = store.open_cases_by_owner()
    return min(agents, key=lambda agent: (load.get(agent, 0), agents.index(agent)))


def _blank() -> CaseState:
    return CaseState(case_id="")


def acknowledge(store: CaseStore, rules: Rules, case_id: str) -> CaseState:
    """Tell the customer the complaint is registered and when to expect a judgement."""

    def decide(state: CaseState) -> list[NewEvent]:
        if "acknowledgement" in state.notices:
            return []
        judgement = next(d for d in state.deadlines if d.step == Step.JUDGEMENT)
        text = render(rules, "acknowledgement", name=state.intake["name"], case_id=case_id,
                      received_at_local=local_time(rules, state.opened_at),
                      judgement_due_local=local_time(rules, judgement.due_at))
        return [_notice(state, "acknowledgement", text, "ack")]

    return record(store, rules, case_id, decide)


def request_manager_notification(store: CaseStore, rules: Rules, case_id: str) -> CaseState:
    """Major and crisis complaints are reported upward at once (the e-mail goes out with the escalation engine)."""

    def decide(state: CaseState) -> list[NewEvent]:
        role = rules.complaint.notify_at_intake.get(state.severity or "")
        if role is None or state.notifications:
            return []
        recipients = [s.id for s in rules.department.staff if s.role == role]
        return [NewEvent(EventType.MANAGER_NOTIFICATION_REQUESTED, SYSTEM, clock.now(), {
            "severity": state.severity, "role": role, "recipients": recipients,
            "rule": f"complaint.yaml notify_at_intake.{state.severity}",
        }, idem_key="notify-at-intake")]

    def queue_alerts(session: Session, state: CaseState) -> None:
        from kefu import mail
        from kefu.settings import get_settings

        request = state.notifications[-1]
        owner = rules.staff_member(state.owner or "")
        run_url = get_settings().dashboard_url + (f"/runs/flow-run/{state.flow_run_id}" if state.flow_run_id else "")
        case = {"case_id": case_id, "customer_name": state.intake["name"],
                "phone_masked": mask_phone(state.intake.get("phone", "")), "severity": state.severity,
                "content": state.intake["content"], "received_at": local_time(rules, state.opened_at),  # type: ignore[arg-type]
                "owner_name": f"{owner.name} ({owner.id})" if owner else "-", "case_url": run_url,
                "rule": request["rule"]}
        for recipient in request["recipients"]:
            member = rules.staff_member(recipient)
            subject, text, html = mail.render_message(rules.directory, "escalation/intake_alert",
                                                      recipient=member.model_dump(), case=case)  # type: ignore[union-attr]
            mail.enqueue(session, key=f"intake-alert:{case_id}:{recipient}", to=[member.email],  # type: ignore[union-attr]
                         subject=subject, text=text, html=html)

    return record(store, rules, case_id, decide, also=queue_alerts)


# -- the human steps -----------------------------------------------------------------------------

def parse_input(step: str, data: dict) -> _Input:
    """Shape-check a human input (the CLI's and the dashboard's) into its typed model."""
    try:
        return STEP_INPUT[step].model_validate(data)
    except ValidationError as exc:
        raise refusal_from_validation(exc) from None


def _unknown_staff(staff_id: str) -> InputRefused:
    return InputRefused("by", f"unknown staff id {staff_id!r}", "use an id from `kefu staff`")


def check_input(rules: Rules, state: CaseState, step: str, data: _Input) -> None:
    """The rules a human input must meet beyond its shape; raises :class:`InputRefused`."""
    if state.status != "open":
        raise InputRefused("case", f"{state.case_id} is closed ({state.outcome})", "nothing more can be recorded")
    if state.step != step:
        waiting = STEP_COMMAND.get(state.step, "kefu itself (no person is needed now)")
        raise InputRefused("step", f"{state.case_id} waits at {str(state.step)!r}, not {str(step)!r}",
                           f"the next action is `{waiting}`; see `kefu case show {state.case_id}`")
    member = rules.staff_member(data.by)
    if member is None:
        raise _unknown_staff(data.by)
    allowed = rules.roles_for(step, state.severity)
    if member.role not in allowed:
        where = f"permissions.{step}" + (f".{state.severity}" if isinstance(rules.complaint.permissions[step], dict) else "")
        raise InputRefused(
            "by", f"{member.id} ({member.role}) may not act here: {step} of a {state.severity or state.kind} case needs "
                  f"one of: {', '.join(allowed)} (config complaint.yaml {where})",
            f"ask one of {', '.join(s.id for s in rules.department.staff if s.role in allowed)}")
    if step == Step.JUDGEMENT and data.upheld and rules.responsible_department(data.department) is None:  # type: ignore[attr-defined]
        raise InputRefused("department", f"unknown department {data.department!r}",  # type: ignore[attr-defined]
                           f"use one of {', '.join(d.id for d in rules.department.departments)}")
    if step == Step.APPROVAL:
        options = state.decision(Step.PROPOSAL, state.round)["options"]  # type: ignore[index]
        if data.choice > len(options):  # type: ignore[attr-defined]
            raise InputRefused("choice", f"there are {len(options)} options in round {state.round}",
                               f"choose a number from 1 to {len(options)}")


# Human steps of the other processes record through their own module (kefu.callbacks: "call").
STEP_RECORDERS: dict[str, Callable[[CaseStore, Rules, str, _Input], CaseState]] = {}


def submit(store: CaseStore, rules: Rules, case_id: str, step: str, data: _Input) -> CaseState:
    """Record a person's answer to a human step, if the rules allow it; else :class:`InputRefused`."""
    if step in STEP_RECORDERS:
        return STEP_RECORDERS[step](store, rules, case_id, data)

    def decide(state: CaseState) -> list[NewEvent]:
        check_input(rules, state, step, data)
        payload = data.model_dump(mode="json", exclude={"by"})
        payload["round"] = state.round
        return [NewEvent(STEP_EVENT[Step(step)], data.by, clock.now(), payload,
                         idem_key=f"{step}:{state.round}")]

    return record(store, rules, case_id, decide)


def refuse(store: CaseStore, rules: Rules, case_id: str, step: str, round_: int, by: str,
           refusal: InputRefused) -> CaseState:
    """Record a refused dashboard input, so the form re-opens with the reason and the refusal is on file."""
    nth = store.state(case_id).refusal_count(step, round_) + 1

    def decide(state: CaseState) -> list[NewEvent]:
        if state.refusal_count(step, round_) >= nth:
            return []
        return [NewEvent(EventType.INPUT_REFUSED, by or "unknown", clock.now(), {
            "step": step, "round": round_, "field": refusal.field, "problem": refusal.problem, "fix": refusal.fix,
        }, idem_key=f"refused:{step}:{round_}:{nth}")]

    return record(store, rules, case_id, decide)


# -- the customer's clock -------------------------------------------------------------------------

def pause_clock(store: CaseStore, rules: Rules, case_id: str, reason: str, by: str) -> CaseState:
    """The case waits for the customer (e.g. asked to be called later): its deadlines stop."""

    def decide(state: CaseState) -> list[NewEvent]:
        _check_clock_change(rules, state, by, reason)
        if state.paused:
            raise InputRefused("case", f"{case_id}'s clock is already stopped", f"`kefu case resume {case_id}` restarts it")
        return [NewEvent(EventType.CLOCK_PAUSED, by, clock.now(), {"reason": reason})]

    return record(store, rules, case_id, decide)


def resume_clock(store: CaseStore, rules: Rules, case_id: str, reason: str, by: str) -> CaseState:
    """The customer responded: the deadlines run again, moved by the time they were stopped."""

    def decide(state: CaseState) -> list[NewEvent]:
        _check_clock_change(rules, state, by, reason)
        if not state.paused:
            raise InputRefused("case", f"{case_id}'s clock is running", "nothing to resume")
        return [NewEvent(EventType.CLOCK_RESUMED, by, clock.now(), {"reason": reason})]

    return record(store, rules, case_id, decide)


def recompute_deadlines(store: CaseStore, rules: Rules, case_id: str) -> list[dict]:
    """Recompute the case's open deadlines from its history under the rules in force now (after a
    calendar or SLA change); record and return the ones that moved."""
    changes: list[dict] = []

    def decide(state: CaseState) -> list[NewEvent]:
        changes.clear()
        events = []
        for deadline in _ruled_deadlines(state):
            event = rescheduled_deadline(rules, state, deadline, clock.now(), f"recomputed under rules {rules.version}")
            was = None if deadline.due_at is None else deadline.due_at.isoformat()
            if event.payload["due_at"] == was and event.payload["rungs"] == deadline.rungs:
                continue
            changes.append({"case_id": state.case_id, "step": deadline.step, "round": deadline.round,
                            "was": was, "now": event.payload["due_at"], "policy": event.payload["policy"]})
            events.append(event)
        return events

    record(store, rules, case_id, decide)
    return changes


def _check_clock_change(rules: Rules, state: CaseState, by: str, reason: str) -> None:
    if state.status != "open":
        raise InputRefused("case", f"{state.case_id} is closed", "a closed case has no running deadlines")
    if rules.staff_member(by) is None:
        raise _unknown_staff(by)
    if not reason.strip():
        raise InputRefused("reason", "must not be empty", "say why the clock stops or restarts")


# -- the automated steps -------------------------------------------------------------------------

def _notice(state: CaseState, purpose: str, text: str, key: str, round_: int | None = None) -> NewEvent:
    payload = {"purpose": purpose, "channel": state.intake.get("channel"), "to": state.intake.get("phone"),
               "text": text}
    if round_ is not None:
        payload["round"] = round_
    return NewEvent(EventType.CUSTOMER_NOTIFIED, SYSTEM, clock.now(), payload, idem_key=key)


def send_not_upheld_reply(store: CaseStore, rules: Rules, case_id: str) -> CaseState:
    """Not upheld: reply tactfully, with the reason, and clear the misunderstanding."""

    def decide(state: CaseState) -> list[NewEvent]:
        if "not_upheld_reply" in state.notices:
            return []
        reason = state.decision(Step.JUDGEMENT)["reason"]  # type: ignore[index]
        text = render(rules, "not_upheld_reply", name=state.intake["name"], case_id=case_id, reason=reason)
        return [_notice(state, "not_upheld_reply", text, "not-upheld-reply")]

    return record(store, rules, case_id, decide)


def record_discipline(store: CaseStore, rules: Rules, case_id: str, round_: int) -> CaseState:
    """The disciplinary note for the directly responsible person and the department head."""

    def decide(state: CaseState) -> list[NewEvent]:
        if round_ in state.discipline:
            return []
        judgement = state.decision(Step.JUDGEMENT)
        investigation = state.decision(Step.INVESTIGATION)
        department = rules.responsible_department(judgement["department"])  # type: ignore[index,arg-type]
        note = render(rules, "discipline_note", case_id=case_id, cause=investigation["cause"],  # type: ignore[index]
                      responsible=investigation["responsible"], option=state.chosen_option(round_),  # type: ignore[index]
                      responsible_department=department.name, responsible_department_en=department.name_en)  # type: ignore[union-attr]
        return [NewEvent(EventType.DISCIPLINE_RECORDED, SYSTEM, clock.now(), {
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
        return [_notice(state, "contact_answer", text, "contact-answer")]

    return record(store, rules, case_id, decide)


def send_plan_notice(store: CaseStore, rules: Rules, case_id: str, round_: int) -> CaseState:
    """Tell the customer the approved plan and ask whether they accept it."""

    def decide(state: CaseState) -> list[NewEvent]:
        if f"plan_notice:{round_}" in state.notices:
            return []
        text = render(rules, "plan_notice", name=state.intake["name"], case_id=case_id,
                      option=state.chosen_option(round_))
        return [_notice(state, "plan_notice", text, f"plan-notice:{round_}", round_)]

    return record(store, rules, case_id, decide)


def request_callback(store: CaseStore, rules: Rules, case_id: str) -> CaseState:
    """处理后有回访: the closed loop ends with a callback (the callback process takes it from here)."""

    def decide(state: CaseState) -> list[NewEvent]:
        if state.callback is not None:
            return []
        return [NewEvent(EventType.CALLBACK_REQUESTED, SYSTEM, clock.now(), {
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


def link_flow_run(store: CaseStore, rules: Rules, case_id: str, flow_run_id: str) -> CaseState:
    """Remember which Prefect flow run executes the case (the record stays the truth)."""

    def decide(state: CaseState) -> list[NewEvent]:
        if state.flow_run_id == flow_run_id:
            return []
        return [NewEvent(EventType.FLOW_RUN_LINKED, SYSTEM, clock.now(), {"flow_run_id": flow_run_id})]

    return record(store, rules, case_id, decide)
