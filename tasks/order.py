"""The order process's automatic steps as Prefect tasks; each records through its decisions
(``kefu.processes.order.decisions``).

People's hand-overs are recorded by ``kefu order …`` or the dashboard's form (the generic
``tasks.waiting.record_decision``, which finds the order's forms in the process list)."""

from __future__ import annotations

from kefu import runtime
from kefu.processes.order import decisions as orders
from models.case import CaseState
from tasks import step


@step(name="tell-buyer-tracking-number")
def tell_buyer_tracking_number(order_id: str) -> CaseState:
    """Tell the buyer the tracking number and the agreed delivery date."""
    return orders.tell_tracking(runtime.store(), runtime.rules(), order_id)


@step(name="complete-order")
def complete_order(order_id: str) -> CaseState:
    """Close the order once every hand-over is done."""
    return orders.complete(runtime.store(), runtime.rules(), order_id)
