"""P2 Callback guarantee 回访: who is called back and when, and what each call records.

"一个避免，三个必保" (seed 001): never call in the customer's rest time; call back 100 % of
members; record every callback completely; call back within three days, and if the customer
cannot talk, book another time. The CLI, the flow's tasks and the demo all call these
functions, so a call recorded on the command line and one recorded in the dashboard form end
in the same events.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from kefu.core import casework, clock, customer_messages
from kefu.core.assignment import agents, least_loaded
from kefu.core.availability import available_agents
from kefu.core.casework import SYSTEM, open_deadline
from kefu.core.customer_messages import quiet_time
from kefu.core.policies import CUSTOMER_CHOICE
from kefu.core.refusals import FIELD_FIXES as SHARED_FIXES
from kefu.core.refusals import InputRefused, unknown_staff
from kefu.core.rules import Rules
from kefu.core.store import CaseStore, NewEvent
from kefu.core.texts import mask_phone, render_file
from kefu.processes.callback.rules import ANSWERED
from kefu.processes.complaint.decisions import register_contact
from kefu.processes.customer import decisions as customers
from models.callback import (
    ATTEMPTED,
    BOOKED,
    CALL,
    FOLLOW_UP_OPENED,
    OPENED,
    PROCESS,
    CallAttemptInput,
    CallbackCustomer,
    CallbackState,
    callback_of,
)
from models.case import CaseState, DeadlineState, EventType, RecordedEvent
from models.complaint import ContactRegistration, complaint_of
from models.customer import customer_of
from models.records import Case, CaseEvent
from models.reducer import apply

# What to write instead when a call record's field is wrong (the CLI's and the dashboard's).
FIELD_FIXES = {
    **SHARED_FIXES,
    "note": "add --note with what the customer wants improved",
    "booked_at": "give the time the customer asked for with --at, e.g. 2026-11-24T10:00:00+08:00",
    "outcome": "use satisfied, average, unsatisfied, not_convenient or unreachable",
    "channel": "use phone, email or sms",
    "customer_called": "call when the customer is awake; if they called you, mark it as their call (--customer-called)",
}


# -- when to call ---------------------------------------------------------------------------------

def valid_zone(name: str) -> str:
    try:
        return ZoneInfo(name).key
    except (ValueError, KeyError):
        raise InputRefused("timezone", f"unknown time zone {name!r}",
                           "use an IANA name such as Asia/Shanghai or America/Los_Angeles") from None


def customer_zone(rules: Rules, customer: CallbackCustomer) -> ZoneInfo:
    return ZoneInfo(customer.timezone or rules.callback.default_timezone)


def customer_local(at: datetime, zone: ZoneInfo) -> str:
    """A time as the customer reads it: ``2026-11-24 10:00 (America/Los_Angeles)``."""
    return f"{at.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})"


def propose_call_time(rules: Rules, after: datetime, zone: ZoneInfo) -> datetime:
    """The first moment from ``after`` on that is outside the customer's quiet hours — inside the
    agents' working hours too when the customer is awake then within ``search_days``."""
    quiet = quiet_time(rules)
    waking = quiet.next_waking_moment(after, zone)
    if rules.callback.agents_calendar is None:
        return waking
    office = rules.calendar(rules.callback.agents_calendar)
    at, limit = waking, waking + timedelta(days=rules.callback.search_days)
    while at < limit:
        at = office.next_working_moment(at)
        awake = quiet.next_waking_moment(at, zone)
        if awake == at:
            return at
        at = awake
    return waking  # no overlap (a customer far away): their rest wins over our office hours


def earliest_call(rules: Rules, triggered_at: datetime) -> datetime:
    """``propose_after`` the trigger, on the agents' calendar (before quiet hours are taken out)."""
    allowance = rules.callback.propose_after
    return rules.calendar(rules.callback.agents_calendar).add(triggered_at, allowance.amount, allowance.basis)


