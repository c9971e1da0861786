"""Order follow-up 订单跟踪 (PROCESSES.md P3; seed 000 第四篇, seed 001 订单的接收与处理, seed 002 §2):
the order's commands, its deadlines and their escalation, chases and liability, on SQLite and
PostgreSQL (the ``store`` fixture), with the business clock moved instead of waiting."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from order_cases import CST, REMARK, new_order, step, to_production
from sqlmodel import Session, select

from kefu import processes
from kefu.core import casework, clock
from kefu.core.refusals import InputRefused
from kefu.escalation import sweep
from kefu.processes.order import decisions as orders
from models.order import order_of
from models.outbox import OutboxMessage
from models.records import CaseEvent

SUPERVISORS = {"chen.jing@kefu.example", "zhao.lei@kefu.example"}


def sweep_now(store, rules) -> sweep.SweepReport:
    return sweep.escalate_due(store.engine, rules, dashboard_url="http://127.0.0.1:4200",
                              commands=processes.command_for)


def outbox(store) -> list[OutboxMessage]:
    with Session(store.engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def refused(fn, *args, **kwargs) -> InputRefused:
    with pytest.raises(InputRefused) as caught:
        fn(*args, **kwargs)
    return caught.value


def test_an_order_opens_with_its_unpaid_window_and_the_agreed_dates(store, rules, frozen_clock):
    order_id = new_order(store, rules)
    state = store.state(order_id)
    assert order_id.startswith("O-20261123-") and state.owner == "li.na" and state.step == "stock-check"
    due = {d.step: d.due_at for d in state.deadlines}
    assert due["payment"] == clock.now() + timedelta(hours=24)  # seed 000 第四篇 追单: 24 hours unpaid
    assert due["shipment"] == datetime(2026, 11, 26, 18, 0, tzinfo=CST)  # agreed date, order.yaml 18:00
    assert due["delivery"] == datetime(2026, 11, 28, 18, 0, tzinfo=CST)
    shipment = state.deadline("shipment", 1)
    assert shipment.ladder == "order" and shipment.rungs[1]["at"] == due["shipment"].isoformat()


def test_agreed_dates_stay_when_deadlines_are_recomputed_or_the_clock_stops(store, rules, frozen_clock):
    """The ship and delivery dates were agreed with the buyer (seed 000 第四篇), not planned from
    sla.yaml: a rules recompute or a customer's pause leaves them where they are."""
    order_id = new_order(store, rules)
    before = {d.step: d.due_at for d in store.state(order_id).deadlines}
    moved = casework.recompute_deadlines(store, rules, order_id)
    casework.pause_clock(store, rules, order_id, "买家出差 / the buyer is travelling", "li.na")
    after = {d.step: d.due_at for d in store.state(order_id).deadlines}
    assert {m["step"] for m in moved} & {"shipment", "delivery"} == set()
    assert (after["shipment"], after["delivery"]) == (before["shipment"], before["delivery"])


@pytest.mark.parametrize("word, mode", [("自提", "self_pickup"), ("送货到楼下", "to_building"),
                                        ("包送货安装", "delivery_installation"), ("to_building", "to_building")])
def test_delivery_mode_is_one_of_three_in_chinese_or_english(store, rules, frozen_clock, word, mode):
    """Seed 000 第四篇: 买家自提、送货到楼下、包送货安装 — 不可模棱两可."""
    assert order_of(store.state(new_order(store, rules, delivery_mode=word))).delivery_mode == mode


def test_an_ambiguous_delivery_mode_is_refused_and_nothing_recorded(store, rules, frozen_clock):
    problem = refused(new_order, store, rules, delivery_mode="送货")
    assert problem.field == "delivery_mode" and "包送货安装" in problem.fix
    assert store.cases() == []


def test_tight_buyers_get_the_closer_ladder(store, rules, frozen_clock):
    """Seed 000 第四篇: 时间上要求较紧的买家应及时跟进 — escalation.yaml order_tight."""
    state = store.state(new_order(store, rules, urgency="tight"))
    assert state.severity == "tight" and state.deadline("shipment", 1).ladder == "order_tight"
    assert refused(new_order, store, rules, urgency="soon").field == "urgency"


