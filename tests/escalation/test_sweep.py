"""The escalation sweep (kefu.escalation.sweep.escalate_due) and the digests it queues (kefu.escalation.mail.deliver_due).

Issue "Deadlines that cannot be missed quietly"; PROCESSES.md P1: every breach escalates up the
ladder "agent → supervisor → manager → director". Each rung fires once, to the right people, no
sooner than its time; a sweep that was down catches up; two sweeps at once do not double up; a
crash anywhere between recording and sending loses nothing and records nothing twice.
Runs on SQLite and PostgreSQL (the ``store`` fixture); the concurrency test on PostgreSQL only.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from datetime import timedelta

import pytest
from audit_cases import complaint_form
from mailserver import SmtpServer
from sqlmodel import Session, select

from kefu import processes
from kefu.core.store import CaseStore
from kefu.db import make_engine
from kefu.escalation import mail, sweep
from kefu.escalation.mail import LEASE, FileTransport, SmtpTransport, deliver_due
from kefu.processes.complaint import decisions as complaints
from models.complaint import ContactRegistration
from models.outbox import OutboxMessage
from models.records import CaseEvent

DASHBOARD = "http://127.0.0.1:4200"
PHONE = "13812345678"
MASKED = "138****5678"
# Who each rung of config/escalation.yaml notifies (config/department.yaml); "owner" = the case's agent.
ROLE = {"supervisor": ["chen.jing", "zhao.lei"], "manager": ["sun.li"], "director": ["zhou.qiang"]}
EMAIL = {staff: f"{staff}@kefu.example" for staff in
         ["li.na", "wang.fang", "zhang.wei", "liu.yang", "chen.jing", "zhao.lei", "sun.li", "zhou.qiang"]}


# -- helpers --------------------------------------------------------------------------------------

def new_complaint(store: CaseStore, rules, severity: str, name: str = "张三") -> str:
    reg = ContactRegistration(name=name, phone=PHONE, channel="phone", content="快递送错了地址",
                              kind="complaint", severity=severity)
    return complaints.register_contact(store, rules, reg).case_id


def sweep_now(store: CaseStore, rules, **kwargs) -> sweep.SweepReport:
    return sweep.escalate_due(store.engine, rules, dashboard_url=DASHBOARD, commands=processes.command_for, **kwargs)


def two_sweepers(store: CaseStore, rules, limit: int) -> list[list[sweep.SweepReport]]:
    """Two sweepers started together, each with its own engine, each sweeping until nothing is
    due; the reports of each."""
    url = store.engine.url.render_as_string(hide_password=False)
    barrier = threading.Barrier(2)
    reports: list[list[sweep.SweepReport]] = [[], []]
    errors: list[BaseException] = []

    def run(slot: int) -> None:
        engine = make_engine(url)
        try:
            barrier.wait()
            while True:
                report = sweep.escalate_due(engine, rules, dashboard_url=DASHBOARD,
                                            commands=processes.command_for, limit=limit)
                reports[slot].append(report)
                if report.rungs_fired == 0:
                    break
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=run, args=(slot,)) for slot in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert errors == []
    return reports


def escalations(engine) -> list[CaseEvent]:
    with Session(engine) as session:
        return list(session.exec(select(CaseEvent).where(CaseEvent.type == "deadline.escalated")
                                 .order_by(CaseEvent.case_id, CaseEvent.seq)).all())


def outbox(engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def rungs_of(store: CaseStore, case_id: str) -> list[dict]:
    """Every rung of every deadline of the case, with when it fires (from the projection)."""
    from datetime import datetime

    return [{"case_id": case_id, "step": d.step, "round": d.round, "rung": i, "notify": r["notify"],
             "share": r["share"], "at": datetime.fromisoformat(r["at"]),
             "key": f"escalated:{d.step}:{d.round}:{i}"}
            for d in store.deadlines(case_id) for i, r in enumerate(d.rungs)]


def recipients_for(notify: str, owner: str) -> list[str]:
    return [owner] if notify == "owner" else ROLE[notify]


def digest_items(message: OutboxMessage) -> list[tuple[str, int]]:
    """(case id, percent of the rung) of each deadline line of a digest, read from its Chinese
    half: a case is one entry, its deadlines the lines under it."""
    items, case_id = [], None
    for line in message.text.split("-" * 60)[0].splitlines():
        entry = re.match(r"^\d+\. (C-\d{8}-\d{4}) ", line)
        case_id = entry.group(1) if entry else case_id
        rung = re.search(r"达到时限 (\d+)% 时升级至", line)
        if rung:
            items.append((case_id, int(rung.group(1))))
    return items


class Killed(BaseException):
    """The process dies: not an Exception, so nothing in kefu catches it."""


class SendThenDie:
    def __init__(self, inner) -> None:  # noqa: ANN001
        self.inner = inner

    def send(self, outgoing: mail.OutgoingMail) -> None:
        self.inner.send(outgoing)  # the SMTP server has it …
        raise Killed  # … and the deliverer dies before marking the row sent


def assert_each_rung_once(engine) -> list[CaseEvent]:
    events = escalations(engine)
    keys = Counter((e.case_id, e.idem_key) for e in events)
    assert [k for k, n in keys.items() if n > 1] == []
    return events


# -- every rung fires exactly once ----------------------------------------------------------------

@pytest.mark.parametrize("severity", ["general", "major"])
def test_every_rung_fires_once_at_its_time_to_the_right_people(store, rules, frozen_clock, severity):
    """Issue "Deadlines that cannot be missed quietly"; PROCESSES.md P1 escalation "agent →
    supervisor → manager → director": walking the clock through 50/100/150/200 % of every deadline
    and past it, sweeping several times at each moment, fires each rung once, never early, to the
    rung's people (standard: owner, supervisors, manager, director; serious: from the supervisors)."""
    case_id = new_complaint(store, rules, severity)
    owner = store.state(case_id).owner
    plan = rungs_of(store, case_id)
    ladder = [r["notify"] for r in plan if r["step"] == "judgement"]
    assert ladder == (["owner", "supervisor", "manager", "director"] if severity == "general"
                      else ["supervisor", "manager", "director"])
    moments = sorted({r["at"] for r in plan})
    checkpoints = [frozen_clock.now()]
    for at in moments:
        checkpoints += [at - timedelta(seconds=1), at, at + timedelta(minutes=1)]
    checkpoints.append(moments[-1] + timedelta(days=3))

    for at in checkpoints:
        frozen_clock.set_now(at)
        due = {r["key"] for r in plan if r["at"] <= at}
        fired_now = {r["key"] for r in plan if r["at"] <= at} - {e.idem_key for e in escalations(store.engine)}
        first = sweep_now(store, rules)
        assert first.rungs_fired == len(fired_now), at
        for _ in range(2):  # the same moment again: nothing more
            again = sweep_now(store, rules)
            assert (again.rungs_fired, again.messages_queued) == (0, 0)
        events = assert_each_rung_once(store.engine)
        assert {e.idem_key for e in events} == due, f"at {at}"

    events = escalations(store.engine)
    assert len(events) == len(plan)
    by_key = {r["key"]: r for r in plan}
    for event in events:
        rung = by_key[event.idem_key]
        assert event.at >= rung["at"]  # never before its time
        assert event.payload["notify"] == rung["notify"] and event.payload["share"] == rung["share"]
        assert event.payload["recipients"] == recipients_for(rung["notify"], owner)
    # Every recipient's digests together list each of their rungs once.
    listed = Counter((to, item) for m in outbox(store.engine) for to in m.to for item in digest_items(m))
    expected = Counter((EMAIL[person], (case_id, round(r["share"] * 100)))
                       for r in plan for person in recipients_for(r["notify"], owner))
    assert listed == expected
    assert all(d.next_rung == len(d.rungs) and d.next_rung_at is None for d in store.deadlines(case_id))


