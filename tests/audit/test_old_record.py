"""A record written before the re-packaging (issue "One home per process") is read, verified and
replayed after it: no event type, table or config key changed, so every old case stays provable.

``tests/data/pre-repackaging.json`` holds the three tables replay reads (``kefu_case``,
``kefu_event``, ``kefu_config_snapshot``) as the code before the re-packaging wrote them, hash
chain and seals included: a complaint paused by the customer and escalated by the sweep, a major
complaint approved by the manager, a consultation, the two complaints' callbacks (one booked by
the customer past its three days, then answered; one never reached), and an order through its
whole chain, shipped late after a chase."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from kefu.audit import replay
from kefu.core import chain
from models.complaint import complaint_of
from models.records import Case, CaseEvent, ConfigSnapshot

OLD_RECORD = Path(__file__).resolve().parents[1] / "data" / "pre-repackaging.json"
TIMES = {"opened_at", "closed_at", "at", "recorded_at"}


def _utc(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=timezone.utc)


def load_old_record(engine) -> dict[str, list[dict]]:
    tables = json.loads(OLD_RECORD.read_text(encoding="utf-8"))
    with engine.begin() as conn:
        for model, name in ((Case, "kefu_case"), (ConfigSnapshot, "kefu_config_snapshot"), (CaseEvent, "kefu_event")):
            rows = [{k: _utc(v) if k in TIMES else v for k, v in row.items()} for row in tables[name]]
            conn.execute(model.__table__.insert(), rows)  # type: ignore[attr-defined]
    return tables


def test_a_record_from_before_the_move_verifies_intact_and_replays_consistent(store):
    tables = load_old_record(store.engine)
    processes = {row["process"] for row in tables["kefu_case"]}
    assert processes == {"complaint", "contact", "callback", "order"}
    for case, rows in chain.events_by_case(store.engine):
        assert chain.verify_case(case, rows).intact, case.id
    results = list(replay.replay(store.engine))
    assert len(results) == len(tables["kefu_case"])
    assert [r.summary() for r in results if r.verdict != replay.CONSISTENT] == []


def test_a_record_from_before_the_move_reads_back_as_it_was(store):
    """The reducer folds every old event (an unknown type would be an error) into the same state."""
    load_old_record(store.engine)
    complaint = store.state("C-20261123-0001")
    assert (complaint.process, complaint.status, complaint.outcome) == ("complaint", "closed", "resolved")
    assert complaint_of(complaint).callback["reason"] == "complaint_closed"
    callback = store.state("CB-20261127-0001")
    assert callback.parts["callback"].proposed_by == "customer" and callback.outcome == "satisfied"
    assert store.state("CB-20261127-0002").outcome == "unreachable"
    order = store.state("O-20261202-0001").parts["order"]
    assert [c.stage for c in order.chases] == ["shipment"] and order.liabilities[0]["liable"] is False
