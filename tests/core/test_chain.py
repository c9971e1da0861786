"""Tamper evidence: every kind of change to a case's record is detected and located (case, event
number, what is wrong), on SQLite and PostgreSQL (issue 6, docs/audit.md)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from audit_cases import answered_consultation, resolved_complaint

from kefu.core import chain
from models.records import CaseEvent


@pytest.fixture
def two_cases(store, rules, frozen_clock):
    """A complaint with a paused clock and sweep escalations, and a consultation; both closed."""
    return resolved_complaint(store, rules, pause=True, escalate=True), answered_consultation(store, rules)


def verdicts(store):
    return {v.case_id: v for v in chain.verify(store.engine)}


def sql(store, statement, **params):
    with store.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def renumber(store, case_id, from_seq, by):
    """Move events ``from_seq``.. by ``by`` places (in two steps: the (case, seq) pair is unique)."""
    sql(store, "UPDATE kefu_event SET seq = -(seq + :by) WHERE case_id = :c AND seq >= :s", c=case_id, s=from_seq, by=by)
    sql(store, "UPDATE kefu_event SET seq = -seq WHERE case_id = :c AND seq < 0", c=case_id)


def only_problem(verdict):
    assert verdict.problems, f"{verdict.case_id}: tampering went unnoticed"
    return verdict.problems[0]


def test_a_record_written_by_kefu_verifies_intact_sweep_escalations_included(store, two_cases):
    complaint, consultation = two_cases
    found = verdicts(store)
    assert set(found) == {complaint, consultation}
    assert all(v.intact for v in found.values()), [p.text() for v in found.values() for p in v.problems]
    types = [e.type for e in store.events(complaint)]
    assert "deadline.escalated" in types, "the sweep's bulk insert must be part of the chain"
    assert found[complaint].events == len(types)


def test_an_edited_event_is_named_with_its_number(store, two_cases):
    complaint, other = two_cases
    sql(store, "UPDATE kefu_event SET actor = 'zhou.qiang' WHERE case_id = :c AND type = 'plan.approved'", c=complaint)
    approved = next(e.seq for e in store.events(complaint) if e.type == "plan.approved")
    found = verdicts(store)
    problem = only_problem(found[complaint])
    assert (problem.seq, problem.kind) == (approved, "edited")
    assert "plan.approved" in problem.detail
    assert found[other].intact


def test_an_edited_payload_is_detected_even_if_only_a_json_value_changes(store, two_cases):
    complaint, _ = two_cases
    row = store.events(complaint)[2]
    payload = dict(row.payload)
    payload["due_at"] = "2030-01-01T00:00:00+00:00" if "due_at" in payload else "x"
    with store.engine.begin() as conn:
        conn.execute(sa.update(CaseEvent.__table__).where(CaseEvent.__table__.c.id == row.id).values(payload=payload))
    problem = only_problem(verdicts(store)[complaint])
    assert (problem.seq, problem.kind) == (3, "edited")


def test_a_deleted_event_is_named(store, two_cases):
    complaint, _ = two_cases
    sql(store, "DELETE FROM kefu_event WHERE case_id = :c AND seq = 4", c=complaint)
    problem = only_problem(verdicts(store)[complaint])
    assert (problem.seq, problem.kind) == (4, "deleted")


def test_a_deleted_event_with_the_rest_renumbered_is_named(store, two_cases):
    complaint, _ = two_cases
    sql(store, "DELETE FROM kefu_event WHERE case_id = :c AND seq = 4", c=complaint)
    renumber(store, complaint, 5, -1)
    problem = only_problem(verdicts(store)[complaint])
    assert (problem.seq, problem.kind) == (4, "deleted")


def test_the_last_events_deleted_break_the_seal(store, two_cases):
    complaint, _ = two_cases
    last = len(store.events(complaint))
    sql(store, "DELETE FROM kefu_event WHERE case_id = :c AND seq >= :s", c=complaint, s=last - 1)
    sql(store, "UPDATE kefu_case SET last_seq = :n, last_hash = NULL WHERE id = :c", c=complaint, n=last - 2)
    problems = verdicts(store)[complaint].problems
    assert [p.kind for p in problems] == ["seal-broken"]


def test_reordered_events_are_named(store, two_cases):
    complaint, _ = two_cases
    sql(store, "UPDATE kefu_event SET seq = -1 WHERE case_id = :c AND seq = 3", c=complaint)
    sql(store, "UPDATE kefu_event SET seq = 3 WHERE case_id = :c AND seq = 6", c=complaint)
    sql(store, "UPDATE kefu_event SET seq = 6 WHERE case_id = :c AND seq = -1", c=complaint)
    problem = only_problem(verdicts(store)[complaint])
    assert (problem.seq, problem.kind) == (3, "reordered")
    assert "was recorded as event 6" in problem.detail


def test_an_inserted_event_with_a_forged_hash_is_named(store, two_cases):
    """The forger knows the hash function: the inserted event even links correctly to the one
    before it. The event after it still links to the original predecessor."""
    complaint, _ = two_cases
    before = store.events(complaint)[3]  # event 4
    renumber(store, complaint, 5, 1)
    forged = dict(case_id=complaint, seq=5, type="plan.approved", actor="zhou.qiang", at=before.at,
                  recorded_at=before.recorded_at, idem_key=None, config_version=before.config_version,
                  payload={"choice": 1, "round": 1})
    chain.chain(complaint, before.hash, [forged])
    with store.engine.begin() as conn:
        conn.execute(sa.insert(CaseEvent.__table__), [forged])
    problem = only_problem(verdicts(store)[complaint])
    assert (problem.seq, problem.kind) == (5, "inserted")


def test_an_event_added_at_the_end_outside_kefu_is_named(store, two_cases):
    complaint, _ = two_cases
    last = store.events(complaint)[-1]
    extra = dict(case_id=complaint, seq=last.seq + 1, type="case.closed", actor="kefu", at=last.at,
                 recorded_at=last.recorded_at, idem_key=None, config_version=last.config_version,
                 payload={"outcome": "resolved"})
    chain.chain(complaint, last.hash, [extra])
    with store.engine.begin() as conn:
        conn.execute(sa.insert(CaseEvent.__table__), [extra])
    problems = verdicts(store)[complaint].problems
    assert (problems[0].seq, problems[0].kind) == (last.seq + 1, "inserted")
    assert "seal-broken" in [p.kind for p in problems]


def test_an_event_replaced_and_hashed_anew_is_named(store, two_cases):
    complaint, _ = two_cases
    row = store.events(complaint)[5]
    new_hash = chain.event_hash(complaint, row.seq, row.type, "sun.li", row.at, row.recorded_at, row.idem_key,
                                row.config_version, row.payload, row.prev_hash)
    sql(store, "UPDATE kefu_event SET actor = 'sun.li', hash = :h WHERE id = :i", h=new_hash, i=row.id)
    problem = only_problem(verdicts(store)[complaint])
    assert (problem.seq, problem.kind) == (6, "edited")


def test_a_closed_case_without_its_seal_is_named(store, two_cases):
    _, consultation = two_cases
    sql(store, "UPDATE kefu_case SET seal = NULL WHERE id = :c", c=consultation)
    problems = verdicts(store)[consultation].problems
    assert [(p.seq, p.kind) for p in problems] == [(None, "seal-missing")]


def test_a_forged_seal_is_named(store, two_cases):
    _, consultation = two_cases
    sql(store, "UPDATE kefu_case SET seal = :s WHERE id = :c", c=consultation, s="0" * 64)
    assert [p.kind for p in verdicts(store)[consultation].problems] == ["seal-broken"]


def test_an_anchor_kept_outside_finds_a_case_rewritten_consistently(store, two_cases, tmp_path):
    """What the chain cannot see (docs/audit.md): every hash and the seal recomputed after an edit.
    The anchor written before still catches it."""
    from kefu.audit import anchor

    complaint, consultation = two_cases
    path = tmp_path / "anchor.json"
    assert anchor.write(store.engine, path)["cases"] == 2
    events = store.events(complaint)
    rows = [dict(case_id=e.case_id, seq=e.seq, type=e.type, actor="sun.li" if e.type == "plan.approved" else e.actor,
                 at=e.at, recorded_at=e.recorded_at, idem_key=e.idem_key, config_version=e.config_version,
                 payload=e.payload, id=e.id) for e in events]
    head = chain.chain(complaint, "", rows)
    for row in rows:
        sql(store, "UPDATE kefu_event SET actor = :a, prev_hash = :p, hash = :h WHERE id = :i",
            a=row["actor"], p=row["prev_hash"], h=row["hash"], i=row["id"])
    sql(store, "UPDATE kefu_case SET last_hash = :h, seal = :s WHERE id = :c",
        h=head, s=chain.seal_of(complaint, len(rows), head), c=complaint)
    assert verdicts(store)[complaint].intact, "a consistent rewrite passes the chain: that is the documented limit"
    assert anchor.check(store.engine, path) == [
        {"case_id": complaint, "problem": "its seal changed since the anchor: the record was rewritten"}]
