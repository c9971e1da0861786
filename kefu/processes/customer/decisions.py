"""P5 Customer archive 客户资料管理: what each step records (seed 001 客户服务部工作职责及规范
一、客户资料管理).

1. 资料收集 Collection: an agent registers a customer (``kefu customer add``, a row of ``kefu
   intake customers``); the record is graded by 《客户分类管理标准》 (customer.yaml grades).
2. 资料整理/资料处理 Sorting: the supervisor confirms the day's assignment, which kefu proposes
   "按照负责客户数量均衡、兼顾业务能力" — balancing the number of customers each agent owns among the
   agents with the grade's skill, key customers first, never to an agent who is away or inactive.
3. The owner contacts the customer "在一周内" (within one week) and records it (做详细备案).
Every later change of the profile is an event with who and when, graded again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import escape
from typing import Any, Callable
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session

from kefu.core import casework, clock
from kefu.core.availability import available_agents
from kefu.core.casework import SYSTEM
from kefu.core.customer_messages import quiet_time, zone_on_record
from kefu.core.refusals import FIELD_FIXES as SHARED_FIXES
from kefu.core.refusals import InputRefused, refusal_from_validation, unknown_staff
from kefu.core.rules import Rules, StaffMember
from kefu.core.store import CaseStore, NewEvent
from kefu.core.texts import local_time, mask_phone, render_file
from kefu.escalation import mail
from kefu.processes.customer.rules import CUSTOMER_STEPS
from models.case import CaseState, EventType
from models.customer import (
    ASSIGNED,
    ASSIGNMENT,
    CONTACTED,
    CONTACTED_OUTCOME,
    FIRST_CONTACT,
    PROCESS,
    PROFILE_FIELDS,
    REGISTERED,
    UPDATED,
    AssignmentInput,
    CustomerProfile,
    CustomerRegistration,
    FirstContactInput,
    customer_of,
)
from models.records import Case

FIELD_FIXES = {
    **SHARED_FIXES,
    "owner": "name an agent from the proposal (`kefu customer assign`) or `kefu staff --role agent`",
    "note": "say what was discussed with --note",
    "channel": "use phone, email, sms or visit",
    "timezone": "use an IANA name such as Asia/Shanghai",
}
COMMANDS = {ASSIGNMENT: "kefu customer assign", FIRST_CONTACT: "kefu customer contact"}
_FOLLOW = casework.step_deadlines(CUSTOMER_STEPS)


# -- 1. collection ----------------------------------------------------------------------------------

def graded(rules: Rules, profile: CustomerProfile) -> dict[str, str]:
    """The grade the classification standard gives this profile, and the rule that says so."""
    flags = profile.model_dump(include={"member", "key", "agreement"})
    grade = rules.customer.grade_of(flags)
    index = rules.customer.grades.index(grade)
    return {"grade": grade.id, "grade_rule": f"customer.yaml grades.{index} ({grade.id})"}


def find_by_phone(store: CaseStore, phone: str) -> str | None:
    """The customer whose record has this phone number now (one phone, one customer)."""
    wanted = _digits(phone)
    with Session(store.engine) as session:
        candidates = session.execute(
            sa.select(Case.id).where(Case.process == PROCESS, Case.customer_phone == mask_phone(phone))  # type: ignore[arg-type]
        ).scalars().all()
    return next((c for c in candidates if _digits(customer_of(store.state(c)).profile.phone) == wanted), None)


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def register_customer(store: CaseStore, rules: Rules, reg: CustomerRegistration,
                      imported: dict[str, Any] | None = None,
                      also: Callable[[Session, CaseState], None] | None = None) -> CaseState:
    """Record a new customer (资料收集) waiting for the supervisor's assignment; refused when the
    phone number is already a customer's (update that record instead)."""
    if rules.staff_member(reg.by) is None:
        raise unknown_staff(reg.by)
    existing = find_by_phone(store, reg.phone)
    if existing is not None:
        raise InputRefused("phone", f"{mask_phone(reg.phone)} is already customer {existing}",
                           f"change that record with `kefu customer update {existing}`")
    profile = reg.profile()
    profile = profile.model_copy(update={"timezone": zone_on_record(rules, profile.model_dump())["timezone"]})
    payload: dict[str, Any] = {"profile": profile.model_dump(mode="json"), **graded(rules, profile)}
    if imported:
        payload["imported"] = imported
    registered = NewEvent(REGISTERED, reg.by, clock.now(), payload, idem_key="registered")
    day = registered.at.astimezone(rules.department.department.zone).strftime("%Y%m%d")
    # The assignment's deadline opens with the record (sla.yaml customer assignment).
    return store.create(rules.customer.case_id_prefix, day, PROCESS, profile.name,
                        [registered, *_FOLLOW(rules, CaseState(case_id=""), [registered])], rules.version,
                        also=also)