def first_call_time(rules: Rules, triggered_at: datetime, zone: ZoneInfo) -> datetime:
    """The proposed first call: ``propose_after`` the trigger (never in the past), out of quiet hours."""
    return propose_call_time(rules, max(earliest_call(rules, triggered_at), clock.now()), zone)


def retry_call_time(rules: Rules, unreachable_at: datetime, zone: ZoneInfo) -> datetime:
    """The next attempt after an unreachable call: ``attempts.retry_after`` later, out of quiet hours."""
    retry = rules.callback.attempts.retry_after
    return propose_call_time(rules, rules.calendar().add(unreachable_at, retry.amount, retry.basis), zone)


def rungs_moved_to(deadline: DeadlineState, booked: datetime) -> list[dict]:
    """The call deadline's rungs spread over the span up to a time the customer booked past it."""
    span = booked - deadline.opened_at
    return [{**rung, "at": (deadline.opened_at + span * rung["share"]).isoformat()} for rung in deadline.rungs]


# -- who calls ------------------------------------------------------------------------------------

def assign_agent(store: CaseStore, rules: Rules, trigger: str, owner: str | None = None) -> str:
    """The customer's own agent (the archive's owner) when they may take it today; else the agent
    holding the fewest open callbacks (PROCESSES.md P5 "按照负责客户数量均衡"), among those with the
    trigger's skill when callback.yaml names one. Nobody away or inactive gets a new callback."""
    available = available_agents(store, rules, clock.now().astimezone(rules.department.department.zone).date())
    skill = rules.callback.trigger_skills.get(trigger)
    candidates = [a for a in available if skill is None or skill in rules.callback.skills.get(a, [])]
    if owner is not None and owner in candidates:
        return owner
    # Everybody with the skill away: the callback still needs somebody (the supervisor reassigns).
    candidates = candidates or [a for a in agents(rules) if skill is None or skill in rules.callback.skills.get(a, [])]
    return least_loaded(candidates, store.open_cases_by_owner(PROCESS))


# -- opening a callback ---------------------------------------------------------------------------

def find_by_trigger(store: CaseStore, trigger_key: str) -> str | None:
    """The callback already opened for this trigger (one per complaint, per period, per occasion)."""
    with Session(store.engine) as session:
        return session.execute(
            sa.select(CaseEvent.case_id).where(
                CaseEvent.type == OPENED, CaseEvent.payload["trigger_key"].as_string() == trigger_key)
        ).scalars().first()


def subject_lines(rules: Rules, trigger: str, ref: str, ref_en: str | None = None) -> tuple[str, str]:
    text = render_file(rules, rules.callback.templates.subject, trigger=trigger, ref=ref, ref_en=ref_en or ref)
    zh, en = text.splitlines()
    return zh, en


def open_callback(store: CaseStore, rules: Rules, *, trigger: str, trigger_key: str, customer: CallbackCustomer,
                  ref: str, ref_en: str | None = None, triggered_at: datetime,
                  source_case: str | None = None, owner: str | None = None) -> CaseState:
    """Open the callback for one trigger (again: the one already opened), its agent, its first
    proposed time, and its deadline (sla.yaml: callback call, three days from the trigger)."""
    existing = find_by_trigger(store, trigger_key)
    if existing is not None:
        return store.state(existing)
    if triggered_at > clock.now():
        raise InputRefused("at", "is in the future", "give the time the service was actually completed")
    zone = customer_zone(rules, customer)
    customer = customer.model_copy(update={"timezone": zone.key})
    subject, subject_en = subject_lines(rules, trigger, ref, ref_en)
    opened = NewEvent(OPENED, SYSTEM, triggered_at, {
        "trigger": trigger, "trigger_key": trigger_key, "source_case": source_case,
        "subject": subject, "subject_en": subject_en, "customer": customer.model_dump(mode="json"),
        "agent": assign_agent(store, rules, trigger, owner),
        "max_attempts": rules.callback.max_attempts(customer.member),
        "proposed_at": first_call_time(rules, triggered_at, zone).isoformat(),
        "rule": "callback.yaml propose_after, quiet_hours",
    }, idem_key="opened")
    state = apply(CaseState(case_id=""), RecordedEvent(seq=1, type=opened.type, actor=opened.actor, at=opened.at,
                                                      payload=opened.payload))
    day = triggered_at.astimezone(rules.department.department.zone).strftime("%Y%m%d")
    return store.create(rules.callback.case_id_prefix, day, PROCESS, customer.name,
                        [opened, open_deadline(rules, state, CALL, 1, opened)], rules.version)


