"""Orders taken through their chain in-process, through the same decisions the CLI and the flow's
tasks use (tests/processes/order/test_decisions.py and test_replay.py share them)."""

from __future__ import annotations

from datetime import timedelta, timezone

from people import signed_in

from kefu.processes.order import decisions as orders

CST = timezone(timedelta(hours=8))
REMARK = "刘贺,3米*2.5米,图案正常,11月26日发货,自提。送胶。"


def new_order(store, rules, **changes) -> str:
    data = dict(buyer="刘贺", phone="13812345678", agent="li.na", items=["墙纸 3m×2.5m"], ship_by="2026-11-26",
                deliver_by="2026-11-28", delivery_mode="自提")
    data.update(changes)
    with signed_in("li.na"):
        return orders.create(store, rules, data, by="li.na").case_id


# Who owns each hand-over in the shipped order.yaml chain (the agent owns the rest).
OWNERS = {"stock-check": "ma.lin", "finance-confirmation": "he.jing", "director-approval": "qian.hong",
          "shipment": "ma.lin", "invoice": "he.jing"}


def step(store, rules, order_id: str, name: str, by: str | None = None, **data):
    by = by or OWNERS.get(name, "li.na")
    with signed_in(by):
        return orders.submit(store, rules, order_id, name, {"by": by, **data})


def to_production(store, rules, order_id: str, skip: tuple[str, ...] = ()) -> None:
    """The chain up to the production hand-over (seed 001 订单的接收与处理)."""
    for done_first in ("stock-check", "payment"):
        if done_first not in skip:
            step(store, rules, order_id, done_first)
    step(store, rules, order_id, "remark", text=REMARK)
    step(store, rules, order_id, "finance-confirmation")
    step(store, rules, order_id, "verification", confirmation="旺旺：刘贺，3*2.5，图案正常，11月26日发货，自提。确认")
    step(store, rules, order_id, "director-approval")
    step(store, rules, order_id, "handover")
