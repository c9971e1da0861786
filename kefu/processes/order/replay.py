"""Replay checks of the order process (run by kefu.audit.replay): what the order's rules decided
is recomputed from the record and the rules version on each event.

- An agreed-date deadline (``set_by: agreement``) is due at the agreed day's local time, its
  rungs on the ladder span of order.yaml (kefu.processes.order.decisions.agreed_deadline).
- A late stage's liability follows from the chases on record (seed 000 第四篇: 有追问环节则可以免责).
- A moved credit goes to the last other agent who chased the unpaid order (seed 000 第四篇 追单).
"""

from __future__ import annotations

from kefu.core.verdicts import Context, Divergence
from kefu.processes.order.decisions import agreed_deadline
from models.case import CaseState, EventType, RecordedEvent
from models.order import CREDIT_MOVED, LIABILITY_RECORDED, order_of


def agreed_date(context: Context, state: CaseState, event: RecordedEvent) -> Divergence | None:
    """An agreed-date deadline recomputed from the order's agreed date and order.yaml."""
    p = event.payload
    if p.get("set_by") != "agreement":
        return None
    expected = agreed_deadline(context.rules, state, p["step"], event.at).payload
    for key in ("due_at", "rungs", "ladder", "input"):
        if p.get(key) != expected[key]:
            return Divergence(event.seq, event.type, f"agreed deadline {p['step']}: {key}", expected[key], p.get(key))
    return None


def liability(context: Context, state: CaseState, event: RecordedEvent) -> Divergence | None:
    """Liable exactly when no chase of the stage is on record before it."""
    p = event.payload
    chases = [c.seq for c in order_of(state).chases if c.stage == p["stage"]]
    if p["liable"] != (not chases) or p["chases"] != chases:
        return Divergence(event.seq, event.type, f"liability for the late {p['stage']}",
                          {"liable": not chases, "chases": chases}, {"liable": p["liable"], "chases": p["chases"]})
    return None


def credit(context: Context, state: CaseState, event: RecordedEvent) -> Divergence | None:
    """The credit goes to the last other agent who chased the unpaid order."""
    order = order_of(state)
    chasers = [c.by for c in order.chases if c.stage == "payment" and c.by != order.agent]
    expected = chasers[-1] if chasers else None
    if event.payload["to"] != expected:
        return Divergence(event.seq, event.type, "credit for the chased order", expected, event.payload["to"])
    return None


CHECKS = ((str(EventType.DEADLINE_OPENED), agreed_date), (LIABILITY_RECORDED, liability), (CREDIT_MOVED, credit))