def open_for_complaint(store: CaseStore, rules: Rules, complaint_id: str) -> CaseState:
    """Trigger (a): the callback a closed complaint asked for (处理后有回访), one per complaint."""
    complaint = store.state(complaint_id)
    requested = complaint_of(complaint).callback if complaint.process == "complaint" else None
    if requested is None:
        raise InputRefused("case_id", f"{complaint_id} has not asked for a callback",
                           "a complaint asks for one when it is reviewed and closed")
    intake = complaint.intake
    # The zone the complaint's intake recorded (given, or the phone number's): their rest hours.
    customer = CallbackCustomer(name=intake["name"], phone=intake["phone"], member=bool(intake.get("member")),
                                timezone=intake.get("timezone") or rules.callback.default_timezone)
    return open_callback(store, rules, trigger="complaint_closed", trigger_key=f"complaint_closed:{complaint_id}",
                         customer=customer, ref=complaint_id, triggered_at=requested["at"],
                         source_case=complaint_id)


def open_for_service(store: CaseStore, rules: Rules, *, reference: str, service: str, customer: CallbackCustomer,
                     completed_at: datetime) -> CaseState:
    """Trigger (b): a service or repair was completed (维修后的满意率回访), one per service reference."""
    return open_callback(store, rules, trigger="service_completed", trigger_key=f"service_completed:{reference}",
                         customer=customer, ref=service, triggered_at=clock.as_utc(completed_at))


def _archived(rules: Rules, state: CaseState) -> CallbackCustomer:
    """A customer of the archive (P5) as the callback calls them: key and agreement customers
    alike are called every two months (seed 002 §3 6.2 "重点/协议客户")."""
    p = customer_of(state).profile
    return CallbackCustomer(id=state.case_id, name=p.name, phone=p.phone, email=p.email,
                            timezone=p.timezone or rules.callback.default_timezone, member=p.member,
                            key=p.key or p.agreement)


def key_customer_period(rules: Rules, day: date) -> str:
    """The two-month period a day falls in (``2026-P6`` = Nov–Dec with every_months 2)."""
    every = rules.callback.key_customers_every_months
    return f"{day.year}-P{(day.month - 1) // every + 1}"


def select_due_customers(store: CaseStore, rules: Rules, day: date) -> list[CaseState]:
    """Triggers (c) and (d): pick the customers due for a callback from the archive on ``day`` —
    key customers once per period (seed 002 §3 6.2 "每两个月一次") and the audiences of the
    occasions that have come up. Running it again the same period opens nothing new."""
    opened = []
    period = key_customer_period(rules, day)
    archive = [(state, _archived(rules, state)) for state in customers.archive(store)]
    for state, customer in ((s, c) for s, c in archive if c.key):
        opened.append(open_callback(store, rules, trigger="key_customer", trigger_key=f"key_customer:{customer.id}:{period}",
                                    customer=customer, ref=period, triggered_at=clock.now(), owner=state.owner))
    for occasion in rules.callback.occasions:
        if not occasion.day - timedelta(days=occasion.days_before) <= day <= occasion.day:
            continue
        audience = [(s, c) for s, c in archive
                    if occasion.audience == "all" or (occasion.audience == "members" and c.member)
                    or (occasion.audience == "key" and c.key)]
        for state, customer in audience:
            opened.append(open_callback(
                store, rules, trigger="occasion", trigger_key=f"occasion:{occasion.id}:{customer.id}",
                customer=customer, ref=occasion.name, ref_en=occasion.name_en, triggered_at=clock.now(),
                owner=state.owner))
    return opened


