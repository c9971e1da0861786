"""``kefu order``: the order follow-up 订单跟踪 (PROCESSES.md P3) on the command line.

Registered by kefu/cli/ (``app.add_typer(order_app, name="order")``). Same conventions as the
rest of the CLI: ``--json`` everywhere; exit 0 on success, 2 on bad input (field and fix), 1 on
an internal error. A hand-over recorded here also wakes the order's flow run, like the
dashboard's form would."""

from __future__ import annotations

from typing import Any, Optional

import typer

from kefu import runtime
from kefu.cli.support import (
    BadInput,
    ByOpt,
    JsonOpt,
    caller,
    command,
    emit,
    local_iso,
    parse_day,
)
from kefu.core.deadlines import late_text
from kefu.core.texts import mask_phone
from kefu.executor import service
from kefu.processes.order import decisions as orders
from models.case import CaseState
from models.order import order_of

order_app = typer.Typer(no_args_is_help=True, help="Orders 订单跟踪: from receipt to the buyer's receipt.")

# The hand-overs `kefu order step` records; the others have a command of their own.
CHAIN_STEPS = ("stock-check", "finance-confirmation", "director-approval", "handover", "invoice")


def order_json(state: CaseState) -> dict[str, Any]:
    order = order_of(state)
    return {
        "order_id": state.case_id, "status": state.status, "step": state.step, "outcome": state.outcome,
        "urgency": order.urgency, "agent": order.agent, "credit_agent": order.credit_agent,
        "buyer": {"name": order.buyer, "phone": mask_phone(order.phone)}, "items": order.items,
        "ship_by": order.ship_by.isoformat(), "deliver_by": order.deliver_by.isoformat(),
        "delivery_mode": order.delivery_mode, "invoice_requested": order.invoice_requested,
        "done": {step: local_iso(at) for step, at in order.done.items()},
        "remarks": [{"version": r.version, "at": local_iso(r.at), "by": r.by, "text": r.text, "changes": r.changes,
                     "fields": r.fields} for r in order.remarks],
        "confirmation": order.confirmation, "tracking": order.tracking,
        "chases": [{"at": local_iso(c.at), "by": c.by, "via": c.via, "stage": c.stage} for c in order.chases],
        "delays": [{**d, "at": local_iso(d["at"])} for d in order.delays],
        "liabilities": [{**item, "at": local_iso(item["at"])} for item in order.liabilities],
        "notices": {key: notice["text"] for key, notice in state.notices.items()},
        "deadlines": [{"step": d.step, "round": d.round, "due_at": local_iso(d.due_at), "met_at": local_iso(d.met_at),
                       "policy": d.policy, "escalated": d.escalated} for d in state.deadlines],
        "flow_run_id": state.flow_run_id,
    }


def order_text(state: CaseState) -> str:
    data = order_json(state)
    lines = [f"{state.case_id}  {data['status']}  " + (f"waits at: {state.step}" if state.step else "all done")
             + f"  ({data['urgency']})",
             f"  buyer:    {data['buyer']['name']} {data['buyer']['phone']}   agent: {data['agent']}"
             + (f"  credit: {data['credit_agent']}" if data["credit_agent"] != data["agent"] else ""),
             f"  items:    {'；'.join(data['items'])}",
             f"  agreed:   ship by {data['ship_by']}, deliver by {data['deliver_by']}, {data['delivery_mode']}"]
    for remark in data["remarks"]:
        changed = f"  (changed: {', '.join(remark['changes'])})" if remark["changes"] else ""
        lines.append(f"  remark v{remark['version']} {remark['at'][:16].replace('T', ' ')} {remark['by']}: "
                     f"{remark['text']}{changed}")
    if data["confirmation"]:
        lines.append(f"  confirmed by the buyer: {data['confirmation']}")
    if data["tracking"]:
        lines.append(f"  tracking: {data['tracking']}")
    for chase in data["chases"]:
        lines.append(f"  chase:    {chase['at'][:16].replace('T', ' ')} {chase['by']} via {chase['via']} ({chase['stage']})")
    for liability in data["liabilities"]:
        lines.append(f"  late {liability['stage']}: agent {liability['agent']} "
                     + ("LIABLE (no chase)" if liability["liable"] else "not liable (chased)"))
    for delay in data["delays"]:
        lines.append(f"  delay:    {delay['cause']} ({delay['stage']})")
    lines.append("  deadlines:")
    for d, shown in zip(state.deadlines, data["deadlines"]):
        lines.append(f"    {d.step:<21} due {str(shown['due_at'])[:16].replace('T', ' ')}  {_kept(d, shown['met_at'])}")
    return "\n".join(lines)


