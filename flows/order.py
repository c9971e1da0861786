"""P3 Order follow-up 订单跟踪 — one flow run per order (PROCESSES.md P3; seed 000 第四篇, seed 001
订单的接收与处理, seed 002 §2).

"买家拍下付款不是客服工作的结束而是开始": payment starts the agent's work. Each hand-over waits for
its owner (order.yaml chain) under its own deadline; the sweep escalates the late ones. Chases,
delays and remark amendments are recorded by `kefu order …` at any time, outside this sequence.
The run is safe to start again at any moment: each wait asks the order record first.
"""

from __future__ import annotations

from prefect import flow

from flows.visibility import case_finished
from flows.waiting import decision_of, read_case
from models.order import order_of
from tasks.order import complete_order, tell_buyer_tracking_number


@flow(name="order", log_prints=True, on_completion=[case_finished])
async def order(case_id: str) -> str:
    """Follow one order from its receipt to the buyer's receipt (and the invoice, if asked for)."""
    if read_case(case_id).status == "closed":
        return "completed"  # a run started again after the end has nothing left to do

    # 1. The business assistant checks stock and arranges transport with logistics (商务助理).
    await decision_of(case_id, "stock-check")
    # 2. The agent tells the buyer and asks for payment; unpaid after 24 h, another agent may chase.
    await decision_of(case_id, "payment")
    # 3. The remark in the fixed format, within 20 minutes of payment (amendments keep the original).
    await decision_of(case_id, "remark")
    # 4. Finance confirms the receipt of payment (营销中心财务确认收款).
    await decision_of(case_id, "finance-confirmation")
    # 5. Consignee, drawing and size, ship date, delivery mode confirmed with the buyer in writing.
    await decision_of(case_id, "verification")
    # 6. The marketing director approves (营销总监审核).
    await decision_of(case_id, "director-approval")
    # 7. The details go to production on time (传送给制作部).
    await decision_of(case_id, "handover")
    # 8. Shipped by the agreed date, with the tracking number; late without a chase → the agent is liable.
    await decision_of(case_id, "shipment")
    # 9. The buyer hears the tracking number (由客服部通知客户).
    if "tracking_notice" not in read_case(case_id).notices:
        tell_buyer_tracking_number(case_id)
    # 10. Received by the agreed date (跟踪客户收货); the same chase rule.
    await decision_of(case_id, "delivery")
    # 11. An invoice when the buyer asked for one (开票申请).
    if order_of(read_case(case_id)).invoice_requested:
        await decision_of(case_id, "invoice")
    complete_order(case_id)
    return "completed"
