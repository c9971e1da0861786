"""``kefu customer …`` (P5 客户资料管理): the archive's records, the day's assignment, the first
contact, and every change with who and when.

Same conventions as the rest of the CLI: ``--json`` everywhere; exit 0 on success, 2 on bad input
(the field and the fix), 1 on an internal error."""

from __future__ import annotations

from typing import Any, Optional

import typer
from pydantic import ValidationError

from kefu import runtime
from kefu.cli.support import BadInput, ByOpt, JsonOpt, caller, command, emit, local_iso, parse_time
from kefu.core import clock
from kefu.core.refusals import refusal_from_validation
from kefu.core.texts import mask_phone
from kefu.executor import service
from kefu.processes.customer import decisions as customers
from models.case import CaseState
from models.customer import ASSIGNMENT, FIRST_CONTACT, PROFILE_FIELDS, CustomerRegistration, customer_of

customer_app = typer.Typer(no_args_is_help=True, help="P5 the customer archive 客户资料: records, the day's "
                           "assignment, first contacts, changes.")

NameOpt = typer.Option(None, "--name", help="Name / contact (联系人).")
PhoneOpt = typer.Option(None, "--phone", help="Phone (one phone is one customer).")
EmailOpt = typer.Option(None, "--email", help="E-mail.")
AddressOpt = typer.Option(None, "--address", help="Address.")
ZoneOpt = typer.Option(None, "--timezone", help="IANA zone (default: from the phone number, else the department's).")


def customer_json(state: CaseState, full: bool = False) -> dict[str, Any]:
    rules, customer = runtime.rules(), customer_of(state)
    grade = rules.customer.grade(customer.grade)
    step = state.step
    deadline = state.deadline(step, 1) if step else None
    data: dict[str, Any] = {
        "id": state.case_id, "name": customer.profile.name, "phone": mask_phone(customer.profile.phone),
        "grade": customer.grade, "grade_label": grade.label if grade else customer.grade,
        "member": customer.profile.member, "key": customer.profile.key, "agreement": customer.profile.agreement,
        "owner": customer.owner, "waiting_for": step, "due_at": local_iso(deadline.due_at) if deadline else None,
        "contacted_at": local_iso(customer.contacted_at), "touched_at": local_iso(customer.touched_at),
    }
    if full:
        data.update({
            "email": customer.profile.email, "address": customer.profile.address, "timezone": customer.profile.timezone,
            "collected_by": customer.collected_by, "imported": state.parts.get("imported"),
            "first_contact": state.decision(FIRST_CONTACT) and {
                k: state.decision(FIRST_CONTACT).get(k) for k in ("by", "channel", "note")},  # type: ignore[union-attr]
            "changes": [{"at": local_iso(c.at), "by": c.by, "fields": c.fields, "reason": c.reason}
                        for c in customer.changes],
            "history": [{"case_id": c.id, "process": c.process, "kind": c.kind, "status": c.status,
                         "opened_at": local_iso(c.opened_at)} for c in customers.history(runtime.store(), state)],
        })
    return data


def _line(d: dict[str, Any]) -> str:
    where = (f"waits: {d['waiting_for']} (due {(d['due_at'] or '-')[:16].replace('T', ' ')})" if d["waiting_for"]
             else f"contacted {(d['contacted_at'] or '-')[:10]}")
    return f"{d['id']}  {d['grade']} {d['name']:<16} {d['phone']}  owner {d['owner'] or '-':<10} {where}"


