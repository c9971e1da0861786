"""P3 Order follow-up 订单跟踪, end to end, against a real Prefect server and kefu's runner.

One flow run per order: each hand-over of the chain (seed 001 订单的接收与处理) is a typed wait
of the run, answered by `kefu order …` or by the dashboard's form (Prefect's resume API), and
the record and the run agree at every step."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

pytestmark = pytest.mark.prefect


def _new_order(kefu, *extra: str) -> tuple[str, str]:
    from kefu import runtime
    from kefu.core import clock

    today = clock.now().astimezone(runtime.rules().department.department.zone).date()
    ship_by = today + timedelta(days=3)
    data = kefu.ok("order", "new", "--buyer", "刘贺", "--phone", "13812345678", "--agent", "li.na",
                   "--item", "墙纸 3m×2.5m", "--ship-by", ship_by.isoformat(),
                   "--deliver-by", (ship_by + timedelta(days=2)).isoformat(), "--delivery", "自提", *extra)
    assert data["flow_run"] == "started", data
    return data["order_id"], f"{ship_by.month}月{ship_by.day}日发货"


def test_an_order_runs_its_chain_from_receipt_to_the_buyers_receipt(kefu):
    """Seed 001: 接收订单 → 库存与运输 → 付款 → 财务确认 → 总监审核 → 发货、单号 → 通知客户 → 跟踪收货;
    seed 000 第四篇: remark within 20 minutes of payment, verified with the buyer in writing."""
    order_id, ship = _new_order(kefu)
    run = kefu.wait_until_waiting(order_id, "stock-check")
    # an order is urgent or not: its tag says urgency, not severity
    assert any(t.startswith("urgency:") for t in run.tags) and not any(t.startswith("severity:") for t in run.tags)
    kefu.ok("order", "step", "stock-check", order_id, "--note", "仓库有货，物流已约", "--by", "ma.lin")
    kefu.wait_until_waiting(order_id, "payment")
    kefu.ok("order", "paid", order_id, "--by", "li.na")
    kefu.wait_until_waiting(order_id, "remark")

    # The seed's own remark has no height: refused with the field, nothing recorded, the run still waits.
    refused = kefu.cli("order", "remark", order_id, "--text", "刘贺,3米*米,图案正常,12月19发货,自提。送胶。",
                       "--by", "li.na", "--json")
    assert refused.exit_code == 2 and refused.json["error"]["field"] == "remark.size.height"
    kefu.ok("order", "remark", order_id, "--text", f"刘贺,3米*2.5米,图案正常,{ship},自提。送胶。", "--by", "li.na")
    kefu.wait_until_waiting(order_id, "finance-confirmation")
    # An amendment while the run waits elsewhere: a new version, the run is not disturbed.
    kefu.ok("order", "remark", order_id, "--text", f"刘贺,3米*2.5米,图案正常,{ship},送货到楼下。送胶。",
            "--by", "li.na")
    kefu.ok("order", "step", "finance-confirmation", order_id, "--by", "he.jing")
    kefu.wait_until_waiting(order_id, "verification")
    kefu.ok("order", "verify", order_id, "--confirmation", "旺旺 10:02 买家：刘贺，3*2.5，图案正常，送货到楼下，确认",
            "--by", "li.na")
    kefu.wait_until_waiting(order_id, "director-approval")
    kefu.ok("order", "step", "director-approval", order_id, "--by", "qian.hong")
    kefu.wait_until_waiting(order_id, "handover")
    kefu.ok("order", "step", "handover", order_id, "--note", "已传制作部", "--by", "li.na")
    kefu.wait_until_waiting(order_id, "shipment")
    kefu.ok("order", "shipped", order_id, "--tracking", "SF1234567890", "--by", "ma.lin")
    kefu.wait_until_waiting(order_id, "delivery")
    kefu.ok("order", "delivered", order_id, "--by", "li.na")
    run = kefu.wait_until_waiting(order_id, None)

    shown = kefu.ok("order", "show", order_id)
    assert shown["status"] == "closed" and run.state.is_completed()
    assert [r["version"] for r in shown["remarks"]] == [1, 2] and shown["remarks"][1]["changes"] == ["delivery_mode"]
    assert "SF1234567890" in shown["notices"]["tracking_notice"]
    assert shown["liabilities"] == []  # on time: nothing to assess
    assert all(d["met_at"] for d in shown["deadlines"])
    types = Counter(e["type"] for e in kefu.events(order_id))
    assert types["order.remarked"] == 2 and types["input.refused"] == 0 and types["case.closed"] == 1
    counts = kefu.wait_task_runs(run.id, {"tell-buyer-tracking-number": 1, "complete-order": 1})
    assert counts["tell-buyer-tracking-number"] == 1


def test_the_dashboard_form_records_a_hand_over_and_a_refused_one_reopens_with_the_reason(kefu):
    """The same typed form as the CLI: a bad remark from the dashboard is recorded as refused and the
    run waits again with a fresh form (pause key remark-1-1)."""
    order_id, ship = _new_order(kefu, "--urgency", "tight")
    kefu.wait_until_waiting(order_id, "stock-check")
    kefu.resume(order_id, {"by": "ma.lin", "note": "有货"})
    kefu.wait_until_waiting(order_id, "payment")
    kefu.ok("order", "paid", order_id, "--by", "li.na")
    kefu.wait_until_waiting(order_id, "remark")
    kefu.resume(order_id, {"by": "li.na", "text": "刘贺,3米*米,图案正常,12月19发货,自提。送胶。"})
    kefu.wait_until_waiting(order_id, "remark", key="remark-1-1")
    state = kefu.state(order_id)
    assert state.last_refusal["remark:1"]["field"] == "remark.size.height"
    kefu.resume(order_id, {"by": "li.na", "text": f"刘贺,3米*2.5米,图案定制,{ship},包送货安装"})
    kefu.wait_until_waiting(order_id, "finance-confirmation")
    shown = kefu.ok("order", "show", order_id)
    assert shown["remarks"][0]["fields"]["pattern"] == "custom" and shown["urgency"] == "tight"
