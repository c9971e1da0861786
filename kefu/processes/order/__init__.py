"""P3 order follow-up 订单跟踪 (PROCESSES.md P3; seed 000 第四篇, seed 001 订单的接收与处理, seed 002 §2)."""

from __future__ import annotations

from kefu.core.process import Deployment, HumanStep, Process, Section
from kefu.processes.order import decisions, replay
from kefu.processes.order.rules import ORDER_DEADLINE_STEPS, OrderRules, order_problems
from models.order import INPUTS, PROCESS

ORDER = Process(
    name=PROCESS,
    label="P3 order follow-up 订单跟踪",
    tag="p3",
    config=Section("order", "order.yaml", OrderRules, order_problems),
    deadline_steps=ORDER_DEADLINE_STEPS,
    severity_word="urgency",
    human_steps=tuple(HumanStep(step, model, decisions.recorder(step), decisions.COMMANDS[step],
                                may_decide=decisions.may_decide(step))
                      for step, model in INPUTS.items()),
    deployments=(Deployment("order", "flows/order.py:order",
                            "P3 order follow-up 订单跟踪 — one run per order, from receipt to the buyer's receipt."),),
    field_fixes=decisions.FIELD_FIXES,
    commands=decisions.CHASE_REPLY_COMMAND,
    form_description=lambda rules, store, case, step, round_: decisions.form_description(
        rules, case, step, round_),
    replay_checks=replay.CHECKS,
)
