"""P2 Callback guarantee 回访 (kefu.processes.callback.decisions): "一个避免，三个必保" (seed 001 客户服务部工作职责及规范).

Avoid the customer's rest time; call back 100 % of members; record every callback; call back
within three days, and book another time when the customer cannot talk. Three-day deadlines and
a simulated month run on the settable business clock (milliseconds); records on SQLite and
PostgreSQL (the ``store`` fixture).
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from customers import archive
from hypothesis import given, settings
from hypothesis import strategies as st
from people import signed_in

from kefu import processes
from kefu.core import casework, clock
from kefu.core.customer_messages import quiet_time
from kefu.core.refusals import InputRefused
from kefu.core.store import CaseStore
from kefu.escalation import sweep
from kefu.processes.callback import decisions as callbacks
from kefu.processes.callback.rules import ANSWERED
from kefu.processes.complaint import decisions as complaints
from models.callback import CALL, CallAttemptInput, CallbackCustomer, callback_of
from models.case import CaseState
from models.complaint import ContactRegistration

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Zones with half- and quarter-hour offsets, both hemispheres' DST, DST switches at midnight.
ZONES = ["Asia/Shanghai", "America/Los_Angeles", "Europe/London", "America/Sao_Paulo", "Australia/Sydney",
         "Asia/Kolkata", "Pacific/Chatham", "America/St_Johns", "America/Santiago", "Atlantic/Azores",
         "Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"]


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def member(name: str = "张三", zone: str = "Asia/Shanghai", is_member: bool = True) -> CallbackCustomer:
    return CallbackCustomer(name=name, phone="13800000000", timezone=zone, member=is_member)


def service_callback(store: CaseStore, rules, ref: str = "R1", customer: CallbackCustomer | None = None,
                     completed_at: datetime | None = None):
    return callbacks.open_for_service(store, rules, reference=ref, service="空调维修", customer=customer or member(),
                                      completed_at=completed_at or clock.now())


def call(store: CaseStore, rules, case_id: str, outcome: str, by: str = "li.na", **extra):
    return callbacks.record_attempt(store, rules, case_id, CallAttemptInput(outcome=outcome, by=by, **extra))


# -- 一个避免: never in the customer's rest time ----------------------------------------------------

@settings(max_examples=400, deadline=None)
@given(moment=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 20),
                           timezones=st.just(timezone.utc)),
       zone=st.sampled_from(ZONES))
def test_callback_never_proposed_in_quiet_hours(rules, moment, zone):
    """Seed 001 "避免在客户休息时打扰客户": 12:00–14:00, 21:00–09:00 and public holidays, in the
    customer's own zone (callback.yaml quiet_hours), whatever the trigger time and zone."""
    customer_zone = ZoneInfo(zone)
    proposed = callbacks.propose_call_time(rules, moment, customer_zone)
    quiet = callbacks.quiet_time(rules)
    assert proposed >= moment
    assert not quiet.is_quiet(proposed, customer_zone), callbacks.customer_local(proposed, customer_zone)
    t = proposed.astimezone(customer_zone)
    assert not (time_in(t, 12, 14) or t.hour >= 21 or t.hour < 9)
    assert not rules.calendar("cn-office").is_holiday(t.date())
    if zone == "Asia/Shanghai":  # a customer in our zone is called in office hours too
        assert rules.calendar("cn-office").is_working_time(proposed)


def time_in(t: datetime, start_hour: int, end_hour: int) -> bool:
    return start_hour <= t.hour < end_hour


def test_a_proposal_in_quiet_hours_moves_to_when_the_customer_is_awake(rules):
    # 11:00 +08 trigger + 2 h = 13:00, inside 12:00–14:00: the call is proposed at 14:00.
    assert callbacks.propose_call_time(rules, local(2026, 11, 24, 13, 0), SHANGHAI) == local(2026, 11, 24, 14, 0)
    # 22:30 in Los Angeles: the next morning at 09:00 there (01:00 next day in Shanghai is outside
    # office hours, and the overlap with ours is found within search_days).
    la = ZoneInfo("America/Los_Angeles")
    proposed = callbacks.propose_call_time(rules, datetime(2026, 11, 24, 22, 30, tzinfo=la), la)
    assert not callbacks.quiet_time(rules).is_quiet(proposed, la)
    assert rules.calendar("cn-office").is_working_time(proposed)


