"""The ``kefu`` command line. Every command takes ``--json``; exit 0 on success, 2 on bad
input (the message names the field and the fix), 1 on an internal error."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import typer

from pydantic import ValidationError

from kefu.runtime import configure_prefect

try:
    configure_prefect()  # before anything imports Prefect
except ValidationError as _bad_setting:  # a KEFU_* variable a person can fix: say which and how
    _error = _bad_setting.errors()[0]
    _name = "KEFU_" + str(_error["loc"][0]).upper() if _error["loc"] else "KEFU_*"
    print(f"error: {_name}: {_error['msg'].removeprefix('Value error, ')}\n  fix: correct or unset {_name}",
          file=sys.stderr)
    raise SystemExit(2)

from kefu import cases, runtime, service  # noqa: E402
from kefu.rules import load_rules  # noqa: E402
from kefu.cli_outbox import outbox_app  # noqa: E402
from kefu.cli_order import order_app  # noqa: E402
from kefu.cli_audit import audit_app  # noqa: E402
from kefu.cli_callback import callback_app, report_app  # noqa: E402
from kefu.cli_support import BadInput, command, emit, local_iso  # noqa: E402
from kefu.texts import local_time, mask_phone  # noqa: E402
from models.complaint import CaseState, Step  # noqa: E402
from models.inputs import ContactRegistration  # noqa: E402

app = typer.Typer(no_args_is_help=True, add_completion=False, help="kefu 客服: a customer-service department on Prefect.")
complaint_app = typer.Typer(no_args_is_help=True, help="P1 complaint handling 投诉处理.")
contact_app = typer.Typer(no_args_is_help=True, help="Consultations 咨询 and queries 查询.")
case_app = typer.Typer(no_args_is_help=True, help="Cases of every process.")
config_app = typer.Typer(no_args_is_help=True, help="The department's rules (config/).")
app.add_typer(complaint_app, name="complaint")
app.add_typer(contact_app, name="contact")
app.add_typer(case_app, name="case")
app.add_typer(config_app, name="config")
deadlines_app = typer.Typer(help="Business deadlines of every process.")
app.add_typer(deadlines_app, name="deadlines")
app.add_typer(outbox_app, name="outbox")
app.add_typer(order_app, name="order")
app.add_typer(audit_app, name="audit")
app.add_typer(callback_app, name="callback")
app.add_typer(report_app, name="report")

JsonOpt = typer.Option(False, "--json", help="Machine-readable output.")
ByOpt = typer.Option(..., "--by", help="Your staff id (see `kefu staff`).")


def case_json(state: CaseState) -> dict[str, Any]:
    intake = state.intake
    events = runtime.store().events(state.case_id)
    return {
        "case_id": state.case_id, "process": state.process, "kind": state.kind, "severity": state.severity,
        "status": state.status, "step": state.step, "round": state.round, "outcome": state.outcome,
        "customer": {"name": intake.get("name"), "phone": mask_phone(intake.get("phone", "")),
                     "member": intake.get("member"), "order_ref": intake.get("order_ref")},
        "channel": intake.get("channel"), "content": intake.get("content"),
        "follows": intake.get("follows"), "follow_ups": state.parts.get("follow_ups", []),
        "classified_by": intake.get("classified_by"),
        "opened_at": local_iso(state.opened_at), "closed_at": local_iso(state.closed_at),
        "flow_run_id": state.flow_run_id,
        "flow_run_url": f"{_dashboard()}/runs/flow-run/{state.flow_run_id}" if state.flow_run_id else None,
        "events": [{"seq": e.seq, "type": e.type, "actor": e.actor, "at": local_iso(e.at), "payload": e.payload}
                   for e in events],
        "deadlines": [{"step": d.step, "round": d.round, "due_at": local_iso(d.due_at), "met_at": local_iso(d.met_at),
                       "policy": d.policy} for d in state.deadlines],
    }


def _dashboard() -> str:
    from kefu.settings import get_settings

    return get_settings().dashboard_url


def case_text(state: CaseState) -> str:
    rules = runtime.rules()
    data = case_json(state)
    lines = [
        f"{state.case_id}  {state.kind}/{state.severity or '-'}  {state.status}"
        + (f"  waits at: {state.step}" if state.step else f"  outcome: {state.outcome}"),
        f"  customer: {data['customer']['name']} {data['customer']['phone']} via {data['channel']}"
        + ("  member" if data["customer"]["member"] else ""),
        f"  content:  {data['content']}",
    ]
    open_deadline = next((d for d in state.open_deadlines() if d.step == state.step), None)
    if open_deadline:
        lines.append(f"  due:      {local_time(rules, open_deadline.due_at)}  ({open_deadline.policy})")
    if data["flow_run_url"]:
        lines.append(f"  run:      {data['flow_run_url']}")
    lines.append("  timeline:")
    for e in data["events"]:
        lines.append(f"    {e['seq']:>3}  {e['at'][:16].replace('T', ' ')}  {e['actor']:<12} {e['type']}")
    return "\n".join(lines)


# -- complaint commands ------------------------------------------------------------------------

@complaint_app.command("open")
@command
def complaint_open(
    name: str = typer.Option(..., "--name", help="Complainant 投诉人."),
    phone: str = typer.Option(..., "--phone", help="Contact phone."),
    channel: str = typer.Option(..., "--channel", help="phone, in_person, fax, chat, email, sms, web."),
    content: str = typer.Option(..., "--content", help="What the customer said 投诉内容."),
    kind: Optional[str] = typer.Option(None, "--kind", help="consultation, query or complaint (default: classified)."),
    severity: Optional[str] = typer.Option(None, "--severity", help="general, major or crisis (default: classified)."),
    member: bool = typer.Option(False, "--member", help="The customer is a member."),
    order: Optional[str] = typer.Option(None, "--order", help="Order reference."),
    received_at: Optional[str] = typer.Option(None, "--at", help="When it was received (ISO-8601 with offset)."),
    by: str = typer.Option("intake", "--by", help="Who registered it."),
    as_json: bool = JsonOpt,
) -> None:
    """Register a contact (step 1, 投诉受理) and start its flow run."""
    from pydantic import ValidationError

    try:
        at = datetime.fromisoformat(received_at) if received_at else None
    except ValueError:
        raise BadInput("at", f"{received_at!r} is not a time", cases.FIELD_FIXES["received_at"]) from None
    try:
        reg = ContactRegistration(name=name, phone=phone, channel=channel, content=content, kind=kind,
                                  severity=severity, member=member, order_ref=order, received_at=at, by=by)
    except ValidationError as exc:
        raise cases.refusal_from_validation(exc) from None
    state, note = service.open_contact(reg)
    if note != "started":
        typer.echo(f"warning: case recorded, but its flow run {note}", err=True)
    emit(as_json, {**case_json(state), "flow_run": note}, f"{state.case_id}")
    if not as_json:
        typer.echo(f"  {state.kind}/{state.severity or '-'}, waits at {state.step}; flow run {note}", err=True)


def _decide(case_id: str, step: str, data: dict[str, Any], as_json: bool) -> None:
    state, note = service.decide(case_id, step, data)
    if note.startswith("not woken"):
        typer.echo(f"warning: recorded, but the flow run was {note}", err=True)
    emit(as_json, {**case_json(state), "flow_run": note},
          f"{case_id}: {step} recorded; now {'waits at ' + str(state.step) if state.step else state.status} (flow run {note})")


@complaint_app.command("judge")
@command
def complaint_judge(
    case_id: str = typer.Argument(..., help="Case id."),
    upheld: Optional[bool] = typer.Option(None, "--upheld/--not-upheld", help="Is the complaint upheld?"),
    department: Optional[str] = typer.Option(None, "--department", help="Responsible department (upheld)."),
    reason: str = typer.Option(..., "--reason", help="Reason for the judgement."),
    by: str = ByOpt, as_json: bool = JsonOpt,
) -> None:
    """Step 2, 投诉判定: upheld (naming the responsible department) or not upheld."""
    if upheld is None:
        raise BadInput("upheld", "say whether the complaint is upheld", "add --upheld --department D, or --not-upheld")
    _decide(case_id, Step.JUDGEMENT, {"upheld": upheld, "department": department, "reason": reason, "by": by}, as_json)


@complaint_app.command("investigate")
@command
def complaint_investigate(
    case_id: str = typer.Argument(...),
    cause: str = typer.Option(..., "--cause", help="The concrete cause."),
    responsible: str = typer.Option(..., "--responsible", help="The directly responsible person."),
    by: str = ByOpt, as_json: bool = JsonOpt,
) -> None:
    """Step 3, 展开调查: the cause and the responsible person."""
    _decide(case_id, Step.INVESTIGATION, {"cause": cause, "responsible": responsible, "by": by}, as_json)


@complaint_app.command("propose")
@command
def complaint_propose(
    case_id: str = typer.Argument(...),
    option: list[str] = typer.Option(..., "--option", help="A candidate solution (repeat for more)."),
    by: str = ByOpt, as_json: bool = JsonOpt,
) -> None:
    """Step 4, 提出处理方案: one or more candidate solutions."""
    _decide(case_id, Step.PROPOSAL, {"options": option, "by": by}, as_json)


@complaint_app.command("approve")
@command
def complaint_approve(
    case_id: str = typer.Argument(...),
    choice: int = typer.Option(..., "--choice", help="Number of the chosen option (1 = first)."),
    by: str = ByOpt, as_json: bool = JsonOpt,
) -> None:
    """Step 4, 批示: a person with the approving role chooses one option."""
    _decide(case_id, Step.APPROVAL, {"choice": choice, "by": by}, as_json)


@complaint_app.command("implement")
@command
def complaint_implement(
    case_id: str = typer.Argument(...),
    accepted: Optional[bool] = typer.Option(None, "--accepted/--rejected", help="Did the customer accept?"),
    signature: Optional[str] = typer.Option(None, "--signature", help="The customer's signature (name)."),
    feedback: Optional[str] = typer.Option(None, "--feedback", help="The customer's feedback."),
    by: str = ByOpt, as_json: bool = JsonOpt,
) -> None:
    """Step 5, 实施处理方案: the customer accepts (signs) or rejects; a rejection goes back to step 4."""
    if accepted is None:
        raise BadInput("accepted", "say whether the customer accepted", "add --accepted --signature NAME, or --rejected")
    _decide(case_id, Step.IMPLEMENTATION,
            {"accepted": accepted, "signature": signature, "feedback": feedback, "by": by}, as_json)


@complaint_app.command("review")
@command
def complaint_review(
    case_id: str = typer.Argument(...),
    summary: str = typer.Option(..., "--summary", help="Summary and evaluation."),
    improvement: list[str] = typer.Option([], "--improvement", help="An improvement measure (repeat for more)."),
    by: str = ByOpt, as_json: bool = JsonOpt,
) -> None:
    """Step 6, 总结评价: summary and improvements; the case closes and a callback is requested."""
    _decide(case_id, Step.REVIEW, {"summary": summary, "improvements": improvement, "by": by}, as_json)


@contact_app.command("answer")
@command
def contact_answer(
    case_id: str = typer.Argument(...),
    answer: str = typer.Option(..., "--answer", help="The answer given to the customer."),
    by: str = ByOpt, as_json: bool = JsonOpt,
) -> None:
    """Answer a consultation or query; it closes."""
    _decide(case_id, Step.ANSWER, {"answer": answer, "by": by}, as_json)


# -- cases -------------------------------------------------------------------------------------

@case_app.command("show")
@command
def case_show(case_id: str = typer.Argument(...), as_json: bool = JsonOpt) -> None:
    """A case's timeline: events with actors and times, current step, open deadline."""
    state = runtime.store().state(case_id)
    emit(as_json, case_json(state), case_text(state))