# -- the call -------------------------------------------------------------------------------------

def _check_call(rules: Rules, state: CaseState, data: CallAttemptInput) -> None:
    if state.process != PROCESS:
        raise InputRefused("case_id", f"{state.case_id} is a {state.process} case, not a callback",
                           "see `kefu callback due` for the callbacks")
    if state.status != "open":
        raise InputRefused("case_id", f"{state.case_id} is closed ({state.outcome})", "nothing more can be recorded")
    if rules.staff_member(data.by) is None:
        raise unknown_staff(data.by)
    if data.channel not in rules.callback.channels:
        raise InputRefused("channel", f"{data.channel!r} is not a callback channel",
                           f"use one of {', '.join(rules.callback.channels)} (callback.yaml channels)")


def _closing(state: CaseState, at: datetime, outcome: str) -> list[NewEvent]:
    return [NewEvent(EventType.DEADLINE_MET, SYSTEM, at, {"step": CALL, "round": 1}),
            NewEvent(EventType.CLOSED, SYSTEM, at, {"outcome": outcome}, idem_key="closed")]


def _customer_booking(rules: Rules, state: CaseState, booked: datetime, now: datetime, attempt: int) -> list[NewEvent]:
    """The customer asked to be called at ``booked``: the next attempt, and — when it is past the
    three days — the deadline moved to it as the customer's choice, not our breach."""
    callback = callback_of(state)
    zone = customer_zone(rules, callback.customer)
    if booked <= now:
        raise InputRefused("booked_at", f"{customer_local(booked, zone)} is not in the future",
                           "give the later time the customer asked for")
    quiet = quiet_time(rules)
    if quiet.is_quiet(booked, zone):
        waking = quiet.next_waking_moment(booked, zone)
        raise InputRefused("booked_at", f"{customer_local(booked, zone)} is in the customer's quiet hours "
                           f"(callback.yaml quiet_hours)",
                           f"ask for a time outside them, e.g. {customer_local(waking, zone)} or later")
    events = [NewEvent(BOOKED, SYSTEM, now, {
        "round": attempt + 1, "at": booked.isoformat(), "set_by": "customer",
        "reason": "the customer could not talk and asked for this time", "input": {"attempt": attempt},
    }, idem_key=f"booked:{attempt}")]
    deadline = state.deadline(CALL, 1)
    if deadline is not None and deadline.due_at is not None and booked > deadline.due_at:
        events.append(NewEvent(EventType.DEADLINE_RESCHEDULED, SYSTEM, now, {
            "step": CALL, "round": 1, "due_at": booked.isoformat(), "rungs": rungs_moved_to(deadline, booked),
            "policy": deadline.policy, "allowed": CUSTOMER_CHOICE,
            "set_by": "customer", "booked_at": booked.isoformat(),
            "reason": f"the customer asked to be called at {customer_local(booked, zone)} (attempt {attempt})",
        }))
    return events


def _not_in_their_rest(rules: Rules, callback: CallbackState, data: CallAttemptInput, now: datetime) -> None:
    """Seed 001 一个避免 "避免在客户休息时打扰客户": we do not phone a customer in their quiet hours;
    a call then is recorded only as the customer's own."""
    zone = customer_zone(rules, callback.customer)
    quiet = quiet_time(rules)
    if data.channel != "phone" or data.customer_called or not quiet.is_quiet(now, zone):
        return
    raise InputRefused("customer_called", f"a call at {customer_local(now, zone)} is in the customer's quiet hours "
                       "(customer_messages.yaml quiet_hours)",
                       f"call from {customer_local(quiet.next_waking_moment(now, zone), zone)} on; if the customer "
                       "called you, mark it as their call (--customer-called)")