def test_a_met_deadline_stops_its_ladder(store, rules, frozen_clock):
    """Issue "Deadlines that cannot be missed quietly"; PROCESSES.md P1 escalation "agent →
    supervisor → manager → director": once the judgement is made, the judgement deadline is met
    and none of its later rungs fires, however late the sweep runs."""
    case_id = new_complaint(store, rules, "major")
    start = frozen_clock.now()
    frozen_clock.set_now(start + timedelta(hours=1))  # 50 % of 2 h: the supervisors
    assert sweep_now(store, rules).rungs_fired == 1
    complaints.submit(store, rules, case_id, "judgement", complaint_form(
        "judgement", {"upheld": True, "department": "logistics", "reason": "送错地址", "by": "li.na"}))
    [judgement] = [d for d in store.deadlines(case_id) if d.step == "judgement"]
    assert judgement.met_at is not None and judgement.next_rung_at is None

    for hours in (2, 3, 4, 5):  # 100 %, 150 %, 200 %, 250 % of the judgement time
        frozen_clock.set_now(start + timedelta(hours=hours))
        assert sweep_now(store, rules).rungs_fired == 0
    assert [e.idem_key for e in escalations(store.engine)] == ["escalated:judgement:1:0"]
    # The next step's own ladder still runs: investigation (major: 12 h) at 50 % = 6 h after judging.
    frozen_clock.set_now(start + timedelta(hours=7))
    report = sweep_now(store, rules)
    assert [(f["step"], f["rung"]) for f in report.fired] == [("investigation", 0)]