def customer_registration(rules: Rules, record: dict[str, Any]) -> CustomerRegistration:
    """A valid row of a customer file as the registration an agent would have typed."""
    fields = {name: record[name] for name in PROFILE_FIELDS if record.get(name) is not None}
    return CustomerRegistration(by=SYSTEM, **fields)


# -- 2. assignment ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Proposed:
    """One line of the day's proposed assignment."""

    case_id: str
    name: str
    grade: str
    owner: str | None
    why: str


def unassigned(store: CaseStore) -> list[CaseState]:
    """The customers waiting for an owner, oldest first."""
    with Session(store.engine) as session:
        ids = session.execute(sa.select(Case.id).where(
            Case.process == PROCESS, Case.status == "open", Case.step == ASSIGNMENT)  # type: ignore[arg-type]
            .order_by(Case.opened_at, Case.id)).scalars().all()
    return [store.state(i) for i in ids]


def owned_counts(store: CaseStore) -> dict[str, int]:
    """How many customers each agent owns (contacted or not)."""
    with Session(store.engine) as session:
        rows = session.execute(sa.select(Case.owner, sa.func.count()).where(
            Case.process == PROCESS, Case.owner.is_not(None)).group_by(Case.owner)).all()  # type: ignore[union-attr]
    return {owner: count for owner, count in rows}


def eligible(rules: Rules, grade_id: str, available: list[str]) -> list[str]:
    """The agents of ``available`` (kefu.core.availability) who may own a customer of this grade."""
    grade = rules.customer.grade(grade_id)
    if grade is None or grade.skill is None:
        return available
    return [a for a in available if grade.skill in rules.customer.skills.get(a, [])]


def propose(store: CaseStore, rules: Rules, day: date) -> list[Proposed]:
    """The day's proposed assignment: key customers first (the grades' order), each to the agent
    owning the fewest customers among those who may own its grade (a tie: the roster's order)."""
    load, available = owned_counts(store), available_agents(store, rules, day)
    waiting = sorted(unassigned(store), key=lambda s: rules.customer.rank(customer_of(s).grade))
    proposal = []
    for state in waiting:
        customer = customer_of(state)
        candidates = eligible(rules, customer.grade, available)
        if not candidates:
            skill = getattr(rules.customer.grade(customer.grade), "skill", None)
            proposal.append(Proposed(state.case_id, customer.profile.name, customer.grade, None,
                                     f"no agent available today{' with skill ' + skill if skill else ''}"))
            continue
        owner = min(candidates, key=lambda a: (load.get(a, 0), candidates.index(a)))
        proposal.append(Proposed(state.case_id, customer.profile.name, customer.grade, owner,
                                 f"owns {load.get(owner, 0)}, the fewest of {len(candidates)}"))
        load[owner] = load.get(owner, 0) + 1
    return proposal


def may_assign(rules: Rules, state: CaseState, member: StaffMember) -> bool:
    return member.role in rules.customer.assigned_by


