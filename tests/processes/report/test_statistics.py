"""《顾客投诉分类统计表》 (kefu.processes.report.statistics): every figure matches the record.

Seed 002 §4 (7) 总结评价 (paraphrase): 由客服主管填写《顾客投诉分类统计表》，并做数据分析统计. The test
computes each figure again from the raw event rows — not through the reducer, the facts or SQL —
and compares; archived complaints count; a period with no data says so instead of dividing by zero.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from audit_cases import _submit, answered_consultation, later, resolved_complaint
from openpyxl import load_workbook
from order_cases import new_order
from people import signed_in
from sqlmodel import Session, select

from kefu import processes
from kefu.core import clock
from kefu.core.store import CaseStore
from kefu.processes.callback import decisions as callbacks
from kefu.processes.complaint import archive
from kefu.processes.complaint import decisions as complaints
from kefu.processes.report import documents
from kefu.processes.report.statistics import Period, compile_statistics, month_before, week_before
from models.callback import CallAttemptInput
from models.complaint import ComplaintFact, ContactRegistration
from models.records import CaseEvent

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))


def archived(store, rules, external_id: str, received: datetime, category: str, channel: str = "web",
             closed: datetime | None = None) -> None:
    record = {"external_id": external_id, "received_at": received, "closed_at": closed, "channel": channel,
              "category": category, "content": "历史投诉", "name": "anonymous"}
    origin = {"source": "test", "batch": "b1", "external_id": external_id, "row": 2}
    store.create_many("C", [archive.archived_complaint(rules, record, origin, "li.na")], rules.version)


def department_month(store, rules) -> dict[str, str]:
    """A month of the department: a complaint resolved (called back, unsatisfied), one not upheld,
    one still open whose judgement came late, a repeat by the same customer that follows up the
    first, a consultation, and archived complaints of this month and of the month before."""
    cases = {"resolved": resolved_complaint(store, rules)}
    clock.set_now(datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI))  # the customer is awake for the call
    callback = callbacks.open_for_complaint(store, rules, cases["resolved"]).case_id
    with signed_in("li.na"):
        callbacks.record_attempt(store, rules, callback, CallAttemptInput(outcome="unsatisfied", note="太慢",
                                                                          by="li.na"))
    reg = ContactRegistration(name="钱七", phone="13700001111", channel="web", content="多收了运费，要求退款")
    cases["not_upheld"] = complaints.register_contact(store, rules, reg).case_id
    _submit(store, rules, cases["not_upheld"], "judgement", upheld=False, reason="运费按规定收取", by="li.na")
    complaints.close(store, rules, cases["not_upheld"], "not_upheld")
    reg = ContactRegistration(name="张三", phone="13812345678", channel="phone", content="又坏了，质量太差",
                              follows=cases["resolved"])
    cases["late"] = complaints.register_contact(store, rules, reg).case_id
    later(80)  # past the judgement's deadline before anybody judged it
    _submit(store, rules, cases["late"], "judgement", upheld=True, department="quality", category="product_quality",
            reason="质量问题", by="li.na")
    cases["consultation"] = answered_consultation(store, rules)
    archived(store, rules, "A-1", datetime(2026, 11, 5, 9, tzinfo=SHANGHAI), "logistics",
             closed=datetime(2026, 11, 7, 9, tzinfo=SHANGHAI))
    archived(store, rules, "A-2", datetime(2026, 11, 6, 9, tzinfo=SHANGHAI), "billing", channel="mail")
    archived(store, rules, "A-3", datetime(2026, 10, 20, 9, tzinfo=SHANGHAI), "logistics")
    archived(store, rules, "A-4", datetime(2026, 10, 31, 23, 30, tzinfo=SHANGHAI), "logistics")  # October, in Shanghai
    return cases


def from_raw_events(store, rules, period: Period) -> dict:
    """The figures again, from the event rows alone."""
    with Session(store.engine) as session:
        rows = session.exec(select(CaseEvent).order_by(CaseEvent.case_id, CaseEvent.seq)).all()
    by_case: dict[str, list[CaseEvent]] = {}
    for row in rows:
        by_case.setdefault(row.case_id, []).append(row)
    start = datetime.combine(period.first, datetime.min.time(), SHANGHAI)
    end = datetime.combine(period.last + timedelta(days=1), datetime.min.time(), SHANGHAI)
    figures = {"total": 0, "kinds": Counter(), "categories": Counter(), "channels": Counter(), "severities": Counter(),
               "departments": Counter(), "upheld": 0, "not_upheld": 0, "late": 0, "hours": [], "phones": Counter(),
               "follow_ups": 0, "improvements": []}
    for events in by_case.values():
        first = events[0]
        if first.type not in ("contact.registered", "complaint.archived") or not start <= first.at < end:
            continue
        p = first.payload
        figures["total"] += 1
        figures["kinds"][p["kind"]] += 1
        if p["process"] != "complaint":
            continue
        category = p.get("category")
        for e in events:
            if e.type in ("complaint.judged", "complaint.investigated") and e.payload.get("category"):
                category = e.payload["category"]
            if e.type == "complaint.judged":
                figures["upheld" if e.payload["upheld"] else "not_upheld"] += 1
                if e.payload["upheld"]:
                    figures["departments"][e.payload["department"]] += 1
            if e.type == "complaint.reviewed":
                figures["improvements"] += e.payload["improvements"]
        figures["categories"][category] += 1
        figures["channels"][p["channel"]] += 1
        figures["severities"][p["severity"]] += 1
        figures["phones"][p.get("phone")] += 1
        figures["follow_ups"] += bool(p.get("follows"))
        closed = [e for e in events if e.type == "case.closed"]
        if closed and not (p.get("closed_at") and p["closed_at"] == p["received_at"]):
            figures["hours"].append((closed[0].at - first.at).total_seconds() / 3600)
        due: dict[tuple, datetime | None] = {}
        met: dict[tuple, datetime] = {}
        for e in events:
            key = (e.payload.get("step"), e.payload.get("round"))
            if e.type in ("deadline.opened", "deadline.rescheduled"):
                due[key] = datetime.fromisoformat(e.payload["due_at"]) if e.payload["due_at"] else None
            if e.type == "deadline.met":
                met[key] = e.at
        for key, due_at in due.items():
            done = met.get(key)
            figures["late"] += due_at is not None and ((done is not None and done > due_at)
                                                       or (done is None and due_at < clock.now()))
    return figures


def test_every_figure_matches_the_raw_event_record(store, rules, frozen_clock):
    """Counts by kind, category, channel, severity and department; upheld and not; late steps;
    handling times; repeats and follow-ups; the reviews' measures — each recomputed from the rows."""
    department_month(store, rules)
    stats = compile_statistics(store, rules, NOVEMBER)
    raw = from_raw_events(store, rules, NOVEMBER)
    assert stats.total == raw["total"] == 6
    assert stats.by_kind == dict(raw["kinds"]) == {"consultation": 1, "complaint": 5}
    assert stats.by_category == dict(raw["categories"]) == {"product_quality": 1, "logistics": 2, "billing": 2}
    assert stats.by_channel == dict(raw["channels"])
    assert stats.by_severity == dict(raw["severities"]) == {"general": 5}
    assert stats.by_department == dict(raw["departments"]) == {"logistics": 1, "quality": 1}
    assert (stats.upheld, stats.not_upheld, stats.unjudged) == (raw["upheld"], raw["not_upheld"], 2) == (2, 1, 2)
    assert stats.archived == 2 and stats.open == 1
    assert stats.late_steps == raw["late"] >= 1
    assert stats.closed == len(raw["hours"]) == 3
    assert stats.mean_handling_hours == round(sum(raw["hours"]) / len(raw["hours"]), 2)
    assert stats.worst_handling_hours == round(max(raw["hours"]), 2)
    assert stats.repeat_customers == sum(n - 1 for phone, n in raw["phones"].items() if phone) == 1
    assert stats.follow_ups == raw["follow_ups"] == 1
    assert [measure for _, measure in stats.improvements] == raw["improvements"] == ["复核分拣"]
    assert stats.rounds == {1: 1}
    assert (stats.callbacks, stats.satisfaction) == (1, {"unsatisfied": 1})
    assert stats.previous["from"] == "2026-10-01" and stats.previous["by_category"] == {"logistics": 2}