def test_a_sweep_with_nothing_due_does_nothing(store, rules, frozen_clock):
    """Issue "Deadlines that cannot be missed quietly"; PROCESSES.md P1 escalation "agent →
    supervisor → manager → director": before any rung is due a sweep records nothing, queues
    nothing and moves no deadline."""
    ids = [new_complaint(store, rules, severity) for severity in ("general", "major", "crisis")]
    before = {i: [(d.next_rung, d.next_rung_at) for d in store.deadlines(i)] for i in ids}
    seqs = {i: store.state(i).last_seq for i in ids}
    frozen_clock.advance(timedelta(minutes=29))  # crisis judgement: 1 h, first rung at 30 min
    report = sweep_now(store, rules)
    assert (report.rungs_fired, report.cases, report.messages_queued, report.fired) == (0, 0, 0, [])
    assert escalations(store.engine) == [] and outbox(store.engine) == []
    assert {i: [(d.next_rung, d.next_rung_at) for d in store.deadlines(i)] for i in ids} == before
    assert {i: store.state(i).last_seq for i in ids} == seqs


def test_a_sweep_is_due_only_when_a_rung_or_an_email_is(store, rules, frozen_clock, tmp_path):
    """Issue 17 (the one-minute sweep out of the way): what decides whether a sweep run starts
    at all. Nothing due before the first rung's time; due at it; still due while its digest waits
    in the outbox; nothing once the digest is sent."""
    case_id = new_complaint(store, rules, "general")
    [judgement] = [d for d in store.deadlines(case_id) if d.step == "judgement"]
    assert not sweep.work_due(store.engine, frozen_clock.now())
    assert not sweep.work_due(store.engine, judgement.next_rung_at - timedelta(seconds=1))
    assert sweep.work_due(store.engine, judgement.next_rung_at)

    frozen_clock.set_now(judgement.next_rung_at)
    assert sweep_now(store, rules).messages_queued == 1
    assert sweep.work_due(store.engine, frozen_clock.now())  # the digest to the agent is due
    assert deliver_due(store.engine, FileTransport(tmp_path / "mail")).sent == 1
    assert not sweep.work_due(store.engine, frozen_clock.now())


def test_a_rung_is_never_recorded_before_the_cases_last_event(store, rules, frozen_clock):
    """Issue 17: a case's time never runs backwards. A sweep whose clock is behind a case's
    record (a clock set back) fires nothing for it until the clock has caught up."""
    case_id = new_complaint(store, rules, "general")
    [judgement] = [d for d in store.deadlines(case_id) if d.step == "judgement"]
    state = store.state(case_id)
    later_note = complaints_note_at(store, rules, state, judgement.next_rung_at + timedelta(hours=1))
    frozen_clock.set_now(judgement.next_rung_at)
    assert sweep_now(store, rules).rungs_fired == 0
    frozen_clock.set_now(later_note)
    assert sweep_now(store, rules).rungs_fired == 1


def complaints_note_at(store, rules, state, at):
    """A note on the case at ``at`` (ahead of the sweep's clock)."""
    from kefu.core.store import NewEvent
    from models.complaint import ComplaintEvent

    store.append(state, [NewEvent(ComplaintEvent.CALLBACK_REQUESTED, "kefu", at, {"reason": "客户要求稍后回电"})],
                 rules.version)
    return at


# -- a sweep that was down catches up -----------------------------------------------------------

