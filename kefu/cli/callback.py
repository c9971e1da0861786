"""``kefu callback …`` (P2 回访) and ``kefu report callbacks`` (《回访总结报告》).

Same conventions as the rest of the CLI: ``--json`` everywhere; exit 0
on success, 2 on bad input (the field and the fix), 1 on an internal error."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from pydantic import ValidationError

from kefu import runtime
from kefu.cli.report import report_app
from kefu.cli.support import (
    BadInput,
    ByOpt,
    JsonOpt,
    caller,
    command,
    emit,
    local_iso,
    parse_day,
    parse_time,
    written,
)
from kefu.core import clock
from kefu.core.refusals import InputRefused, refusal_from_validation
from kefu.core.texts import local_time, mask_phone
from kefu.executor import service
from kefu.processes.callback import decisions as callbacks
from models.callback import CALL, CallbackCustomer, callback_of
from models.case import CaseState

callback_app = typer.Typer(no_args_is_help=True, help="P2 callbacks 回访: due calls, the call record, new callbacks.")




def callback_json(state: CaseState) -> dict[str, Any]:
    rules = runtime.rules()
    callback = callback_of(state)
    zone = callbacks.customer_zone(rules, callback.customer)
    deadline = state.deadline(CALL, 1)
    return {
        "case_id": state.case_id, "status": state.status, "outcome": state.outcome, "trigger": callback.trigger,
        "source_case": callback.source_case, "follow_up": callback.follow_up,
        "customer": {"name": callback.customer.name, "phone": mask_phone(callback.customer.phone),
                     "member": callback.customer.member, "key": callback.customer.key, "timezone": zone.key},
        "agent": callback.agent, "subject": callback.subject, "subject_en": callback.subject_en,
        "triggered_at": local_iso(callback.triggered_at),
        "next_call": {"at": local_iso(callback.proposed_at), "customer_local": callbacks.customer_local(callback.proposed_at, zone),
                      "set_by": callback.proposed_by, "attempt": callback.next_attempt} if state.status == "open" else None,
        "due_at": local_iso(deadline.due_at) if deadline else None, "deadline_policy": deadline.policy if deadline else None,
        "overdue": state.status == "open" and deadline is not None and deadline.due_at is not None
                   and deadline.due_at < clock.now(),
        "attempts_allowed": callback.max_attempts,
        "attempts": [{"attempt": a.attempt, "at": local_iso(a.at), "by": a.by, "channel": a.channel,
                      "outcome": a.outcome, "note": a.note, "booked_at": local_iso(a.booked_at)} for a in callback.attempts],
        "flow_run_id": state.flow_run_id,
    }


def callback_text(state: CaseState) -> str:
    rules = runtime.rules()
    data = callback_json(state)
    callback = callback_of(state)
    lines = [
        f"{state.case_id}  {data['trigger']}  {state.status}" + (f"  outcome: {state.outcome}" if state.outcome else ""),
        f"  customer: {data['customer']['name']} {data['customer']['phone']} ({data['customer']['timezone']})"
        + ("  member" if callback.customer.member else "") + ("  key customer" if callback.customer.key else ""),
        f"  about:    {callback.triggered_at.astimezone(callbacks.customer_zone(rules, callback.customer)):%Y-%m-%d}"
        f"{callback.subject} / {callback.subject_en}",
        f"  agent:    {callback.agent}   due: {local_time(rules, state.deadline(CALL, 1).due_at)}"  # type: ignore[union-attr,arg-type]
        f" ({data['deadline_policy']})",
    ]
    if data["source_case"]:
        lines.append(f"  follows:  {data['source_case']}")
    if data["follow_up"]:
        lines.append(f"  follow-up complaint: {data['follow_up']}")
    if data["next_call"]:
        lines.append(f"  next call: attempt {callback.next_attempt} of {callback.max_attempts} at "
                     f"{data['next_call']['customer_local']} (customer's time; set by {callback.proposed_by})")
    lines.append("  回访记录表 call record:")
    for a in data["attempts"] or [{"attempt": "-", "at": "", "by": "", "channel": "", "outcome": "(no call yet)", "note": None}]:
        lines.append(f"    {a['attempt']}  {(a['at'] or '')[:16].replace('T', ' '):<16}  {a['by']:<10} {a['channel']:<6} "
                     f"{a['outcome']}" + (f" — {a['note']}" if a["note"] else ""))
    if state.status == "open":
        lines += ["", callbacks.script(rules, state)]
    return "\n".join(lines)


@callback_app.command("due")
@command
def callback_due(agent: Optional[str] = typer.Option(None, "--agent", help="Only this agent's callbacks."),
                 as_json: bool = JsonOpt) -> None:
    """Open callbacks, the next call first: who to call, when (their time and ours), by when."""
    store, rules = runtime.store(), runtime.rules()
    if agent is not None and rules.staff_member(agent) is None:
        raise BadInput("agent", f"unknown staff id {agent!r}", "use an id from `kefu staff`")
    rows = [callback_json(s) for s in callbacks.due_callbacks(store) if agent in (None, s.owner)]
    text = "\n".join(
        f"{r['case_id']:<18} {r['agent']:<10} call {r['next_call']['customer_local']:<34} due {(r['due_at'] or '-')[:16].replace('T', ' ')}"
        f"{'  OVERDUE' if r['overdue'] else ''}  {r['customer']['name']}{' (member)' if r['customer']['member'] else ''}"
        for r in rows) or "(no callbacks due)"
    emit(as_json, rows, text)


@callback_app.command("record")
@command
def callback_record(
    case_id: str = typer.Argument(..., help="Callback id."),
    outcome: str = typer.Option(..., "--outcome", help="satisfied, average, unsatisfied, not_convenient or unreachable."),
    at: Optional[str] = typer.Option(None, "--at", help="not_convenient: the time the customer asked for (ISO-8601 with offset)."),
    note: Optional[str] = typer.Option(None, "--note", help="What to improve (average, unsatisfied) or a note."),
    channel: str = typer.Option("phone", "--channel", help="phone, email or sms."),
    customer_called: bool = typer.Option(False, "--customer-called", help="The customer called us (a call in their "
                                         "quiet hours is refused otherwise)."),
    by: Optional[str] = ByOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Record a call in 《回访记录表》; the callback's run moves on (next attempt, or it ends)."""
    booked = parse_time(at, "at") if at else None
    try:  # the same path as the dashboard's call form: the same checks, the same refusals
        state, woken = service.decide(case_id, CALL, {"outcome": outcome, "channel": channel, "note": note,
                                                      "booked_at": booked, "customer_called": customer_called,
                                                      "by": by}, caller())
    except InputRefused as refused:  # the form's booked_at is --at here
        raise BadInput("at" if refused.field == "booked_at" else refused.field, refused.problem, refused.fix) from None
    if woken.startswith("not woken"):
        typer.echo(f"warning: the flow run was {woken}", err=True)
    after = (f"next call {callbacks.customer_local(callback_of(state).proposed_at, callbacks.customer_zone(runtime.rules(), callback_of(state).customer))}"
             if state.status == "open" else f"closed ({state.outcome})")
    emit(as_json, {**callback_json(state), "flow_run": woken}, f"{case_id}: attempt recorded; {after} (flow run {woken})")


