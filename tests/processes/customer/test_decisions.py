"""P5 Customer archive 客户资料管理 (kefu.processes.customer.decisions; seed 001 客户服务部工作职责及规范
一、客户资料管理 1–3): collected, graded, assigned balanced by count and skill, contacted within a week.
Records on SQLite and PostgreSQL (the ``store`` fixture)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from customers import archive, register
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from people import signed_in

from kefu.core import availability, clock
from kefu.core.refusals import InputRefused
from kefu.core.store import CaseStore
from kefu.db import make_engine
from kefu.escalation import sweep
from kefu.processes import load_rules
from kefu.processes.customer import decisions as customers
from models.customer import ASSIGNMENT, FIRST_CONTACT, AssignmentInput, FirstContactInput, customer_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 23)


def assign(store, rules, case_id, owner, by="chen.jing"):
    with signed_in(by):
        return customers.record_assignment(store, rules, case_id, AssignmentInput(by=by, owner=owner))


def contact(store, rules, case_id, by, at=None, channel="phone"):
    with signed_in(by):
        return customers.record_first_contact(store, rules, case_id, FirstContactInput(
            by=by, channel=channel, note="自我介绍 introduced myself", at=at))


def test_a_customer_is_graded_by_the_classification_standard(store, rules, frozen_clock):
    """customer.yaml grades (《客户分类管理标准》, our criteria): key → A, agreement → B, member → C,
    everybody else D; the first grade that fits wins."""
    grades = {name: customer_of(s).grade for name, s in archive(store, rules).items()}
    assert grades == {"华东建材有限公司 王经理": "A", "苏州装饰 刘总": "A", "陈美玲": "C", "赵强": "C"}
    assert customer_of(register(store, rules, name="协议", phone="13900005555", agreement=True)).grade == "B"
    assert customer_of(register(store, rules, name="散客", phone="13900006666")).grade == "D"


def test_a_new_customer_waits_for_the_assignment_under_a_deadline(store, rules, frozen_clock):
    """Seed 001 资料整理 "要求每日及时更新": the supervisor's assignment is due (sla.yaml customer assignment)."""
    state = register(store, rules, name="王五", phone="13900005555")
    assert state.step == ASSIGNMENT and state.owner is None
    deadline = state.deadline(ASSIGNMENT, 1)
    assert deadline is not None and deadline.due_at > clock.now() and "customer assignment" in deadline.policy


def test_one_phone_is_one_customer(store, rules, frozen_clock):
    """A second record with a customer's phone is refused, naming the record to update."""
    first = register(store, rules, name="王五", phone="139 0000 5555")
    with pytest.raises(InputRefused) as refused:
        register(store, rules, name="王五（新）", phone="13900005555")
    assert refused.value.field == "phone" and first.case_id in refused.value.problem


def test_the_zone_comes_from_the_phone_number_when_not_given(store, rules, frozen_clock):
    """A US number's customer is on a US zone (phonenumbers), a Chinese one on Shanghai's."""
    assert customer_of(register(store, rules, name="Amy", phone="+1 415 555 0100")).profile.timezone.startswith("America/")
    assert customer_of(register(store, rules, name="李", phone="13900005555")).profile.timezone == "Asia/Shanghai"


def test_the_proposal_balances_customers_per_agent_among_those_with_the_skill(store, rules, frozen_clock):
    """Seed 001 资料处理 "按照负责客户数量均衡、兼顾业务能力": after the day's assignment the number
    each agent owns differs by at most one among the agents who may own the grade (key customers
    only to agents with customer.yaml's key_accounts skill)."""
    for i in range(5):
        register(store, rules, name=f"重点{i}", phone=f"1380000100{i}", key=True)
    for i in range(9):
        register(store, rules, name=f"一般{i}", phone=f"1380000200{i}")
    proposal = customers.propose(store, rules, TODAY)
    skilled = {a for a, skills in rules.customer.skills.items() if "key_accounts" in skills}
    assert {p.owner for p in proposal if p.grade == "A"} <= skilled
    with signed_in("chen.jing"):
        customers.confirm_proposal(store, rules, "chen.jing")
    load = customers.owned_counts(store)
    agents = [s.id for s in rules.department.staff if s.role == "agent"]
    assert max(load[a] for a in agents) - min(load.get(a, 0) for a in agents) <= 1
    key_load = [sum(1 for s in customers.archive(store, a) if customer_of(s).grade == "A") for a in skilled]
    assert max(key_load) - min(key_load) <= 1