@case_app.command("list")
@command
def case_list(
    status: Optional[str] = typer.Option(None, "--status", help="open or closed."),
    step: Optional[str] = typer.Option(None, "--step", help="The step cases wait at."),
    limit: int = typer.Option(200, "--limit"),
    as_json: bool = JsonOpt,
) -> None:
    """Cases, newest first."""
    if status not in (None, "open", "closed"):
        raise BadInput("status", f"unknown status {status!r}", "use open or closed")
    if step is not None and step not in {s.value for s in Step}:
        raise BadInput("step", f"unknown step {step!r}", f"use one of {', '.join(s.value for s in Step)}")
    rows = runtime.store().cases(status=status, step=step, limit=limit)
    data = [{"case_id": c.id, "process": c.process, "kind": c.kind, "severity": c.severity, "status": c.status,
             "step": c.step, "customer": c.customer_name, "opened_at": local_iso(c.opened_at)} for c in rows]
    text = "\n".join(f"{c['case_id']:<18} {c['kind']:<13} {c['severity'] or '-':<8} {c['status']:<7} "
                     f"{c['step'] or '-':<15} {c['customer']}" for c in data) or "(no cases)"
    emit(as_json, data, text)


@case_app.command("sync")
@command
def case_sync(case_id: Optional[str] = typer.Argument(None), as_json: bool = JsonOpt) -> None:
    """Make Prefect catch up with the record: start or wake the flow runs of open cases."""
    from kefu import orchestration

    ids = [case_id] if case_id else [c.id for c in runtime.store().cases(status="open", limit=100000)]
    done = {cid: orchestration.catch_up(runtime.store().state(cid)) for cid in ids}
    emit(as_json, done, "\n".join(f"{cid}: {what}" for cid, what in done.items()) or "(no open cases)")


