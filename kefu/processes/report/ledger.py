"""The daily order ledger 每日台账明细 (PROCESSES.md P8: "daily ledger of orders (每日台账明细)").

Seed 000 订单整理 asks each agent to keep their orders in order ("及时整理个人销售产品及备注";
"完成个人销售表,销售表整理与发货单整理"). kefu keeps the ledger from the record: every order
something happened to during the day — who it is for, whose it is, what was done to it that day
and when, where it stands and whether it is late — with the day's totals and each agent's share,
and the orders still open at the end of it. pandas shapes the totals from the day's events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from kefu.core import clock
from kefu.core.rules import Rules
from kefu.core.store import CaseStore
from kefu.core.texts import render_file
from kefu.processes.report.registers import Sheet, day_bounds, local, staff_name, worked_on
from models.order import CHASED, CREATED, EVENT_STEP, PROCESS, order_of
from models.records import Case, Deadline


@dataclass
class OrderLedger:
    day: date
    as_of: str = ""  # the time it was compiled, or the end of a day gone by
    orders: list[dict[str, Any]] = field(default_factory=list)      # worked on during the day
    done: dict[str, int] = field(default_factory=dict)              # what was done, by event: how often
    by_agent: list[dict[str, Any]] = field(default_factory=list)    # each agent's part of the day
    open_orders: int = 0    # open at the end of the day (as the record is now)
    overdue: int = 0        # open orders with a hand-over past due

    @property
    def empty(self) -> bool:
        return not self.orders

    def figures(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "orders": len(self.orders), "done": self.done,
                "by_agent": {a["agent"]: {k: a[k] for k in ("orders", "created", "hand_overs", "chases")}
                             for a in self.by_agent},
                "open_orders": self.open_orders, "overdue": self.overdue}


def what_happened(rules: Rules, event_type: str) -> str | None:
    """An order event as the ledger names it (a hand-over by its step, the rest by report.yaml
    order_ledger.events); None for the record's bookkeeping (deadlines, notices, runs)."""
    if event_type in EVENT_STEP:
        step = EVENT_STEP[event_type]
        return f"{rules.label('steps', step)} {step}"
    return rules.report.order_ledger.events.get(event_type)


def order_ledger(store: CaseStore, rules: Rules, day: date) -> OrderLedger:
    """The ledger of ``day`` (a day in the department's zone), as the record is now."""
    import pandas as pd  # only a report pays its import, never a flow run

    start, end = day_bounds(rules, day)
    late_at = min(clock.now(), end)
    ledger = OrderLedger(day=day, as_of=local(rules, late_at, "%Y-%m-%d %H:%M"))
    happened: list[dict[str, Any]] = []
    for case in worked_on(store, rules, (PROCESS,), day):
        state, order = case.state, order_of(case.state)
        entries = [(event, what_happened(rules, event.type)) for event in case.events]
        entries = [(event, what) for event, what in entries if what]
        if not entries:
            continue
        late = [d for d in state.open_deadlines() if d.due_at is not None and d.due_at < late_at]
        ledger.orders.append({
            "case_id": state.case_id, "buyer": order.buyer, "agent": order.credit_agent,
            "agent_name": staff_name(rules, order.credit_agent), "goods": "；".join(order.items),
            "ship_by": order.ship_by.isoformat(), "deliver_by": order.deliver_by.isoformat(),
            "today": "；".join(f"{local(rules, event.at, '%H:%M')} {what}" for event, what in entries),
            "step": state.step if state.status == "open" else None, "tracking": order.tracking or "-",
            "late": "，".join(f"{rules.label('steps', d.step)} {d.step}" for d in late)})
        happened += [{"case_id": state.case_id, "type": event.type, "what": what, "actor": event.actor,
                      "agent": order.credit_agent} for event, what in entries]
    if happened:
        frame = pd.DataFrame(happened)
        ledger.done = {str(k): int(v) for k, v in frame.groupby("what", sort=False).size().items()}
        frame["hand_over"] = frame["type"].isin(list(EVENT_STEP))
        frame["created"] = frame["type"] == CREATED
        frame["chase"] = frame["type"] == CHASED
        orders = frame.groupby("agent")["case_id"].nunique()
        created = frame[frame["created"]].groupby("agent").size()
        # A hand-over and a chase count for who did them; an order for whose sales it counts.
        hand_overs = frame[frame["hand_over"]].groupby("actor").size()
        chases = frame[frame["chase"]].groupby("actor").size()
        agents = [s.id for s in rules.department.staff if s.id in set(orders.index) | set(hand_overs.index)
                  | set(chases.index)]
        ledger.by_agent = [{"agent": a, "name": staff_name(rules, a), "orders": int(orders.get(a, 0)),
                            "created": int(created.get(a, 0)), "hand_overs": int(hand_overs.get(a, 0)),
                            "chases": int(chases.get(a, 0))} for a in agents]
    _standing(store, ledger, end, late_at)
    return ledger


def _standing(store: CaseStore, ledger: OrderLedger, end: Any, late_at: Any) -> None:
    """How many orders are open at the end of the day, and how many of them are late."""
    d = Deadline.__table__  # type: ignore[attr-defined]
    open_orders = sa.and_(Case.process == PROCESS, Case.status == "open", Case.opened_at < end)
    with Session(store.engine) as session:
        ledger.open_orders = session.execute(sa.select(sa.func.count()).where(open_orders)).scalar_one()
        ledger.overdue = session.execute(
            sa.select(sa.func.count(sa.distinct(d.c.case_id)))
            .select_from(d.join(Case.__table__, Case.id == d.c.case_id))  # type: ignore[attr-defined]
            .where(open_orders, d.c.met_at.is_(None), d.c.due_at < late_at)).scalar_one()


def markdown(rules: Rules, ledger: OrderLedger) -> str:
    """The ledger as Markdown (report.yaml order_ledger.templates.markdown)."""
    return render_file(rules, rules.report.order_ledger.templates.markdown, o=ledger)


def sheets(rules: Rules, ledger: OrderLedger) -> list[Sheet]:
    """The ledger's workbook: the orders of the day, the day's totals, each agent's part."""
    return [
        Sheet("台账明细 Orders", ["订单 Order", "买家 Buyer", "客服 Agent", "商品 Items", "发货期 Ship by",
                               "到货期 Deliver by", "当日办理 Done today", "当前环节 Now at", "运单号 Tracking",
                               "超时 Late"],
              [[o["case_id"], o["buyer"], o["agent_name"], o["goods"], o["ship_by"], o["deliver_by"], o["today"],
                f"{rules.label('steps', o['step'])} {o['step']}" if o["step"] else "已结单 closed", o["tracking"],
                o["late"] or "-"] for o in ledger.orders]),
        Sheet("当日合计 Totals", ["事项 What", "次数 Times"],
              [[what, count] for what, count in ledger.done.items()]
              + [["在办订单 open orders", ledger.open_orders], ["超时订单 overdue orders", ledger.overdue]]),
        Sheet("经办人 By person", ["经办人 Who", "订单 Orders", "新订单 New", "交接 Hand-overs", "追单 Chases"],
              [[a["name"], a["orders"], a["created"], a["hand_overs"], a["chases"]] for a in ledger.by_agent]),
    ]