def record_assignment(store: CaseStore, rules: Rules, case_id: str, data: AssignmentInput) -> CaseState:
    """The supervisor confirms the customer's owner: an agent who may own its grade today."""

    def decide(state: CaseState) -> list[NewEvent]:
        _check_customer(state)
        if state.step != ASSIGNMENT:
            return []  # already assigned: a retried step, or the form answered twice
        member = rules.staff_member(data.by)
        if member is None:
            raise unknown_staff(data.by)
        if not may_assign(rules, state, member):
            raise InputRefused("by", f"{data.by} ({member.role}) may not assign: customers are assigned by "
                               f"{', '.join(rules.customer.assigned_by)} (customer.yaml assigned_by)",
                               "ask your supervisor to confirm the assignment")
        customer, today = customer_of(state), _today(rules)
        candidates = eligible(rules, customer.grade, available_agents(store, rules, today))
        if data.owner not in candidates:
            raise InputRefused("owner", f"{data.owner} cannot own a grade {customer.grade} customer today "
                               f"({_why_not(store, rules, data.owner, customer.grade, today)})",
                               f"choose one of {', '.join(candidates) or '(nobody: record who is back first)'}")
        return [NewEvent(ASSIGNED, data.by, clock.now(), {
            "owner": data.owner, "grade": customer.grade, "candidates": candidates,
            "rule": "customer.yaml grades, skills; kefu staff away",
        }, idem_key="assigned")]

    return casework.record(store, rules, case_id, decide, follow=_FOLLOW)


def _why_not(store: CaseStore, rules: Rules, staff: str, grade_id: str, day: date) -> str:
    member = rules.staff_member(staff)
    if member is None:
        return "not on the roster"
    if member.role != rules.department.roles[0]:
        return f"a {member.role}, not an agent"
    if not member.active:
        return "inactive"
    if staff not in available_agents(store, rules, day):
        return "away today"
    return f"lacks skill {rules.customer.grade(grade_id).skill}"  # type: ignore[union-attr]


def confirm_proposal(store: CaseStore, rules: Rules, by: str,
                     record: Callable[[str, AssignmentInput], CaseState] | None = None) -> list[CaseState]:
    """The supervisor confirms the day's proposal as it stands (``kefu customer assign --confirm``);
    customers nobody may own today stay waiting. ``record`` records one (default: here)."""
    record = record or (lambda case_id, data: record_assignment(store, rules, case_id, data))
    return [record(p.case_id, AssignmentInput(by=by, owner=p.owner))
            for p in propose(store, rules, _today(rules)) if p.owner is not None]


def owner_choices(rules: Rules, state: CaseState) -> dict[str, dict[Any, str]]:
    """The assignment form's picker: the active agents (the record refuses one away today)."""
    agents = [s for s in rules.department.staff if s.role == rules.department.roles[0] and s.active]
    return {"owner": {a.id: f"{a.id} {a.name}" for a in agents}}


def channel_choices(rules: Rules, state: CaseState) -> dict[str, dict[Any, str]]:
    """The first contact form's picker: the contact ways by their labels (customer.yaml labels)."""
    return {"channel": rules.customer.labels.channels}


# -- 3. first contact -------------------------------------------------------------------------------

# The ways of contact that reach the customer there and then (a message waits in the outbox).
IN_PERSON = ("phone", "visit")


def customer_zone(rules: Rules, profile: CustomerProfile) -> ZoneInfo:
    """The zone the customer rests in: the record's (registration gives every record one)."""
    return ZoneInfo(profile.timezone or rules.department.department.timezone)


def may_contact(rules: Rules, state: CaseState, member: StaffMember) -> bool:
    return member.id == state.owner


