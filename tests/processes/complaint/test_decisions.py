"""The complaint process's rules, checked in the domain layer (kefu.processes.complaint.decisions),
on SQLite.

Sources: PROCESSES.md P1; config/complaint.yaml and config/department.yaml (which cite
seed 002 and mark "our choice" where the seeds say nothing)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from audit_cases import complaint_form

from kefu.core import casework, clock
from kefu.core.refusals import InputRefused
from kefu.processes.complaint import decisions as complaints
from models.case import EventType
from models.complaint import (
    ComplaintEvent,
    ContactRegistration,
    Step,
    chosen_option,
    complaint_of,
)

CST = timezone(timedelta(hours=8))


@pytest.fixture
def store(sqlite_store):
    return sqlite_store


def register(store, rules, content="快递送错了", **extra):
    reg = ContactRegistration(name="张三", phone="13812345678", channel="phone", content=content, **extra)
    return complaints.register_contact(store, rules, reg)


def submit(store, rules, case_id, step, **data):
    return complaints.submit(store, rules, case_id, step, complaint_form(step, data))


def at_approval(store, rules, **extra):
    case_id = register(store, rules, **extra).case_id
    submit(store, rules, case_id, "judgement", upheld=True, department="logistics", reason="送错", by="li.na")
    submit(store, rules, case_id, "investigation", cause="分拣错误", responsible="王五", by="li.na")
    submit(store, rules, case_id, "proposal", options=["退款", "换货"], by="li.na")
    return case_id


def refused_without_record(store, case_id, action) -> InputRefused:
    before = len(store.events(case_id))
    with pytest.raises(InputRefused) as info:
        action()
    assert len(store.events(case_id)) == before, "a refused input must record nothing"
    return info.value


def event_types(store, case_id):
    return [e.type for e in store.events(case_id)]


# -- who may decide ------------------------------------------------------------------------------

def test_approval_by_an_agent_is_refused_and_records_nothing(store, rules, frozen_clock):
    """Seed 002 §4 (7) 提出处理方案: the plan is approved by the supervising leader
    (complaint.yaml permissions.approval.general: supervisor, manager, director)."""
    case_id = at_approval(store, rules)
    error = refused_without_record(store, case_id, lambda: submit(store, rules, case_id, "approval", choice=1, by="li.na"))
    assert error.field == "by"
    assert "li.na (agent)" in error.problem and "permissions.approval.general" in error.problem
    assert "chen.jing" in error.fix
    assert store.state(case_id).step == Step.APPROVAL


def test_approval_of_a_major_complaint_needs_a_manager_or_director(store, rules, frozen_clock):
    """complaint.yaml permissions.approval.major (our choice: the more serious, the higher the leader)."""
    case_id = at_approval(store, rules, severity="major")
    error = refused_without_record(
        store, case_id, lambda: submit(store, rules, case_id, "approval", choice=1, by="chen.jing"))
    assert error.field == "by" and "sun.li" in error.fix and "zhou.qiang" in error.fix
    state = submit(store, rules, case_id, "approval", choice=2, by="sun.li")
    assert state.step == Step.REMEDY and chosen_option(state, 1) == "换货"


def test_approval_by_a_supervisor_of_a_general_complaint_is_recorded(store, rules, frozen_clock):
    case_id = at_approval(store, rules)
    state = submit(store, rules, case_id, "approval", choice=1, by="chen.jing")
    assert state.decision(Step.APPROVAL, 1)["by"] == "chen.jing"
    last = store.events(case_id)[-2:]
    assert [(e.type, e.actor) for e in last] == [(ComplaintEvent.PLAN_APPROVED, "chen.jing"), (EventType.DEADLINE_MET, "kefu")]
    # remedy is kefu's: no deadline opens
    assert {k: v for k, v in last[1].payload.items() if k != "verified"} == {"step": "approval", "round": 1}


def test_a_review_by_an_agent_is_refused(store, rules, frozen_clock):
    """Seed 002 §4 (7) 总结评价 is led by the supervisor (complaint.yaml permissions.review)."""
    case_id = register(store, rules).case_id
    # Walk the case to review quickly.
    submit(store, rules, case_id, "judgement", upheld=True, department="quality", reason="r", by="li.na")
    submit(store, rules, case_id, "investigation", cause="c", responsible="p", by="li.na")
    submit(store, rules, case_id, "proposal", options=["退款"], by="li.na")
    submit(store, rules, case_id, "approval", choice=1, by="chen.jing")
    complaints.record_discipline(store, rules, case_id, 1)
    complaints.send_plan_notice(store, rules, case_id, 1)
    submit(store, rules, case_id, "implementation", accepted=True, signature="张三", by="li.na")
    error = refused_without_record(store, case_id, lambda: submit(store, rules, case_id, "review", summary="s", by="li.na"))
    assert error.field == "by"


def test_an_unknown_staff_id_is_refused(store, rules, frozen_clock):
    case_id = register(store, rules).case_id
    error = refused_without_record(store, case_id, lambda: submit(
        store, rules, case_id, "judgement", upheld=False, reason="r", by="nobody"))
    assert error.field == "by" and "nobody" in error.problem and "kefu staff" in error.fix


def test_an_approval_choice_beyond_the_options_is_refused(store, rules, frozen_clock):
    case_id = at_approval(store, rules)
    error = refused_without_record(store, case_id, lambda: submit(store, rules, case_id, "approval", choice=3, by="chen.jing"))
    assert error.field == "choice" and "1 to 2" in error.fix


# -- the judgement -------------------------------------------------------------------------------

def test_an_upheld_complaint_needs_a_known_department(store, rules, frozen_clock):
    """Seed 002 §4 (7) 投诉判定: an upheld complaint is laid at a responsible department
    (department.yaml departments)."""
    case_id = register(store, rules).case_id
    error = refused_without_record(store, case_id, lambda: submit(
        store, rules, case_id, "judgement", upheld=True, department="marketing", reason="r", by="li.na"))
    assert error.field == "department" and "marketing" in error.problem and "logistics" in error.fix
    missing = refused_without_record(store, case_id, lambda: submit(
        store, rules, case_id, "judgement", upheld=True, reason="r", by="li.na"))
    assert missing.field == "department"


def test_a_step_out_of_order_is_refused_naming_the_step_that_waits(store, rules, frozen_clock):
    case_id = register(store, rules).case_id
    early = refused_without_record(store, case_id, lambda: submit(
        store, rules, case_id, "investigation", cause="c", responsible="p", by="li.na"))
    assert early.field == "step"
    assert "'judgement'" in early.problem and "kefu complaint judge" in early.fix
    submit(store, rules, case_id, "judgement", upheld=True, department="logistics", reason="r", by="li.na")
    again = refused_without_record(store, case_id, lambda: submit(
        store, rules, case_id, "judgement", upheld=True, department="logistics", reason="r", by="li.na"))
    assert again.field == "step"
    assert "'investigation'" in again.problem and "kefu complaint investigate" in again.fix


def test_nothing_more_is_recorded_on_a_closed_case(store, rules, frozen_clock):
    case_id = register(store, rules).case_id
    submit(store, rules, case_id, "judgement", upheld=False, reason="误会", by="li.na")
    complaints.send_not_upheld_reply(store, rules, case_id)
    complaints.close(store, rules, case_id, "not_upheld")
    error = refused_without_record(store, case_id, lambda: submit(
        store, rules, case_id, "judgement", upheld=False, reason="r", by="li.na"))
    assert error.field == "case" and "closed" in error.problem


def test_a_not_upheld_complaint_gets_a_reply_with_the_reason_and_closes(store, rules, frozen_clock):
    """Seed 002 §4 (7) 投诉判定: not upheld → reply tactfully with the reason."""
    case_id = register(store, rules).case_id
    submit(store, rules, case_id, "judgement", upheld=False, reason="包裹已签收", by="li.na")
    state = complaints.send_not_upheld_reply(store, rules, case_id)
    assert state.step == Step.CLOSING
    assert "包裹已签收" in state.notices["not_upheld_reply"]["text"]


# -- intake: classification ----------------------------------------------------------------------

@pytest.mark.parametrize("content, kind, severity", [
    ("快递送错了，造成严重损失", "complaint", "major"),
    ("再不处理我就找记者曝光", "complaint", "crisis"),
    ("律师说这是严重损失", "complaint", "crisis"),  # the first matching rule (crisis) wins
    ("快递送错了", "complaint", "general"),  # default_kind, default_severity
])
def test_keyword_rules_classify_complaints(store, rules, frozen_clock, content, kind, severity):
    """complaint.yaml classification (our choice: keyword rules, first match wins)."""
    state = register(store, rules, content=content)
    assert (state.process, state.kind, state.severity, state.step) == ("complaint", kind, severity, Step.JUDGEMENT)


def test_an_explicit_severity_wins_over_the_keyword_rules(store, rules, frozen_clock):
    """complaint.yaml classification: "an explicit --kind/--severity always wins over these"."""
    state = register(store, rules, content="记者要曝光，严重损失", severity="general")
    assert state.severity == "general"
    assert state.intake["classified_by"].startswith("severity given at intake")


@pytest.mark.parametrize("content, kind", [("请问会员卡怎么办理", "consultation"), ("查询一下订单进度", "query")])
def test_consultations_and_queries_go_to_the_contact_process_and_wait_for_an_answer(
        store, rules, frozen_clock, content, kind):
    """Seed 002 §3 第七条 (complaint.yaml kinds): 咨询 and 查询 are answered in their own short flow."""
    state = register(store, rules, content=content)
    assert (state.process, state.kind, state.severity, state.step) == ("contact", kind, None, Step.ANSWER)
    [deadline] = state.deadlines
    # sla.yaml: contact answer within 4 working hours. Received Monday 09:30: 2.5 h to the lunch
    # break at 12:00, the other 1.5 h from 13:30 -> 15:00 the same day.
    assert (deadline.step, deadline.due_at) == ("answer", datetime(2026, 11, 23, 15, 0, tzinfo=CST))
    assert deadline.policy == "sla.yaml policies.17: contact answer any 4 working hours"


def test_an_explicit_kind_wins_over_the_keyword_rules(store, rules, frozen_clock):
    state = register(store, rules, content="请问为什么送错了", kind="complaint")
    assert (state.process, state.kind, state.step) == ("complaint", "complaint", Step.JUDGEMENT)


def test_an_unknown_channel_is_refused_at_intake(store, rules, frozen_clock):
    """complaint.yaml channels (seed 002 §3 第七条)."""
    with pytest.raises(InputRefused) as info:
        register_on(store, rules, channel="pigeon")
    assert info.value.field == "channel" and "phone" in info.value.fix
    assert store.cases() == []


def test_a_contact_received_in_the_future_is_refused(store, rules, frozen_clock):
    with pytest.raises(InputRefused) as info:
        register(store, rules, received_at=clock.now() + timedelta(minutes=5))
    assert info.value.field == "received_at"
    assert store.cases() == []


def test_a_contact_received_longer_ago_than_intake_allows_is_refused(store, rules, frozen_clock):
    """Issue 18: a complaint "received in 1900" was accepted and late on every rung at once;
    complaint.yaml registered_within_days (30, our choice) bounds how far back intake may date it."""
    with pytest.raises(InputRefused) as info:
        register(store, rules, received_at=datetime(1900, 1, 1, tzinfo=timezone.utc))
    assert info.value.field == "received_at" and "1900-01-01" in info.value.problem
    assert "check the year" in info.value.fix
    assert store.cases() == []
    assert register(store, rules, received_at=clock.now() - timedelta(days=29)).case_id  # within the 30 days


def register_on(store, rules, channel):
    reg = ContactRegistration(name="张三", phone="13812345678", channel=channel, content="送错了")
    return complaints.register_contact(store, rules, reg)


# -- intake: reporting upward -------------------------------------------------------------------

@pytest.mark.parametrize("severity, role, recipients", [
    ("major", "manager", ["sun.li"]), ("crisis", "director", ["zhou.qiang"])])
def test_major_and_crisis_complaints_request_a_notification_to_the_leader(
        store, rules, frozen_clock, severity, role, recipients):
    """Seed 002 §3 "重大问题要及时报告"; complaint.yaml notify_at_intake."""
    case_id = register(store, rules, severity=severity).case_id
    state = complaints.request_manager_notification(store, rules, case_id)
    [note] = complaint_of(state).notifications
    assert (note["role"], note["recipients"]) == (role, recipients)
    assert note["rule"] == f"complaint.yaml notify_at_intake.{severity}"
    complaints.request_manager_notification(store, rules, case_id)  # a retried task records once
    assert event_types(store, case_id).count(ComplaintEvent.MANAGER_NOTIFICATION_REQUESTED) == 1


def test_a_general_complaint_requests_no_notification(store, rules, frozen_clock):
    case_id = register(store, rules).case_id
    assert complaint_of(complaints.request_manager_notification(store, rules, case_id)).notifications == []
    assert ComplaintEvent.MANAGER_NOTIFICATION_REQUESTED not in event_types(store, case_id)


# -- deadlines -----------------------------------------------------------------------------------

@pytest.mark.parametrize("severity, judgement, resolution, policy", [
    # 24 working hours from Monday 08:00 (before opening): Mon, Tue, Wed 7.5 h each = 22.5 h, the
    # last 1.5 h on Thursday 09:00-10:30. Resolution: 5 calendar days.
    ("general", datetime(2026, 11, 26, 10, 30, tzinfo=CST), datetime(2026, 11, 28, 8, 0, tzinfo=CST),
     "sla.yaml policies.10: complaint judgement any 24 working hours"),
    # Major and crisis complaints run on the clock, nights and weekends included.
    ("major", datetime(2026, 11, 23, 10, 0, tzinfo=CST), datetime(2026, 11, 25, 8, 0, tzinfo=CST),
     "sla.yaml policies.1: complaint judgement major 2 hours"),
    ("crisis", datetime(2026, 11, 23, 9, 0, tzinfo=CST), datetime(2026, 11, 24, 8, 0, tzinfo=CST),
     "sla.yaml policies.0: complaint judgement crisis 1 hours"),
])
def test_judgement_and_resolution_are_due_received_plus_the_sla(store, rules, frozen_clock,
                                                               severity, judgement, resolution, policy):
    """PROCESSES.md P1 (our choice) per-severity SLA: general judged within 24 h and resolved
    within 5 days; major judged within 2 h and resolved within 48 h (config/sla.yaml: general
    counts working hours on the cn-office calendar, 09:00-12:00 + 13:30-18:00)."""
    received = datetime(2026, 11, 23, 8, 0, tzinfo=CST)  # before the clock: deadlines run from receipt
    state = register(store, rules, severity=severity, received_at=received)
    due = {d.step: d.due_at for d in state.deadlines}
    assert due == {"judgement": judgement, "resolution": resolution}
    policies = {d.step: d.policy for d in state.deadlines}
    assert policies["judgement"] == policy


def test_leaving_a_step_meets_its_deadline_and_opens_the_next(store, rules, frozen_clock):
    """PROCESSES.md P1 (our choice) per-severity SLA; sla.yaml: general investigation within 16
    working hours."""
    case_id = register(store, rules).case_id
    clock.advance(timedelta(hours=3))
    state = submit(store, rules, case_id, "judgement", upheld=True, department="logistics", reason="r", by="li.na")
    by_step = {d.step: d for d in state.deadlines}
    assert by_step["judgement"].met_at == clock.now()
    assert by_step["investigation"].opened_at == clock.now()
    # Judged Monday 12:30 (lunch break): the clock starts at 13:30; Mon 4.5 h + Tue 7.5 h + Wed
    # 09:00-12:00 3 h = 15 h; the last hour Wed 13:30-14:30.
    assert clock.now() == datetime(2026, 11, 23, 12, 30, tzinfo=CST)
    assert by_step["investigation"].due_at == datetime(2026, 11, 25, 14, 30, tzinfo=CST)
    assert by_step["investigation"].met_at is None and by_step["resolution"].met_at is None


def test_a_rejected_plan_opens_a_proposal_deadline_for_the_next_round(store, rules, frozen_clock):
    case_id = at_approval(store, rules)
    submit(store, rules, case_id, "approval", choice=1, by="chen.jing")
    complaints.record_discipline(store, rules, case_id, 1)
    state = complaints.send_plan_notice(store, rules, case_id, 1)
    assert state.step == Step.IMPLEMENTATION
    state = submit(store, rules, case_id, "implementation", accepted=False, feedback="不要退款", by="li.na")
    assert (state.step, state.round) == (Step.PROPOSAL, 2)
    assert [(d.step, d.round) for d in state.open_deadlines()] == [("resolution", 1), ("proposal", 2)]


# -- refusals from the dashboard ----------------------------------------------------------------

def test_a_refused_dashboard_input_is_recorded_once_per_refusal(store, rules, frozen_clock):
    case_id = at_approval(store, rules)
    refusal = InputRefused("by", "li.na (agent) may not act here", "ask chen.jing")
    casework.refuse(store, rules, case_id, "approval", 1, "li.na", refusal)
    state = casework.refuse(store, rules, case_id, "approval", 1, "li.na", refusal)
    assert state.refusal_count("approval", 1) == 2
    assert state.step == Step.APPROVAL
    last = store.events(case_id)[-1]
    assert (last.type, last.payload["field"], last.idem_key) == (EventType.INPUT_REFUSED, "by", "refused:approval:1:2")


def test_a_suggestion_is_a_contact_answered_in_the_short_flow(store, rules, frozen_clock):
    """complaint.yaml kinds: 建议 suggestion (seed 001 客服部 "接受客户报事(投诉、咨询、建议、质疑)";
    seed 003 "汇总每日顾客投诉意见或建议") is answered like a consultation, not judged as a complaint."""
    state = register(store, rules, content="我有个建议，周末也开门吧")
    assert (state.process, state.kind, state.severity, state.step) == ("contact", "suggestion", None, Step.ANSWER)
