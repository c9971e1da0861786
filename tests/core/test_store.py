"""The database layer, on SQLite and on PostgreSQL alike (the ``store`` fixture runs each
test on both): events append-only with optimistic concurrency and idempotency keys,
projections in step with the reducer, times aware UTC, case ids per business day."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from audit_cases import complaint_form

from kefu.core import clock
from kefu.core.store import CaseStore, ConcurrentChange, NewEvent, UnknownCase, recorded
from kefu.processes.complaint import decisions as complaints
from models.complaint import ComplaintEvent, ContactRegistration, Step, chosen_option
from models.reducer import reduce

CST = timezone(timedelta(hours=8))


def register(store: CaseStore, rules, content: str = "快递送错了", **extra):
    reg = ContactRegistration(name="张三", phone="13812345678", channel="phone", content=content, **extra)
    return complaints.register_contact(store, rules, reg)


def submit(store, rules, case_id, step, **data):
    return complaints.submit(store, rules, case_id, step, complaint_form(step, data))


def run_upheld_case_with_one_rejection(store, rules, case_id):
    """The whole upheld path, the customer rejecting round 1's plan and accepting round 2's."""
    approver = {"general": "chen.jing", "major": "sun.li"}[store.state(case_id).severity]
    complaints.acknowledge(store, rules, case_id)
    submit(store, rules, case_id, "judgement", upheld=True, department="logistics", reason="送错", by="li.na")
    clock.advance(timedelta(hours=1))
    submit(store, rules, case_id, "investigation", cause="分拣错误", responsible="王五", by="li.na")
    for round_, choice in ((1, 1), (2, 1)):
        submit(store, rules, case_id, "proposal", options=["退款", "换货"], by="li.na")
        submit(store, rules, case_id, "approval", choice=choice, by=approver)
        complaints.record_discipline(store, rules, case_id, round_)
        complaints.send_plan_notice(store, rules, case_id, round_)
        clock.advance(timedelta(hours=2))
        if round_ == 1:
            submit(store, rules, case_id, "implementation", accepted=False, feedback="要换货", by="li.na")
        else:
            submit(store, rules, case_id, "implementation", accepted=True, signature="张三", by="li.na")
    submit(store, rules, case_id, "review", summary="ok", improvements=["分拣复核"], by="chen.jing")
    complaints.request_callback(store, rules, case_id)
    return complaints.close(store, rules, case_id, "resolved")


def test_a_full_case_lifecycle_is_recorded_and_read_back(store, rules, frozen_clock):
    case_id = register(store, rules).case_id
    final = run_upheld_case_with_one_rejection(store, rules, case_id)

    state = store.state(case_id)
    assert state == final  # what append returned is what a fresh read folds to
    assert (state.status, state.step, state.outcome, state.round) == ("closed", None, "resolved", 2)
    assert chosen_option(state, 2) == "退款"
    events = store.events(case_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert state.last_seq == len(events)
    assert all(e.config_version == rules.version for e in events)
    step_events = [(e.type, e.actor) for e in events if e.actor != "kefu"]
    assert step_events == [
        (ComplaintEvent.REGISTERED, "intake"),
        (ComplaintEvent.JUDGED, "li.na"), (ComplaintEvent.INVESTIGATED, "li.na"),
        (ComplaintEvent.PLAN_PROPOSED, "li.na"), (ComplaintEvent.PLAN_APPROVED, "chen.jing"),
        (ComplaintEvent.CUSTOMER_RESPONDED, "li.na"),
        (ComplaintEvent.PLAN_PROPOSED, "li.na"), (ComplaintEvent.PLAN_APPROVED, "chen.jing"),
        (ComplaintEvent.CUSTOMER_RESPONDED, "li.na"),
        (ComplaintEvent.REVIEWED, "chen.jing"),
    ]
    [row] = [c for c in store.cases() if c.id == case_id]
    assert (row.status, row.step, row.kind, row.severity) == ("closed", None, "complaint", "general")
    assert row.closed_at == state.closed_at
    assert row.last_seq == len(events)


def test_times_come_back_aware_utc_and_the_same_instant(store, rules, frozen_clock):
    received = datetime(2026, 11, 23, 8, 15, tzinfo=CST)
    case_id = register(store, rules, received_at=received).case_id
    first = store.events(case_id)[0]
    assert first.at.utcoffset() == timedelta(0)
    assert first.at == received
    assert first.at.hour == 0  # 08:15 +08:00 is 00:15 UTC
    assert first.recorded_at == clock.now()
    row = store.cases()[0]
    assert row.opened_at == received and row.opened_at.utcoffset() == timedelta(0)
    for deadline in store.deadlines(case_id):
        assert deadline.due_at.utcoffset() == timedelta(0)
        assert deadline.opened_at == received
    assert store.state(case_id).opened_at == received


def test_a_stale_append_raises_concurrent_change_and_writes_nothing(store, rules, frozen_clock):
    case_id = register(store, rules).case_id
    stale = store.state(case_id)
    note = NewEvent(ComplaintEvent.CALLBACK_REQUESTED, "kefu", clock.now(), {"reason": "a"})
    store.append(stale, [note], rules.version)
    count = len(store.events(case_id))
    other = NewEvent(ComplaintEvent.CALLBACK_REQUESTED, "kefu", clock.now(), {"reason": "b"})
    with pytest.raises(ConcurrentChange):
        store.append(stale, [other], rules.version)
    events = store.events(case_id)
    assert len(events) == count
    assert events[-1].payload["reason"] == "a"
    assert store.cases()[0].last_seq == count


def test_an_event_earlier_than_the_cases_last_is_refused_and_nothing_is_written(store, rules, frozen_clock):
    """Issue 17: a case's time never runs backwards (the demo's clock jumps left an escalation at
    14:17 before a deadline met at 11:37). The refusal names the field and the fix."""
    from kefu.core.refusals import TimeRunsBackwards

    case_id = register(store, rules).case_id
    state = store.state(case_id)
    earlier = NewEvent(ComplaintEvent.CALLBACK_REQUESTED, "kefu", state.last_at - timedelta(minutes=1), {"reason": "a"})
    with pytest.raises(TimeRunsBackwards) as refused:
        store.append(state, [earlier], rules.version)
    assert refused.value.field == "at" and "never runs backwards" in refused.value.problem
    assert "KEFU_NOW" in refused.value.fix
    assert store.state(case_id).last_seq == state.last_seq
    same_time = NewEvent(ComplaintEvent.CALLBACK_REQUESTED, "kefu", state.last_at, {"reason": "b"})
    assert store.append(state, [same_time], rules.version).last_at == state.last_at  # not earlier: fine


def test_a_repeated_step_records_once(store, rules, frozen_clock):
    case_id = register(store, rules).case_id
    complaints.acknowledge(store, rules, case_id)
    count = len(store.events(case_id))
    complaints.acknowledge(store, rules, case_id)
    events = store.events(case_id)
    assert len(events) == count
    assert [e.idem_key for e in events].count("ack") == 1


def test_the_database_refuses_a_second_event_with_the_same_idempotency_key(store, rules, frozen_clock):
    """Even a writer whose state is fresh cannot record a keyed step twice (uq_event_case_idem)."""
    case_id = register(store, rules).case_id
    event = lambda: NewEvent(ComplaintEvent.CALLBACK_REQUESTED, "kefu", clock.now(), {}, idem_key="callback")  # noqa: E731
    store.append(store.state(case_id), [event()], rules.version)
    count = len(store.events(case_id))
    with pytest.raises(ConcurrentChange):
        store.append(store.state(case_id), [event()], rules.version)
    assert len(store.events(case_id)) == count
    assert store.cases()[0].last_seq == count


def test_case_ids_count_up_per_business_day_in_the_department_time_zone(store, rules, frozen_clock):
    """department.yaml: case_id_prefix C, timezone Asia/Shanghai; ids are C-YYYYMMDD-NNNN."""
    assert register(store, rules).case_id == "C-20261123-0001"
    assert register(store, rules).case_id == "C-20261123-0002"
    # 07:00 in Shanghai is still the previous day in UTC: the business day decides.
    early = datetime(2026, 11, 23, 7, 0, tzinfo=CST)
    assert register(store, rules, received_at=early).case_id == "C-20261123-0003"
    clock.set_now(datetime(2026, 11, 24, 0, 30, tzinfo=CST))  # 2026-11-23 16:30 UTC
    assert register(store, rules).case_id == "C-20261124-0001"
    assert register(store, rules).case_id == "C-20261124-0002"


def test_the_deadline_projection_matches_the_reducer(store, rules, frozen_clock):
    case_id = register(store, rules, content="严重损失").case_id
    run_upheld_case_with_one_rejection(store, rules, case_id)
    from_events = reduce(case_id, recorded(store.events(case_id))).deadlines
    rows = store.deadlines(case_id)
    key = lambda d: (d.step, d.round)  # noqa: E731
    assert sorted(((d.step, d.round, d.opened_at, d.due_at, d.met_at, d.policy) for d in rows), key=str) == sorted(
        ((d.step, d.round, d.opened_at, d.due_at, d.met_at, d.policy) for d in from_events), key=str)
    assert {key(d) for d in rows} >= {("judgement", 1), ("proposal", 1), ("proposal", 2), ("resolution", 1)}
    assert all(d.met_at is not None for d in rows)  # a closed case leaves nothing open
    # Every deadline of a major complaint was set by sla.yaml's policy for major complaints.
    assert all(d.policy.startswith("sla.yaml policies.") for d in rows)
    assert all(d.policy == rules.sla_for("complaint", d.step, "major")[1] for d in rows)
    assert all(" major " in d.policy or "major/" in d.policy for d in rows)


def test_cases_can_be_filtered_by_status_and_step(store, rules, frozen_clock):
    waiting = register(store, rules).case_id
    judged = register(store, rules).case_id
    submit(store, rules, judged, "judgement", upheld=True, department="logistics", reason="r", by="li.na")
    closed = register(store, rules).case_id
    submit(store, rules, closed, "judgement", upheld=False, reason="误会", by="li.na")
    complaints.send_not_upheld_reply(store, rules, closed)
    complaints.close(store, rules, closed, "not_upheld")

    ids = lambda rows: {c.id for c in rows}  # noqa: E731
    assert ids(store.cases()) == {waiting, judged, closed}
    assert ids(store.cases(status="open")) == {waiting, judged}
    assert ids(store.cases(status="closed")) == {closed}
    assert ids(store.cases(step=Step.JUDGEMENT)) == {waiting}
    assert ids(store.cases(status="open", step=Step.INVESTIGATION)) == {judged}
    assert ids(store.cases(status="closed", step=Step.JUDGEMENT)) == set()
    assert [c.id for c in store.cases(limit=2)] == [closed, judged]  # newest first


def test_an_unknown_case_is_reported_as_such(store):
    with pytest.raises(UnknownCase) as info:
        store.state("C-20261123-9999")
    assert info.value.case_id == "C-20261123-9999"


def test_a_days_ten_thousandth_case_numbers_on_past_9999(store, rules, frozen_clock):
    """Ids are numbered by value, not as text: ``-10000`` follows ``-9999`` (it sorts below it as text)."""
    import sqlalchemy as sa

    from models.records import Case

    with store.engine.begin() as conn:
        conn.execute(sa.insert(Case.__table__), [dict(id=f"C-20261123-{n}", process="complaint", kind="complaint",
                                                      status="open", customer_name="x", opened_at=clock.now(),
                                                      last_seq=0) for n in ("9999", "10000")])
    assert register(store, rules).case_id == "C-20261123-10001"


def test_many_cases_recorded_at_once_are_numbered_chained_and_sealed_like_one(store, rules, frozen_clock):
    from kefu.core import chain
    from models.case import EventType

    at = clock.now()
    archived = [("20261123", f"客户{n}", [
        NewEvent(ComplaintEvent.ARCHIVED, "li.na", at, {"name": f"客户{n}", "channel": "web", "content": "迟到",
                                                        "severity": "general"}),
        NewEvent(EventType.CLOSED, "li.na", at, {"outcome": "archived"})]) for n in range(3)]
    register(store, rules)
    states = store.create_many("C", archived, rules.version)
    assert [s.case_id for s in states] == ["C-20261123-0002", "C-20261123-0003", "C-20261123-0004"]
    assert {s.status for s in states} == {"closed"}
    verdicts = list(chain.verify(store.engine, [s.case_id for s in states]))
    assert all(v.intact for v in verdicts), [p.text() for v in verdicts for p in v.problems]