def test_the_remark_is_due_20_minutes_after_payment_and_escalates_when_late(store, rules, frozen_clock):
    """Seed 000 第四篇 备注: 买家拍下付款内20分钟内必需做好详细备注."""
    order_id = new_order(store, rules)
    step(store, rules, order_id, "stock-check")
    paid_at = clock.now()
    step(store, rules, order_id, "payment")
    remark = store.state(order_id).deadline("remark", 1)
    assert remark.due_at == paid_at + timedelta(minutes=20)
    clock.advance(timedelta(minutes=21))
    fired = [f for f in sweep_now(store, rules).fired if f["step"] == "remark"]
    assert [(f["rung"], f["recipients"]) for f in fired] == [(0, ["li.na"]), (1, ["li.na"])]
    step(store, rules, order_id, "remark", text=REMARK)
    assert store.state(order_id).deadline("remark", 1).met_at == clock.now()


def test_the_seeds_example_remark_is_refused_with_the_field_and_nothing_is_recorded(store, rules, frozen_clock):
    order_id = new_order(store, rules)
    step(store, rules, order_id, "payment")
    before = store.state(order_id).last_seq
    problem = refused(step, store, rules, order_id, "remark", text="刘贺,3米*米,图案正常,11月26发货,自提。送胶。")
    assert problem.field == "remark.size.height"
    assert store.state(order_id).last_seq == before


def test_a_remark_with_another_ship_date_than_agreed_is_refused(store, rules, frozen_clock):
    """Seed 000 第四篇 订单整理: 发货时间写错 is a severe error."""
    order_id = new_order(store, rules)
    step(store, rules, order_id, "payment")
    problem = refused(step, store, rules, order_id, "remark", text="刘贺,3*2.5,图案正常,11月28日发货,自提")
    assert problem.field == "remark.ship_date" and "11月26日发货" in problem.fix


def test_amendments_keep_every_version_and_report_each_to_the_supervisors(store, rules, frozen_clock):
    """Seed 000 第四篇 备注: 如有改动 … 注明更改的时间及内容（原备注内容要保留），并及时向客服主管汇报."""
    order_id = new_order(store, rules)
    step(store, rules, order_id, "payment")
    step(store, rules, order_id, "remark", text=REMARK)
    clock.advance(timedelta(hours=2))
    step(store, rules, order_id, "remark", text="刘贺,3米*2.5米,图案正常,11月26日发货,送货到楼下。送胶。")
    clock.advance(timedelta(hours=1))
    step(store, rules, order_id, "remark", text="刘贺,3.2米*2.5米,图案修改,11月26日发货,送货到楼下。送胶。")
    order = order_of(store.state(order_id))
    assert [r.version for r in order.remarks] == [1, 2, 3]
    assert order.remarks[0].text == REMARK and order.remarks[0].fields["delivery_mode"] == "self_pickup"
    assert order.remarks[1].changes == ["delivery_mode"]
    assert order.remarks[2].changes == ["width_m", "pattern"]
    assert order.remarks[2].at - order.remarks[1].at == timedelta(hours=1)
    assert order.delivery_mode == "to_building"
    mails = outbox(store)
    assert {m.to[0] for m in mails} == SUPERVISORS and len(mails) == 4  # two amendments, two supervisors
    assert all(REMARK in m.text or "送货到楼下" in m.text for m in mails)
    assert refused(step, store, rules, order_id, "remark", text=order.remarks[2].text).field == "text"


