"""Replay of orders (kefu/processes/order/replay.py on kefu.audit.replay): agreed-date deadlines, liability
and credit follow from the record and order.yaml. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from audit_cases import rewrite_event
from order_cases import CST, new_order, step, to_production
from people import signed_in

from kefu.audit import replay
from kefu.core import clock
from kefu.processes.order import decisions as orders


def late_chased_order(store, rules) -> str:
    """Unpaid 24 h and chased by another agent, then shipped late after the agent's chase."""
    order_id = new_order(store, rules, urgency="tight")
    clock.advance(timedelta(hours=24, minutes=1))
    with signed_in("wang.fang"):
        orders.chase(store, rules, order_id, "im", "wang.fang")
    step(store, rules, order_id, "stock-check", by="ma.lin")
    step(store, rules, order_id, "payment", by="wang.fang")
    to_production(store, rules, order_id, skip=("stock-check", "payment"))
    clock.set_now(datetime(2026, 11, 27, 9, 0, tzinfo=CST))
    with signed_in("li.na"):
        orders.chase(store, rules, order_id, "im", "li.na")
    step(store, rules, order_id, "shipment", by="ma.lin", tracking="SF1234567890")
    return order_id


def test_an_order_with_chases_credit_and_liability_replays_consistent(store, rules, frozen_clock):
    order_id = late_chased_order(store, rules)
    (result,) = replay.replay(store.engine, [order_id])
    assert result.verdict == "consistent", result.summary()
    types = {e.type for e in store.events(order_id)}
    assert {"order.credit_moved", "order.liability_recorded"} <= types
    assert any("set by agreement" in note for note in result.notes)


def test_a_liability_rewritten_after_the_fact_is_divergent(store, rules, frozen_clock):
    """Seed 000 第四篇: 有追问环节则可以免责 — a chased delay recorded as liable does not follow from the record."""
    order_id = late_chased_order(store, rules)
    target = next(e for e in store.events(order_id) if e.type == "order.liability_recorded")
    # An insider with the hash function: the chain holds, replay does not.
    rewrite_event(store, order_id, lambda e: {"payload": {**e.payload, "liable": True, "chases": []}}
                  if e.id == target.id else {})
    (result,) = replay.replay(store.engine, [order_id])
    assert result.verdict == "divergent", result.summary()
    assert result.divergence.event == "order.liability_recorded"