def _show_text(d: dict[str, Any]) -> str:
    lines = [_line(d), f"  grade:   {d['grade_label']}" + "".join(
        f"  {flag}" for flag in ("member", "key", "agreement") if d[flag]),
        f"  reach:   {d['email'] or '-'} · {d['address'] or '-'} · {d['timezone']}",
        f"  collected by {d['collected_by']}" + (f" from {d['imported']['source']} #{d['imported']['external_id']} "
                                                  f"({d['imported']['batch']}, row {d['imported']['row']})"
                                                  if d["imported"] else "")]
    if d["first_contact"]:
        fc = d["first_contact"]
        lines.append(f"  first contact: {d['contacted_at']} by {fc['by']} ({fc['channel']}): {fc['note']}")
    lines += [f"  changed {c['at']} by {c['by']}: " + ", ".join(f"{k} {v['from']!r} → {v['to']!r}" for k, v in c["fields"].items())
              + (f" ({c['reason']})" if c["reason"] else "") for c in d["changes"]]
    lines += [f"  history: {h['case_id']} {h['process']} {h['kind']} {h['status']} {h['opened_at'][:10]}" for h in d["history"]]
    return "\n".join(lines)


def _customer(case_id: str) -> CaseState:
    state = runtime.store().state(case_id)  # an unknown id: `command` says so
    if state.process != "customer":
        raise BadInput("customer_id", f"{case_id} is a {state.process} case, not a customer", "see `kefu customer list`")
    return state


@customer_app.command("add")
@command
def customer_add(
    name: str = typer.Option(..., "--name", help="Name / contact (联系人)."),
    phone: str = typer.Option(..., "--phone", help="Phone (one phone is one customer)."),
    email: Optional[str] = EmailOpt, address: Optional[str] = AddressOpt, timezone: Optional[str] = ZoneOpt,
    member: bool = typer.Option(False, "--member", help="A member (会员)."),
    key: bool = typer.Option(False, "--key", help="A key customer (重点客户/大客户)."),
    agreement: bool = typer.Option(False, "--agreement", help="An agreement customer (协议客户)."),
    by: Optional[str] = ByOpt, as_json: bool = JsonOpt,
) -> None:
    """Record a customer you collected (资料收集); it waits for the supervisor's assignment."""
    verified = caller()
    try:
        reg = CustomerRegistration(by=by or verified.staff, name=name, phone=phone, email=email, address=address,
                                   timezone=timezone, member=member, key=key, agreement=agreement)
    except ValidationError as exc:
        raise refusal_from_validation(exc, customers.FIELD_FIXES) from None
    state, note = service.open_customer(reg, verified)
    data = customer_json(state)
    emit(as_json, {**data, "flow_run": note}, f"{_line(data)}  (flow run {note})")