# -- 三天之内: the three-day deadline ---------------------------------------------------------------

def test_three_day_deadline_runs_across_a_weekend(store, rules, frozen_clock):
    """Seed 001 "必须保证在三天之内回访": calendar days — a Friday repair is called back by Monday."""
    clock.set_now(local(2026, 11, 27, 16, 0))  # Friday
    state = service_callback(store, rules)
    deadline = state.deadline(CALL, 1)
    assert deadline.due_at == local(2026, 11, 30, 16, 0)
    assert deadline.policy.startswith("sla.yaml policies.") and "callback call" in deadline.policy
    # 18:00 Friday is past office hours: the first proposal is Monday 09:00, before the deadline.
    assert callback_of(state).proposed_at == local(2026, 11, 30, 9, 0)


def test_three_day_deadline_across_a_holiday_and_a_booking_into_it_is_refused(store, rules, frozen_clock):
    """National Day 2026 (Oct 1–7, chinesecalendar) is quiet all day: the proposal lands before it,
    a customer's booking inside it is refused with the first allowed time, and a booking after it
    moves the deadline as the customer's choice (set_by customer), not our breach."""
    clock.set_now(local(2026, 9, 30, 10, 0))
    state = service_callback(store, rules)
    assert state.deadline(CALL, 1).due_at == local(2026, 10, 3, 10, 0)
    assert callback_of(state).proposed_at == local(2026, 9, 30, 14, 0)  # 12:00 is the lunch rest
    clock.set_now(local(2026, 9, 30, 14, 5))
    with pytest.raises(InputRefused) as refused:
        call(store, rules, state.case_id, "not_convenient", booked_at=local(2026, 10, 2, 10, 0))
    assert refused.value.field == "booked_at"
    assert "2026-10-08 09:00 (Asia/Shanghai)" in refused.value.fix
    assert len(store.events(state.case_id)) == 2  # nothing recorded
    state = call(store, rules, state.case_id, "not_convenient", booked_at=local(2026, 10, 8, 9, 0))
    deadline = state.deadline(CALL, 1)
    assert deadline.due_at == local(2026, 10, 8, 9, 0)
    moved = [e for e in store.events(state.case_id) if e.type == "deadline.rescheduled"][-1].payload
    assert moved["set_by"] == "customer" and datetime.fromisoformat(moved["booked_at"]) == local(2026, 10, 8, 9, 0)
    assert "customer" in moved["reason"]
    # The customer's time stays when the deadlines are recomputed under the rules in force.
    assert casework.recompute_deadlines(store, rules, state.case_id) == []
    assert store.state(state.case_id).deadline(CALL, 1).due_at == local(2026, 10, 8, 9, 0)
    # The ladder follows the customer's time: no breach before it.
    clock.set_now(local(2026, 10, 7, 23, 0))
    fired = sweep.escalate_due(store.engine, rules, dashboard_url="http://x", commands=processes.command_for).fired
    assert [(f["rung"], f["notify"]) for f in fired if f["case_id"] == state.case_id] == [(0, "owner")]


def test_a_missed_callback_escalates_through_the_ladder(store, rules, frozen_clock):
    """PROCESSES.md P2 + the deadlines issue: three days without a call reach the supervisor."""
    state = service_callback(store, rules)
    clock.advance(timedelta(days=3, minutes=1))
    report = sweep.escalate_due(store.engine, rules, dashboard_url="http://x", commands=processes.command_for)
    fired = [(f["case_id"], f["rung"], f["notify"]) for f in report.fired]
    assert (state.case_id, 0, "owner") in fired and (state.case_id, 1, "supervisor") in fired
    assert [e.payload["rung"] for e in store.events(state.case_id) if e.type == "deadline.escalated"] == [0, 1]


# -- the call ----------------------------------------------------------------------------------

