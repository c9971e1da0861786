"""An agent's work log 工作日志 with the weekly and monthly report (kefu.processes.report.work_log and
its report case; seed 002 第五條 客服代表崗位職責 (4) "負責做好工作日志、周報、月報", 第六條 (6)
"特殊客戶狀況需向部門組長(或本中心負責人)匯報,並每月上報工作總結"). kefu compiles what the agent
recorded; every figure is computed again from the raw event rows; only the agent writes up their
own part, and the written-up log goes to the supervisors. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from audit_cases import resolved_complaint, rewrite_event
from openpyxl import load_workbook
from order_cases import CST, new_order, step
from people import signed_in
from sqlmodel import Session, select

from kefu.audit import replay
from kefu.core import clock
from kefu.core.refusals import InputRefused
from kefu.processes.order import decisions as orders
from kefu.processes.report import decisions as reports
from kefu.processes.report import work_log
from kefu.processes.report.statistics import Period
from models.outbox import OutboxMessage
from models.records import Case, CaseEvent, Deadline
from models.report import SignOffInput, WriteUpInput, report_of

WEEK = Period(date(2026, 11, 23), date(2026, 11, 29))


def a_week(store, rules) -> dict[str, str]:
    """li.na's week: a complaint she judges, investigates and carries out; an order she takes,
    which is paid and then left unremarked past its 20 minutes; a chase on Friday, past its ship date."""
    cases = {"complaint": resolved_complaint(store, rules), "order": new_order(store, rules)}
    step(store, rules, cases["order"], "stock-check")
    step(store, rules, cases["order"], "payment")
    clock.set_now(datetime(2026, 11, 27, 10, 0, tzinfo=CST))
    orders.chase(store, rules, cases["order"], "im", "li.na")
    clock.set_now(datetime(2026, 11, 30, 7, 30, tzinfo=CST))  # Monday: the weekly schedule's time
    return cases


def raw_rows(store, rules, agent: str, period: Period) -> list[CaseEvent]:
    """What a work log counts, from the rows: the agent's own events of the types report.yaml
    work_log.events names, in the period."""
    start, end = period.bounds(rules)
    with Session(store.engine) as session:
        rows = session.exec(select(CaseEvent).where(CaseEvent.actor == agent, CaseEvent.at >= start,
                                                    CaseEvent.at < end)).all()
    return [r for r in rows if r.type in rules.report.work_log.events]


def raw_missed(store, agent: str, start: datetime, end: datetime) -> set[tuple[str, str]]:
    """The deadlines of the agent's cases that fell due in [start, end) and were met late or not at all."""
    with Session(store.engine) as session:
        rows = session.exec(select(Deadline).join(Case, Case.id == Deadline.case_id).where(Case.owner == agent)).all()
    return {(d.case_id, d.step) for d in rows if d.due_at is not None and start <= d.due_at < end
            and (d.met_at is None or d.met_at > d.due_at)}


def test_the_work_log_counts_what_the_agent_recorded_as_the_raw_events_say(store, rules, frozen_clock):
    """Seed 002 第五條 (4): the agent's work log and weekly report — kefu's part is the record's."""
    cases = a_week(store, rules)
    log = work_log.work_log(store, rules, "li.na", "week", WEEK)
    rows = raw_rows(store, rules, "li.na", WEEK)
    names = rules.report.work_log.events
    assert log.done == dict(Counter(names[r.type] for r in rows))
    assert log.done["投诉判定 complaints judged"] == 1 and log.done["追单 chases"] == 1
    assert log.done["新订单 new orders"] == 1
    assert log.entries_total == len(rows) == sum(sum(day.values()) for day in log.by_day.values())
    assert log.cases == len({r.case_id for r in rows}) == 2
    assert [x["case_id"] for x in log.entries] == [r.case_id for r in sorted(rows, key=lambda r: (r.at, r.id))]
    assert set(log.by_day) <= {(WEEK.first + timedelta(days=n)).isoformat() for n in range(7)}
    assert log.by_day["2026-11-27"] == {"追单 chases": 1}
    start, end = WEEK.bounds(rules)
    missed = raw_missed(store, "li.na", start, end)
    assert {(b["case_id"], b["step"]) for b in log.breaches} == missed and (cases["order"], "remark") in missed
    assert log.breaches_total == len(missed)
    assert log.open == {"order": 1}  # the complaint closed; the order is still open with her
    text = work_log.markdown(rules, log)
    assert "工作日志" in text and "李娜" in text and "追单 chases" in text and "（待填写 not written up yet）" in text


def test_a_week_with_nothing_recorded_says_so(store, rules, frozen_clock):
    log = work_log.work_log(store, rules, "wang.fang", "week", WEEK)
    assert log.empty and log.done == {} and log.entries_total == 0 and log.by_day == {}
    assert "本期没有记录" in work_log.markdown(rules, log)


def test_one_work_log_per_agent_and_period_owned_by_the_agent(store, rules, frozen_clock):
    opened = reports.open_work_logs(store, rules, "week", WEEK)
    agents = [s.id for s in rules.department.staff if s.role in rules.report.work_log.roles and s.active]
    assert [s.owner for s in opened] == agents and len({s.case_id for s in opened}) == len(agents)
    again = reports.open_work_logs(store, rules, "week", WEEK)
    assert [s.case_id for s in again] == [s.case_id for s in opened]
    monthly = reports.open_work_log(store, rules, "li.na", "month", Period(date(2026, 11, 1), date(2026, 11, 30)))
    assert monthly.case_id not in {s.case_id for s in opened} and monthly.kind == "work_log"
    assert "月报" in monthly.intake["name"] and "李娜" in monthly.intake["name"]