@case_app.command("pause")
@command
def case_pause(case_id: str = typer.Argument(...),
               reason: str = typer.Option(..., "--reason", help="Why the case waits for the customer."),
               by: str = ByOpt, as_json: bool = JsonOpt) -> None:
    """The case waits for the customer: its deadlines stop until `kefu case resume`."""
    state = cases.pause_clock(runtime.store(), runtime.rules(), case_id, reason, by)
    emit(as_json, case_json(state), f"{case_id}: clock stopped ({reason})")


@case_app.command("resume")
@command
def case_resume(case_id: str = typer.Argument(...),
                reason: str = typer.Option("the customer answered", "--reason"),
                by: str = ByOpt, as_json: bool = JsonOpt) -> None:
    """The customer responded: the deadlines run again, moved by the time they were stopped."""
    state = cases.resume_clock(runtime.store(), runtime.rules(), case_id, reason, by)
    due = ", ".join(f"{d.step} {local_time(runtime.rules(), d.due_at)}" for d in state.open_deadlines() if d.due_at)
    emit(as_json, case_json(state), f"{case_id}: clock running; due: {due}")


# -- deadlines and escalation ------------------------------------------------------------------

def _deadline_json(d: Any) -> dict[str, Any]:
    return {"case_id": d.case_id, "step": d.step, "round": d.round, "opened_at": local_iso(d.opened_at),
            "due_at": local_iso(d.due_at), "met_at": local_iso(d.met_at), "policy": d.policy, "ladder": d.ladder,
            "next_rung": d.next_rung, "next_rung_at": local_iso(d.next_rung_at)}


