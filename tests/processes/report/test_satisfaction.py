"""The monthly satisfaction analysis 满意度调查分析报告 (kefu.processes.report.satisfaction), for the
general manager. Seed 002 客服部经理职责 7: "负責組織公司產品的滿意度調查的分析,並將統計分析報告及產品質量
問題及時通報相關部門和報告總經理". Every figure is computed again from the raw event rows and compared;
a month nobody answered says so; on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from audit_cases import _submit, resolved_complaint
from openpyxl import load_workbook
from people import signed_in
from sqlmodel import Session, select

from kefu.core import clock
from kefu.escalation.mail import Attachment
from kefu.processes.callback import decisions as callbacks
from kefu.processes.complaint import decisions as complaints
from kefu.processes.report import decisions as reports
from kefu.processes.report import satisfaction
from kefu.processes.report.statistics import month_of
from models.callback import CallAttemptInput, CallbackCustomer
from models.complaint import ContactRegistration
from models.outbox import OutboxMessage
from models.records import CaseEvent

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOVEMBER = month_of("2026-11")


def called(store, rules, reference: str, at: datetime, outcome: str, by: str, note: str | None = None) -> str:
    """A service callback answered at ``at`` (the customer awake)."""
    clock.set_now(at)
    customer = CallbackCustomer(name="赵敏", phone="13900000000", timezone="Asia/Shanghai")
    case_id = callbacks.open_for_service(store, rules, reference=reference, service="安装", customer=customer,
                                         completed_at=at).case_id
    with signed_in(by):
        callbacks.record_attempt(store, rules, case_id, CallAttemptInput(outcome=outcome, note=note, by=by))
    return case_id


def a_month_of_callbacks(store, rules) -> dict[str, str]:
    """November: a complaint's callback (unsatisfied, about the delivery), three service callbacks
    (satisfied, average with a word on the fitter's attitude, one never reached), a product-quality
    complaint; a satisfied call in October and one on 1 December that November does not count."""
    cases = {"october": called(store, rules, "S-10", datetime(2026, 10, 20, 10, tzinfo=SHANGHAI), "satisfied",
                               "wang.fang")}
    clock.set_now(datetime(2026, 11, 20, 10, tzinfo=SHANGHAI))
    cases["complaint"] = resolved_complaint(store, rules)
    clock.set_now(datetime(2026, 11, 24, 10, tzinfo=SHANGHAI))
    cases["complaint_callback"] = callbacks.open_for_complaint(store, rules, cases["complaint"]).case_id
    with signed_in("li.na"):
        callbacks.record_attempt(store, rules, cases["complaint_callback"],
                                 CallAttemptInput(outcome="unsatisfied", note="送货太慢了", by="li.na"))
    cases["satisfied"] = called(store, rules, "S-1", datetime(2026, 11, 25, 10, tzinfo=SHANGHAI), "satisfied",
                                "wang.fang")
    cases["average"] = called(store, rules, "S-2", datetime(2026, 11, 26, 11, tzinfo=SHANGHAI), "average", "li.na",
                              note="安装师傅态度一般")
    cases["unreachable"] = called(store, rules, "S-3", datetime(2026, 11, 27, 10, tzinfo=SHANGHAI), "unreachable",
                                  "li.na")
    while store.state(cases["unreachable"]).status == "open":
        clock.set_now(clock.now() + timedelta(days=1))  # the next morning, out of their rest hours
        with signed_in("li.na"):
            callbacks.record_attempt(store, rules, cases["unreachable"],
                                     CallAttemptInput(outcome="unreachable", by="li.na"))
    reg = ContactRegistration(name="孙八", phone="13600002222", channel="phone", content="杯子质量太差，有裂纹",
                              received_at=datetime(2026, 11, 28, 10, tzinfo=SHANGHAI))
    cases["quality"] = complaints.register_contact(store, rules, reg).case_id
    clock.set_now(datetime(2026, 11, 28, 11, tzinfo=SHANGHAI))
    _submit(store, rules, cases["quality"], "judgement", upheld=True, department="quality",
            category="product_quality", reason="质量问题", by="li.na")
    cases["december"] = called(store, rules, "S-4", datetime(2026, 12, 1, 10, tzinfo=SHANGHAI), "unsatisfied",
                               "li.na", note="十二月的电话")
    clock.set_now(datetime(2026, 12, 1, 9, 30, tzinfo=SHANGHAI))
    return cases


def raw_answers(store, rules, period) -> list[CaseEvent]:
    """The calls answered in the period, straight from kefu_event."""
    start, end = period.bounds(rules)
    with Session(store.engine) as session:
        return list(session.exec(select(CaseEvent).where(
            CaseEvent.type == "callback.attempted", CaseEvent.at >= start, CaseEvent.at < end)).all())


def test_the_analysis_counts_every_answered_call_of_the_month_as_the_record_holds_it(store, rules, frozen_clock):
    cases = a_month_of_callbacks(store, rules)
    analysis = satisfaction.satisfaction_analysis(store, rules, NOVEMBER)
    raw = [e for e in raw_answers(store, rules, NOVEMBER) if e.payload["outcome"] in ("satisfied", "average",
                                                                                       "unsatisfied")]
    assert analysis.outcomes == {**{"satisfied": 0, "average": 0, "unsatisfied": 0},
                                 **Counter(e.payload["outcome"] for e in raw)}
    assert analysis.outcomes == {"satisfied": 1, "average": 1, "unsatisfied": 1}
    assert analysis.rate == 33.3 and analysis.unreachable == 1
    assert {agent: sum(c.values()) for agent, c in analysis.by_agent.items()} == Counter(e.actor for e in raw)
    assert analysis.by_trigger == {"service_completed": {"satisfied": 1, "average": 1, "unsatisfied": 0},
                                   "complaint_closed": {"satisfied": 0, "average": 0, "unsatisfied": 1}}
    assert analysis.by_category == {"logistics": {"satisfied": 0, "average": 0, "unsatisfied": 1}}
    assert analysis.previous == {"from": "2026-10-01", "to": "2026-10-31", "answered": 1, "satisfied": 1,
                                 "rate": 100.0}
    assert [v["case_id"] for v in analysis.voices] == [cases["complaint_callback"], cases["average"]]
    assert dict(analysis.themes) == {"delivery": 1, "attitude": 1, "speed": 1}
    assert [q["case_id"] for q in analysis.quality] == [cases["quality"]]


def test_the_report_speaks_in_chinese_labels_first(store, rules, frozen_clock):
    a_month_of_callbacks(store, rules)
    analysis = satisfaction.satisfaction_analysis(store, rules, NOVEMBER)
    text = satisfaction.markdown(rules, analysis)
    assert "满意率 33.3% satisfied（上月 the month before 100.0%" in text
    assert "| 服务完成后 after a service | 1 | 1 | 0 | 2 | 50.0% |" in text
    assert "| 物流配送 Logistics and delivery | 0 | 0 | 1 | 1 | 0.0% |" in text
    assert "送货物流 delivery：1 次" in text and "“安装师傅态度一般”" in text
    assert "service_completed" not in text and "complaint_closed" not in text


def test_a_month_nobody_answered_says_so_instead_of_dividing_by_zero(store, rules, frozen_clock):
    analysis = satisfaction.satisfaction_analysis(store, rules, month_of("2026-09"))
    assert analysis.empty and analysis.rate is None and analysis.previous["rate"] is None
    text = satisfaction.markdown(rules, analysis)
    assert "满意率 - satisfied" in text and "there is nothing to analyse" in text
    assert satisfaction.chart_png(rules, analysis).startswith(b"\x89PNG")


def test_the_analysis_is_mailed_once_a_month_to_the_general_manager_with_its_chart_inline(store, rules, frozen_clock,
                                                                                          tmp_path):
    """Seed 002 客服部经理职责 7: "…報告總經理" — the general manager (and the manager, our choice)."""
    a_month_of_callbacks(store, rules)
    for _ in range(2):  # a retried run mails nobody twice
        _, files = reports.send_satisfaction_analysis(store, rules, NOVEMBER, tmp_path)
    with Session(store.engine) as session:
        mails = session.exec(select(OutboxMessage).where(OutboxMessage.key.startswith("satisfaction:"))).all()
    assert sorted(m.to[0] for m in mails) == ["sun.li@kefu.example", "zheng.yi@kefu.example"]
    chart, workbook = (Attachment.from_stored(a) for a in mails[0].attachments)
    assert (chart.cid, chart.data[:4]) == ("chart", b"\x89PNG") and 'src="cid:chart"' in mails[0].html
    book = load_workbook(io.BytesIO(workbook.data))
    assert book.sheetnames == ["满意度 Satisfaction", "顾客意见 What they said", "产品质量问题 Quality"]
    assert [c.value for c in book["满意度 Satisfaction"][2]][:6] == ["合计 Total", "-", 1, 1, 1, 3]
    assert files["chart"].read_bytes() == chart.data

