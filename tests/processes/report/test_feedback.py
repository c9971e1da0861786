"""The monthly feedback of product, service and quality information (kefu.processes.report.feedback),
to the head of customer service and the departments concerned. Seed 002 第五條 客戶服務中心職責 (5):
"負責收集、建全產品銷售服務信息及外部質量信息及用戶意見,每月反饋給客戶服務部部長及相關部門". Every count
is computed again from the raw event rows and compared; on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from audit_cases import _submit, resolved_complaint
from openpyxl import load_workbook
from sqlmodel import Session, select

from kefu.core import clock
from kefu.escalation.mail import Attachment
from kefu.processes.complaint import decisions as complaints
from kefu.processes.report import decisions as reports
from kefu.processes.report import feedback
from kefu.processes.report.statistics import month_of
from models.complaint import ContactRegistration
from models.outbox import OutboxMessage
from models.records import CaseEvent

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOVEMBER = month_of("2026-11")


def contact(store, rules, at: datetime, content: str) -> str:
    clock.set_now(at)
    reg = ContactRegistration(name="孙八", phone="13600002222", channel="phone", content=content, received_at=at)
    return complaints.register_contact(store, rules, reg).case_id


def a_month_of_complaints(store, rules) -> dict[str, str]:
    """November: a logistics complaint resolved (cause and measure on record), a quality complaint
    upheld, one not upheld, a suggestion; an October complaint November does not count."""
    clock.set_now(datetime(2026, 10, 30, 10, tzinfo=SHANGHAI))
    cases = {"october": resolved_complaint(store, rules)}
    clock.set_now(datetime(2026, 11, 10, 10, tzinfo=SHANGHAI))
    cases["logistics"] = resolved_complaint(store, rules)
    cases["quality"] = contact(store, rules, datetime(2026, 11, 12, 10, tzinfo=SHANGHAI), "杯子质量太差，有裂纹")
    _submit(store, rules, cases["quality"], "judgement", upheld=True, department="quality",
            category="product_quality", reason="质量问题", by="li.na")
    cases["not_upheld"] = contact(store, rules, datetime(2026, 11, 13, 10, tzinfo=SHANGHAI), "多收了运费，要求退款")
    _submit(store, rules, cases["not_upheld"], "judgement", upheld=False, reason="运费按规定收取", by="li.na")
    cases["suggestion"] = contact(store, rules, datetime(2026, 11, 14, 10, tzinfo=SHANGHAI), "我想提个建议，周末多开收银台")
    clock.set_now(datetime(2026, 12, 1, 10, tzinfo=SHANGHAI))
    return cases


def raw_judgements(store, rules) -> Counter:
    """Upheld complaints of November by department, from the judgement events of cases opened in it."""
    start, end = NOVEMBER.bounds(rules)
    with Session(store.engine) as session:
        opened = {e.case_id for e in session.exec(select(CaseEvent).where(
            CaseEvent.seq == 1, CaseEvent.at >= start, CaseEvent.at < end)).all()}
        judged = session.exec(select(CaseEvent).where(CaseEvent.type == "complaint.judged")).all()
    return Counter(e.payload["department"] for e in judged if e.case_id in opened and e.payload.get("upheld"))


def test_each_department_gets_its_upheld_complaints_with_cause_and_measures(store, rules, frozen_clock):
    cases = a_month_of_complaints(store, rules)
    compiled = feedback.monthly_feedback(store, rules, NOVEMBER)
    assert {d: sum(c.values()) for d, c in compiled.by_department.items()} == raw_judgements(store, rules)
    assert compiled.by_department == {"logistics": {"logistics": 1}, "quality": {"product_quality": 1}}
    assert (compiled.complaints, compiled.upheld, compiled.concerned) == (3, 2, ["logistics", "quality"])
    [logistics] = compiled.listed["logistics"]
    assert (logistics["case_id"], logistics["cause"], logistics["measures"]) == (cases["logistics"], "分拣错误", "复核分拣")
    assert [s["case_id"] for s in compiled.suggestions] == [cases["suggestion"]] and compiled.suggestions_total == 1
    text = feedback.markdown(rules, compiled)
    assert "#### 物流部 Logistics（1 件）" in text and "杯子质量太差" in text and "周末多开收银台" in text
    assert "多收了运费" not in text  # not upheld: not laid at any department


def test_a_month_with_nothing_to_report_says_so(store, rules, frozen_clock):
    compiled = feedback.monthly_feedback(store, rules, month_of("2026-09"))
    assert compiled.empty and compiled.concerned == []
    assert "there is nothing to report back" in feedback.markdown(rules, compiled)


def test_the_feedback_goes_to_the_manager_and_each_department_concerned_once(store, rules, frozen_clock, tmp_path):
    """"每月反饋給客戶服務部部長及相關部門": the manager, and the mailbox of each department concerned."""
    a_month_of_complaints(store, rules)
    for _ in range(2):  # a retried run mails nobody twice
        reports.send_monthly_feedback(store, rules, NOVEMBER, tmp_path)
    with Session(store.engine) as session:
        mails = session.exec(select(OutboxMessage).where(OutboxMessage.key.startswith("feedback:"))).all()
    assert sorted(m.to[0] for m in mails) == ["logistics@kefu.example", "quality@kefu.example", "sun.li@kefu.example"]
    [workbook] = (Attachment.from_stored(a) for a in mails[0].attachments)
    book = load_workbook(io.BytesIO(workbook.data))
    assert book.sheetnames == ["按部门 By department", "投诉明细 Complaints", "顾客建议 Suggestions", "回访意见 Opinions"]
    assert book["投诉明细 Complaints"].max_row == 3