@deadlines_app.callback(invoke_without_command=True)
@command
def deadlines_list(ctx: typer.Context, due: bool = typer.Option(False, "--due", help="Only those past due."),
                   limit: int = typer.Option(200, "--limit"), as_json: bool = JsonOpt) -> None:
    """Open deadlines, soonest first (a stopped clock shows no due time)."""
    if ctx.invoked_subcommand is not None:
        return
    from kefu import sweep

    rows = [_deadline_json(d) for d in sweep.due_deadlines(runtime.store().engine, only_due=due, limit=limit)]
    rules = runtime.rules()
    text = "\n".join(
        f"{r['case_id']:<18} {r['step']:<15} {('r' + str(r['round'])):<3} due "
        f"{(r['due_at'] or 'clock stopped')[:16].replace('T', ' '):<16}  next rung {r['next_rung']} "
        f"{(r['next_rung_at'] or '-')[:16].replace('T', ' ')}" for r in rows) or "(no open deadlines)"
    emit(as_json, rows, text + f"\n(times in {rules.department.department.timezone})" if rows else text)


@deadlines_app.command("recompute")
@command
def deadlines_recompute(as_json: bool = JsonOpt) -> None:
    """Recompute open deadlines under the rules in force now (after a calendar or SLA change)."""
    store, rules = runtime.store(), runtime.rules()
    changed = [c for case in store.cases(status="open", limit=1_000_000)
               for c in cases.recompute_deadlines(store, rules, case.id)]
    emit(as_json, changed, "\n".join(f"{c['case_id']} {c['step']} r{c['round']}: {c['was']} → {c['now']}"
                                      for c in changed) or "no open deadline changed")