@customer_app.command("update")
@command
def customer_update(
    customer_id: str = typer.Argument(..., help="The customer (KH-…)."),
    name: Optional[str] = NameOpt, phone: Optional[str] = PhoneOpt, email: Optional[str] = EmailOpt,
    address: Optional[str] = AddressOpt, timezone: Optional[str] = ZoneOpt,
    member: Optional[bool] = typer.Option(None, "--member/--no-member"),
    key: Optional[bool] = typer.Option(None, "--key/--no-key"),
    agreement: Optional[bool] = typer.Option(None, "--agreement/--no-agreement"),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why (the customer moved, …)."),
    by: Optional[str] = ByOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Change a customer's record (及时修改有变更的客户信息): one change with who and when; the grade follows."""
    given = dict(name=name, phone=phone, email=email, address=address, timezone=timezone, member=member, key=key,
                 agreement=agreement)
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes:
        raise BadInput("changes", "nothing to change", f"give at least one of --{', --'.join(PROFILE_FIELDS)}")
    _customer(customer_id)
    with service.acting(caller(), by) as who:
        state = customers.update_customer(runtime.store(), runtime.rules(), customer_id, changes, who.by, reason)
    data = customer_json(state, full=True)
    emit(as_json, data, _show_text(data))


@customer_app.command("show")
@command
def customer_show(customer_id: str = typer.Argument(...), as_json: bool = JsonOpt) -> None:
    """A customer's profile, grade, owner, service history and every change."""
    data = customer_json(_customer(customer_id), full=True)
    emit(as_json, data, _show_text(data))


@customer_app.command("list")
@command
def customer_list(
    owner: Optional[str] = typer.Option(None, "--owner", help="Only this agent's customers."),
    grade: Optional[str] = typer.Option(None, "--grade", help="Only this grade (customer.yaml grades)."),
    unassigned: bool = typer.Option(False, "--unassigned", help="Only the customers waiting for an owner."),
    as_json: bool = JsonOpt,
) -> None:
    """The archive: id, grade, name, phone, owner, and what each waits for."""
    rules = runtime.rules()
    if grade is not None and rules.customer.grade(grade) is None:
        raise BadInput("grade", f"unknown grade {grade!r}", f"use one of {', '.join(g.id for g in rules.customer.grades)}")
    if owner is not None and rules.staff_member(owner) is None:
        raise BadInput("owner", f"unknown staff id {owner!r}", "use an id from `kefu staff`")
    states = customers.unassigned(runtime.store()) if unassigned else customers.archive(runtime.store(), owner)
    rows = [customer_json(s) for s in states if grade is None or customer_of(s).grade == grade]
    emit(as_json, rows, "\n".join(_line(r) for r in rows) or "(no customers)")


@customer_app.command("assign")
@command
def customer_assign(
    customer_id: Optional[str] = typer.Argument(None, help="One customer, to --owner (default: the day's proposal)."),
    owner: Optional[str] = typer.Option(None, "--owner", help="The agent who owns the one customer."),
    confirm: bool = typer.Option(False, "--confirm", help="Record the day's proposal as it stands."),
    by: Optional[str] = ByOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The day's proposed assignment (按照负责客户数量均衡、兼顾业务能力, key customers first); --confirm
    records it, or give one customer and --owner. Supervisors and above."""
    store, rules = runtime.store(), runtime.rules()
    if customer_id is not None:
        if owner is None:
            raise BadInput("owner", "missing", f"give --owner AGENT for {customer_id}")
        _customer(customer_id)
        state, note = service.decide(customer_id, ASSIGNMENT, {"owner": owner, "by": by}, caller())
        emit(as_json, {**customer_json(state), "flow_run": note}, f"{_line(customer_json(state))}  (flow run {note})")
        return
    if not confirm:
        today = clock.now().astimezone(rules.department.department.zone).date()
        proposal = [p.__dict__ for p in customers.propose(store, rules, today)]
        emit(as_json, proposal, "\n".join(
            f"{p['case_id']}  {p['grade']} {p['name']:<16} → {p['owner'] or '(nobody today)':<10} {p['why']}"
            for p in proposal) + ("\n  record it: `kefu customer assign --confirm`" if proposal else "")
            if proposal else "(nobody waits for an owner)")
        return
    verified = caller()
    done = customers.confirm_proposal(store, rules, by or verified.staff, record=lambda case_id, data: service.decide(
        case_id, ASSIGNMENT, data.model_dump(), verified)[0])
    rows = [customer_json(s) for s in done]
    emit(as_json, rows, "\n".join(_line(r) for r in rows) or "(nobody to assign)")


@customer_app.command("contact")
@command
def customer_contact(
    customer_id: str = typer.Argument(...),
    note: str = typer.Option(..., "--note", help="What was said (详细备案)."),
    channel: str = typer.Option("phone", "--channel", help="phone, email, sms or visit."),
    at: Optional[str] = typer.Option(None, "--at", help="When (ISO-8601 with offset; default now)."),
    by: Optional[str] = ByOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Record your first contact with a customer you own (within one week of the assignment)."""
    _customer(customer_id)
    data: dict[str, Any] = {"note": note, "channel": channel, "by": by}
    if at is not None:
        data["at"] = parse_time(at, "at").isoformat()
    state, note_ = service.decide(customer_id, FIRST_CONTACT, data, caller())
    emit(as_json, {**customer_json(state), "flow_run": note_}, f"{_line(customer_json(state))}  (flow run {note_})")