def record_first_contact(store: CaseStore, rules: Rules, case_id: str, data: FirstContactInput) -> CaseState:
    """The owner's first contact (一周内与客户进行沟通，并做详细备案): recorded by the owner, at a
    time outside the customer's quiet hours; the onboarding closes and the record lives on."""

    def decide(state: CaseState) -> list[NewEvent]:
        _check_customer(state)
        if state.step != FIRST_CONTACT:
            if state.status == "closed":
                return []
            raise InputRefused("case_id", f"{case_id} has no owner yet", f"`kefu customer assign` first")
        if data.by != state.owner:
            raise InputRefused("by", f"{data.by} does not own {case_id} ({state.owner} does)",
                               "the owner records the first contact")
        now = clock.now()
        at = clock.as_utc(data.at) if data.at else now
        customer = customer_of(state)
        if at > now:
            raise InputRefused("at", "is in the future", "give the time the contact happened")
        if at < customer.assigned_at:  # type: ignore[operator]
            raise InputRefused("at", f"is before the assignment ({local_time(rules, customer.assigned_at)})",
                               "give the time of the contact after it")
        zone, quiet = customer_zone(rules, customer.profile), quiet_time(rules)
        if data.channel in IN_PERSON and quiet.is_quiet(at, zone):
            waking = quiet.next_waking_moment(at, zone)
            raise InputRefused("at", f"{at.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key}) is in the customer's "
                               "quiet hours (customer_messages.yaml quiet_hours)",
                               f"contact them from {waking.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key}) on")
        return [NewEvent(CONTACTED, data.by, now, {"channel": data.channel, "note": data.note,
                                                   "contacted_at": at.isoformat()}, idem_key="contacted"),
                NewEvent(EventType.CLOSED, SYSTEM, now, {"outcome": CONTACTED_OUTCOME}, idem_key="closed")]

    return casework.record(store, rules, case_id, decide, follow=_FOLLOW)


# -- every day after: changes -----------------------------------------------------------------------

def update_customer(store: CaseStore, rules: Rules, case_id: str, changes: dict[str, Any], by: str,
                    reason: str | None = None) -> CaseState:
    """Change the profile (及时修改有变更的客户信息: address, contact, phone …): one event with each
    field's old and new value, who and when; the grade follows the flags."""
    if rules.staff_member(by) is None:
        raise unknown_staff(by)
    unknown = sorted(set(changes) - set(PROFILE_FIELDS))
    if unknown:
        raise InputRefused(unknown[0], "is not a field of a customer's record", f"change one of {', '.join(PROFILE_FIELDS)}")

    def decide(state: CaseState) -> list[NewEvent]:
        _check_customer(state)
        before = customer_of(state).profile
        try:
            after = CustomerProfile(**{**before.model_dump(), **changes})
        except ValidationError as exc:
            raise refusal_from_validation(exc, FIELD_FIXES) from None
        if "phone" in changes and _digits(after.phone) != _digits(before.phone):
            other = find_by_phone(store, after.phone)
            if other is not None and other != case_id:
                raise InputRefused("phone", f"{mask_phone(after.phone)} is already customer {other}",
                                   "check the number; one phone is one customer")
        diff = {name: {"from": getattr(before, name), "to": getattr(after, name)}
                for name in PROFILE_FIELDS if getattr(before, name) != getattr(after, name)}
        if not diff:
            raise InputRefused("changes", "nothing differs from the record", "give a value that changes it")
        payload: dict[str, Any] = {"changes": diff, "reason": reason}
        grade = graded(rules, after)
        if grade["grade"] != customer_of(state).grade:
            payload.update(grade)
        return [NewEvent(UPDATED, by, clock.now(), payload)]

    return casework.record(store, rules, case_id, decide)


def _check_customer(state: CaseState) -> None:
    if state.process != PROCESS:
        raise InputRefused("case_id", f"{state.case_id} is a {state.process} case, not a customer",
                           "see `kefu customer list` for the customers")


def _today(rules: Rules) -> date:
    return clock.now().astimezone(rules.department.department.zone).date()


# -- the monthly refresh reminder -------------------------------------------------------------------

