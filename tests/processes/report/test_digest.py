"""The daily digest of complaints and suggestions (kefu.processes.report.digest), for the store
manager. Seed 003 超市客服部经理岗位职责 2: "负责汇总每日顾客投诉意见或建议,及时向店长汇报"; 主要工作 1:
"跟踪服务和商品投诉的处理,且总结当日所遗留的问题…". Every figure is computed again from the raw rows
(kefu_event, kefu_case) and compared; on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlmodel import Session, select

from kefu.core import clock
from kefu.escalation.mail import Attachment
from kefu.processes.callback import decisions as callbacks
from kefu.processes.complaint import decisions as complaints
from kefu.processes.report import decisions as reports
from kefu.processes.report import digest
from kefu.processes.report.registers import day_bounds
from models.callback import CallAttemptInput, CallbackCustomer
from models.complaint import AnswerInput, ContactRegistration
from models.outbox import OutboxMessage
from models.records import Case, CaseEvent

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 23)  # the frozen clock's Monday


def contact(store, rules, at: datetime, content: str, channel: str = "phone") -> str:
    reg = ContactRegistration(name="王芳", phone="13800138000", channel=channel, content=content, received_at=at)
    return complaints.register_contact(store, rules, reg).case_id


def a_monday(store, rules) -> dict[str, str]:
    """Sunday's complaint still open; on Monday two complaints, a suggestion and a consultation (answered),
    and a callback where the customer had something to say."""
    cases = {"sunday": contact(store, rules, datetime(2026, 11, 22, 15, tzinfo=SHANGHAI), "收到的杯子碎了"),
             "late_parcel": contact(store, rules, datetime(2026, 11, 23, 9, tzinfo=SHANGHAI), "快递一周没到"),
             "injury": contact(store, rules, datetime(2026, 11, 23, 9, 20, tzinfo=SHANGHAI), "暖气片漏水，孩子烫伤了，很严重",
                               channel="chat"),
             "suggestion": contact(store, rules, datetime(2026, 11, 23, 9, 25, tzinfo=SHANGHAI), "我有个建议，周末也开门吧"),
             "question": contact(store, rules, datetime(2026, 11, 23, 9, 28, tzinfo=SHANGHAI), "请问会员卡怎么办理")}
    complaints.submit(store, rules, cases["question"], "answer", AnswerInput(answer="到前台登记即可", by="li.na"))
    complaints.close(store, rules, cases["question"], "answered")  # as the contact flow does
    customer = CallbackCustomer(name="赵敏", phone="13900000000", timezone="Asia/Shanghai", member=True)
    cases["callback"] = callbacks.open_for_service(store, rules, reference="R9", service="安装", customer=customer,
                                                   completed_at=clock.now()).case_id
    callbacks.record_attempt(store, rules, cases["callback"],
                             CallAttemptInput(outcome="unsatisfied", note="师傅迟到了两个小时", by="li.na"))
    return cases


def raw_figures(store, rules, day: date) -> dict:
    """The digest's counts straight from the rows: cases whose first event falls on the day, by
    process and kind; callback attempts on the day; complaints still open."""
    start, end = day_bounds(rules, day)
    with Session(store.engine) as session:
        opened = session.exec(select(Case.process, Case.kind).join(CaseEvent, CaseEvent.case_id == Case.id).where(
            CaseEvent.seq == 1, CaseEvent.at >= start, CaseEvent.at < end)).all()
        attempts = session.exec(select(CaseEvent).where(CaseEvent.type == "callback.attempted",
                                                        CaseEvent.at >= start, CaseEvent.at < end)).all()
        still_open = session.exec(select(Case).where(Case.process == "complaint", Case.status == "open")).all()
    return {"complaints": sum(1 for process, _ in opened if process == "complaint"),
            "contacts": sorted(kind for process, kind in opened if process == "contact"),
            "callbacks": [a.payload["outcome"] for a in attempts], "left_over": len(still_open)}


def test_the_digest_holds_the_days_complaints_suggestions_callbacks_and_what_is_left_over(store, rules, frozen_clock):
    cases = a_monday(store, rules)
    compiled = digest.daily_digest(store, rules, TODAY)
    raw = raw_figures(store, rules, TODAY)
    figures = compiled.figures()
    assert figures["complaints"] == raw["complaints"] == 2
    assert sorted(c["kind"] for c in compiled.contacts) == raw["contacts"] == ["consultation", "suggestion"]
    assert [c["outcome"] for c in compiled.callbacks] == raw["callbacks"] == ["unsatisfied"]
    assert compiled.callbacks[0]["note"] == "师傅迟到了两个小时"
    assert figures["left_over"] == raw["left_over"] == 3  # Sunday's and today's two complaints
    assert [c["case_id"] for c in compiled.left_over][0] == cases["sunday"]  # the oldest first
    assert figures["by_severity"] == {"general": 1, "major": 1}
    assert figures["by_category"]["logistics"] == 1
    assert figures["closed"] == {"contact": 1}  # the answered consultation
    text = digest.markdown(rules, compiled)
    assert "每日顾客投诉意见汇总" in text and "物流配送" in text and "重大" in text and "在线咨询" in text
    assert "建议 suggestion" in text and "“师傅迟到了两个小时”" in text and "不满意" in text


def test_a_day_with_nothing_says_so(store, rules, frozen_clock):
    compiled = digest.daily_digest(store, rules, TODAY)
    assert compiled.empty and compiled.figures()["complaints"] == 0
    assert "当日没有顾客投诉、建议或回访" in digest.markdown(rules, compiled)


def test_a_complaint_from_another_day_is_not_news_of_this_one(store, rules, frozen_clock):
    a_monday(store, rules)
    sunday = digest.daily_digest(store, rules, date(2026, 11, 22))
    assert [c["received"] for c in sunday.complaints] == ["15:00"] and not sunday.contacts and not sunday.callbacks


def test_the_digest_is_mailed_to_the_store_manager_with_its_workbook_once_a_day(store, rules, frozen_clock, tmp_path):
    """report.yaml daily_digest.recipients: the store manager 店长 (seed 003 "及时向店长汇报") and the manager."""
    a_monday(store, rules)
    reports.send_daily_digest(store, rules, TODAY, tmp_path)
    reports.send_daily_digest(store, rules, TODAY, tmp_path)  # a retried step
    with Session(store.engine) as session:
        mails = session.exec(select(OutboxMessage).where(OutboxMessage.key.startswith("digest:"))).all()
    wanted = {s.email for s in rules.department.staff if s.role in ("store_manager", "manager")}
    assert {m.to[0] for m in mails} == wanted and len(mails) == len(wanted)
    assert "每日投诉意见汇总" in mails[0].subject and "<table>" in mails[0].html
    [attachment] = mails[0].attachments
    assert attachment["filename"] == "daily-digest-2026-11-23.xlsx"
    book = load_workbook(io.BytesIO(Attachment.from_stored(attachment).data))
    assert book.sheetnames == ["投诉 Complaints", "建议与咨询 Suggestions", "回访意见 Callbacks", "遗留问题 Left over"]
    assert book["投诉 Complaints"].max_row == 3 and book["遗留问题 Left over"].max_row == 4
