"""Fact rows made when read: the cases a store without a process's facts wrote (a test's, a
bench's), or wrote before the table existed, get their row from their record here, and a row
behind its case (``last_seq``) is made again. The event record stays the truth."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from kefu.core.process import Facts
from kefu.core.store import CaseStore, write_facts
from models.records import Case

BATCH = 500


def refresh(store: CaseStore, processes: tuple[str, ...], facts: Facts) -> int:
    """Make every missing or stale fact row of the cases of ``processes``; returns how many."""
    table = facts.table.__table__  # type: ignore[attr-defined]
    stale = (sa.select(Case.id).select_from(Case.__table__.outerjoin(table, table.c.case_id == Case.id))  # type: ignore[attr-defined]
             .where(Case.process.in_(processes),  # type: ignore[attr-defined]
                    sa.or_(table.c.case_id.is_(None), table.c.last_seq != Case.last_seq)))
    with Session(store.engine) as session:
        case_ids = list(session.execute(stale).scalars())
    for start in range(0, len(case_ids), BATCH):
        states = [store.state(case_id) for case_id in case_ids[start:start + BATCH]]
        with Session(store.engine) as session, session.begin():
            write_facts(session, facts, states)
    return len(case_ids)