def choices(rules: Rules, state: CaseState) -> dict[str, dict[Any, str]]:
    """The call form's pickers: outcome and channel by their labels (callback.yaml labels)."""
    labels = rules.callback.labels
    return {"outcome": labels.outcomes, "channel": labels.channels} if labels else {}


def record_attempt(store: CaseStore, rules: Rules, case_id: str, data: CallAttemptInput) -> CaseState:
    """Record one call (《回访记录表》) and what follows from it: the callback ends when the customer
    answered, or — a member only after N attempts — as unreachable; otherwise the next attempt is
    booked (at the customer's time, or ours out of quiet hours)."""

    def decide(state: CaseState) -> list[NewEvent]:
        _check_call(rules, state, data)
        callback = callback_of(state)
        attempt, now = callback.next_attempt, clock.now()
        _not_in_their_rest(rules, callback, data, now)
        booked = clock.as_utc(data.booked_at) if data.booked_at else None
        events = [NewEvent(ATTEMPTED, data.by, now, {
            "round": attempt, "outcome": data.outcome, "channel": data.channel, "note": data.note,
            "booked_at": booked.isoformat() if booked else None, "customer_called": data.customer_called,
        }, idem_key=f"attempt:{attempt}")]
        if data.outcome in ANSWERED:
            return events + _closing(state, now, data.outcome)
        if data.outcome == "not_convenient":
            return events + _customer_booking(rules, state, booked, now, attempt)  # type: ignore[arg-type]
        if attempt >= callback.max_attempts:
            return events + _closing(state, now, "unreachable")
        return events + [NewEvent(BOOKED, SYSTEM, now, {
            "round": attempt + 1, "at": retry_call_time(rules, now, customer_zone(rules, callback.customer)).isoformat(),
            "set_by": "kefu", "reason": f"unreachable, attempt {attempt} of {callback.max_attempts}",
            "rule": "callback.yaml attempts.retry_after, quiet_hours",
        }, idem_key=f"booked:{attempt}")]

    return casework.record(store, rules, case_id, decide)


def open_follow_up(store: CaseStore, rules: Rules, callback_id: str) -> str | None:
    """An unsatisfied answer is a new problem to work on: a complaint linked to the original case
    (PROCESSES.md P2, our choice). Returns its id (None: the answer was not unsatisfied)."""
    state = store.state(callback_id)
    callback = callback_of(state)
    if state.outcome != "unsatisfied":
        return None
    if callback.follow_up is not None:
        return callback.follow_up
    answer = callback.answer
    original = callback.source_case or callback_id
    content = render_file(rules, rules.callback.templates.follow_up, callback_id=callback_id, original=original,
                          note=answer.note)  # type: ignore[union-attr]
    channel = answer.channel if answer.channel in rules.complaint.channels else rules.complaint.channels[0]  # type: ignore[union-attr]
    complaint = register_contact(store, rules, ContactRegistration(
        name=callback.customer.name, phone=callback.customer.phone, channel=channel, content=content,
        member=callback.customer.member, kind="complaint", follows=original, by=answer.by))  # type: ignore[union-attr]
    link = {"follow_up": complaint.case_id, "callback": callback_id, "original": original}
    for case_id in dict.fromkeys((callback_id, original)):
        casework.record(store, rules, case_id, lambda s: [] if complaint.case_id in s.parts.get("follow_ups", []) else [
            NewEvent(FOLLOW_UP_OPENED, SYSTEM, clock.now(), link, idem_key=f"follow-up:{complaint.case_id}")])
    return complaint.case_id


# -- reading --------------------------------------------------------------------------------------