@app.command("sweep")
@command
def sweep_now(as_json: bool = JsonOpt) -> None:
    """Run the deadline sweep once now: fire due rungs, deliver the outbox."""
    from kefu import mail, sweep
    from kefu.settings import get_settings

    engine = runtime.store().engine
    fired = sweep.escalate_due(engine, runtime.rules(), dashboard_url=get_settings().dashboard_url)
    delivered = mail.deliver_due(engine, mail.transport_from_settings())
    data = {"rungs_fired": fired.rungs_fired, "cases": fired.cases, "messages_queued": fired.messages_queued,
            "sent": delivered.sent, "failed": delivered.failed, "pending": delivered.pending_left,
            "seconds": round(fired.seconds, 4), "fired": fired.fired}
    emit(as_json, data, f"{fired.rungs_fired} rungs fired on {fired.cases} cases, {fired.messages_queued} digests "
                         f"queued; outbox: {delivered.sent} sent, {delivered.failed} failed, "
                         f"{delivered.pending_left} waiting")


# -- rules and people --------------------------------------------------------------------------

@config_app.command("show")
@command
def config_show(as_json: bool = JsonOpt) -> None:
    """The effective, validated rules."""
    rules = runtime.rules()
    data = {"directory": str(rules.directory), "version": rules.version,
            "department": rules.department.model_dump(), "complaint": rules.complaint.model_dump(),
            "order": rules.order.model_dump(mode="json")}
    import yaml

    emit(as_json, data, yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


@config_app.command("check")
@command
def config_check(directory: Path = typer.Argument(..., help="A config folder to validate."), as_json: bool = JsonOpt) -> None:
    """Validate a config folder without using it."""
    rules = load_rules(directory)
    emit(as_json, {"ok": True, "directory": str(directory), "version": rules.version},
          f"{directory}: ok (version {rules.version})")


@app.command("staff")
@command
def staff(role: Optional[str] = typer.Option(None, "--role"), as_json: bool = JsonOpt) -> None:
    """The roster: id, name, role, e-mail."""
    rules = runtime.rules()
    if role is not None and role not in rules.department.roles:
        raise BadInput("role", f"unknown role {role!r}", f"use one of {', '.join(rules.department.roles)}")
    rows = [s.model_dump() for s in rules.department.staff if role is None or s.role == role]
    emit(as_json, rows, "\n".join(f"{s['id']:<12} {s['name']:<6} {s['role']:<11} {s['email']}" for s in rows))


# -- running kefu ------------------------------------------------------------------------------

@app.command("up")
@command
def up(detach: bool = typer.Option(False, "--detach", help="Start and return; `kefu down` stops."),
       as_json: bool = JsonOpt) -> None:
    """Start the local Prefect server and the runner; print the dashboard URL."""
    from kefu import local

    info = local.up(detach=detach, announce=lambda text: None if as_json else typer.echo(text))
    emit(as_json, info, "")


@app.command("down")
@command
def down(as_json: bool = JsonOpt) -> None:
    """Stop what `kefu up` started."""
    from kefu import local

    stopped = local.down()
    emit(as_json, {"stopped": stopped}, "stopped: " + (", ".join(stopped) or "nothing was running"))


@app.command("demo")
@command
def demo(as_json: bool = JsonOpt) -> None:
    """A working day of a department, on the embedded default."""
    from kefu import demo as demo_module

    demo_module.run(as_json=as_json)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