def _kept(deadline: Any, met_at: str | None) -> str:
    """"met" only when met: a stage done after its due time says how late it was."""
    if deadline.met_at is None:
        return "open"
    done = f"{met_at[:16].replace('T', ' ')}" if met_at else "-"
    if deadline.due_at is not None and deadline.met_at > deadline.due_at:
        return f"done {done}, {late_text(deadline.met_at, deadline.due_at)[1]}"
    return f"met {done}"


def _hand_over(order_id: str, step: str, data: dict[str, Any], as_json: bool) -> None:
    """Record a hand-over and wake the order's run (the same path as the dashboard's form)."""
    state, note = service.decide(order_id, step, data, caller())
    emit(as_json, {**order_json(state), "flow_run": note},
         f"{order_id}: {step} recorded; " + (f"next: {state.step}" if state.step else "all done") + f" (run {note})")



@order_app.command("new")
@command
def order_new(
    buyer: str = typer.Option(..., "--buyer", help="The buyer's real name 收货人."),
    phone: str = typer.Option(..., "--phone", help="The buyer's phone."),
    agent: str = typer.Option(..., "--agent", help="The agent whose flag is on the order (插旗)."),
    item: list[str] = typer.Option(..., "--item", help="An item of the order (repeat for several)."),
    ship_by: str = typer.Option(..., "--ship-by", help="Agreed ship date, YYYY-MM-DD."),
    deliver_by: str = typer.Option(..., "--deliver-by", help="Agreed delivery date, YYYY-MM-DD."),
    delivery: str = typer.Option(..., "--delivery", help="self_pickup 自提, to_building 送货到楼下, "
                                                         "delivery_installation 包送货安装."),
    urgency: Optional[str] = typer.Option(None, "--urgency", help="normal or tight (closer tracking)."),
    invoice: bool = typer.Option(False, "--invoice", help="The buyer wants an invoice."),
    by: Optional[str] = ByOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Take an order (seed 001 订单的接收与处理) and start its flow run."""
    data = dict(buyer=buyer, phone=phone, agent=agent, items=item, ship_by=parse_day(ship_by, "--ship-by"),
                deliver_by=parse_day(deliver_by, "--deliver-by"), delivery_mode=delivery, urgency=urgency,
                invoice_requested=invoice)
    state, note = service.open_order(data, caller(), by)
    if note != "started":
        typer.echo(f"warning: order recorded, but its flow run {note}", err=True)
    emit(as_json, {**order_json(state), "flow_run": note}, f"{state.case_id}")


@order_app.command("paid")
@command
def order_paid(order_id: str = typer.Argument(...), by: Optional[str] = ByOpt, as_json: bool = JsonOpt) -> None:
    """The buyer paid: the 20-minute remark deadline starts (seed 000 第四篇)."""
    _hand_over(order_id, "payment", {"by": by}, as_json)


@order_app.command("remark")
@command
def order_remark(order_id: str = typer.Argument(...),
                 text: str = typer.Option(..., "--text", help="姓名,宽*高,图案,M月D日发货,配送方式。特殊备注"),
                 by: Optional[str] = ByOpt, as_json: bool = JsonOpt) -> None:
    """Write the remark; a second one is an amendment (a new version, reported to the supervisors)."""
    _hand_over(order_id, "remark", {"by": by, "text": text}, as_json)


@order_app.command("verify")
@command
def order_verify(order_id: str = typer.Argument(...),
                 confirmation: str = typer.Option(..., "--confirmation", help="The buyer's written confirmation."),
                 by: Optional[str] = ByOpt, as_json: bool = JsonOpt) -> None:
    """Consignee, drawing and size, ship date, delivery mode confirmed by the buyer in writing."""
    _hand_over(order_id, "verification", {"by": by, "confirmation": confirmation}, as_json)


@order_app.command("shipped")
@command
def order_shipped(order_id: str = typer.Argument(...),
                  tracking: str = typer.Option(..., "--tracking", help="The logistics tracking number."),
                  by: Optional[str] = ByOpt, as_json: bool = JsonOpt) -> None:
    """Shipped with a tracking number; after the agreed date, liability is assessed."""
    _hand_over(order_id, "shipment", {"by": by, "tracking": tracking}, as_json)


@order_app.command("delivered")
@command
def order_delivered(order_id: str = typer.Argument(...), by: Optional[str] = ByOpt, as_json: bool = JsonOpt) -> None:
    """The buyer received the goods; after the agreed date, liability is assessed."""
    _hand_over(order_id, "delivery", {"by": by}, as_json)


@order_app.command("step")
@command
def order_step(step: str = typer.Argument(..., help="stock-check, finance-confirmation, director-approval, "
                                                    "handover or invoice."),
               order_id: str = typer.Argument(...),
               note: Optional[str] = typer.Option(None, "--note", help="A note for the record."),
               by: Optional[str] = ByOpt, as_json: bool = JsonOpt) -> None:
    """Record another hand-over of the chain (seed 001 订单的接收与处理)."""
    if step not in CHAIN_STEPS:
        raise BadInput("step", f"{step!r} is not recorded with `kefu order step`", f"use one of {', '.join(CHAIN_STEPS)}"
                       " (payment, remark, verification, shipment and delivery have their own commands)")
    _hand_over(order_id, step, {"by": by, "note": note}, as_json)


@order_app.command("chase")
@command
def order_chase(order_id: str = typer.Argument(...),
                via: str = typer.Option(..., "--via", help="im (e-mailed to the supervisors) or phone."),
                by: Optional[str] = ByOpt, as_json: bool = JsonOpt) -> None:
    """Chase an overdue order: the supervisor for a late shipment or delivery, the buyer when unpaid."""
    with service.acting(caller(), by) as who:
        state = orders.chase(runtime.store(), runtime.rules(), order_id, via, who.by)
    chase = order_of(state).chases[-1]
    emit(as_json, order_json(state), f"{order_id}: {chase.stage} chased by {chase.by} via {chase.via}")


@order_app.command("delay")
@command
def order_delay(order_id: str = typer.Argument(...),
                cause: str = typer.Option(..., "--cause", help="What delays it, outside our control."),
                by: Optional[str] = ByOpt, as_json: bool = JsonOpt) -> None:
    """Record a delay outside our control and send the buyer the after-care message (seed 002 §2)."""
    with service.acting(caller(), by) as who:
        state = orders.record_delay(runtime.store(), runtime.rules(), order_id, cause, who.by)
    emit(as_json, order_json(state), f"{order_id}: delay recorded; the buyer was told:\n"
                                     + state.notices[f"after_care:{len(order_of(state).delays)}"]["text"])


@order_app.command("show")
@command
def order_show(order_id: str = typer.Argument(...), as_json: bool = JsonOpt) -> None:
    """The order, every remark version, chases, liability and deadlines."""
    state = runtime.store().state(order_id)
    if state.process != "order":
        raise BadInput("order_id", f"{order_id} is a {state.process} case", f"use `kefu case show {order_id}`")
    emit(as_json, order_json(state), order_text(state))


__all__ = ["order_app"]