def compiled_log(store, rules, tmp_path, agent: str = "li.na") -> str:
    case_id = reports.open_work_log(store, rules, agent, "week", WEEK).case_id
    reports.compile_report(store, rules, case_id, tmp_path / case_id)
    return case_id


def test_compiling_a_work_log_mails_it_to_its_agent_once_to_write_up(store, rules, frozen_clock, tmp_path):
    a_week(store, rules)
    case_id = compiled_log(store, rules, tmp_path)
    reports.compile_report(store, rules, case_id, tmp_path / case_id)  # a retried step
    state = store.state(case_id)
    assert state.step == "write-up" and state.deadline("write-up", 1) is not None
    assert report_of(state).figures["done"]["追单 chases"] == 1
    assert report_of(state).figures["open"] == {"order": 1}  # her open cases, not the log itself
    with Session(store.engine) as session:
        mails = session.exec(select(OutboxMessage).where(OutboxMessage.key.startswith(f"report:{case_id}:"))).all()
    [mail] = mails
    assert mail.to == ["li.na@kefu.example"] and "工作日志" in mail.subject
    assert f"kefu report write-up {case_id}" in mail.text and "李娜" in mail.html
    [xlsx] = list((tmp_path / case_id).glob("*.xlsx"))
    book = load_workbook(io.BytesIO(xlsx.read_bytes()))
    assert book.sheetnames == ["工作日志 Log", "合计 Totals", "每日 By day", "超时 Missed deadlines"]
    assert book["工作日志 Log"].max_row == 1 + report_of(state).figures["entries_total"]


def test_only_the_agent_writes_up_their_work_log_and_it_goes_to_the_supervisors(store, rules, frozen_clock, tmp_path):
    """Seed 002 第六條 (6): special customer situations are reported to the group leader (部门组长):
    the agent writes them; nobody writes them for the agent."""
    a_week(store, rules)
    case_id = compiled_log(store, rules, tmp_path)
    with pytest.raises(InputRefused) as refused, signed_in("chen.jing"):
        reports.record_write_up(store, rules, case_id, WriteUpInput(summary="代写", by="chen.jing"))
    assert refused.value.field == "by" and "li.na" in refused.value.problem
    with signed_in("li.na"):
        done = reports.record_write_up(store, rules, case_id, WriteUpInput(
            summary="本周处理投诉一件，订单一笔", special=["刘贺要求改地址"], plans="跟进刘贺订单", by="li.na"))
    assert done.status == "closed" and done.decision("write-up")["special"] == ["刘贺要求改地址"]
    with Session(store.engine) as session:
        mails = session.exec(select(OutboxMessage).where(OutboxMessage.key.startswith(f"report:{case_id}:written"))).all()
    supervisors = {s.email for s in rules.department.staff if s.role in rules.report.work_log.recipients}
    assert {a for m in mails for a in m.to} == supervisors and len(mails) == len(supervisors)
    assert "刘贺要求改地址" in mails[0].text and "跟进刘贺订单" in mails[0].html
    assert "刘贺要求改地址" in reports.form_description(rules, store, done, "write-up", 1)
    with pytest.raises(InputRefused, match="written up already"), signed_in("li.na"):
        reports.record_write_up(store, rules, case_id, WriteUpInput(summary="again", by="li.na"))
    (result,) = replay.replay(store.engine, [case_id])
    assert result.verdict == "consistent", result.summary()
    # An insider makes the supervisor the writer, verification stamp and all.
    rewrite_event(store, case_id, lambda e: {"actor": "chen.jing", "payload": {
        **e.payload, "verified": {**e.payload["verified"], "staff": "chen.jing"}}} if e.type == "report.written_up" else {})
    (result,) = replay.replay(store.engine, [case_id])
    assert result.verdict == "divergent" and "write up" in result.summary()


def test_a_work_log_is_not_signed_off_and_the_statistics_are_not_written_up(store, rules, frozen_clock, tmp_path):
    """Each report waits for its own person's step: the sign-off takes the statistics only."""
    case_id = compiled_log(store, rules, tmp_path)
    with pytest.raises(InputRefused) as refused, signed_in("chen.jing"):
        reports.record_sign_off(store, rules, case_id, SignOffInput(analysis="代签", by="chen.jing"))
    assert refused.value.field == "case_id" and "kefu report sign-off" in refused.value.fix
    statistics = reports.open_statistics(store, rules, WEEK).case_id
    reports.compile_report(store, rules, statistics, tmp_path / statistics)
    with pytest.raises(InputRefused) as refused, signed_in("li.na"):
        reports.record_write_up(store, rules, statistics, WriteUpInput(summary="x", by="li.na"))
    assert refused.value.field == "case_id" and "工作日志" in refused.value.problem


def test_an_empty_summary_is_refused_by_the_form():
    with pytest.raises(ValueError, match="summary"):
        WriteUpInput(summary="   ", by="li.na")
