"""The complaint reducer as pure unit tests: events in, state out, no database.

The steps follow PROCESSES.md P1 (seed 002 §4 (7)): 受理 → 判定 → (not upheld: tactful reply,
close) or (upheld: 调查 → 方案 → 批示 → 实施, a rejected plan goes back to 方案) → 总结评价 → close.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from models.case import CaseState, EventType, RecordedEvent
from models.complaint import ComplaintEvent, Step, chosen_option, complaint_of
from models.reducer import apply, reduce

T0 = datetime(2026, 11, 23, 1, 30, tzinfo=timezone.utc)


class Log:
    """Builds a case's event list with consecutive sequence numbers, a minute apart."""

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []

    def add(self, type_: str, payload: dict | None = None, actor: str = "kefu") -> "Log":
        seq = len(self.events) + 1
        self.events.append(RecordedEvent(seq=seq, type=type_, actor=actor, at=T0 + timedelta(minutes=seq),
                                         payload=payload or {}))
        return self

    def state(self) -> CaseState:
        return reduce("C-20261123-0001", self.events)


def registered(process: str = "complaint", kind: str = "complaint", severity: str | None = "general") -> Log:
    return Log().add(ComplaintEvent.REGISTERED, {"process": process, "kind": kind, "severity": severity,
                                            "name": "张三", "phone": "13812345678", "channel": "phone"},
                     actor="intake")


def upheld_to_approval(log: Log, round_: int = 1, options: list[str] | None = None) -> Log:
    if round_ == 1:
        log.add(ComplaintEvent.JUDGED, {"upheld": True, "department": "logistics", "reason": "送错", "round": 1}, "li.na")
        log.add(ComplaintEvent.INVESTIGATED, {"cause": "分拣错误", "responsible": "王五", "round": 1}, "li.na")
    log.add(ComplaintEvent.PLAN_PROPOSED, {"options": options or ["退款", "换货"], "round": round_}, "li.na")
    return log


def remedy(log: Log, round_: int) -> Log:
    log.add(ComplaintEvent.DISCIPLINE_RECORDED, {"round": round_, "responsible": "王五", "note": "…"})
    return log.add(EventType.CUSTOMER_NOTIFIED, {"purpose": "plan_notice", "round": round_, "text": "…"})


def test_a_registered_complaint_waits_for_judgement():
    state = registered(severity="major").state()
    assert (state.process, state.kind, state.severity) == ("complaint", "complaint", "major")
    assert state.step == Step.JUDGEMENT and state.status == "open" and state.round == 1
    assert state.opened_at == T0 + timedelta(minutes=1)
    assert state.intake["name"] == "张三"


def test_a_consultation_waits_for_its_answer_and_then_closes_without_the_six_steps():
    """PROCESSES.md P1 / seed 002 §3 第七条: consultations and queries are answered, not judged."""
    log = registered(process="contact", kind="consultation", severity=None)
    assert log.state().step == Step.ANSWER
    log.add(ComplaintEvent.ANSWERED, {"answer": "可以", "round": 1}, "li.na")
    state = log.state()
    assert state.step == Step.CLOSING
    assert state.decision(Step.ANSWER)["answer"] == "可以"


def test_not_upheld_goes_to_the_reply_then_closing_then_closed():
    """Seed 002 §4 (7) 投诉判定: a complaint that is not upheld gets a tactful reply and is closed."""
    log = registered()
    log.add(ComplaintEvent.JUDGED, {"upheld": False, "department": None, "reason": "误会", "round": 1}, "li.na")
    assert log.state().step == Step.REPLY
    log.add(EventType.CUSTOMER_NOTIFIED, {"purpose": "not_upheld_reply", "text": "…"})
    state = log.state()
    assert state.step == Step.CLOSING and "not_upheld_reply" in state.notices
    log.add(EventType.CLOSED, {"outcome": "not_upheld"})
    state = log.state()
    assert (state.status, state.step, state.outcome) == ("closed", None, "not_upheld")
    assert state.closed_at == log.events[-1].at


def test_an_upheld_complaint_goes_through_investigation_proposal_and_approval_to_remedy():
    log = registered()
    log.add(ComplaintEvent.JUDGED, {"upheld": True, "department": "logistics", "reason": "送错", "round": 1}, "li.na")
    assert log.state().step == Step.INVESTIGATION
    log.add(ComplaintEvent.INVESTIGATED, {"cause": "分拣错误", "responsible": "王五", "round": 1}, "li.na")
    assert log.state().step == Step.PROPOSAL
    log.add(ComplaintEvent.PLAN_PROPOSED, {"options": ["退款", "换货"], "round": 1}, "li.na")
    assert log.state().step == Step.APPROVAL
    log.add(ComplaintEvent.PLAN_APPROVED, {"choice": 2, "round": 1}, "sun.li")
    state = log.state()
    assert state.step == Step.REMEDY
    assert chosen_option(state, 1) == "换货"
    assert state.decision(Step.APPROVAL, 1)["by"] == "sun.li"