def test_a_sweep_that_was_down_fires_every_missed_rung_once_in_one_digest_per_person(store, rules, frozen_clock):
    """Issue "Deadlines that cannot be missed quietly"; PROCESSES.md P1 escalation "agent →
    supervisor → manager → director": after an outage, one sweep past 250 % fires every missed
    rung once, and each person gets ONE digest listing all of their items."""
    ids = [new_complaint(store, rules, "major", "张三"), new_complaint(store, rules, "major", "李四"),
           new_complaint(store, rules, "general", "王五")]
    owners = {i: store.state(i).owner for i in ids}
    plan = [r for i in ids for r in rungs_of(store, i)]
    # 250 % of the longest deadline (general resolution, 5 days): every rung is long overdue.
    frozen_clock.set_now(max(r["at"] for r in plan) + timedelta(days=3))
    report = sweep_now(store, rules)
    # Majors: 3 judgement + 3 resolution rungs each; the general one: 4 + 4.
    assert report.rungs_fired == len(plan) == 2 * 6 + 8 and report.cases == 3
    events = assert_each_rung_once(store.engine)
    assert {(e.case_id, e.idem_key) for e in events} == {(r["case_id"], r["key"]) for r in plan}

    expected: dict[str, Counter] = {}
    for r in plan:
        for person in recipients_for(r["notify"], owners[r["case_id"]]):
            expected.setdefault(EMAIL[person], Counter())[(r["case_id"], round(r["share"] * 100))] += 1
    messages = outbox(store.engine)
    assert report.messages_queued == len(messages) == len(expected)
    assert sorted(m.to[0] for m in messages) == sorted(expected)  # one digest per person
    for m in messages:
        assert len(m.to) == 1 and Counter(digest_items(m)) == expected[m.to[0]]
    assert sweep_now(store, rules).rungs_fired == 0


def test_a_catch_up_sweep_counts_each_case_by_how_late_it_is_not_by_its_rung(store, rules, frozen_clock):
    """After an outage the owner's 50 % reminder of a judgement 22 hours past its deadline fires
    with the later rungs: the digest counts the case past deadline, not "due soon" (the drills
    found "0 overdue, 2 due soon" while the first item was 22 h late), and it lists the case once,
    with both its deadlines: the late judgement and the resolution due soon."""
    case_id = new_complaint(store, rules, "general")
    judgement = next(d for d in store.deadlines(case_id) if d.step == "judgement")
    frozen_clock.set_now(judgement.due_at + timedelta(hours=22))
    sweep_now(store, rules)
    owner = store.state(case_id).owner
    [to_owner] = [m for m in outbox(store.engine) if m.to == [EMAIL[owner]]]
    assert to_owner.subject.startswith("【kefu 超时升级】1 个案件超时 / 1 case past deadline")
    assert to_owner.text.count(f"{case_id}  ") == 2  # once in Chinese, once in English
    assert "- 投诉判定：" in to_owner.text and "超时 22 小时" in to_owner.text and "- 投诉解决：" in to_owner.text
    assert "this case needs your attention" in to_owner.text
    assert "sla.yaml" not in to_owner.text  # the rule in words, not the config file


# -- two sweeps at once (PostgreSQL) --------------------------------------------------------------

@pytest.mark.postgres
def test_two_concurrent_sweeps_fire_each_rung_once_and_mail_it_once(pg_store, rules, frozen_clock):
    """Issue "Deadlines that cannot be missed quietly"; PROCESSES.md P1 escalation "agent →
    supervisor → manager → director": two sweepers on PostgreSQL, each with its own engine,
    started together over 200 due cases, take disjoint rows (FOR UPDATE SKIP LOCKED): every rung
    is recorded once and listed in one digest per recipient, and the totals add up."""
    ids = [new_complaint(pg_store, rules, "major", f"客户{n}") for n in range(200)]
    # 3.5 h later: the three judgement rungs (1, 2, 3 h) of every case are due; resolution's first is not.
    frozen_clock.advance(timedelta(hours=3, minutes=30))
    expected = 3 * len(ids)
    reports = two_sweepers(pg_store, rules, limit=40)
    assert sweep_now(pg_store, rules).rungs_fired == 0  # nothing left behind
    fired = [sum(r.rungs_fired for r in mine) for mine in reports]
    assert sum(fired) == expected
    events = assert_each_rung_once(pg_store.engine)
    assert len(events) == expected

    messages = outbox(pg_store.engine)
    assert sum(r.messages_queued for mine in reports for r in mine) == len(messages)
    listed = Counter((m.to[0], item) for m in messages for item in digest_items(m))
    assert max(listed.values()) == 1  # no rung in two digests of the same person
    per_role = Counter(to for to, _ in listed)
    assert per_role == {EMAIL["chen.jing"]: 200, EMAIL["zhao.lei"]: 200, EMAIL["sun.li"]: 200,
                        EMAIL["zhou.qiang"]: 200}
    # Each digest belongs to a sweep that recorded rungs: one digest per recipient per sweep.
    sweeps = Counter(m.key.rsplit(":", 1)[0] for m in messages)
    assert set(sweeps) == {f"digest:{e.payload['sweep']}" for e in events}
    assert all(n == 4 for n in sweeps.values())


