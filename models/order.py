"""The order case 订单跟踪 (PROCESSES.md P3): its events, its typed state, its forms.

An order is a case like any other (``CaseState``): the shared deadline, notice, refusal and
closing events apply. What only an order knows — buyer, agreed dates, every remark version,
the written confirmation, chases, liability — lives in ``state.parts["order"]`` as an
:class:`OrderState`, folded here from the order's own events.

The chain (seed 001 订单的接收与处理, seed 000 第四篇) is a list of hand-overs; each is done by
one event, and each opens once the hand-overs it follows are done (:data:`AFTER`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from models.case import CaseState, Fold, RecordedEvent, StaffInput, text

PROCESS = "order"

CREATED = "order.created"
CHASED = "order.chased"
DELAY_RECORDED = "order.delay_recorded"
LIABILITY_RECORDED = "order.liability_recorded"
CREDIT_MOVED = "order.credit_moved"

# The event that completes each hand-over of the chain, in the chain's order. Step names use
# dashes, not underscores: a wait's Prefect pause key (flows.waiting) allows [a-z0-9-] only.
STEP_EVENT = {
    "stock-check": "order.stock_checked",          # 商务助理确认库存，联络物流部安排运输
    "payment": "order.paid",                       # 买家付款
    "remark": "order.remarked",                    # 付款后20分钟内备注 (seed 000)
    "finance-confirmation": "order.finance_confirmed",  # 营销中心财务确认收款
    "verification": "order.verified",              # 与买家书面核对收货信息 (seed 000)
    "director-approval": "order.approved",         # 营销总监审核
    "handover": "order.handed_over",               # 传送给制作部 (seed 000 订单整理)
    "shipment": "order.shipped",                   # 物流发货，单号
    "delivery": "order.delivered",                 # 跟踪客户收货
    "invoice": "order.invoiced",                   # 开票申请 (on request)
}
EVENT_STEP = {event: step for step, event in STEP_EVENT.items()}
# A hand-over can be done (and its deadline runs) once these are done. Shipment and delivery
# are due on agreed dates from the start; they can only be done after production and shipment.
AFTER: dict[str, tuple[str, ...]] = {
    "stock-check": (), "payment": (), "remark": ("payment",), "finance-confirmation": ("payment",),
    "verification": ("payment",), "director-approval": ("finance-confirmation",),
    "handover": ("verification", "director-approval"), "shipment": ("handover",), "delivery": ("shipment",),
    "invoice": ("delivery",),
}
# Which overdue stage a chase is about, and the step that ends it.
STAGES = ("payment", "shipment", "delivery")


class RemarkVersion(BaseModel):
    """One version of the remark; an amendment adds one, the earlier ones stay (原备注内容要保留)."""

    version: int
    at: datetime
    by: str
    text: str
    fields: dict[str, Any]
    changes: list[str] = []


class Chase(BaseModel):
    at: datetime
    by: str
    via: str
    stage: str
    seq: int


class OrderState(BaseModel):
    buyer: str
    phone: str
    agent: str                      # whose flag is on the order (插旗)
    credit_agent: str               # whose sales the order counts for (追单成功计入追单客服)
    items: list[str]
    ship_by: date
    deliver_by: date
    delivery_mode: str
    urgency: str
    invoice_requested: bool = False
    done: dict[str, datetime] = {}  # hand-over -> when it was done
    remarks: list[RemarkVersion] = []
    confirmation: str | None = None
    tracking: str | None = None
    chases: list[Chase] = []
    delays: list[dict[str, Any]] = []
    liabilities: list[dict[str, Any]] = []

    @property
    def remark(self) -> RemarkVersion | None:
        return self.remarks[-1] if self.remarks else None

    def needed(self) -> list[str]:
        """The hand-overs this order goes through (the invoice only on request)."""
        return [s for s in STEP_EVENT if s != "invoice" or self.invoice_requested]

    def ready(self, step: str) -> bool:
        return all(before in self.done for before in AFTER[step])

    def next_step(self) -> str | None:
        return next((s for s in self.needed() if s not in self.done), None)


def order_of(state: CaseState) -> OrderState:
    return state.parts[PROCESS]


def _apply(state: CaseState, event: RecordedEvent) -> None:
    p, t = event.payload, event.type
    if t == CREATED:
        state.process, state.kind, state.severity = PROCESS, PROCESS, p["urgency"]
        state.owner, state.opened_at = p["agent"], event.at
        # What the dashboard's form shows above every wait of the order (flows.waiting).
        state.intake = {**p, "name": p["buyer"], "channel": "order", "content": (
            f"{'；'.join(p['items'])} · 发货 ship by {p['ship_by']} · 到货 deliver by {p['deliver_by']} · "
            f"{p['delivery_mode']}" + (" · 开票 invoice" if p["invoice_requested"] else ""))}
        state.parts[PROCESS] = OrderState(credit_agent=p["agent"], **{k: p[k] for k in (
            "buyer", "phone", "agent", "items", "ship_by", "deliver_by", "delivery_mode", "urgency",
            "invoice_requested")})
    order = order_of(state)
    if t in EVENT_STEP:
        step = EVENT_STEP[t]
        if t == STEP_EVENT["remark"]:
            order.remarks.append(RemarkVersion(version=p["version"], at=event.at, by=event.actor, text=p["text"],
                                               fields=p["fields"], changes=p.get("changes", [])))
            order.delivery_mode = p["fields"]["delivery_mode"]
        elif t == STEP_EVENT["verification"]:
            order.confirmation = p["confirmation"]
        elif t == STEP_EVENT["shipment"]:
            order.tracking = p["tracking"]
        if step not in order.done:
            order.done[step] = event.at
            # The decision in the form's shape: `kefu case sync` resumes a waiting run with it.
            form = {name: p.get(name) for name in INPUTS[step].model_fields if name != "by"}
            state.decisions.setdefault(step, {})[1] = {**form, "by": event.actor, "at": event.at}
    elif t == CHASED:
        order.chases.append(Chase(at=event.at, by=event.actor, via=p["via"], stage=p["stage"], seq=event.seq))
    elif t == DELAY_RECORDED:
        order.delays.append({**p, "by": event.actor, "at": event.at})
    elif t == LIABILITY_RECORDED:
        order.liabilities.append({**p, "at": event.at})
    elif t == CREDIT_MOVED:
        order.credit_agent = p["to"]
    if state.status == "open":
        state.step = order.next_step()


FOLDS: dict[str, Fold] = dict.fromkeys([CREATED, CHASED, DELAY_RECORDED, LIABILITY_RECORDED, CREDIT_MOVED,
                                        *STEP_EVENT.values()], _apply)


# -- the forms (the dashboard's and the CLI's, same shape) ---------------------------------------

class HandOverInput(StaffInput):
    """交接 A hand-over of the order chain is done (with a note for the next owner)."""

    note: str | None = Field(default=None, description="备注 / Note for the record")


class RemarkInput(StaffInput):
    """订单备注 姓名,宽*高,图案,M月D日发货,配送方式。特殊备注"""

    text: str = Field(description="备注 / e.g. 刘贺,3米*2.5米,图案正常,12月19日发货,自提。送胶。")
    _text_given = field_validator("text")(classmethod(lambda cls, v: text(v)))


class VerificationInput(StaffInput):
    """核对收货信息 The buyer's written confirmation (name, drawing and size, ship date, delivery mode)."""

    confirmation: str = Field(description="买家书面确认原文 / The buyer's confirmation, verbatim")
    _confirmation = field_validator("confirmation")(classmethod(lambda cls, v: text(v)))


class ShipmentInput(StaffInput):
    """发货 Shipped, with the logistics tracking number."""

    tracking: str = Field(description="物流单号 / Tracking number", min_length=4, max_length=40)


INPUTS: dict[str, type[StaffInput]] = {step: HandOverInput for step in STEP_EVENT}
INPUTS.update(remark=RemarkInput, verification=VerificationInput, shipment=ShipmentInput)
