"""Who can take new work on a day: the agents on the roster who are active and not away
(PROCESSES.md P5: never assign a customer to an agent on leave). An absence is a span of days a
supervisor records (``kefu staff away``); the leave process records the ones it approves."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from kefu.core import clock
from kefu.core.assignment import agents
from kefu.core.refusals import InputRefused, unknown_staff
from kefu.core.rules import Rules
from kefu.core.store import CaseStore
from models.records import StaffAbsence


def away_on(store: CaseStore, day: date) -> dict[str, str]:
    """Who is away on ``day``, with the reason."""
    table = StaffAbsence.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.staff, table.c.reason)
                            .where(table.c.first_day <= day, table.c.last_day >= day))
        return {r.staff: r.reason for r in rows}


def available_agents(store: CaseStore, rules: Rules, day: date) -> list[str]:
    """The agents who may be given new work on ``day``: active, and not away."""
    away = away_on(store, day)
    return [a for a in agents(rules) if rules.staff_member(a).active and a not in away]  # type: ignore[union-attr]


def record_absence(store: CaseStore, rules: Rules, staff: str, first_day: date, last_day: date, reason: str,
                   by: str) -> StaffAbsence:
    """Record that ``staff`` is away from ``first_day`` to ``last_day`` (both included); by a
    supervisor or anyone above the agents."""
    recorder = rules.staff_member(by)
    if recorder is None:
        raise unknown_staff(by)
    if not rules.department.above_agents(recorder.role):
        raise InputRefused("by", f"{by} ({recorder.role}) may not record it: an absence is recorded by a supervisor or above",
                           "ask your supervisor to record it")
    if rules.staff_member(staff) is None:
        raise InputRefused("staff", f"unknown staff id {staff!r}", "use an id from `kefu staff`")
    if last_day < first_day:
        raise InputRefused("to", f"{last_day} is before {first_day}", "give the last day away, on or after the first")
    if not reason.strip():
        raise InputRefused("reason", "must not be empty", "say why (leave, training, …)")
    absence = StaffAbsence(staff=staff, first_day=first_day, last_day=last_day, reason=reason.strip(),
                           recorded_by=by, recorded_at=clock.now())
    with Session(store.engine) as session, session.begin():
        overlapping = session.execute(sa.select(StaffAbsence).where(
            StaffAbsence.staff == staff, StaffAbsence.first_day <= last_day,  # type: ignore[arg-type]
            StaffAbsence.last_day >= first_day)).scalars().first()  # type: ignore[arg-type]
        if overlapping is not None:
            raise InputRefused("from", f"{staff} is already away {overlapping.first_day} – {overlapping.last_day}",
                               "give days that do not overlap it")
        session.add(absence)
    return absence


def absences(store: CaseStore, since: date) -> list[StaffAbsence]:
    """Every absence that ends on or after ``since``, the earliest first."""
    with Session(store.engine, expire_on_commit=False) as session:
        return list(session.execute(sa.select(StaffAbsence).where(StaffAbsence.last_day >= since)  # type: ignore[arg-type]
                                    .order_by(StaffAbsence.first_day)).scalars())