def test_remedy_waits_for_both_the_discipline_note_and_the_plan_notice_in_either_order():
    for first, second in ((ComplaintEvent.DISCIPLINE_RECORDED, EventType.CUSTOMER_NOTIFIED),
                          (EventType.CUSTOMER_NOTIFIED, ComplaintEvent.DISCIPLINE_RECORDED)):
        log = upheld_to_approval(registered()).add(ComplaintEvent.PLAN_APPROVED, {"choice": 1, "round": 1}, "sun.li")
        payloads = {ComplaintEvent.DISCIPLINE_RECORDED: {"round": 1, "note": "…"},
                    EventType.CUSTOMER_NOTIFIED: {"purpose": "plan_notice", "round": 1, "text": "…"}}
        log.add(first, payloads[first])
        assert log.state().step == Step.REMEDY, f"{first} alone must not leave remedy"
        log.add(second, payloads[second])
        assert log.state().step == Step.IMPLEMENTATION


def test_a_rejected_plan_goes_back_to_proposal_in_the_next_round():
    """Seed 002 §4 (7) 实施处理方案: if the customer does not accept, a new plan is proposed."""
    log = upheld_to_approval(registered()).add(ComplaintEvent.PLAN_APPROVED, {"choice": 1, "round": 1}, "sun.li")
    remedy(log, 1)
    log.add(ComplaintEvent.CUSTOMER_RESPONDED, {"accepted": False, "feedback": "要换货", "round": 1}, "li.na")
    state = log.state()
    assert state.step == Step.PROPOSAL and state.round == 2
    assert state.decision(Step.IMPLEMENTATION, 1)["accepted"] is False
    # round 2 keeps round 1's decisions apart
    upheld_to_approval(log, round_=2, options=["换货"])
    log.add(ComplaintEvent.PLAN_APPROVED, {"choice": 1, "round": 2}, "sun.li")
    state = log.state()
    assert state.step == Step.REMEDY and state.round == 2
    assert chosen_option(state, 1) == "退款" and chosen_option(state, 2) == "换货"
    assert set(state.decisions[Step.PROPOSAL]) == {1, 2}


def test_an_accepted_plan_goes_to_review_and_then_closing():
    log = upheld_to_approval(registered()).add(ComplaintEvent.PLAN_APPROVED, {"choice": 1, "round": 1}, "sun.li")
    remedy(log, 1)
    log.add(ComplaintEvent.CUSTOMER_RESPONDED, {"accepted": True, "signature": "张三", "round": 1}, "li.na")
    state = log.state()
    assert state.step == Step.REVIEW and state.round == 1
    log.add(ComplaintEvent.REVIEWED, {"summary": "ok", "improvements": [], "round": 1}, "chen.jing")
    assert log.state().step == Step.CLOSING
    log.add(ComplaintEvent.CALLBACK_REQUESTED, {"reason": "complaint_closed"})
    log.add(EventType.CLOSED, {"outcome": "resolved"})
    state = log.state()
    assert complaint_of(state).callback["reason"] == "complaint_closed"
    assert (state.status, state.outcome, state.last_seq) == ("closed", "resolved", len(log.events))


def test_refusals_are_counted_per_step_and_round_and_do_not_move_the_case():
    log = registered()
    for _ in range(2):
        log.add(EventType.INPUT_REFUSED, {"step": "judgement", "round": 1, "field": "by", "problem": "p", "fix": "f"})
    log.add(EventType.INPUT_REFUSED, {"step": "approval", "round": 2, "field": "by", "problem": "p", "fix": "f"})
    state = log.state()
    assert state.refusal_count("judgement", 1) == 2
    assert state.refusal_count("approval", 2) == 1
    assert state.refusal_count("approval", 1) == 0
    assert state.step == Step.JUDGEMENT


def test_a_deadline_is_opened_and_met_only_for_its_own_step_and_round():
    due = T0 + timedelta(hours=24)
    log = registered()
    log.add(EventType.DEADLINE_OPENED, {"step": "judgement", "round": 1, "due_at": due.isoformat(),
                                        "policy": "complaint.yaml sla.general.judgement"})
    log.add(EventType.DEADLINE_OPENED, {"step": "proposal", "round": 2, "due_at": due.isoformat(), "policy": "p"})
    state = log.state()
    assert [(d.step, d.round, d.due_at, d.met_at) for d in state.deadlines] == [
        ("judgement", 1, due, None), ("proposal", 2, due, None)]
    assert state.deadlines[0].opened_at == log.events[1].at
    log.add(EventType.DEADLINE_MET, {"step": "proposal", "round": 1})  # no such deadline: nothing is met
    assert len(log.state().open_deadlines()) == 2
    log.add(EventType.DEADLINE_MET, {"step": "judgement", "round": 1})
    state = log.state()
    assert state.deadlines[0].met_at == log.events[-1].at
    assert [d.step for d in state.open_deadlines()] == ["proposal"]


def test_manager_notifications_and_the_flow_run_link_are_remembered():
    log = registered(severity="major")
    log.add(ComplaintEvent.MANAGER_NOTIFICATION_REQUESTED, {"severity": "major", "role": "manager",
                                                       "recipients": ["sun.li"]})
    log.add(EventType.FLOW_RUN_LINKED, {"flow_run_id": "abc"})
    state = log.state()
    assert complaint_of(state).notifications[0]["recipients"] == ["sun.li"]
    assert complaint_of(state).notifications[0]["at"] == log.events[1].at
    assert state.flow_run_id == "abc"
    assert state.step == Step.JUDGEMENT


def test_the_state_is_a_function_of_the_events_alone():
    log = upheld_to_approval(registered())
    assert log.state() == log.state()
    # folding one event at a time gives what reduce gives
    state = CaseState(case_id="C-20261123-0001")
    for event in log.events:
        apply(state, event)
    assert state == log.state()
    assert reduce("C-20261123-0001", []).step is None