@pytest.fixture
def sqlite_store_factory(tmp_path, rules, frozen_clock):
    """A fresh SQLite store per call (one per generated example)."""
    engines = []

    def make():
        engines.append(make_engine(f"sqlite:///{tmp_path / f'kefu-{len(engines)}.db'}"))
        return CaseStore(engines[-1]), rules

    yield make
    for engine in engines:
        engine.dispose()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=st.integers(0, 7), others=st.integers(0, 12))
def test_the_balance_holds_for_any_mix_of_key_and_other_customers(sqlite_store_factory, keys, others):
    """Seed 001 资料处理 "按照负责客户数量均衡、兼顾业务能力": whatever the day brings, the proposal
    leaves max − min ≤ 1 among the agents with the skill for the key customers, and among all
    agents once there are enough other customers to even out the key ones."""
    store, rules = sqlite_store_factory()
    clock.set_now(datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI))
    for i in range(keys):
        register(store, rules, name=f"K{i}", phone=f"1380000{i:04d}", key=True)
    for i in range(others):
        register(store, rules, name=f"O{i}", phone=f"1370000{i:04d}")
    proposal = customers.propose(store, rules, TODAY)
    skilled = [a for a, skills in rules.customer.skills.items() if "key_accounts" in skills]
    key_counts = [sum(1 for p in proposal if p.owner == a and p.grade == "A") for a in skilled]
    assert max(key_counts) - min(key_counts) <= 1
    agents = [s.id for s in rules.department.staff if s.role == "agent"]
    counts = [sum(1 for p in proposal if p.owner == a) for a in agents]
    # Key customers alone load the skilled agents; once the other customers can even that out
    # (the others bring each unskilled agent up to the skilled agents' count), all are balanced.
    if others >= (len(agents) - len(skilled)) * -(-keys // len(skilled)):
        assert max(counts) - min(counts) <= 1


def test_key_customers_are_proposed_first(store, rules, frozen_clock):
    """PROCESSES.md P5 "大客户应重点对待": the key grade leads the proposal, whatever the order they came in."""
    register(store, rules, name="一般", phone="13800001000")
    register(store, rules, name="会员", phone="13800001001", member=True)
    register(store, rules, name="重点", phone="13800001002", key=True)
    assert [p.grade for p in customers.propose(store, rules, TODAY)] == ["A", "C", "D"]


def test_nobody_away_or_inactive_is_proposed_or_accepted(store, rules, frozen_clock, config_copy):
    """PROCESSES.md P5: never assign a customer to an agent on leave (kefu staff away) or inactive."""
    availability.record_absence(store, rules, "li.na", TODAY, TODAY + timedelta(days=2), "年假 annual leave", "chen.jing")
    key = register(store, rules, name="重点", phone="13800001002", key=True)
    proposal = customers.propose(store, rules, TODAY)
    assert [p.owner for p in proposal] == ["wang.fang"]
    with pytest.raises(InputRefused) as refused:
        assign(store, rules, key.case_id, "li.na")
    assert refused.value.field == "owner" and "away today" in refused.value.problem
    department = config_copy / "department.yaml"
    department.write_text(department.read_text(encoding="utf-8").replace(
        "department: service}", "department: service, active: false}", 1), encoding="utf-8")  # li.na, the first
    department.write_text(department.read_text(encoding="utf-8").replace(
        "email: wang.fang@kefu.example, department: service}",
        "email: wang.fang@kefu.example, department: service, active: false}"), encoding="utf-8")
    without = load_rules(config_copy)
    assert [p.owner for p in customers.propose(store, without, TODAY)] == [None]
    assert "no agent available today with skill key_accounts" in customers.propose(store, without, TODAY)[0].why


def test_a_key_customer_is_refused_to_an_agent_without_the_skill(store, rules, frozen_clock):
    """Seed 001 "兼顾业务能力": the owner of a key customer has customer.yaml's skill for it."""
    key = register(store, rules, name="重点", phone="13800001002", key=True)
    with pytest.raises(InputRefused) as refused:
        assign(store, rules, key.case_id, "zhang.wei")
    assert refused.value.field == "owner" and "key_accounts" in refused.value.problem


def test_only_the_roles_that_assign_may_assign(store, rules, frozen_clock):
    """customer.yaml assigned_by: the supervisor (客服主管) assigns, not an agent."""
    state = register(store, rules, name="王五", phone="13900005555")
    with pytest.raises(InputRefused) as refused:
        assign(store, rules, state.case_id, "li.na", by="wang.fang")
    assert refused.value.field == "by"


def test_the_owner_makes_first_contact_within_a_week(store, rules, frozen_clock):
    """Seed 001 资料处理 "应在一周内与客户进行沟通，并做详细备案": the assignment opens a seven-day
    deadline for the owner; only the owner records the contact; it closes the onboarding."""
    state = assign(store, rules, register(store, rules, name="王五", phone="13900005555").case_id, "zhang.wei")
    deadline = state.deadline(FIRST_CONTACT, 1)
    assert state.step == FIRST_CONTACT and deadline.due_at - deadline.opened_at == timedelta(days=7)
    assert state.deadline(ASSIGNMENT, 1).met_at is not None
    with pytest.raises(InputRefused) as refused:
        contact(store, rules, state.case_id, "li.na")
    assert refused.value.field == "by"
    done = contact(store, rules, state.case_id, "zhang.wei")
    assert done.status == "closed" and done.outcome == "contacted" and done.deadline(FIRST_CONTACT, 1).met_at
    assert contact(store, rules, state.case_id, "zhang.wei").last_seq == done.last_seq  # recorded once


def test_a_first_call_in_the_customers_quiet_hours_is_refused(store, rules, frozen_clock):
    """Seed 001 一个避免 "避免在客户休息时打扰客户": a call recorded at 22:00 the customer's time is
    refused with the first allowed time; an e-mail then is fine."""
    state = assign(store, rules, register(store, rules, name="王五", phone="13900005555").case_id, "zhang.wei")
    clock.set_now(datetime(2026, 11, 24, 23, 0, tzinfo=SHANGHAI))
    with pytest.raises(InputRefused) as refused:
        contact(store, rules, state.case_id, "zhang.wei", at=datetime(2026, 11, 24, 22, 0, tzinfo=SHANGHAI))
    assert refused.value.field == "at" and "2026-11-25 09:00" in refused.value.fix
    assert contact(store, rules, state.case_id, "zhang.wei", channel="email",
                   at=datetime(2026, 11, 24, 22, 0, tzinfo=SHANGHAI)).status == "closed"


def test_a_missed_first_contact_climbs_the_ladder(store, rules, frozen_clock):
    """The one-week first contact is a deadline like any other: missed, the sweep escalates it
    (escalation.yaml standard ladder: the owner reminded, then the supervisor)."""
    state = assign(store, rules, register(store, rules, name="王五", phone="13900005555").case_id, "zhang.wei")
    clock.set_now(clock.now() + timedelta(days=7, minutes=1))
    fired = sweep.escalate_due(store.engine, rules, dashboard_url="http://127.0.0.1:1", commands=lambda p, s: None)
    rungs = [f for f in fired.fired if f["case_id"] == state.case_id]
    assert [f["notify"] for f in rungs][:2] == ["owner", "supervisor"]


def test_every_change_is_an_event_with_who_and_when_and_the_grade_follows(store, rules, frozen_clock):
    """Seed 001 客户部岗位职责 1 "及时修改有变更的客户信息（如地址，联系人，联系方式等）": each change
    keeps the old and new value, who and when; becoming a key customer re-grades the record."""
    state = register(store, rules, name="王五", phone="13900005555", address="旧地址")
    clock.set_now(clock.now() + timedelta(hours=1))
    with signed_in("wang.fang"):
        changed = customers.update_customer(store, rules, state.case_id, {"address": "新地址", "key": True}, "wang.fang",
                                            "客户搬迁 moved")
    customer = customer_of(changed)
    assert customer.profile.address == "新地址" and customer.grade == "A"
    assert customer.changes[-1].fields == {"address": {"from": "旧地址", "to": "新地址"}, "key": {"from": False, "to": True}}
    assert customer.changes[-1].by == "wang.fang" and customer.changes[-1].at == clock.now()
    with pytest.raises(InputRefused):
        customers.update_customer(store, rules, state.case_id, {"address": "新地址"}, "wang.fang")
    with pytest.raises(InputRefused) as refused:
        customers.update_customer(store, rules, state.case_id, {"phone": "not-a-phone"}, "wang.fang")
    assert refused.value.field == "phone"


def test_the_history_links_the_customers_other_cases(store, rules, frozen_clock):
    """The profile's service history: the complaints (and orders, callbacks) with their phone."""
    from kefu.processes.complaint import decisions as complaints
    from models.complaint import ContactRegistration

    state = register(store, rules, name="王五", phone="13900005555")
    with signed_in("li.na"):
        complaint = complaints.register_contact(store, rules, ContactRegistration(
            name="王五", phone="139-0000-5555", channel="phone", content="送货晚了", kind="complaint", by="li.na"))
        complaints.register_contact(store, rules, ContactRegistration(
            name="别人", phone="13900005556", channel="phone", content="x", kind="complaint", by="li.na"))
    assert [c.id for c in customers.history(store, state)] == [complaint.case_id]


def test_the_monthly_reminder_names_each_owners_stale_customers_once(store, rules, frozen_clock):
    """Seed 001 资料整理 "要求每日及时更新，避免遗漏": once a month each owner hears which of their
    records nobody touched for refresh.stale_after_days; a second run that month sends nothing."""
    stale = assign(store, rules, register(store, rules, name="王五", phone="13900005555").case_id, "zhang.wei")
    clock.set_now(clock.now() + timedelta(days=40))
    fresh = assign(store, rules, register(store, rules, name="赵六", phone="13900006666").case_id, "zhang.wei")
    sent = customers.send_refresh_reminders(store, rules)
    assert sent == {"zhang.wei": [stale.case_id]} and fresh.case_id not in sent["zhang.wei"]
    assert customers.send_refresh_reminders(store, rules) == {}


def test_the_assignment_form_shows_the_days_proposal_and_offers_only_assigners(store, rules, frozen_clock):
    """The dashboard's assignment form (typed, with the proposal table): the owner picker lists the
    active agents, `by` only the roles of customer.yaml assigned_by."""
    from kefu import processes

    state = register(store, rules, name="重点", phone="13800001002", key=True)
    register(store, rules, name="一般", phone="13800001003")
    text = customers.form_description(rules, store, state, ASSIGNMENT)
    assert "今日分配建议" in text and "| 重点 | 重点客户 key customer | li.na |" in text.replace(f"| {state.case_id} ", "")
    form = processes.form(rules, state, ASSIGNMENT)
    assert {s.split()[0] for s in form.choices["by"].values()} == {"chen.jing", "zhao.lei", "sun.li", "zhou.qiang"}
    assert set(form.choices["owner"]) == {"li.na", "wang.fang", "zhang.wei", "liu.yang"}


def test_an_absence_is_recorded_by_a_supervisor_and_never_overlaps(store, rules, frozen_clock):
    availability.record_absence(store, rules, "li.na", TODAY, TODAY + timedelta(days=1), "年假", "chen.jing")
    with pytest.raises(InputRefused) as overlapping:
        availability.record_absence(store, rules, "li.na", TODAY + timedelta(days=1), TODAY + timedelta(days=3),
                                    "培训", "chen.jing")
    assert overlapping.value.field == "from"
    with pytest.raises(InputRefused) as by_agent:
        availability.record_absence(store, rules, "zhang.wei", TODAY, TODAY, "病假", "wang.fang")
    assert by_agent.value.field == "by"
    assert "li.na" not in availability.available_agents(store, rules, TODAY + timedelta(days=1))
    assert "li.na" in availability.available_agents(store, rules, TODAY + timedelta(days=2))