@callback_app.command("show")
@command
def callback_show(case_id: str = typer.Argument(..., help="Callback id."), as_json: bool = JsonOpt) -> None:
    """A callback: the customer, why we call, the call record, the next call and its script."""
    state = runtime.store().state(case_id)
    if state.process != callbacks.PROCESS:
        raise BadInput("case_id", f"{case_id} is a {state.process} case, not a callback",
                       f"see `kefu case show {case_id}`, or `kefu callback due` for callbacks")
    emit(as_json, callback_json(state), callback_text(state))


@callback_app.command("new")
@command
def callback_new(
    trigger: str = typer.Option(..., "--trigger", help="service_completed (a repair or service was completed)."),
    ref: str = typer.Option(..., "--ref", help="The service's reference (one callback per reference)."),
    done: str = typer.Option(..., "--service", help="What was done, as the customer knows it (e.g. 空调维修)."),
    name: str = typer.Option(..., "--name", help="Customer name."),
    phone: str = typer.Option(..., "--phone", help="Customer phone."),
    member: bool = typer.Option(False, "--member", help="The customer is a member (100 % callback)."),
    timezone: Optional[str] = typer.Option(None, "--timezone", help="The customer's IANA zone (default: callback.yaml)."),
    completed_at: Optional[str] = typer.Option(None, "--at", help="When it was completed (default: now)."),
    as_json: bool = JsonOpt,
) -> None:
    """Open a callback after a service or repair (维修后的满意率回访) and start its run."""
    if trigger != "service_completed":
        raise BadInput("trigger", f"{trigger!r} cannot be opened by hand",
                       "use service_completed; complaints open theirs when they close, `kefu callback select` the rest")
    rules = runtime.rules()
    try:
        customer = CallbackCustomer(name=name, phone=phone, member=member,
                                    timezone=callbacks.valid_zone(timezone or rules.callback.default_timezone))
    except ValidationError as exc:
        raise refusal_from_validation(exc, callbacks.FIELD_FIXES) from None
    state = callbacks.open_for_service(runtime.store(), rules, reference=ref, service=done, customer=customer,
                                       completed_at=parse_time(completed_at, "at") if completed_at else clock.now())
    note = service.start(state)
    emit(as_json, {**callback_json(runtime.store().state(state.case_id)), "flow_run": note},
         f"{state.case_id}: {state.owner} calls {name} (flow run {note})")


