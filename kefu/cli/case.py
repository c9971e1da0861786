"""``kefu case …`` (cases of every process) and ``kefu deadlines`` (business deadlines of every
process), and the case view every command group prints after a decision."""

from __future__ import annotations

from typing import Any, Optional

import typer
from sqlalchemy.exc import InterfaceError, OperationalError

from kefu import processes, runtime
from kefu.cli.support import BadInput, ByOpt, JsonOpt, caller, command, emit, local_iso
from kefu.core import casework
from kefu.core.texts import local_time, mask_phone, run_page
from kefu.executor import service
from models.case import CaseState

case_app = typer.Typer(no_args_is_help=True, help="Cases of every process.")
deadlines_app = typer.Typer(help="Business deadlines of every process.")


def case_json(state: CaseState) -> dict[str, Any]:
    intake = state.intake
    try:
        events = runtime.store().events(state.case_id)
    except (OperationalError, InterfaceError):  # a decision just recorded, then the database went away:
        events = []  # the command succeeded; `kefu case show` gives the timeline once it answers
    return {
        "case_id": state.case_id, "process": state.process, "kind": state.kind, "severity": state.severity,
        "status": state.status, "step": state.step, "round": state.round, "outcome": state.outcome,
        "customer": {"name": intake.get("name"), "phone": mask_phone(intake.get("phone", "")),
                     "member": intake.get("member"), "order_ref": intake.get("order_ref")},
        "channel": intake.get("channel"), "content": intake.get("content"), "category": _category(state),
        "source_category": intake.get("source_category"), "imported": intake.get("imported"), "resolution": intake.get("resolution"),
        "follows": intake.get("follows"), "follow_ups": state.parts.get("follow_ups", []),
        "classified_by": intake.get("classified_by"),
        "opened_at": local_iso(state.opened_at), "closed_at": local_iso(state.closed_at),
        "flow_run_id": state.flow_run_id,
        "flow_run_url": run_page(_dashboard(), state.flow_run_id) if state.flow_run_id else None,
        "events": [{"seq": e.seq, "type": e.type, "actor": e.actor, "at": local_iso(e.at), "payload": e.payload,
                    "said": processes.in_words(runtime.rules(), e.type, e.payload),
                    "verified": (e.payload.get("verified") or {}).get("method")} for e in events],
        "deadlines": [{"step": d.step, "round": d.round, "due_at": local_iso(d.due_at), "met_at": local_iso(d.met_at),
                       "policy": d.policy} for d in state.deadlines],
    }


def _category(state: CaseState) -> str | None:
    """A complaint's category as it stands (intake's proposal, the judgement's, the investigation's)."""
    complaint = state.parts.get("complaint")
    return getattr(complaint, "category", None) or state.intake.get("category")


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
    if data["category"]:
        labels = getattr(rules.sections.get("complaint"), "category_labels", dict)()
        lines.append(f"  category: {labels.get(data['category'], data['category'])} ({data['category']})"
                     + (f"; source_category: {data['source_category']}" if data["source_category"] else ""))
    if data["imported"]:
        source = data["imported"]
        lines.append(f"  from:     {source['source']} #{source['external_id']} (batch {source['batch']}, row {source['row']})"
                     + (f"; there: {data['resolution']}" if data["resolution"] else ""))
    open_deadline = next((d for d in state.open_deadlines() if d.step == state.step), None)
    if open_deadline:
        # A paused case has no due time: the customer holds its clock (kefu case resume restarts it).
        due = local_time(rules, open_deadline.due_at) if open_deadline.due_at else "时钟暂停 clock stopped"
        lines.append(f"  due:      {due}  ({open_deadline.policy})")
    if data["flow_run_url"]:
        lines.append(f"  run:      {data['flow_run_url']}")
    lines.append("  timeline:")
    for e in data["events"]:
        said = f"  {e['said']}" if e["said"] else ""
        lines.append(f"    {e['seq']:>3}  {e['at'][:16].replace('T', ' ')}  {e['actor']:<12} {e['type']}{said}")
    return "\n".join(lines)



def decide(case_id: str, step: str, data: dict[str, Any], as_json: bool) -> None:
    """Record a person's decision (any process's step), wake the case's run, and say where it is now."""
    state, note = service.decide(case_id, step, data, caller())
    if note.startswith("not woken"):
        typer.echo(f"warning: the flow run was {note}", err=True)
    emit(as_json, {**case_json(state), "flow_run": note},
          f"{case_id}: {step} recorded; now {'waits at ' + str(state.step) if state.step else state.status} (flow run {note})")


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
    if step is not None and step not in processes.step_names():
        raise BadInput("step", f"unknown step {step!r}", f"use one of {', '.join(processes.step_names())}")
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
    from kefu.executor import orchestration

    problem = orchestration.unreachable()
    if problem is not None:
        raise BadInput("prefect", problem, "start it with `kefu up` (or point PREFECT_API_URL at it), "
                                           "then run `kefu case sync` again; the record keeps every case meanwhile")
    ids = [case_id] if case_id else [c.id for c in runtime.store().cases(status="open", limit=100000)]
    done = {cid: orchestration.catch_up(runtime.store().state(cid)) for cid in ids}
    emit(as_json, done, "\n".join(f"{cid}: {what}" for cid, what in done.items()) or "(no open cases)")


@case_app.command("pause")
@command
def case_pause(case_id: str = typer.Argument(...),
               reason: str = typer.Option(..., "--reason", help="Why the case waits for the customer."),
               by: Optional[str] = ByOpt, as_json: bool = JsonOpt) -> None:
    """The case waits for the customer: its deadlines stop until `kefu case resume`."""
    with service.acting(caller(), by) as who:
        state = casework.pause_clock(runtime.store(), runtime.rules(), case_id, reason, who.by)
    emit(as_json, case_json(state), f"{case_id}: clock stopped ({reason})")


@case_app.command("resume")
@command
def case_resume(case_id: str = typer.Argument(...),
                reason: str = typer.Option("the customer answered", "--reason"),
                by: Optional[str] = ByOpt, as_json: bool = JsonOpt) -> None:
    """The customer responded: the deadlines run again, moved by the time they were stopped."""
    with service.acting(caller(), by) as who:
        state = casework.resume_clock(runtime.store(), runtime.rules(), case_id, reason, who.by)
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
    from kefu.escalation import sweep

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
               for c in casework.recompute_deadlines(store, rules, case.id)]
    emit(as_json, changed, "\n".join(f"{c['case_id']} {c['step']} r{c['round']}: {c['was']} → {c['now']}"
                                      for c in changed) or "no open deadline changed")
