"""The order process's automatic steps as Prefect tasks; each records through ``kefu.orders``.

People's hand-overs are recorded by ``kefu order …`` or the dashboard's form (the generic
``tasks.complaint.record_decision``, which ``kefu.orders`` plugs into)."""

from __future__ import annotations

from kefu import orders, runtime
from models.complaint import CaseState
from tasks import step


@step(name="tell-buyer-tracking-number")
def tell_buyer_tracking_number(order_id: str) -> CaseState:
    """Tell the buyer the tracking number and the agreed delivery date."""
    return orders.tell_tracking(runtime.store(), runtime.rules(), order_id)


@step(name="complete-order")
def complete_order(order_id: str) -> CaseState:
    """Close the order once every hand-over is done."""
    return orders.complete(runtime.store(), runtime.rules(), order_id)
