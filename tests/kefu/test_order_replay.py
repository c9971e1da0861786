"""Replay of orders (kefu/order_replay.py on kefu.audit.replay): agreed-date deadlines, liability
and credit follow from the record and order.yaml. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

import kefu.order_replay  # noqa: F401  (registers the order's replay checks)
from kefu import clock, orders
from kefu.audit import chain, replay
from models.records import CaseEvent
from test_orders import CST, new_order, step, to_production


def late_chased_order(store, rules) -> str:
    """Unpaid 24 h and chased by another agent, then shipped late after the agent's chase."""
    order_id = new_order(store, rules, urgency="tight")
    clock.advance(timedelta(hours=24, minutes=1))
    orders.chase(store, rules, order_id, "im", "wang.fang")
    step(store, rules, order_id, "stock-check", by="zhang.wei")
    step(store, rules, order_id, "payment", by="wang.fang")
    to_production(store, rules, order_id, skip=("stock-check", "payment"))
    clock.set_now(datetime(2026, 11, 27, 9, 0, tzinfo=CST))
    orders.chase(store, rules, order_id, "im", "li.na")
    step(store, rules, order_id, "shipment", by="zhang.wei", tracking="SF1234567890")
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
    events = store.events(order_id)
    target = next(e for e in events if e.type == "order.liability_recorded")
    rows = [dict(case_id=e.case_id, seq=e.seq, type=e.type, actor=e.actor, at=e.at, recorded_at=e.recorded_at,
                 idem_key=e.idem_key, config_version=e.config_version, id=e.id,
                 payload={**e.payload, "liable": True, "chases": []} if e.id == target.id else e.payload)
            for e in events]
    head = chain.chain(order_id, "", rows)
    table = CaseEvent.__table__
    with store.engine.begin() as conn:
        for row in rows:  # an insider with the hash function: the chain holds, replay does not
            conn.execute(table.update().where(table.c.id == row["id"]).values(
                payload=row["payload"], prev_hash=row["prev_hash"], hash=row["hash"]))
        conn.execute(sa.text("UPDATE kefu_case SET last_hash = :h WHERE id = :c"), {"h": head, "c": order_id})
    (result,) = replay.replay(store.engine, [order_id])
    assert result.verdict == "divergent", result.summary()
    assert result.divergence.event == "order.liability_recorded"