# -- killed between recording and sending ---------------------------------------------------------

def test_a_sweep_killed_before_delivery_loses_no_mail(store, rules, frozen_clock, tmp_path):
    """Issue "Deadlines that cannot be missed quietly"; PROCESSES.md P1 escalation "agent →
    supervisor → manager → director": the sweep committed its rungs and digests, then the process
    died before delivering: the next delivery sends every queued digest."""
    case_id = new_complaint(store, rules, "major")
    frozen_clock.advance(timedelta(hours=2))
    report = sweep_now(store, rules)  # … and the process dies here
    assert report.rungs_fired == 2 and report.messages_queued == 3  # 2 supervisors + the manager
    assert {m.status for m in outbox(store.engine)} == {"pending"}

    frozen_clock.advance(timedelta(minutes=1))  # the next run: nothing new to fire, mail to send
    assert sweep_now(store, rules).rungs_fired == 0
    delivered = deliver_due(store.engine, FileTransport(tmp_path / "mail"))
    assert (delivered.sent, delivered.failed, delivered.pending_left) == (3, 0, 0)
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 3
    assert [e.idem_key for e in assert_each_rung_once(store.engine)] == [
        "escalated:judgement:1:0", "escalated:judgement:1:1"]
    assert all(case_id in m.text for m in outbox(store.engine))


def test_a_delivery_killed_after_the_server_accepted_resends_once_with_the_same_message_id(
        store, rules, frozen_clock, smtp_server):
    """Issue "Deadlines that cannot be missed quietly"; PROCESSES.md P1 escalation "agent →
    supervisor → manager → director": the SMTP server accepted the digest but the deliverer died
    before marking it sent: after the lease expires it is sent once more with the same Message-ID
    (the one duplicate the outbox allows), and the case still records each rung once."""
    case_id = new_complaint(store, rules, "major")
    frozen_clock.advance(timedelta(hours=2, minutes=5))
    sweep_now(store, rules)
    manager = [m for m in outbox(store.engine) if m.to == [EMAIL["sun.li"]]]
    assert len(manager) == 1
    transport = SmtpTransport(smtp_server.url)
    with pytest.raises(Killed):
        deliver_due(store.engine, SendThenDie(transport))
    assert len(smtp_server.received) == 1

    assert deliver_due(store.engine, transport).sent == 0  # the lease still holds the row
    assert sweep_now(store, rules).rungs_fired == 0
    frozen_clock.advance(LEASE)
    report = deliver_due(store.engine, transport)
    assert report.sent == 3 and report.pending_left == 0  # the abandoned one + the two not yet tried
    ids = Counter(msg["Message-ID"] for _, _, msg in smtp_server.received)
    assert len(smtp_server.received) == 4 and sorted(ids.values()) == [1, 1, 2]
    [resent] = [mid for mid, n in ids.items() if n == 2]
    first = next(m for m in outbox(store.engine) if m.message_id == resent)
    assert first.attempts == 2 and first.status == "sent"
    assert deliver_due(store.engine, transport).sent == 0
    keys = [e.idem_key for e in assert_each_rung_once(store.engine) if e.case_id == case_id]
    assert keys == ["escalated:judgement:1:0", "escalated:judgement:1:1"]


def test_a_sweep_that_fails_midway_records_no_rung_and_the_next_sweep_fires_them(
        store, rules, frozen_clock, monkeypatch):
    """Issue "Deadlines that cannot be missed quietly"; PROCESSES.md P1 escalation "agent →
    supervisor → manager → director": the rungs, the deadline moves and the digests are one
    transaction: if queueing a digest fails, no rung is recorded and nothing is queued, and the
    next sweep fires them all."""
    ids = [new_complaint(store, rules, "major", "张三"), new_complaint(store, rules, "major", "李四")]
    frozen_clock.advance(timedelta(hours=2))
    seqs = {i: store.state(i).last_seq for i in ids}
    real_enqueue = mail.enqueue
    calls = []

    def enqueue_then_fail(session, **kwargs):  # noqa: ANN001, ANN003
        calls.append(kwargs["key"])
        if len(calls) == 2:  # the first digest is already in the transaction
            raise OSError("disk full")
        return real_enqueue(session, **kwargs)

    monkeypatch.setattr(mail, "enqueue", enqueue_then_fail)
    with pytest.raises(OSError):
        sweep_now(store, rules)
    assert escalations(store.engine) == [] and outbox(store.engine) == []
    assert {i: store.state(i).last_seq for i in ids} == seqs
    assert all(d.next_rung == 0 for i in ids for d in store.deadlines(i))

    monkeypatch.setattr(mail, "enqueue", real_enqueue)
    report = sweep_now(store, rules)
    assert report.rungs_fired == 4 and report.messages_queued == 3
    assert len(assert_each_rung_once(store.engine)) == 4


