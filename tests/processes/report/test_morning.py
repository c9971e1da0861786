"""The supervisor's morning screen 晨会议程 (kefu.processes.report.morning): the stand-up's agenda from
the record. Seed 001 物业主管 每日工作安排 1 (paraphrase): 每日上班时检查…了解前一天本部门的各项工作记录、
完成及跟进情况，并安排当日的工作; seed 002 §2: the stand-up at 8:00. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from order_cases import new_order
from people import signed_in
from sqlmodel import Session, select

from kefu.core.availability import record_absence
from kefu.processes.complaint import decisions as complaints
from kefu.processes.report import decisions as reports
from kefu.processes.report import morning
from models.complaint import ContactRegistration
from models.outbox import OutboxMessage

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 23)  # the frozen clock's Monday, 09:30 in Shanghai


def a_monday(store, rules) -> dict[str, str]:
    def contact(at: datetime, content: str) -> str:
        reg = ContactRegistration(name="王芳", phone="13800138000", channel="phone", content=content, received_at=at)
        return complaints.register_contact(store, rules, reg).case_id

    cases = {"last_week": contact(datetime(2026, 11, 16, 10, tzinfo=SHANGHAI), "快递一周没到"),
             "yesterday": contact(datetime(2026, 11, 22, 15, tzinfo=SHANGHAI), "收到的杯子碎了"),
             "order": new_order(store, rules)}
    with signed_in("chen.jing"):
        record_absence(store, rules, "wang.fang", TODAY, TODAY, "年假 annual leave", "chen.jing")
    return cases


def test_the_agenda_holds_yesterday_the_open_work_the_missed_deadlines_the_orders_at_risk_and_who_is_away(
        store, rules, frozen_clock):
    cases = a_monday(store, rules)
    screen = morning.morning_screen(store, rules, TODAY)
    assert screen.received == {"complaint": 1}  # the one that came in on Sunday
    assert screen.open["complaint"] == {"judgement": 2} and "order" in screen.open
    assert [b["case_id"] for b in screen.breaches if b["step"] == "judgement"] == [cases["last_week"]]
    assert all(b["late_hours"] > 0 for b in screen.breaches)
    assert [o["case_id"] for o in screen.orders_at_risk] == [cases["order"]]
    assert screen.oldest[0]["case_id"] == cases["last_week"] and screen.oldest[0]["days"] == 6  # 16 Nov 10:00 to 23 Nov 09:30
    assert screen.away == {"wang.fang": "年假 annual leave"}
    text = morning.markdown(rules, screen)
    assert "晨会议程" in text and "投诉判定 judgement" in text and "wang.fang：年假 annual leave" in text


def test_the_morning_screen_is_mailed_to_each_supervisor_once_a_day(store, rules, frozen_clock):
    a_monday(store, rules)
    reports.send_morning_screen(store, rules, TODAY)
    reports.send_morning_screen(store, rules, TODAY)  # a retried step
    with Session(store.engine) as session:
        mails = session.exec(select(OutboxMessage).where(OutboxMessage.key.startswith("morning:"))).all()
    supervisors = {s.email for s in rules.department.staff if s.role == "supervisor"}
    assert {m.to[0] for m in mails} == supervisors and len(mails) == len(supervisors)
    assert "<table>" in mails[0].html and "晨会议程" in mails[0].subject


def test_a_quiet_day_says_there_is_nothing(store, rules, frozen_clock):
    text = morning.markdown(rules, morning.morning_screen(store, rules, TODAY))
    assert "昨日没有新受理的案件" in text and "没有在办案件" in text
