"""Step deadlines on the business calendar, their escalation rungs, the customer's clock,
recomputation after a config change, the intake alert and owner assignment (kefu.core.deadlines,
kefu.core.casework, kefu.processes.complaint.decisions), on SQLite and PostgreSQL.

Sources: issue "Deadlines that cannot be missed quietly" (working hours, public holidays
incl. China's adjusted working days 调休, a ladder at 50/100/150/200 %, a stopped clock while
the customer is waited on, recompute after a config change); PROCESSES.md P1 "(our choice)
per-severity SLA" (config/sla.yaml: general complaints judged within 24 working hours, major
within 2 hours); config/calendar.yaml cn-office: Mon-Fri 09:00-12:00 + 13:30-18:00
(7.5 working hours a day), Asia/Shanghai, statutory holidays from chinesecalendar; seed 002
§3 "重大问题要及时报告" (major complaints reported upward at once); PROCESSES.md P5
"按照负责客户数量均衡" (balance the number of customers per agent).

Expected times are worked out by hand in the comments, never computed by the code under test.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from audit_cases import complaint_form
from sqlmodel import Session, select

from kefu.core import casework, clock
from kefu.core.refusals import InputRefused
from kefu.processes import load_rules
from kefu.processes.complaint import decisions as complaints
from models.case import EventType
from models.complaint import ContactRegistration
from models.outbox import OutboxMessage

CST = timezone(timedelta(hours=8))
CONFIG = Path(__file__).resolve().parents[2] / "config"


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


def register(store, rules, at: datetime, content: str = "快递送错了", **extra):
    """Register a contact at business time ``at`` (the clock is set there and stays)."""
    clock.set_now(at)
    reg = ContactRegistration(name="张三", phone="13812345678", channel="phone", content=content, **extra)
    return complaints.register_contact(store, rules, reg)


def judgement(state):
    return next(d for d in state.deadlines if d.step == "judgement")


def row(store, case_id, step="judgement", round_=1):
    return next(d for d in store.deadlines(case_id) if (d.step, d.round) == (step, round_))


def rung_times(deadline) -> list[datetime | None]:
    return [None if r["at"] is None else datetime.fromisoformat(r["at"]) for r in deadline.rungs]


# -- the judgement deadline on the business calendar ---------------------------------------------

@pytest.mark.parametrize("received, due", [
    # Weekend. Fri 2026-11-20 16:00: Fri 2 h; Sat/Sun closed; Mon 7.5 (9.5); Tue 7.5 (17);
    # Wed 09:00-12:00 (20), 13:30-17:30 (24).
    pytest.param(cst(2026, 11, 20, 16, 0), cst(2026, 11, 25, 17, 30), id="weekend"),
    # Chinese public holiday, 2025 National Day: Oct 1-8 off. Tue 09-30 16:00: 2 h; Oct 1-8
    # closed; Thu 10-09 7.5 (9.5); Fri 10-10 7.5 (17); Sat 10-11 is a 调休 working day, 7 h
    # more -> 17:30 on that Saturday.
    pytest.param(cst(2025, 9, 30, 16, 0), cst(2025, 10, 11, 17, 30), id="national-day-2025"),
    # Adjusted working Sunday before National Day: Fri 09-26 16:00: 2 h; Sat 09-27 closed;
    # Sun 09-28 worked (调休) 7.5 (9.5); Mon 09-29 7.5 (17); Tue 09-30 -> 17:30.
    pytest.param(cst(2025, 9, 26, 16, 0), cst(2025, 9, 30, 17, 30), id="adjusted-sunday-2025-09-28"),
    # 2026 Spring Festival Feb 15-23 off, Sat 02-14 worked. Fri 02-13 16:00: 2 h; Sat 02-14
    # 7.5 (9.5); Feb 15-23 closed; Tue 02-24 7.5 (17); Wed 02-25 -> 17:30.
    pytest.param(cst(2026, 2, 13, 16, 0), cst(2026, 2, 25, 17, 30), id="spring-festival-2026"),
    # Adjusted working Saturday after the Spring Festival: Thu 02-26 16:00: 2 h; Fri 02-27
    # 7.5 (9.5); Sat 02-28 worked 7.5 (17); Sun 03-01 closed; Mon 03-02 -> 17:30
    # (without the 调休 Saturday it would be Tue 03-03 17:30).
    pytest.param(cst(2026, 2, 26, 16, 0), cst(2026, 3, 2, 17, 30), id="adjusted-saturday-2026-02-28"),
])
def test_a_general_judgement_is_due_after_24_working_hours_on_the_business_calendar(
        store, rules, frozen_clock, received, due):
    """sla.yaml policies.10: complaint judgement any 24 working hours (PROCESSES.md P1 our
    choice); calendar.yaml cn-office with chinesecalendar holidays and 调休 working days."""
    state = register(store, rules, received)
    deadline = judgement(state)
    assert deadline.opened_at == received
    assert deadline.due_at == due
    assert deadline.policy == "sla.yaml policies.10: complaint judgement any 24 working hours"
    assert row(store, state.case_id).due_at == due


def test_a_major_judgement_runs_on_the_clock_through_a_holiday(store, rules, frozen_clock):
    """sla.yaml policies.1: major judgement within 2 hours, nights, weekends and holidays included."""
    state = register(store, rules, cst(2025, 10, 1, 23, 15), severity="major")
    assert judgement(state).due_at == cst(2025, 10, 2, 1, 15)


# -- the escalation ladder -----------------------------------------------------------------------

def test_general_rungs_fire_at_50_100_150_200_percent_of_the_working_time(store, rules, frozen_clock):
    """escalation.yaml standard ladder: 50 % owner reminder, 100 % supervisor, 150 % manager,
    200 % director (PROCESSES.md P1: "every breach escalates up the ladder")."""
    state = register(store, rules, cst(2026, 11, 23, 9, 0))  # Monday, at opening
    deadline = judgement(state)
    assert deadline.ladder == "standard"
    assert [(r["rung"], r["share"], r["notify"], r["kind"]) for r in deadline.rungs] == [
        (0, 0.5, "owner", "reminder"), (1, 1.0, "supervisor", "breach"),
        (2, 1.5, "manager", "breach"), (3, 2.0, "director", "breach")]
    assert rung_times(deadline) == [
        cst(2026, 11, 24, 15, 0),   # 12 h: Mon 7.5; Tue 09-12 (10.5), 13:30-15:00
        cst(2026, 11, 26, 10, 30),  # 24 h: Mon-Wed 22.5; Thu 09:00-10:30
        cst(2026, 11, 27, 16, 30),  # 36 h: Thu 30; Fri 09-12 (33), 13:30-16:30
        cst(2026, 12, 1, 12, 0),    # 48 h: Fri 37.5; Mon 45; Tue 09-12 uses it up at noon
    ]
    assert deadline.due_at == rung_times(deadline)[1]
    projection = row(store, state.case_id)
    assert (projection.next_rung, projection.next_rung_at) == (0, cst(2026, 11, 24, 15, 0))
    assert projection.ladder == "standard"


def test_a_major_complaint_climbs_the_serious_ladder_from_the_supervisor(store, rules, frozen_clock):
    """escalation.yaml: major/crisis use `serious` (50 % supervisor, 100 % manager, 150 %
    director; seed 002 §3 "重大问题要及时报告"); 2 calendar hours from Saturday 22:00."""
    state = register(store, rules, cst(2026, 11, 21, 22, 0), severity="major")
    deadline = judgement(state)
    assert deadline.ladder == "serious"
    assert [(r["notify"], r["kind"]) for r in deadline.rungs] == [
        ("supervisor", "reminder"), ("manager", "breach"), ("director", "breach")]
    assert rung_times(deadline) == [cst(2026, 11, 21, 23, 0), cst(2026, 11, 22, 0, 0), cst(2026, 11, 22, 1, 0)]
    assert deadline.due_at == cst(2026, 11, 22, 0, 0)
    assert row(store, state.case_id).next_rung_at == cst(2026, 11, 21, 23, 0)


# -- the customer's clock ------------------------------------------------------------------------

def test_a_pause_of_three_working_hours_moves_the_deadline_and_rungs_by_exactly_that(
        store, rules, frozen_clock):
    """Issue: waiting on the customer stops the clock (clock.paused/resumed; every open
    deadline is rescheduled). Paused Mon 14:00-17:00 = 3 working hours."""
    case_id = register(store, rules, cst(2026, 11, 23, 9, 0)).case_id
    before = judgement(store.state(case_id))
    assert before.due_at == cst(2026, 11, 26, 10, 30)

    clock.set_now(cst(2026, 11, 23, 14, 0))
    paused = casework.pause_clock(store, rules, case_id, "客户要求明天再联系", by="li.na")
    assert paused.paused
    assert all(d.due_at is None for d in paused.open_deadlines())
    assert all(at is None for at in rung_times(judgement(paused)))
    for projection in store.deadlines(case_id):
        assert projection.due_at is None and projection.next_rung_at is None

    clock.set_now(cst(2026, 11, 23, 17, 0))
    resumed = casework.resume_clock(store, rules, case_id, "客户回电", by="li.na")
    after = judgement(resumed)
    calendar = rules.calendar()
    # Thu 10:30 + 3 working hours: 10:30-12:00, 13:30-15:00.
    assert after.due_at == cst(2026, 11, 26, 15, 0)
    assert after.due_at == calendar.add(before.due_at, timedelta(hours=3), "working")
    assert rung_times(after) == [
        cst(2026, 11, 24, 18, 0),   # Tue 15:00 + 3 h = closing time
        cst(2026, 11, 26, 15, 0),
        cst(2026, 11, 30, 10, 30),  # Fri 16:30 + 1.5 h to 18:00, Mon 09:00-10:30
        cst(2026, 12, 1, 16, 30),   # Tue 12:00 -> 13:30-16:30
    ]
    for old, new in zip(rung_times(before), rung_times(after)):
        assert calendar.between(old, new, "working") == timedelta(hours=3)
    # Resolution (5 calendar days) moves by the 3 calendar hours the clock stood still.
    resolution = next(d for d in resumed.deadlines if d.step == "resolution")
    assert resolution.due_at == cst(2026, 11, 28, 12, 0)
    projection = row(store, case_id)
    assert (projection.due_at, projection.next_rung_at) == (cst(2026, 11, 26, 15, 0), cst(2026, 11, 24, 18, 0))
    types = [e.type for e in store.events(case_id)]
    assert types.count(EventType.CLOCK_PAUSED) == 1 and types.count(EventType.CLOCK_RESUMED) == 1
    assert types.count(EventType.DEADLINE_RESCHEDULED) == 4  # judgement + resolution, twice


def test_pausing_a_paused_case_or_resuming_a_running_one_is_refused(store, rules, frozen_clock):
    case_id = register(store, rules, cst(2026, 11, 23, 9, 30)).case_id
    count = len(store.events(case_id))
    with pytest.raises(InputRefused) as info:
        casework.resume_clock(store, rules, case_id, "客户回电", by="li.na")
    assert info.value.field == "case" and "running" in info.value.problem
    assert len(store.events(case_id)) == count

    casework.pause_clock(store, rules, case_id, "等客户提供照片", by="li.na")
    count = len(store.events(case_id))
    with pytest.raises(InputRefused) as info:
        casework.pause_clock(store, rules, case_id, "等客户提供照片", by="li.na")
    assert info.value.field == "case" and "already stopped" in info.value.problem
    assert f"kefu case resume {case_id}" in info.value.fix
    assert len(store.events(case_id)) == count


def test_kefu_deadlines_shows_a_paused_case_as_stopped(kefu_env):
    """`kefu deadlines`: "a stopped clock shows no due time"."""
    from typer.testing import CliRunner

    environ_before = dict(os.environ)
    from kefu import runtime
    from kefu.cli import app

    for key in set(os.environ) - set(environ_before):
        del os.environ[key]
    store, rules = runtime.store(), runtime.rules()
    case_id = register(store, rules, cst(2026, 11, 23, 9, 30)).case_id
    casework.pause_clock(store, rules, case_id, "客户出差，下周联系", by="li.na")

    runner = CliRunner()
    result = runner.invoke(app, ["deadlines", "--json"])
    assert result.exit_code == 0, result.output
    import json

    listed = [d for d in json.loads(result.output) if d["case_id"] == case_id]
    assert {d["step"] for d in listed} == {"judgement", "resolution"}
    assert all(d["due_at"] is None and d["next_rung_at"] is None for d in listed)
    result = runner.invoke(app, ["deadlines"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith(case_id)]
    assert len(lines) == 2 and all("clock stopped" in line for line in lines)


# -- recompute after a config change -------------------------------------------------------------

def test_recompute_reports_exactly_the_open_deadlines_that_moved(store, rules, frozen_clock, tmp_path):
    """Issue: deadlines can be recomputed after a calendar or SLA change; `kefu deadlines
    recompute`. The general judgement policy changes from 24 to 16 working hours."""
    waiting = register(store, rules, cst(2026, 11, 23, 9, 0)).case_id        # judgement open
    judged = register(store, rules, cst(2026, 11, 23, 9, 0)).case_id         # judgement met
    major = register(store, rules, cst(2026, 11, 23, 9, 0), severity="major").case_id
    clock.set_now(cst(2026, 11, 23, 10, 0))
    complaints.submit(store, rules, judged, "judgement",
                 complaint_form("judgement", dict(upheld=True, department="logistics", reason="r", by="li.na")))

    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    sla = config / "sla.yaml"
    old = "{process: complaint, step: judgement, allow: 24 working hours}"
    assert old in sla.read_text(encoding="utf-8")
    sla.write_text(sla.read_text(encoding="utf-8").replace(
        old, "{process: complaint, step: judgement, allow: 16 working hours}"), encoding="utf-8")
    changed_rules = load_rules(config)
    assert changed_rules.version != rules.version

    clock.set_now(cst(2026, 11, 23, 11, 0))
    changes = casework.recompute_deadlines(store, changed_rules, waiting)
    # 16 working hours from Mon 09:00: Mon 7.5, Tue 7.5 (15), Wed 09:00-10:00.
    assert changes == [{
        "case_id": waiting, "step": "judgement", "round": 1,
        "was": cst(2026, 11, 26, 10, 30).astimezone(timezone.utc).isoformat(),
        "now": cst(2026, 11, 25, 10, 0).astimezone(timezone.utc).isoformat(),
        "policy": "sla.yaml policies.10: complaint judgement any 16 working hours",
    }]
    assert casework.recompute_deadlines(store, changed_rules, judged) == []  # judgement already met
    assert casework.recompute_deadlines(store, changed_rules, major) == []   # major has its own policy

    [event] = [e for e in store.events(waiting) if e.type == EventType.DEADLINE_RESCHEDULED]
    assert (event.payload["step"], event.payload["round"]) == ("judgement", 1)
    assert changed_rules.version in event.payload["reason"]
    state = store.state(waiting)
    assert judgement(state).due_at == cst(2026, 11, 25, 10, 0)
    assert judgement(state).policy == "sla.yaml policies.10: complaint judgement any 16 working hours"
    projection = row(store, waiting)
    assert projection.due_at == cst(2026, 11, 25, 10, 0)
    assert projection.policy == judgement(state).policy
    assert judgement(state).allowed == projection.allowed == "16 working hours"
    # 50 % of 16 working hours = 8: Mon 7.5, Tue 09:00-09:30.
    assert projection.next_rung_at == cst(2026, 11, 24, 9, 30)

    count = len(store.events(waiting))
    assert casework.recompute_deadlines(store, changed_rules, waiting) == []  # nothing moves twice
    assert len(store.events(waiting)) == count


# -- intake alert and owner ----------------------------------------------------------------------

def test_a_major_complaint_queues_one_intake_alert_to_the_manager(store, rules, frozen_clock):
    """complaint.yaml notify_at_intake.major: manager (seed 002 §3 "重大问题要及时报告"); the
    alert e-mail is queued in kefu_outbox in the same transaction, once even if the task runs
    twice."""
    case_id = register(store, rules, cst(2026, 11, 23, 9, 30), content="快递送错了，造成严重损失").case_id
    assert store.state(case_id).severity == "major"
    complaints.request_manager_notification(store, rules, case_id)
    complaints.request_manager_notification(store, rules, case_id)  # a retried task
    with Session(store.engine) as session:
        messages = list(session.exec(select(OutboxMessage)).all())
    assert len(messages) == 1
    [message] = messages
    assert message.to == ["sun.li@kefu.example"]
    assert case_id in message.subject and case_id in message.text
    assert message.status == "pending"
    assert message.key == f"intake-alert:{case_id}:sun.li"


def test_a_general_complaint_queues_no_intake_alert(store, rules, frozen_clock):
    case_id = register(store, rules, cst(2026, 11, 23, 9, 30)).case_id
    complaints.request_manager_notification(store, rules, case_id)
    with Session(store.engine) as session:
        assert list(session.exec(select(OutboxMessage)).all()) == []


def test_owners_balance_open_cases_across_agents(store, rules, frozen_clock):
    """PROCESSES.md P5 "按照负责客户数量均衡": a case taken by an agent is theirs; otherwise it
    goes to the agent holding the fewest open cases (ties: department.yaml order)."""
    at = cst(2026, 11, 23, 9, 30)
    agents = ["li.na", "wang.fang", "zhang.wei", "liu.yang"]
    first = [register(store, rules, at).owner for _ in agents]
    assert first == agents  # nobody holds a case: one each, in roster order
    assert register(store, rules, at, by="zhang.wei").owner == "zhang.wei"  # the agent who took it
    # Open: li.na 1, wang.fang 1, zhang.wei 2, liu.yang 1.
    assert register(store, rules, at, by="chen.jing").owner == "li.na"  # a supervisor: balanced
    assert register(store, rules, at).owner == "wang.fang"
    # Open: li.na 2, wang.fang 2, zhang.wei 2, liu.yang 1.
    closed = next(c.id for c in store.cases(status="open") if c.owner == "li.na")
    complaints.submit(store, rules, closed, "judgement",
                 complaint_form("judgement", dict(upheld=False, reason="误会", by="li.na")))
    complaints.send_not_upheld_reply(store, rules, closed)
    complaints.close(store, rules, closed, "not_upheld")
    assert store.state(closed).status == "closed"
    # Closed cases do not count: li.na 1, liu.yang 1 -> li.na first by roster order.
    assert register(store, rules, at).owner == "li.na"
    assert register(store, rules, at).owner == "liu.yang"
    assert store.open_cases_by_owner() == {"li.na": 2, "wang.fang": 2, "zhang.wei": 2, "liu.yang": 2}