# -- end to end with a real SMTP server -----------------------------------------------------------

def test_the_manager_gets_one_bilingual_digest_over_real_smtp_with_what_to_do(
        store, rules, frozen_clock, smtp_server):
    """Issue "Deadlines that cannot be missed quietly"; PROCESSES.md P1 escalation "agent →
    supervisor → manager → director": a major complaint not judged within 2 hours reaches the
    manager as one e-mail over SMTP: Chinese then English subject, text and HTML parts, the case,
    the masked phone, the step, how late, the owner, the rule and its source, and the command."""
    case_id = new_complaint(store, rules, "major")
    owner = store.state(case_id).owner
    frozen_clock.advance(timedelta(hours=2, minutes=20))
    sweep_now(store, rules)
    report = deliver_due(store.engine, SmtpTransport(smtp_server.url))
    assert (report.sent, report.failed, report.pending_left) == (3, 0, 0)

    to_manager = [msg for _, rcpt, msg in smtp_server.received if rcpt == [EMAIL["sun.li"]]]
    assert len(to_manager) == 1
    msg = to_manager[0]
    assert msg["To"] == "sun.li@kefu.example"
    subject = str(msg["Subject"])
    assert subject.startswith("【kefu 超时升级】1 个案件超时") and "1 case past deadline" in subject
    assert subject.index("案件") < subject.index("case")
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    policy = next(d.policy for d in store.deadlines(case_id) if d.step == "judgement")
    assert policy.startswith("sla.yaml policies.") and "judgement major 2 hours" in policy
    owner_name = next(s.name for s in rules.department.staff if s.id == owner)
    for part in (text, html):
        assert case_id in part and MASKED in part and PHONE not in part
        assert "judgement" in part and owner_name in part and owner in part
        assert "2 hours" in part and rules.sla.sources["complaint"] in part and "sla.yaml" not in part
        assert f"kefu complaint judge {case_id}" in part
    assert "超时 20 分" in text and "late by 20 min" in text
    assert text.index("您好") < text.index("Hello")
    assert msg["Message-ID"].startswith("<kefu-")


def test_smtp_down_keeps_the_digest_queued_and_delivers_it_once_when_back(store, rules, frozen_clock):
    """Issue "Deadlines that cannot be missed quietly"; PROCESSES.md P1 escalation "agent →
    supervisor → manager → director": with the SMTP server down the digest stays in the outbox
    (failed, backing off); once the server is up and the back-off over, it arrives exactly once."""
    new_complaint(store, rules, "crisis")
    frozen_clock.advance(timedelta(hours=1, minutes=5))  # crisis: 1 h; 50 % and 100 % fired
    sweep_now(store, rules)
    server = SmtpServer()  # not started: nothing listens on its port
    transport = SmtpTransport(server.url, timeout=5)
    down = deliver_due(store.engine, transport)
    assert (down.sent, down.failed, down.pending_left) == (0, 3, 3)
    for m in outbox(store.engine):
        assert m.status == "failed" and m.attempts == 1 and m.last_error
        assert m.next_attempt_at == frozen_clock.now() + timedelta(minutes=1)

    server.start()
    try:
        assert deliver_due(store.engine, transport).sent == 0  # still backing off
        frozen_clock.advance(timedelta(minutes=1))
        up = deliver_due(store.engine, transport)
        assert (up.sent, up.failed, up.pending_left) == (3, 0, 0)
        frozen_clock.advance(timedelta(hours=1))
        assert deliver_due(store.engine, transport).sent == 0
        received = Counter(tuple(rcpt) for _, rcpt, _ in server.received)
        assert received == {(EMAIL["chen.jing"],): 1, (EMAIL["zhao.lei"],): 1, (EMAIL["sun.li"],): 1}
    finally:
        server.stop()