def test_not_convenient_books_the_time_the_customer_asked_for(store, rules, frozen_clock):
    """Seed 001 "最好与客户在电话中再约一个方便的时间": the next attempt is at the agreed time."""
    state = service_callback(store, rules)
    booked = local(2026, 11, 24, 15, 30)
    state = call(store, rules, state.case_id, "not_convenient", booked_at=booked)
    callback = callback_of(state)
    assert (state.status, callback.proposed_at, callback.proposed_by, callback.next_attempt) == (
        "open", booked, "customer", 2)
    assert state.deadline(CALL, 1).due_at == local(2026, 11, 26, 9, 30)  # inside the three days: unchanged
    with pytest.raises(InputRefused) as refused:
        call(store, rules, state.case_id, "not_convenient", booked_at=local(2026, 11, 24, 22, 0))
    assert refused.value.field == "booked_at" and "quiet hours" in refused.value.problem
    clock.set_now(booked)
    state = call(store, rules, state.case_id, "satisfied")
    assert (state.status, state.outcome) == ("closed", "satisfied")
    assert state.deadline(CALL, 1).met_at == booked


A_CALLBACK = CaseState(case_id="CB-20261123-0001", process="callback")


def test_average_and_unsatisfied_answers_need_what_to_improve(rules):
    """The call form's shape, as the CLI and the dashboard both check it (kefu.processes.parse_input)."""
    for outcome in ("average", "unsatisfied"):
        with pytest.raises(InputRefused) as refused:
            processes.parse_input(A_CALLBACK, CALL, {"outcome": outcome, "by": "li.na"})
        assert refused.value.field == "note" and "--note" in refused.value.fix
    with pytest.raises(InputRefused) as refused:
        processes.parse_input(A_CALLBACK, CALL, {"outcome": "not_convenient", "by": "li.na"})
    assert refused.value.field == "booked_at"


def test_unsatisfied_opens_a_complaint_linked_to_the_original_case(store, rules, frozen_clock):
    """PROCESSES.md P2 (our choice): an unsatisfied answer is a new problem — a complaint that
    follows the original case, the link shown on both."""
    complaint = complaints.register_contact(store, rules, ContactRegistration(
        name="李四", phone="13900000000", channel="phone", content="安装师傅迟到", kind="complaint", member=True))
    complaints.request_callback(store, rules, complaint.case_id)
    complaints.close(store, rules, complaint.case_id, "resolved")
    state = callbacks.open_for_complaint(store, rules, complaint.case_id)
    assert callbacks.open_for_complaint(store, rules, complaint.case_id).case_id == state.case_id  # one per complaint
    assert callback_of(state).source_case == complaint.case_id and callback_of(state).max_attempts == 3
    state = call(store, rules, state.case_id, "unsatisfied", note="师傅又迟到了，态度也不好")
    follow_up = callbacks.open_follow_up(store, rules, state.case_id)
    assert callbacks.open_follow_up(store, rules, state.case_id) == follow_up  # once
    new = store.state(follow_up)
    assert (new.process, new.kind, new.intake["follows"]) == ("complaint", "complaint", complaint.case_id)
    assert "师傅又迟到了" in new.intake["content"]
    assert store.state(complaint.case_id).parts["follow_ups"] == [follow_up]
    assert callback_of(store.state(state.case_id)).follow_up == follow_up


def test_a_satisfied_answer_opens_no_complaint(store, rules, frozen_clock):
    state = call(store, rules, service_callback(store, rules).case_id, "satisfied")
    assert callbacks.open_follow_up(store, rules, state.case_id) is None


def test_a_member_is_unreachable_only_after_the_attempts_in_config(store, rules, frozen_clock):
    """Seed 001 "必须保证会员客户的100%的回访": a member's callback never just disappears."""
    state = service_callback(store, rules)
    quiet = callbacks.quiet_time(rules)
    for attempt in (1, 2):
        state = call(store, rules, state.case_id, "unreachable")
        callback = callback_of(state)
        assert state.status == "open" and callback.next_attempt == attempt + 1
        assert callback.proposed_by == "kefu" and not quiet.is_quiet(callback.proposed_at, SHANGHAI)
        assert callback.proposed_at >= clock.now() + timedelta(hours=4)
        clock.set_now(callback.proposed_at)
    state = call(store, rules, state.case_id, "unreachable")
    assert (state.status, state.outcome, len(callback_of(state).attempts)) == ("closed", "unreachable", 3)
    other = service_callback(store, rules, "R2", member("王五", is_member=False))
    other = call(store, rules, call(store, rules, other.case_id, "unreachable").case_id, "unreachable")
    assert (other.status, other.outcome) == ("closed", "unreachable")  # attempts.other = 2


