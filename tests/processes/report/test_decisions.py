"""A report a person signs off (kefu.processes.report.decisions): one case per period, compiled and
mailed once, signed off only by a role report.yaml allows (seed 002 §4 (7): 由客服主管填写《顾客投诉
分类统计表》，并做数据分析统计，提出改善对策, paraphrase). On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from audit_cases import resolved_complaint
from people import signed_in
from sqlmodel import Session, select

from kefu.audit import replay
from kefu.core.refusals import InputRefused
from kefu.escalation.mail import Attachment
from kefu.processes.report import decisions as reports
from kefu.processes.report.statistics import Period
from models.outbox import OutboxMessage
from models.records import CaseEvent
from models.report import SignOffInput, report_of

NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))


def compiled(store, rules, tmp_path) -> str:
    resolved_complaint(store, rules)
    case_id = reports.open_statistics(store, rules, NOVEMBER).case_id
    reports.compile_report(store, rules, case_id, tmp_path / case_id)
    return case_id


def test_one_report_case_per_period_however_often_it_is_opened(store, rules, frozen_clock):
    first = reports.open_statistics(store, rules, NOVEMBER)
    again = reports.open_statistics(store, rules, NOVEMBER)
    assert first.case_id == again.case_id and first.case_id.startswith("R-")
    assert first.owner == "chen.jing" and first.step == "compile"  # the supervisor with the fewest reports
    assert reports.open_statistics(store, rules, NOVEMBER.before()).case_id != first.case_id


def test_compiling_records_the_figures_and_mails_each_recipient_once_with_chart_and_workbook(
        store, rules, frozen_clock, tmp_path):
    case_id = compiled(store, rules, tmp_path)
    reports.compile_report(store, rules, case_id, tmp_path / case_id)  # a retried step
    state = store.state(case_id)
    assert report_of(state).figures["complaints"] == 1 and state.step == "sign-off"
    assert state.deadline("sign-off", 1) is not None
    with Session(store.engine) as session:
        compiled_events = session.exec(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                               CaseEvent.type == "report.compiled")).all()
        mails = session.exec(select(OutboxMessage).where(OutboxMessage.key.startswith(f"report:{case_id}:"))).all()
    assert len(compiled_events) == 1
    recipients = {s.email for s in rules.department.staff if s.role in ("supervisor", "manager")}
    assert {address for mail in mails for address in mail.to} == recipients and len(mails) == len(recipients)
    attachments = [Attachment.from_stored(a) for a in mails[0].attachments]
    assert [(a.content_type, a.cid) for a in attachments] == [
        ("image/png", "chart"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", None)]
    assert 'src="cid:chart"' in mails[0].html and "顾客投诉分类统计表" in mails[0].subject
    assert f"kefu report sign-off {case_id}" in mails[0].text


def test_only_a_role_report_yaml_allows_signs_off(store, rules, frozen_clock, tmp_path):
    case_id = compiled(store, rules, tmp_path)
    with signed_in("li.na"), pytest.raises(InputRefused) as refused:
        reports.record_sign_off(store, rules, case_id, SignOffInput(analysis="物流投诉偏多", by="li.na"))
    assert refused.value.field == "by" and "report.yaml complaint_statistics.sign_off" in refused.value.problem
    with signed_in("chen.jing"):
        state = reports.record_sign_off(store, rules, case_id, SignOffInput(
            analysis="物流投诉偏多", measures=["分拣复核", "承运商考核"], by="chen.jing"))
    assert state.status == "closed" and report_of(state).measures == ["分拣复核", "承运商考核"]
    assert all(d.met_at is not None for d in state.deadlines)
    with signed_in("chen.jing"), pytest.raises(InputRefused):
        reports.record_sign_off(store, rules, case_id, SignOffInput(analysis="again", by="chen.jing"))


def test_a_report_cannot_be_signed_off_before_it_is_compiled(store, rules, frozen_clock):
    case_id = reports.open_statistics(store, rules, NOVEMBER).case_id
    with signed_in("chen.jing"), pytest.raises(InputRefused) as refused:
        reports.record_sign_off(store, rules, case_id, SignOffInput(analysis="x", by="chen.jing"))
    assert refused.value.field == "step"


def test_a_signed_off_report_replays_consistent_and_a_rewritten_signer_does_not(store, rules, frozen_clock, tmp_path):
    from audit_cases import rewrite_event

    case_id = compiled(store, rules, tmp_path)
    with signed_in("chen.jing"):
        reports.record_sign_off(store, rules, case_id, SignOffInput(analysis="物流投诉偏多", by="chen.jing"))
    (result,) = replay.replay(store.engine, [case_id])
    assert result.verdict == "consistent", result.summary()
    # An insider makes an agent the signer, verification stamp and all.
    rewrite_event(store, case_id, lambda e: {"actor": "li.na", "payload": {
        **e.payload, "verified": {**e.payload["verified"], "staff": "li.na"}}} if e.type == "report.signed_off" else {})
    (result,) = replay.replay(store.engine, [case_id])
    assert result.verdict == "divergent" and "sign off" in result.summary()


def test_the_sign_off_form_shows_the_report_as_compiled(store, rules, frozen_clock, tmp_path):
    case_id = compiled(store, rules, tmp_path)
    text = reports.form_description(rules, store, store.state(case_id), "sign-off", 1)
    assert "顾客投诉分类统计表" in text and "| 物流配送 Logistics and delivery | 1 | 100.0% | 0 |" in text