def test_the_supervisor_kpis_are_conversion_and_complaint_rate_from_the_raw_rows(store, rules, frozen_clock):
    """Seed 000 第五篇 客服主管岗位职责 2: 负责对转化率,投诉率进行分析与统计 — conversion is the month's
    orders per inquiry (report.yaml complaint_statistics.inquiries), the complaint rate its
    complaints per order; with no orders there is no rate, not a division by zero."""
    department_month(store, rules)
    assert compile_statistics(store, rules, NOVEMBER).kpis == {
        "orders": 0, "inquiries": 1, "conversion": 0.0, "complaint_rate": None}
    for buyer in ("刘贺", "周敏"):
        new_order(store, rules, buyer=buyer, ship_by="2026-12-10", deliver_by="2026-12-12")
    kpis = compile_statistics(store, rules, NOVEMBER).kpis
    start, end = NOVEMBER.bounds(rules)
    with Session(store.engine) as session:
        opened = session.exec(select(CaseEvent).where(CaseEvent.seq == 1)).all()
    in_month = [e for e in opened if start <= e.at < end]
    orders = sum(e.type == "order.created" for e in in_month)
    inquiries = sum(e.payload.get("kind") in rules.report.complaint_statistics.inquiries for e in in_month)
    complaints = sum(e.payload.get("process") == "complaint" for e in in_month
                     if e.type in ("contact.registered", "complaint.archived"))
    assert (kpis["orders"], kpis["inquiries"]) == (orders, inquiries) == (2, 1)
    assert kpis["conversion"] == round(100 * orders / inquiries, 1) == 200.0
    assert kpis["complaint_rate"] == round(100 * complaints / orders, 1) == 250.0
    text = documents.markdown(rules, compile_statistics(store, rules, NOVEMBER))
    assert "转化率 Conversion" in text and "250.0%" in text