def test_hand_overs_follow_the_chain_and_their_owners(store, rules, frozen_clock):
    """Seed 001 订单的接收与处理: each hand-over after the one before it, by its owner (order.yaml chain)."""
    order_id = new_order(store, rules)
    problem = refused(step, store, rules, order_id, "shipment", tracking="SF1234567")
    assert problem.field == "step" and "handover" in problem.problem
    step(store, rules, order_id, "payment")
    assert refused(step, store, rules, order_id, "finance-confirmation", by="li.na").field == "by"
    step(store, rules, order_id, "finance-confirmation", by="he.jing")
    assert refused(step, store, rules, order_id, "director-approval", by="chen.jing").field == "by"
    assert refused(step, store, rules, order_id, "remark", by="wang.fang", text=REMARK).field == "by"
    assert refused(step, store, rules, order_id, "director-approval", by="zhou.qiang").field == "by"
    step(store, rules, order_id, "director-approval", by="qian.hong")
    state = store.state(order_id)
    assert {d.step for d in state.open_deadlines()} >= {"remark", "verification", "stock-check"}
    assert state.deadline("director-approval", 1).met_at is not None


def test_a_passed_ship_date_asks_the_agent_to_chase_then_escalates_to_phone(store, rules, frozen_clock):
    """Seed 000 第四篇 订单跟踪: 如未按约定时间发货，客服有责任qq（qq无回应则应打电话）追问客服主管."""
    order_id = new_order(store, rules)
    to_production(store, rules, order_id)
    assert refused(orders.chase, store, rules, order_id, "im", "li.na").field == "order"  # not due yet
    clock.set_now(datetime(2026, 11, 26, 18, 1, tzinfo=CST))
    fired = [f for f in sweep_now(store, rules).fired if f["step"] == "shipment"]
    assert [(f["rung"], f["notify"]) for f in fired] == [(0, "owner"), (1, "owner")]
    orders.chase(store, rules, order_id, "im", "li.na")
    assert {m.to[0] for m in outbox(store) if m.key.startswith("order-chase:")} == SUPERVISORS
    reply = store.state(order_id).deadline("chase-reply", 1)
    assert reply.due_at == clock.now() + timedelta(minutes=30)
    clock.advance(timedelta(minutes=31))
    fired = [f for f in sweep_now(store, rules).fired if f["step"] == "chase-reply"]
    assert ("owner", ["li.na"]) in [(f["notify"], f["recipients"]) for f in fired]  # no answer: phone now
    orders.chase(store, rules, order_id, "phone", "li.na")
    assert store.state(order_id).deadline("chase-reply", 1).met_at == clock.now()
    clock.set_now(datetime(2026, 11, 27, 7, 0, tzinfo=CST))
    fired = [f for f in sweep_now(store, rules).fired if f["step"] == "shipment"]
    assert [f["notify"] for f in fired] == ["supervisor"]  # 150% of the day's span: the supervisor


def test_a_recorded_chase_frees_the_agent_from_liability_for_a_late_shipment(store, rules, frozen_clock):
    """Seed 000 第四篇 订单跟踪: 有追问环节则可以免责."""
    order_id = new_order(store, rules)
    to_production(store, rules, order_id)
    clock.set_now(datetime(2026, 11, 27, 10, 0, tzinfo=CST))
    orders.chase(store, rules, order_id, "im", "li.na")
    step(store, rules, order_id, "shipment", by="ma.lin", tracking="SF1234567890")
    [liability] = order_of(store.state(order_id)).liabilities
    assert (liability["stage"], liability["agent"], liability["liable"]) == ("shipment", "li.na", False)


def test_no_chase_makes_the_agent_liable_for_the_late_shipment(store, rules, frozen_clock):
    """Seed 000 第四篇 订单跟踪: 因客服未及时跟进发货和物流信息产生后果 — recorded for the penalties ledger."""
    order_id = new_order(store, rules)
    to_production(store, rules, order_id)
    clock.set_now(datetime(2026, 11, 27, 10, 0, tzinfo=CST))
    step(store, rules, order_id, "shipment", by="ma.lin", tracking="SF1234567890")
    [liability] = order_of(store.state(order_id)).liabilities
    assert (liability["stage"], liability["liable"], liability["chases"]) == ("shipment", True, [])


def test_late_delivery_without_a_chase_is_liable_and_on_time_is_not_assessed(store, rules, frozen_clock):
    order_id = new_order(store, rules)
    to_production(store, rules, order_id)
    step(store, rules, order_id, "shipment", by="ma.lin", tracking="SF1234567890")
    clock.set_now(datetime(2026, 11, 29, 9, 0, tzinfo=CST))
    step(store, rules, order_id, "delivery")
    state = store.state(order_id)
    assert [(l["stage"], l["liable"]) for l in order_of(state).liabilities] == [("delivery", True)]
    assert state.step is None and orders.complete(store, rules, order_id).status == "closed"
    assert store.state(order_id).open_deadlines() == []


