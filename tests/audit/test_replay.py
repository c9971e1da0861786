"""Replay: every rule-derived decision in a case follows from the rules of the config version
recorded on its events (issue 6). On SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
import sqlalchemy as sa
from audit_cases import answered_consultation, complaint_form, later, resolved_complaint, rewrite_event
from people import signed_in

from kefu.audit import replay
from kefu.core import casework, deadlines
from kefu.processes import load_rules
from kefu.processes.complaint import decisions as complaints
from models.complaint import ContactRegistration

REPO_CONFIG = __import__("pathlib").Path(__file__).resolve().parents[2] / "config"


def verdict_of(store, case_id):
    (result,) = replay.replay(store.engine, [case_id])
    return result


def sql(store, statement, **params):
    with store.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def test_completed_cases_replay_consistent(store, rules, frozen_clock):
    """Deadlines (pauses included), escalations fired by the sweep and who approved all follow
    from config/ (sla.yaml, escalation.yaml, calendar.yaml, complaint.yaml permissions)."""
    ids = [resolved_complaint(store, rules, pause=True, escalate=True),
           resolved_complaint(store, rules, severity="major", approver="sun.li"),
           answered_consultation(store, rules)]
    results = {r.case_id: r for r in replay.replay(store.engine)}
    assert [results[i].verdict for i in ids] == ["consistent"] * 3, [results[i].summary() for i in ids]
    types = [e.type for e in store.events(ids[0])]
    assert {"deadline.escalated", "deadline.rescheduled", "clock.paused"} <= set(types)
    assert results[ids[0]].versions == [rules.version]


def test_an_approval_by_a_role_the_rules_did_not_allow_is_divergent(store, rules, frozen_clock):
    """complaint.yaml permissions.approval.general: supervisor, manager or director (seed 002 §4 (7))."""
    case_id = resolved_complaint(store, rules)
    approval = next(e for e in store.events(case_id) if e.type == "plan.approved")
    # Rewrite the approver (and how they were verified) and re-chain everything after it
    # consistently: an insider with the hash function but without the rules' blessing. The chain
    # holds; replay does not.
    forged = {"method": "cli-token", "staff": "li.na"}
    rewrite_event(store, case_id, lambda e: {"actor": "li.na", "payload": {**e.payload, "verified": forged}}
                  if e.id == approval.id else {})
    result = verdict_of(store, case_id)
    assert result.verdict == "divergent"
    assert result.divergence.seq == approval.seq
    assert "li.na (agent)" in str(result.divergence.recorded)


def test_a_history_whose_time_runs_backwards_is_divergent(store, rules, frozen_clock):
    """Issue 17: out-of-order history (recorded before kefu refused it at append, or by an
    insider who re-chained it) is a divergence at the first event earlier than the one before."""
    case_id = resolved_complaint(store, rules)
    events = store.events(case_id)
    moved = events[5]
    rewrite_event(store, case_id, lambda e: {"at": events[4].at - timedelta(hours=3)} if e.id == moved.id else {})
    result = verdict_of(store, case_id)
    assert result.verdict == "divergent" and result.divergence.seq == moved.seq
    assert "time order" in result.divergence.what


def test_a_tampered_case_is_reported_as_tampered_not_replayed(store, rules, frozen_clock):
    case_id = answered_consultation(store, rules)
    sql(store, "UPDATE kefu_event SET actor = 'x' WHERE case_id = :c AND seq = 2", c=case_id)
    result = verdict_of(store, case_id)
    assert result.verdict == "tampered" and result.problems[0].seq == 2


@pytest.fixture
def two_calendars(tmp_path):
    """The shipped config, and the same config a week later with Tuesday 2026-11-24 declared a
    company holiday (calendar.yaml extra_holidays)."""
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(REPO_CONFIG, old)
    shutil.copytree(REPO_CONFIG, new)
    path = new / "calendar.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("extra_holidays: []", "extra_holidays: [2026-11-24]"),
                    encoding="utf-8")
    old_rules, new_rules = load_rules(old), load_rules(new)
    assert old_rules.version != new_rules.version
    return old_rules, new_rules


def test_a_deadline_from_an_older_calendar_replays_under_that_calendars_version(store, two_calendars, frozen_clock):
    old_rules, new_rules = two_calendars
    reg = ContactRegistration(name="张三", phone="13812345678", channel="phone", content="快递送错了")
    case_id = complaints.register_contact(store, old_rules, reg).case_id  # judgement due under the old calendar
    later(1)
    with signed_in("li.na"):
        complaints.submit(store, new_rules, case_id, "judgement", complaint_form(
            "judgement", {"upheld": True, "department": "logistics", "reason": "送错", "by": "li.na"}))
    opened = next(e for e in store.events(case_id) if e.type == "deadline.opened" and e.payload["step"] == "judgement")
    under_new = deadlines.plan(new_rules, "complaint", "general", "judgement", 1, opened.at).event_payload()
    assert under_new["due_at"] != opened.payload["due_at"], "the holiday must move this deadline, or the test proves nothing"

    result = verdict_of(store, case_id)
    assert result.verdict == "consistent", result.summary()
    assert result.versions == [old_rules.version, new_rules.version]


def test_a_deadline_whose_config_version_is_not_on_record_is_divergent(store, two_calendars, frozen_clock):
    old_rules, new_rules = two_calendars
    reg = ContactRegistration(name="张三", phone="13812345678", channel="phone", content="快递送错了")
    case_id = complaints.register_contact(store, old_rules, reg).case_id
    sql(store, "DELETE FROM kefu_config_snapshot WHERE version = :v", v=old_rules.version)
    result = verdict_of(store, case_id)
    assert result.verdict == "divergent"
    assert result.divergence.seq == 1
    assert f"config version {old_rules.version} not on record" in result.divergence.expected


def test_a_due_time_set_by_the_customer_is_listed_not_recomputed(store, rules, frozen_clock):
    """The convention for due times not from deadlines.plan: ``set_by`` names their source."""
    case_id = answered_consultation(store, rules)
    from kefu.core import clock
    from kefu.core.store import NewEvent

    state = store.state(case_id)
    store.append(state, [NewEvent("deadline.opened", "kefu", clock.now(), {
        "step": "callback", "round": 1, "due_at": "2026-11-30T10:00:00+08:00", "policy": "customer's choice",
        "set_by": "customer", "input": "callback.requested preferred_time", "rungs": []})], rules.version)
    result = verdict_of(store, case_id)
    assert result.verdict == "consistent", result.summary()
    assert any("set by customer" in note for note in result.notes)


def test_a_recorded_due_time_that_does_not_follow_from_the_rules_is_divergent(store, rules, frozen_clock):
    case_id = answered_consultation(store, rules)
    from kefu.core import clock
    from kefu.core.store import NewEvent

    state = store.state(case_id)
    store.append(state, [NewEvent("deadline.opened", "kefu", clock.now(), {
        **deadlines.plan(rules, "contact", None, "answer", 2, clock.now()).event_payload(),
        "due_at": "2026-12-31T10:00:00+08:00"})], rules.version)
    result = verdict_of(store, case_id)
    assert result.verdict == "divergent"
    assert result.divergence.what == "deadline answer round 2: due_at"
    assert result.divergence.recorded == "2026-12-31T10:00:00+08:00"


def test_without_a_reachable_prefect_server_replay_says_so_and_keeps_its_verdict(store, rules, frozen_clock):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from kefu.executor import prefect_check

    case_id = answered_consultation(store, rules)
    casework.link_flow_run(store, rules, case_id, "5b6f5d6c-0000-4000-8000-000000000001")
    results = list(replay.replay(store.engine, [case_id]))
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        note = prefect_check.cross_check(results)
    assert note.startswith("Prefect not reachable at http://127.0.0.1:9/api")
    assert results[0].verdict == "consistent" and results[0].prefect == {"reachable": False, "runs": []}


def test_an_event_the_reducer_cannot_read_makes_its_case_divergent_not_the_audit_fail(store, rules, frozen_clock):
    from kefu.core import chain
    from models.records import CaseEvent

    broken_case, fine_case = answered_consultation(store, rules), answered_consultation(store, rules)
    last = store.events(broken_case)[-1]
    extra = dict(case_id=broken_case, seq=last.seq + 1, type="deadline.met", actor="kefu", at=last.at,
                 recorded_at=last.recorded_at, idem_key=None, config_version=last.config_version,
                 payload={"round": 1, "verified": {"method": "system"}})
    head = chain.chain(broken_case, last.hash, [extra])
    with store.engine.begin() as conn:
        conn.execute(sa.insert(CaseEvent.__table__), [extra])
        conn.execute(sa.text("UPDATE kefu_case SET last_seq = :n, last_hash = :h, seal = :s WHERE id = :c"),
                     {"n": extra["seq"], "h": head, "s": chain.seal_of(broken_case, extra["seq"], head), "c": broken_case})
    results = {r.case_id: r for r in replay.replay(store.engine)}
    assert results[broken_case].verdict == "divergent"
    assert results[broken_case].divergence.seq == extra["seq"] and "KeyError" in results[broken_case].divergence.recorded
    assert results[fine_case].verdict == "consistent"