def test_the_json_figures_are_integers_keyed_by_the_configured_values(store, rules, frozen_clock):
    department_month(store, rules)
    figures = compile_statistics(store, rules, NOVEMBER).figures()
    for key in ("from", "to", "total", "by_kind", "by_severity", "by_category", "by_channel", "by_department",
                "upheld", "not_upheld", "late_steps", "mean_handling_hours"):
        assert key in figures
    categories = {c.id for c in rules.complaint.categories}
    assert set(figures["by_category"]) <= categories
    assert all(isinstance(v, int) and not isinstance(v, bool) for v in figures["by_category"].values())


def test_a_not_upheld_complaint_still_counts(store, rules, frozen_clock):
    """PROCESSES.md P1 step 2: not upheld, the case is "still archived, still counted in statistics"."""
    reg = ContactRegistration(name="钱七", phone="13700001111", channel="web", content="多收了运费")
    case_id = complaints.register_contact(store, rules, reg).case_id
    _submit(store, rules, case_id, "judgement", upheld=False, reason="按规定收取", by="li.na")
    stats = compile_statistics(store, rules, NOVEMBER)
    assert (stats.complaints, stats.not_upheld, stats.by_category) == (1, 1, {"billing": 1})


def test_a_period_with_no_data_says_so_instead_of_dividing_by_zero(store, rules, frozen_clock):
    stats = compile_statistics(store, rules, Period(date(2025, 2, 1), date(2025, 2, 28)))
    assert stats.empty and stats.mean_handling_hours is None and stats.share(0, 0) == "-"
    text = documents.markdown(rules, stats)
    assert "本期没有受理任何投诉" in text and "nothing to count" in text


def test_the_category_is_proposed_at_intake_confirmed_at_judgement_and_corrected_at_investigation(
        store, rules, frozen_clock):
    """complaint.yaml categories: intake proposes by keyword, the judgement records it (or another),
    the investigation may correct it; the statistics count the last word."""
    reg = ContactRegistration(name="钱七", phone="13700001111", channel="web", content="快递三天没到")
    state = complaints.register_contact(store, rules, reg)
    assert state.intake["category"] == "logistics" and "classification." in state.intake["classified_by"]
    _submit(store, rules, state.case_id, "judgement", upheld=True, department="logistics", reason="延误", by="li.na")
    assert store.state(state.case_id).decision("judgement")["category"] == "logistics"
    _submit(store, rules, state.case_id, "investigation", cause="包装破损导致退回", responsible="仓库",
            category="product_quality", by="li.na")
    assert compile_statistics(store, rules, NOVEMBER).by_category == {"product_quality": 1}


def test_an_unknown_category_is_refused_naming_the_configured_ones(store, rules, frozen_clock):
    from kefu.core.refusals import InputRefused

    reg = ContactRegistration(name="钱七", phone="13700001111", channel="web", content="x", category="weather")
    with pytest.raises(InputRefused) as refused:
        complaints.register_contact(store, rules, reg)
    assert refused.value.field == "category" and "product_quality" in refused.value.fix


def test_the_store_keeps_each_fact_row_in_step_with_its_case(store, rules, frozen_clock):
    """A store with the processes' facts rewrites a case's row in the transaction of its events."""
    kept = CaseStore(store.engine, facts=processes.facts())
    reg = ContactRegistration(name="钱七", phone="13700001111", channel="web", content="快递三天没到")
    case_id = complaints.register_contact(kept, rules, reg).case_id
    _submit(kept, rules, case_id, "judgement", upheld=False, reason="已签收", by="li.na")
    with Session(store.engine) as session:
        fact = session.get(ComplaintFact, case_id)
        assert fact.last_seq == kept.state(case_id).last_seq and fact.upheld is False


def test_periods_are_calendar_months_and_weeks_before_the_day():
    assert month_before(date(2026, 12, 1)) == NOVEMBER
    assert NOVEMBER.before() == Period(date(2026, 10, 1), date(2026, 10, 31))
    assert week_before(date(2026, 12, 2)) == Period(date(2026, 11, 23), date(2026, 11, 29))
    with pytest.raises(ValueError):
        Period(date(2026, 11, 2), date(2026, 11, 1))


def test_the_workbook_carries_the_figures_and_the_chart(store, rules, frozen_clock, tmp_path):
    department_month(store, rules)
    stats = compile_statistics(store, rules, NOVEMBER)
    files = documents.write(rules, stats, tmp_path)
    book = load_workbook(files["xlsx"])
    sheet = book["顾客投诉分类统计表"]
    cells = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row and row[0]}
    assert cells["合计 Contacts"] == 6 and cells["投诉 Complaints"] == 5
    assert cells["物流配送 Logistics and delivery"] == 2 and cells["成立 Upheld"] == 2
    assert len(sheet._images) == 1
    assert files["chart"].read_bytes().startswith(b"\x89PNG")
    assert "| 物流配送 Logistics and delivery | 2 | 40.0% | 2 |" in files["markdown"].read_text(encoding="utf-8")
