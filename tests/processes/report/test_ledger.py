"""The daily order ledger 每日台账明细 (kefu.processes.report.ledger; PROCESSES.md P8 "daily ledger of
orders (每日台账明细)"; seed 000 订单整理 "及时整理个人销售产品及备注"). Every figure is computed again
from the raw event rows and compared; on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from collections import Counter
from datetime import date, datetime

from order_cases import CST, new_order, step, to_production
from sqlmodel import Session, select

from kefu.core import clock
from kefu.escalation.mail import Attachment
from kefu.processes.order import decisions as orders
from kefu.processes.report import decisions as reports
from kefu.processes.report import ledger
from kefu.processes.report.registers import day_bounds
from models.order import EVENT_STEP
from models.outbox import OutboxMessage
from models.records import Case, CaseEvent

THURSDAY = date(2026, 11, 27)


def a_thursday(store, rules) -> dict[str, str]:
    """Monday: two orders, one taken to production. Thursday: it is past its ship date, chased and
    shipped; a new order comes in and is paid; Monday's other order sees nothing."""
    cases = {"shipped": new_order(store, rules), "quiet": new_order(store, rules, buyer="周敏")}
    to_production(store, rules, cases["shipped"])
    clock.set_now(datetime(2026, 11, 27, 10, 0, tzinfo=CST))
    orders.chase(store, rules, cases["shipped"], "im", "li.na")
    step(store, rules, cases["shipped"], "shipment", by="ma.lin", tracking="SF1234567890")
    cases["new"] = new_order(store, rules, buyer="吴昊", ship_by="2026-12-01", deliver_by="2026-12-03")
    step(store, rules, cases["new"], "payment")
    clock.set_now(datetime(2026, 11, 27, 17, 45, tzinfo=CST))
    return cases


def raw_done(store, rules, day: date) -> tuple[Counter, set[str]]:
    """What the ledger counts, from the rows: the orders' hand-over events and the events
    report.yaml order_ledger.events names, on the day, by type; and which orders they are on."""
    start, end = day_bounds(rules, day)
    shown = set(EVENT_STEP) | set(rules.report.order_ledger.events)
    with Session(store.engine) as session:
        rows = session.exec(select(CaseEvent).join(Case, Case.id == CaseEvent.case_id).where(
            Case.process == "order", CaseEvent.at >= start, CaseEvent.at < end)).all()
    rows = [r for r in rows if r.type in shown]
    return Counter(r.type for r in rows), {r.case_id for r in rows}


def test_the_ledger_lists_every_order_worked_on_that_day_with_what_was_done(store, rules, frozen_clock):
    cases = a_thursday(store, rules)
    compiled = ledger.order_ledger(store, rules, THURSDAY)
    by_type, worked_on = raw_done(store, rules, THURSDAY)
    assert {o["case_id"] for o in compiled.orders} == worked_on == {cases["shipped"], cases["new"]}
    names = {t: ledger.what_happened(rules, t) for t in by_type}
    assert compiled.done == {names[t]: n for t, n in by_type.items()}
    assert compiled.done["发货 shipment"] == 1 and compiled.done["追单 chased"] == 1
    assert compiled.done["新订单 new order"] == 1 and compiled.done["付款 payment"] == 1
    shipped = next(o for o in compiled.orders if o["case_id"] == cases["shipped"])
    assert shipped["tracking"] == "SF1234567890" and shipped["step"] == "delivery"
    assert shipped["today"].startswith("10:00 追单 chased；10:00 ")
    by_agent = {a["agent"]: a for a in compiled.by_agent}
    assert (by_agent["li.na"]["orders"], by_agent["li.na"]["created"], by_agent["li.na"]["chases"]) == (2, 1, 1)
    assert by_agent["ma.lin"]["hand_overs"] == 1  # the shipment counts for who shipped it
    assert compiled.open_orders == 3
    text = ledger.markdown(rules, compiled)
    assert "每日台账明细" in text and "吴昊" in text and "周敏" not in text  # nothing happened to it that day


def test_a_late_hand_over_shows_on_its_order(store, rules, frozen_clock):
    """An order whose delivery date passes with the delivery not done is late in the ledger."""
    cases = a_thursday(store, rules)
    clock.set_now(datetime(2026, 11, 29, 10, 0, tzinfo=CST))
    orders.chase(store, rules, cases["shipped"], "phone", "li.na")
    compiled = ledger.order_ledger(store, rules, date(2026, 11, 29))
    [row] = compiled.orders
    assert "delivery" in row["late"] and compiled.overdue >= 1


def test_a_day_without_orders_says_so(store, rules, frozen_clock):
    compiled = ledger.order_ledger(store, rules, THURSDAY)
    assert compiled.empty and compiled.figures()["orders"] == 0
    assert "当日没有订单办理" in ledger.markdown(rules, compiled)


def test_the_ledger_is_mailed_with_its_workbook_once_a_day_to_the_roles_report_yaml_names(
        store, rules, frozen_clock, tmp_path):
    from openpyxl import load_workbook

    a_thursday(store, rules)
    reports.send_order_ledger(store, rules, THURSDAY, tmp_path)
    reports.send_order_ledger(store, rules, THURSDAY, tmp_path)  # a retried step
    with Session(store.engine) as session:
        mails = session.exec(select(OutboxMessage).where(OutboxMessage.key.startswith("ledger:"))).all()
    roles = rules.report.order_ledger.recipients
    wanted = {s.email for s in rules.department.staff if s.role in roles and s.active}
    assert {m.to[0] for m in mails} == wanted and len(mails) == len(wanted)
    book = load_workbook(io.BytesIO(Attachment.from_stored(mails[0].attachments[0]).data))
    sheet = book["台账明细 Orders"]
    assert sheet.max_row == 3 and sheet["A1"].value == "订单 Order"
    assert (tmp_path / "order-ledger-2026-11-27.md").read_text(encoding="utf-8").startswith("## ")