def callback_ids(store: CaseStore, status: str | None = None) -> list[str]:
    query = sa.select(Case.id).where(Case.process == PROCESS).order_by(Case.opened_at, Case.id)
    if status is not None:
        query = query.where(Case.status == status)
    with Session(store.engine) as session:
        return list(session.execute(query).scalars())


def due_callbacks(store: CaseStore) -> list[CaseState]:
    """Open callbacks, the next call first."""
    states = [store.state(case_id) for case_id in callback_ids(store, "open")]
    return sorted(states, key=lambda s: callback_of(s).proposed_at)


def script(rules: Rules, state: CaseState) -> str:
    """The call's script (回访用语) for this customer, from the bilingual template."""
    callback = callback_of(state)
    agent = rules.staff_member(callback.agent)
    zone = customer_zone(rules, callback.customer)
    return render_file(
        rules, rules.callback.templates.script, callback_id=state.case_id, customer_name=callback.customer.name,
        agent_name=agent.name if agent else callback.agent, when_local=f"{callback.triggered_at.astimezone(zone):%Y-%m-%d}",
        subject=callback.subject, subject_en=callback.subject_en,
        improvement_question=render_file(rules, rules.callback.templates.improvement_question),
    )


def late_by(state: CaseState, at: datetime) -> timedelta | None:
    """How late ``at`` is against the callback's deadline (None: on time)."""
    deadline = state.deadline(CALL, 1)
    if deadline is None or deadline.due_at is None or at <= deadline.due_at:
        return None
    return at - deadline.due_at



def message(rules: Rules, state: CaseState) -> str:
    """The e-mail / SMS that announces the call, from the bilingual template."""
    callback = callback_of(state)
    agent = rules.staff_member(callback.agent)
    zone = customer_zone(rules, callback.customer)
    return render_file(
        rules, rules.callback.templates.message, customer_name=callback.customer.name,
        agent_name=agent.name if agent else callback.agent, when_local=f"{callback.triggered_at.astimezone(zone):%Y-%m-%d}",
        subject=callback.subject, subject_en=callback.subject_en, call_local=customer_local(callback.proposed_at, zone),
    )


def announce_call(store: CaseStore, rules: Rules, case_id: str) -> CaseState:
    """Tell the customer by SMS when we will call (and that they may ask for another time)."""

    def decide(state: CaseState) -> list[NewEvent]:
        callback = callback_of(state)
        key = f"callback_notice:{callback.next_attempt}"
        if state.status != "open" or key in state.notices:
            return []
        customer = callback.customer
        return [customer_messages.notice(rules, "callback_notice", message(rules, state), {
            "channel": "sms", "phone": customer.phone, "email": customer.email,
            "timezone": customer.timezone}, key, callback.next_attempt)]

    return casework.record(store, rules, case_id, decide)


def form_description(rules: Rules, state: CaseState, round_: int) -> str:
    """What the agent sees above the call form: who, why, when in the customer's time, the script."""
    callback = callback_of(state)
    zone = customer_zone(rules, callback.customer)
    deadline = state.deadline(CALL, 1)
    return render_file(
        rules, rules.callback.templates.form, case_id=state.case_id, attempt=round_, max_attempts=callback.max_attempts,
        name=callback.customer.name, phone_masked=mask_phone(callback.customer.phone), member=callback.customer.member,
        timezone=zone.key, subject=callback.subject, subject_en=callback.subject_en,
        when_local=f"{callback.triggered_at.astimezone(zone):%Y-%m-%d}", call_local=customer_local(callback.proposed_at, zone),
        proposed_by="客户约定 booked by the customer" if callback.proposed_by == "customer" else "kefu 建议 proposed by kefu",
        due_local=customer_local(deadline.due_at, zone) if deadline and deadline.due_at else "-",
        allowed=deadline.allowed if deadline else None, refusal=state.last_refusal.get(f"{CALL}:{round_}"),
        script=script(rules, state),
    )