def test_an_unpaid_order_chased_by_another_agent_while_its_agent_is_offline_moves_the_credit(store, rules, frozen_clock):
    """Seed 000 第四篇 追单: 拍下未付款订单超过24小时后，此客服不在线时，其它客服可以进行追单 …
    追单成功计入追单客服销售业绩."""
    order_id = new_order(store, rules)
    clock.advance(timedelta(hours=23))
    assert refused(orders.chase, store, rules, order_id, "im", "wang.fang").field == "order"  # not 24 h yet
    clock.advance(timedelta(hours=1, minutes=1))
    orders.chase(store, rules, order_id, "im", "wang.fang")
    step(store, rules, order_id, "payment", by="wang.fang")
    state = store.state(order_id)
    order = order_of(state)
    assert (order.agent, order.credit_agent) == ("li.na", "wang.fang")
    assert state.deadline("chase-reply", 1) is None  # the buyer was chased, not the supervisor
    moved = [e for e in store.events(order_id) if e.type == "order.credit_moved"]
    assert [(e.payload["from"], e.payload["to"]) for e in moved] == [("li.na", "wang.fang")]


def test_another_agent_may_not_chase_while_the_orders_agent_is_online(store, rules, frozen_clock):
    """Presence comes from the record: active within order.yaml offline_after (30 minutes) = online."""
    order_id = new_order(store, rules)
    clock.advance(timedelta(hours=24, minutes=1))
    new_order(store, rules)  # li.na is at work: she takes another order
    clock.advance(timedelta(minutes=10))
    problem = refused(orders.chase, store, rules, order_id, "im", "wang.fang")
    assert problem.field == "by" and "online" in problem.problem
    step(store, rules, order_id, "payment", by="li.na")
    assert order_of(store.state(order_id)).credit_agent == "li.na"


def test_a_delay_outside_our_control_is_recorded_and_the_buyer_gets_after_care(store, rules, frozen_clock):
    """Seed 002 §2: 若因其他不可控因素导致货品延误，应及时做好客户的善后处理."""
    order_id = new_order(store, rules)
    to_production(store, rules, order_id)
    clock.set_now(datetime(2026, 11, 27, 9, 0, tzinfo=CST))
    orders.record_delay(store, rules, order_id, "暴雪封路 / snow closed the roads", "li.na")
    state = store.state(order_id)
    assert order_of(state).delays[0]["stage"] == "shipment"
    text = state.notices["after_care:1"]["text"]
    assert text.index("刘贺您好") < text.index("Dear 刘贺") and "暴雪封路" in text
    assert refused(orders.record_delay, store, rules, order_id, " ", "li.na").field == "cause"


def test_shipping_tells_the_buyer_the_tracking_number(store, rules, frozen_clock):
    """Seed 001: 商务助理将单号转告给客服部，由客服部通知客户."""
    order_id = new_order(store, rules)
    to_production(store, rules, order_id)
    step(store, rules, order_id, "shipment", by="ma.lin", tracking="SF1234567890")
    orders.tell_tracking(store, rules, order_id)
    orders.tell_tracking(store, rules, order_id)  # a step that runs twice records once
    events = [e for e in store.events(order_id) if e.type == "customer.notified"]
    assert len(events) == 1 and "SF1234567890" in events[0].payload["text"]


def test_presence_is_the_last_thing_a_person_recorded(store, rules, frozen_clock):
    assert orders.last_active(store, "li.na") is None
    new_order(store, rules)
    assert orders.last_active(store, "li.na") == clock.now()
    with Session(store.engine) as session:
        assert session.exec(select(CaseEvent).where(CaseEvent.actor == "li.na")).first() is not None