def test_member_coverage_is_100_percent_in_a_simulated_month(store, rules, frozen_clock):
    """A month of callbacks on the settable clock: members who never answer, customers who book
    other times. Every member's callback ends answered, or unreachable after exactly N attempts."""
    rng = random.Random(7)
    start = clock.now()
    quiet = quiet_time(rules)  # the agents call only when the customer is awake (seed 001 一个避免)
    never_answers = {"会员3", "会员7", "会员11"}
    opened = []
    for day in range(30):
        clock.set_now(start + timedelta(days=day))
        for n in range(day % 2, 2):
            name = f"会员{len(opened)}"
            opened.append(service_callback(store, rules, f"S{len(opened)}", member(name)).case_id)
        for hour in range(0, 24, 3):
            clock.set_now(start + timedelta(days=day, hours=hour))
            for state in callbacks.due_callbacks(store):
                callback = callback_of(state)
                if callback.proposed_at > clock.now() or quiet.is_quiet(clock.now(), SHANGHAI):
                    continue
                if callback.customer.name in never_answers or rng.random() < 0.2:
                    call(store, rules, state.case_id, "unreachable")
                elif rng.random() < 0.2 and callback.proposed_by != "customer":
                    later = callbacks.propose_call_time(rules, clock.now() + timedelta(days=1), SHANGHAI)
                    call(store, rules, state.case_id, "not_convenient", booked_at=later)
                else:
                    call(store, rules, state.case_id, rng.choice(["satisfied", "satisfied", "average"]),
                         note="送货可以再快一点")
    clock.set_now(start + timedelta(days=40))
    for state in callbacks.due_callbacks(store):  # the month's last ones, called until they end
        while state.status == "open":
            clock.set_now(quiet.next_waking_moment(max(clock.now(), callback_of(state).proposed_at), SHANGHAI))
            state = call(store, rules, state.case_id, "unreachable")
    ended = [store.state(case_id) for case_id in opened]
    assert len(ended) == 45
    for state in ended:
        attempts = callback_of(state).attempts
        assert state.status == "closed"
        # Unreachable only after the member's 3 attempts (a "not convenient" one books one more).
        assert state.outcome in ANSWERED or (state.outcome == "unreachable" and len(attempts) >= 3), state.case_id
        assert all(a.outcome in ("unreachable", "not_convenient") for a in attempts[:-1])
    assert {s.outcome for s in ended if callback_of(s).customer.name in never_answers} == {"unreachable"}


# -- who gets a callback, and who calls ----------------------------------------------------------

def test_agents_are_balanced_by_open_callbacks_and_repairs_go_to_repair_skills(store, rules, frozen_clock):
    """PROCESSES.md P5 "按照负责客户数量均衡"; callback.yaml trigger_skills: repairs need the skill."""
    owners = [service_callback(store, rules, f"R{i}").owner for i in range(4)]
    assert owners == ["zhang.wei", "liu.yang", "zhang.wei", "liu.yang"]
    complaint_owners = []
    for i in range(4):
        reg = ContactRegistration(name=f"客户{i}", phone="13900000000", channel="phone", content="c", kind="complaint")
        case_id = complaints.register_contact(store, rules, reg).case_id
        complaints.request_callback(store, rules, case_id)
        complaint_owners.append(callbacks.open_for_complaint(store, rules, case_id).owner)
    assert complaint_owners == ["li.na", "wang.fang", "li.na", "wang.fang"]


def test_key_customers_every_two_months_and_occasions_once_each(store, rules, frozen_clock):
    """Seed 002 §3 6.2 "每两个月一次" for key customers of the archive (P5, not config); occasions
    from callback.yaml (seed 001)."""
    ids = {name: s.case_id for name, s in archive(store, rules).items()}
    first = callbacks.select_due_customers(store, rules, date(2026, 11, 23))
    assert sorted(callback_of(s).customer.id for s in first) == sorted([ids["华东建材有限公司 王经理"], ids["苏州装饰 刘总"]])
    again = callbacks.select_due_customers(store, rules, date(2026, 12, 16))  # same period + the anniversary
    assert {s.case_id for s in again} >= {s.case_id for s in first}
    occasion = [s for s in again if s.kind == "occasion"]
    assert sorted(callback_of(s).customer.id for s in occasion) == sorted(
        ids[n] for n in ("华东建材有限公司 王经理", "陈美玲", "赵强"))  # members
    clock.set_now(local(2027, 1, 2, 10, 0))
    later = callbacks.select_due_customers(store, rules, date(2027, 1, 2))
    assert not {s.case_id for s in later} & {s.case_id for s in first}
    assert callbacks.key_customer_period(rules, date(2027, 1, 2)) == "2027-P1"


