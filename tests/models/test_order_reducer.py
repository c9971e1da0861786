"""The order's events fold into ``state.parts["order"]`` (models/order.py), purely from the log."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from models import order as order_model
from models.case import RecordedEvent
from models.order import OrderState, order_of
from models.reducer import reduce

T0 = datetime(2026, 11, 23, 1, 30, tzinfo=timezone.utc)
CREATED = {"buyer": "刘贺", "phone": "13812345678", "agent": "li.na", "items": ["墙纸"], "ship_by": "2026-11-26",
           "deliver_by": "2026-11-28", "delivery_mode": "self_pickup", "urgency": "tight", "invoice_requested": False}
FIELDS = {"name": "刘贺", "width_m": 3.0, "height_m": 2.5, "pattern": "normal", "ship_date": "2026-11-26",
          "delivery_mode": "self_pickup", "notes": "送胶"}


def log(*events: tuple[str, str, dict]) -> list[RecordedEvent]:
    return [RecordedEvent(seq=i, type=t, actor=actor, at=T0 + timedelta(minutes=i), payload=p)
            for i, (t, actor, p) in enumerate(events, start=1)]


def test_created_makes_an_order_case_owned_by_its_agent():
    state = reduce("O-1", log(("order.created", "li.na", CREATED)))
    order = order_of(state)
    assert isinstance(order, OrderState)
    assert (state.process, state.owner, state.severity, state.step) == ("order", "li.na", "tight", "stock-check")
    assert (order.credit_agent, str(order.ship_by), state.intake["name"]) == ("li.na", "2026-11-26", "刘贺")


def test_every_remark_version_is_kept_and_the_first_is_the_steps_decision():
    """Seed 000 第四篇 备注: 原备注内容要保留."""
    amended = {**FIELDS, "delivery_mode": "to_building"}
    state = reduce("O-1", log(("order.created", "li.na", CREATED), ("order.paid", "li.na", {}),
                              ("order.remarked", "li.na", {"version": 1, "text": "v1", "fields": FIELDS}),
                              ("order.remarked", "li.na", {"version": 2, "text": "v2", "fields": amended,
                                                            "changes": ["delivery_mode"]})))
    order = order_of(state)
    assert [(r.version, r.text) for r in order.remarks] == [(1, "v1"), (2, "v2")]
    assert order.delivery_mode == "to_building"
    # In the form's shape, so `kefu case sync` can resume a waiting run with it.
    assert state.decision("remark") == {"text": "v1", "by": "li.na", "at": T0 + timedelta(minutes=3)}
    assert state.step == "stock-check"  # the first hand-over not done yet


def test_the_step_is_the_first_hand_over_not_done_and_none_at_the_end():
    steps = ["order.stock_checked", "order.paid", "order.remarked", "order.finance_confirmed", "order.verified",
             "order.approved", "order.handed_over", "order.shipped", "order.delivered"]
    payloads = {"order.remarked": {"version": 1, "text": "v1", "fields": FIELDS},
                "order.verified": {"confirmation": "确认"}, "order.shipped": {"tracking": "SF123"}}
    events = [("order.created", "li.na", CREATED)] + [(t, "li.na", payloads.get(t, {})) for t in steps]
    state = reduce("O-1", log(*events[:8]))
    assert state.step == "shipment"
    state = reduce("O-1", log(*events))
    order = order_of(state)
    assert state.step is None and order.tracking == "SF123" and order.confirmation == "确认"
    assert order.next_step() is None


def test_an_invoice_on_request_is_one_more_hand_over():
    state = reduce("O-1", log(("order.created", "li.na", {**CREATED, "invoice_requested": True})))
    assert order_of(state).needed()[-1] == "invoice"


def test_chases_liability_and_credit_are_folded():
    state = reduce("O-1", log(("order.created", "li.na", CREATED),
                              ("order.chased", "wang.fang", {"via": "im", "stage": "payment"}),
                              ("order.credit_moved", "kefu", {"from": "li.na", "to": "wang.fang"}),
                              ("order.liability_recorded", "kefu", {"stage": "shipment", "liable": True})))
    order = order_of(state)
    assert [(c.by, c.stage, c.seq) for c in order.chases] == [("wang.fang", "payment", 2)]
    assert order.credit_agent == "wang.fang" and order.agent == "li.na"
    assert order.liabilities[0]["liable"] is True


def test_no_other_module_may_fold_the_orders_events():
    """models.reducer: one fold table, each event type folded by exactly one module."""
    from models.reducer import _one_table

    with pytest.raises(ValueError):
        _one_table(order_model.FOLDS, {"order.paid": lambda state, event: None})


def test_every_order_step_can_name_a_prefect_pause_key():
    """flows.waiting keys each wait "<step>-<round>-<refusals>"; Prefect allows lowercase letters, digits, dashes."""
    import re

    from models.order import INPUTS

    assert all(re.fullmatch(r"[a-z0-9-]+", f"{step}-1-0") for step in INPUTS)