def test_a_late_delivery_is_chased_with_the_tracking_number_and_frees_the_agent(store, rules, frozen_clock):
    """Seed 000 第四篇 订单跟踪: 如未按约定时间到货 … 追问客服主管，有追问环节则可以免责."""
    order_id = new_order(store, rules)
    to_production(store, rules, order_id)
    step(store, rules, order_id, "shipment", by="ma.lin", tracking="SF1234567890")
    clock.set_now(datetime(2026, 11, 28, 18, 30, tzinfo=CST))
    orders.chase(store, rules, order_id, "im", "li.na")
    [chase] = order_of(store.state(order_id)).chases
    assert chase.stage == "delivery"
    mails = [m for m in outbox(store) if m.key.startswith("order-chase:")]
    assert {m.to[0] for m in mails} == SUPERVISORS and all("SF1234567890" in m.text for m in mails)
    step(store, rules, order_id, "delivery")
    state = store.state(order_id)
    assert [(l["stage"], l["liable"]) for l in order_of(state).liabilities] == [("delivery", False)]
    assert state.deadline("chase-reply", 1).met_at == clock.now()  # delivered: the answer came


def test_the_dashboard_form_shows_the_order_every_remark_version_and_the_last_refusal(store, rules, frozen_clock):
    """Above each wait's form (flows/order.py → config/templates/order/form.md.j2), zh-CN first."""

    order_id = new_order(store, rules)
    step(store, rules, order_id, "payment")
    step(store, rules, order_id, "remark", text=REMARK)
    step(store, rules, order_id, "remark", text=REMARK.replace("自提", "送货到楼下"))
    casework.refuse(store, rules, order_id, "verification", 1, "li.na",
                 InputRefused("confirmation", "must not be empty", "paste the buyer's confirmation"))
    text = orders.form_description(rules, store.state(order_id), "verification", 1)
    assert "刘贺" in text and "ship by 2026-11-26" in text and "由 by: li.na" in text
    assert "v1" in text and "v2" in text and REMARK in text
    assert "Last input refused — confirmation: must not be empty" in text
    assert "期限 Due: 2026-11-23 11:30" in text  # 2 working hours after payment (sla.yaml)
    remark_form = orders.form_description(rules, store.state(order_id), "remark", 1)
    assert "格式 Format: 姓名,宽*高" in remark_form


def test_a_late_orders_remark_can_still_be_amended_with_its_agreed_ship_date(store, rules, frozen_clock):
    """The buyer changes the delivery after the agreed ship date passed: the amendment keeps that date."""
    order_id = new_order(store, rules)
    step(store, rules, order_id, "payment")
    step(store, rules, order_id, "remark", text=REMARK)
    clock.set_now(datetime(2026, 11, 27, 10, 0, tzinfo=CST))
    step(store, rules, order_id, "remark", text=REMARK.replace("自提", "包送货安装"))
    assert [r.version for r in order_of(store.state(order_id)).remarks] == [1, 2]
    problem = refused(step, store, rules, order_id, "remark", text=REMARK.replace("11月26日", "11月25日"))
    assert problem.field == "remark.ship_date"


def test_only_finance_confirms_the_payment_and_only_the_marketing_director_approves(store, rules, frozen_clock):
    """Seed 001 客服部流程 订单的接收与处理: "营销中心财务确认收款。 ●营销总监审核。" A control is passed by
    its owner only (order.yaml chain): not the order's agent, not the service manager or director."""
    order_id = new_order(store, rules)
    step(store, rules, order_id, "payment")
    for who in ("li.na", "sun.li", "zhou.qiang"):
        problem = refused(step, store, rules, order_id, "finance-confirmation", by=who)
        assert problem.field == "by" and "needs a finance" in problem.problem and "he.jing" in problem.fix
    step(store, rules, order_id, "finance-confirmation", by="he.jing")
    assert refused(step, store, rules, order_id, "director-approval", by="zhou.qiang").field == "by"
    step(store, rules, order_id, "director-approval", by="qian.hong")
    events = [e for e in store.events(order_id) if e.type in ("order.finance_confirmed", "order.approved")]
    assert [e.actor for e in events] == ["he.jing", "qian.hong"]