def stale_by_owner(store: CaseStore, rules: Rules, now: datetime) -> dict[str, list[CaseState]]:
    """Each owner's customers whose record nobody touched for ``refresh.stale_after_days``."""
    limit = now - timedelta(days=rules.customer.refresh.stale_after_days)
    stale: dict[str, list[CaseState]] = {}
    for state in archive(store):
        customer = customer_of(state)
        if customer.owner is not None and customer.touched_at <= limit:
            stale.setdefault(customer.owner, []).append(state)
    return stale


def send_refresh_reminders(store: CaseStore, rules: Rules) -> dict[str, list[str]]:
    """E-mail each owner their customers to refresh (要求每日及时更新，避免遗漏), once a month each."""
    now = clock.now()
    month = now.astimezone(rules.department.department.zone).strftime("%Y-%m")
    sent: dict[str, list[str]] = {}
    stale = stale_by_owner(store, rules, now)
    with Session(store.engine) as session, session.begin():
        for owner, states in stale.items():
            member = rules.staff_member(owner)
            if member is None:
                continue
            text = render_file(rules, rules.customer.templates.refresh, name=member.name, month=month,
                               days=rules.customer.refresh.stale_after_days, customers=[
                                   {"id": s.case_id, "name": customer_of(s).profile.name,
                                    "grade": _grade_label(rules, customer_of(s).grade),
                                    "touched": local_time(rules, customer_of(s).touched_at)} for s in states])
            subject, body = text.split("\n", 1)
            page = f'<pre style="font-family:inherit;white-space:pre-wrap">{escape(body.strip())}</pre>'
            if mail.enqueue(session, key=f"customer-refresh:{month}:{owner}", to=[member.email], subject=subject,
                            text=body.strip() + "\n", html=page):
                sent[owner] = [s.case_id for s in states]
    return sent


def _grade_label(rules: Rules, grade_id: str) -> str:
    grade = rules.customer.grade(grade_id)
    return grade.label if grade else grade_id


# -- reading ----------------------------------------------------------------------------------------

def archive(store: CaseStore, owner: str | None = None) -> list[CaseState]:
    """Every customer in the archive (in the order they came), or one owner's."""
    query = sa.select(Case.id).where(Case.process == PROCESS).order_by(Case.opened_at, Case.id)  # type: ignore[arg-type]
    if owner is not None:
        query = query.where(Case.owner == owner)  # type: ignore[arg-type]
    with Session(store.engine) as session:
        ids = session.execute(query).scalars().all()
    return [store.state(i) for i in ids]


def history(store: CaseStore, state: CaseState) -> list[Case]:
    """The customer's service history: every other case with their phone number (complaints,
    orders, callbacks), the newest first."""
    phone = customer_of(state).profile.phone
    with Session(store.engine) as session:
        cases = session.execute(sa.select(Case).where(
            Case.customer_phone == mask_phone(phone), Case.process != PROCESS)  # type: ignore[arg-type]
            .order_by(Case.opened_at.desc())).scalars().all()  # type: ignore[attr-defined]
    return [c for c in cases if _digits(store.state(c.id).intake.get("phone", "")) == _digits(phone)]


def form_description(rules: Rules, store: CaseStore, state: CaseState, step: str, round_: int = 1) -> str:
    """What the dashboard shows above the form: the customer, the deadline, and at the
    assignment the day's whole proposal (typed: the supervisor picks the owner below)."""
    customer = customer_of(state)
    deadline = state.deadline(step, 1)
    return render_file(
        rules, rules.customer.templates.form, case_id=state.case_id, step=step, step_label=rules.label("steps", step),
        name=customer.profile.name, phone_masked=mask_phone(customer.profile.phone),
        grade=_grade_label(rules, customer.grade), owner=customer.owner,
        due_at=local_time(rules, deadline.due_at) if deadline and deadline.due_at else None,
        refusal=state.last_refusal.get(f"{step}:1"),
        proposal=[p.__dict__ | {"grade": _grade_label(rules, p.grade)}
                  for p in propose(store, rules, _today(rules))] if step == ASSIGNMENT else [],
    )
