"""The demo's orders 订单跟踪 (PROCESSES.md P3), after the working day of kefu/demo.py.

Three orders go through the chain of seed 001 (stock, payment, remark within 20 minutes, finance,
written confirmation, director, production). One ships on time. For the other two the agreed ship
date passes (the business clock runs ahead): the sweep tells their agents; one agent chases the
supervisor (the chase e-mail lands in the outbox) and is not liable for the delay, the other does
not chase and is (seed 000 第四篇: 有追问环节则可以免责). Every hand-over goes through
:func:`kefu.executor.service.decide`, the same path as ``kefu order …`` and the dashboard's form.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any, Callable

from kefu import processes, runtime
from kefu.core import clock
from kefu.core.refusals import InputRefused
from kefu.demo.staff import signed_in
from kefu.escalation import mail, sweep
from kefu.executor import prefect_env, service
from kefu.processes.order import decisions as orders
from kefu.settings import get_settings
from models.order import order_of

WAIT_S = 90.0
# (branch, buyer, phone, agent, item, delivery mode, urgency)
ORDERS = [
    ("on_time", "刘贺", "13812345678", "li.na", "墙纸 3m×2.5m 图案正常", "自提", "normal"),
    ("late_chased", "陈晓", "13912345678", "wang.fang", "定制背景墙 4.2m×2.8m", "包送货安装", "tight"),
    ("late_not_chased", "孙悦", "13712345678", "zhang.wei", "墙布 3.6m×2.6m", "送货到楼下", "normal"),
]
PATTERN = {"on_time": "图案正常", "late_chased": "图案定制", "late_not_chased": "图案修改"}
SIZE = {"on_time": "3米*2.5米", "late_chased": "4.2米*2.8米", "late_not_chased": "3.6米*2.6米"}


def run(say: Callable[[str], None], problems: list[str]) -> list[dict[str, Any]]:
    rules, store = runtime.rules(), runtime.store()
    zone = rules.department.department.zone
    ship_by = orders.today(rules) + timedelta(days=1)
    ship_text = f"{ship_by.month}月{ship_by.day}日发货"
    say("\nOrders 订单跟踪 — payment is where the agent's work starts (config/order.yaml):")
    taken: dict[str, tuple[str, str]] = {}
    for branch, buyer, phone, agent, item, mode, urgency in ORDERS:
        state, note = service.open_order(dict(
            buyer=buyer, phone=phone, agent=agent, items=[item], ship_by=ship_by.isoformat(),
            deliver_by=(ship_by + timedelta(days=2)).isoformat(), delivery_mode=mode, urgency=urgency), signed_in(agent))
        taken[branch] = (state.case_id, agent)
        say(f"  {state.case_id}  {buyer}: {item}, ship by {ship_by}, {mode}, {urgency}; agent {agent}; run {note}")

    def hand_over(branch: str, step: str, by: str | None = None, **data: Any) -> None:
        order_id, agent = taken[branch]
        service.decide(order_id, step, data, signed_in(by or agent))

    # The chain, order after order at each hand-over (the team works them side by side).
    for branch, buyer, *_ in ORDERS:
        hand_over(branch, "stock-check", "ma.lin", note="仓库有货，物流已约 / in stock, transport booked")
    for branch, buyer, _, _, _, mode, _ in ORDERS:
        hand_over(branch, "payment")
        hand_over(branch, "remark", text=f"{buyer},{SIZE[branch]},{PATTERN[branch]},{ship_text},{mode}。送胶。")
    order_id, agent = taken["on_time"]
    # The buyer changes the delivery: an amendment, the original kept, the supervisors told.
    hand_over("on_time", "remark", text=f"刘贺,{SIZE['on_time']},图案正常,{ship_text},送货到楼下。送胶，好评返现。")
    say(f"  {order_id}  remark amended by {agent}: 自提 → 送货到楼下 (version 2; version 1 kept; supervisors e-mailed)")
    # Finance confirms payment, nobody else (a control, order.yaml chain): the agent's try is refused.
    try:
        hand_over("on_time", "finance-confirmation")
        problems.append("an agent recorded the finance confirmation")
    except InputRefused as refusal:
        say(f"  {order_id}  {agent} tries to confirm the payment and is refused: {refusal.problem}")
    for branch, buyer, _, _, _, mode, _ in ORDERS:
        hand_over(branch, "finance-confirmation", "he.jing")
        hand_over(branch, "verification", confirmation=f"旺旺 买家{buyer}：尺寸{SIZE[branch]}，{ship_text}，确认无误")
        hand_over(branch, "director-approval", "qian.hong")
        hand_over(branch, "handover", note="已传制作部 / sent to production")
    _wait(taken, "shipment", problems)

    on_time = taken["on_time"][0]
    hand_over("on_time", "shipment", "ma.lin", tracking="SF1000000001")
    say(f"  {on_time}  shipped on time, tracking SF1000000001")

    # The days pass forward for every kefu process of the home (kefu.core.clock.run_ahead_to).
    clock.run_ahead_to(datetime.combine(ship_by, rules.order.agreed_due_local_time, tzinfo=zone) + timedelta(hours=2))
    say(f"  {clock.now().astimezone(zone):%m-%d %H:%M}  the agreed ship date has passed for two orders:")
    report = sweep.escalate_due(store.engine, rules, dashboard_url=get_settings().dashboard_url,
                                commands=processes.command_for)
    for f in report.fired:
        if f["step"] == "shipment":
            say(f"  {'':11}  {f['case_id']}  shipment: rung {f['rung'] + 1} → {f['notify']} "
                f"({', '.join(f['recipients'])})")
    with service.acting(signed_in(taken["late_chased"][1])):
        chased = orders.chase(store, rules, taken["late_chased"][0], rules.order.chase.first_via,
                              taken["late_chased"][1])
    to = [s.id for s in rules.department.staff if s.role == rules.order.supervisor_role]
    say(f"  {'':11}  {chased.case_id}  {taken['late_chased'][1]} chases the supervisors by IM "
        f"(e-mailed to {', '.join(to)} through the outbox)")
    clock.run_ahead_to(clock.now() + timedelta(hours=3))
    for branch, tracking in (("late_chased", "SF1000000002"), ("late_not_chased", "SF1000000003")):
        hand_over(branch, "shipment", "ma.lin", tracking=tracking)
        liability = order_of(store.state(taken[branch][0])).liabilities[-1]
        say(f"  {clock.now().astimezone(zone):%m-%d %H:%M}  {taken[branch][0]}  shipped late ({tracking}): agent "
            f"{liability['agent']} " + ("LIABLE — no chase recorded" if liability["liable"]
                                        else "not liable — the chase is on record"))
    clock.run_ahead_to(clock.now() + timedelta(days=1))
    for branch, _ in taken.items():
        hand_over(branch, "delivery")
    mail.deliver_due(store.engine, prefect_env.mail_transport())
    _wait(taken, None, problems)
    return _summary(taken, problems)


def _wait(taken: dict[str, tuple[str, str]], step: str | None, problems: list[str]) -> None:
    """Until every order's record is at ``step`` (None: closed by its run)."""
    store = runtime.store()
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        states = [store.state(order_id) for order_id, _ in taken.values()]
        if all((s.status == "closed") if step is None else (s.step == step) for s in states):
            return
        time.sleep(0.5)
    for order_id, _ in taken.values():
        state = store.state(order_id)
        problems.append(f"{order_id}: still at {state.step} ({state.status}) after {WAIT_S:.0f} s, expected "
                        f"{step or 'closed'}; see `kefu order show {order_id}`")


def _summary(taken: dict[str, tuple[str, str]], problems: list[str]) -> list[dict[str, Any]]:
    store = runtime.store()
    rows = []
    expected = {"on_time": [], "late_chased": [False], "late_not_chased": [True]}
    for branch, (order_id, agent) in taken.items():
        state = store.state(order_id)
        order = order_of(state)
        liable = [item["liable"] for item in order.liabilities if item["stage"] == "shipment"]
        if liable != expected[branch]:
            problems.append(f"{order_id} ({branch}): shipment liability {liable}, expected {expected[branch]}")
        rows.append({"order_id": order_id, "branch": branch, "agent": agent, "status": state.status,
                     "remark_versions": len(order.remarks), "chases": len(order.chases),
                     "liable": bool(liable and liable[0]), "flow_run_id": state.flow_run_id})
    return rows