@callback_app.command("select")
@command
def callback_select(on: Optional[str] = typer.Option(None, "--on", help="The day (YYYY-MM-DD; default today)."),
                    as_json: bool = JsonOpt) -> None:
    """Pick key customers (every two months) and occasion audiences from the archive; start their runs."""
    rules = runtime.rules()
    day = parse_day(on, "on") if on is not None else clock.now().astimezone(rules.department.department.zone).date()
    opened = callbacks.select_due_customers(runtime.store(), rules, day)
    rows = [{"case_id": s.case_id, "trigger": s.kind, "customer": callback_of(s).customer.name, "flow_run": service.start(s)}
            for s in opened]
    emit(as_json, rows, "\n".join(f"{r['case_id']}  {r['trigger']:<12} {r['customer']}  (flow run {r['flow_run']})"
                                  for r in rows) or "(nobody due)")


@report_app.command("callbacks")
@command
def report_callbacks(
    start: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD, the department's zone)."),
    end: str = typer.Option(..., "--to", help="Last day, inclusive."),
    out: Path = typer.Option(..., "--out", help="Folder for the XLSX and Markdown files."),
    artifact: bool = typer.Option(False, "--artifact", help="Also publish it in the Prefect dashboard (needs `kefu up`)."),
    as_json: bool = JsonOpt,
) -> None:
    """《回访总结报告》 for a period: due, done, on time, late, unreachable, satisfaction, member coverage."""
    from kefu.processes.callback import report as callback_report

    first, last = parse_day(start, "from"), parse_day(end, "to")
    if last < first:
        raise BadInput("to", f"{end} is before --from {start}", "give a --to on or after --from")
    summary = callback_report.summarize(runtime.store(), runtime.rules(), first, last)
    if artifact:  # the report flow writes the files and publishes the same table in the dashboard
        from flows.callback import callback_report as report_flow

        published = report_flow(first, last, str(out.resolve()))
        files = {"xlsx": published["xlsx"], "markdown": published["markdown"]}
    else:
        files = written("out", out, lambda: callback_report.write(runtime.rules(), summary, out))
    emit(as_json, {**summary.figures(), "files": files},
         callback_report.markdown(runtime.rules(), summary) + "\n\n" + "\n".join(f"{k}: {v}" for k, v in files.items()))