def test_we_never_phone_a_customer_in_their_quiet_hours_unless_they_called_us(store, rules, frozen_clock):
    """Seed 001 一个避免 "避免在客户休息时打扰客户": a call recorded at 22:30 the customer's time is
    refused, naming the first allowed time; the customer's own call then is recorded, marked as
    theirs; an SMS attempt is a message (the outbox holds it), not a call."""
    state = service_callback(store, rules, "Q1", member("夜猫子"))
    clock.set_now(local(2026, 11, 24, 22, 30))
    with pytest.raises(InputRefused) as refused:
        call(store, rules, state.case_id, "unreachable")
    assert refused.value.field == "customer_called" and "2026-11-25 09:00 (Asia/Shanghai)" in refused.value.fix
    theirs = call(store, rules, state.case_id, "satisfied", customer_called=True)
    assert theirs.status == "closed" and callback_of(theirs).attempts[-1].outcome == "satisfied"
    other = service_callback(store, rules, "Q2", member("短信客户"))
    assert call(store, rules, other.case_id, "unreachable", channel="sms").status == "open"


def test_the_archive_customers_own_agent_calls_them_unless_away(store, rules, frozen_clock):
    """PROCESSES.md P5: a customer's owner serves them — the callback goes to the archive's owner;
    an owner away that day (kefu staff away) is never given a new callback."""
    from kefu.core import availability
    from kefu.processes.customer import decisions as customers
    from models.customer import AssignmentInput

    ids = {name: s.case_id for name, s in archive(store, rules).items()}
    with signed_in("chen.jing"):
        customers.record_assignment(store, rules, ids["华东建材有限公司 王经理"], AssignmentInput(by="chen.jing", owner="wang.fang"))
        customers.record_assignment(store, rules, ids["苏州装饰 刘总"], AssignmentInput(by="chen.jing", owner="li.na"))
    availability.record_absence(store, rules, "li.na", date(2026, 11, 23), date(2026, 11, 23), "病假 sick", "chen.jing")
    picked = {callback_of(s).customer.id: s.owner for s in callbacks.select_due_customers(store, rules, date(2026, 11, 23))}
    assert picked[ids["华东建材有限公司 王经理"]] == "wang.fang"
    assert picked[ids["苏州装饰 刘总"]] not in ("li.na", None)


def test_the_call_form_shows_the_time_in_the_customers_zone_and_the_script(store, rules, frozen_clock):
    """The dashboard's call form (flows/waiting.py FORM_DESCRIPTIONS): when to call in the customer's
    own time, by when, and the script 回访用语 (seed 001)."""
    state = service_callback(store, rules, customer=member("Emily", zone="America/Los_Angeles"))
    text = callbacks.form_description(rules, state, 1)
    assert callbacks.customer_local(callback_of(state).proposed_at, ZoneInfo("America/Los_Angeles")) in text
    assert "attempt 1 of 3" in text and "回访用语" in text and "Emily" in text


def test_the_daily_selection_runs_in_the_departments_zone_outside_the_customers_quiet_hours(rules, config_copy):
    """Seed 001 客户服务部工作职责及规范 二、4 回访规范 "避免在客户休息时打扰客户": the selection of key
    customers and occasions was a UTC cron at 08:30 Shanghai, inside 21:00–09:00; its time is
    callback.yaml selection_at in the department's zone, and a time in the quiet hours is refused."""
    from kefu.core.config import ConfigError
    from kefu.processes import load_rules
    from kefu.processes.callback.rules import selection_schedule

    assert selection_schedule(rules) == ("30 9 * * *", "Asia/Shanghai")
    path = config_copy / "callback.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('selection_at: "09:30"', 'selection_at: "08:30"'),
                    encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_rules(config_copy)
    assert refused.value.key == "selection_at" and "quiet hours" in refused.value.problem
