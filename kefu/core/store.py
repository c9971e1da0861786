"""The case store: append events, keep the projections in step, read cases back.

Appends are optimistic: a writer states the sequence number it read; if another writer got
there first, nothing is written and the caller re-reads and re-decides. A step that runs
twice carries the same idempotency key and records once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from kefu.core import chain, clock, snapshots
from kefu.core.identity import stamped
from kefu.core.refusals import TimeRunsBackwards
from kefu.core.texts import mask_phone
from models.case import CaseState, EventType, RecordedEvent
from models.records import Case, CaseEvent, Deadline
from models.reducer import apply, reduce


class UnknownCase(LookupError):
    def __init__(self, case_id: str) -> None:
        super().__init__(case_id)
        self.case_id = case_id


class ConcurrentChange(Exception):
    """Another writer appended to the case first; re-read and decide again."""


@dataclass
class NewEvent:
    type: str
    actor: str
    at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    idem_key: str | None = None


def _as_recorded(row: CaseEvent) -> RecordedEvent:
    return RecordedEvent(seq=row.seq, type=row.type, actor=row.actor, at=row.at, payload=row.payload)


class CaseStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- reading --------------------------------------------------------------------------
    def events(self, case_id: str) -> list[CaseEvent]:
        with Session(self.engine) as session:
            rows = session.exec(
                select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)
            ).all()
            if not rows and session.get(Case, case_id) is None:
                raise UnknownCase(case_id)
            return list(rows)

    def state(self, case_id: str) -> CaseState:
        return reduce(case_id, recorded(self.events(case_id)))

    def cases(self, status: str | None = None, step: str | None = None, limit: int = 200) -> list[Case]:
        query = select(Case).order_by(Case.opened_at.desc(), Case.id.desc()).limit(limit)  # type: ignore[union-attr]
        if status:
            query = query.where(Case.status == status)
        if step:
            query = query.where(Case.step == step)
        with Session(self.engine) as session:
            return list(session.exec(query).all())

    def open_cases_by_owner(self, process: str | None = None) -> dict[str, int]:
        """How many open cases (of ``process``, or of every process) each owner holds."""
        query = sa.select(Case.owner, sa.func.count()).where(Case.status == "open").group_by(Case.owner)
        if process is not None:
            query = query.where(Case.process == process)
        with Session(self.engine) as session:
            rows = session.execute(query).all()
        return {owner: count for owner, count in rows if owner}

    def deadlines(self, case_id: str) -> list[Deadline]:
        with Session(self.engine) as session:
            return list(session.exec(
                select(Deadline).where(Deadline.case_id == case_id).order_by(Deadline.opened_at, Deadline.id)
            ).all())

    # -- writing --------------------------------------------------------------------------
    def create(self, prefix: str, day: str, process: str, customer_name: str,
               events: list[NewEvent], config_version: str) -> CaseState:
        """Give a new case the next id of the day (``C-20261123-0001``) and record its first events."""
        for _ in range(20):
            with Session(self.engine) as session:
                like = f"{prefix}-{day}-%"
                taken = session.exec(
                    select(sa.func.max(Case.id)).where(Case.id.like(like))  # type: ignore[attr-defined]
                ).one()
            number = int(taken.rsplit("-", 1)[1]) + 1 if taken else 1
            case_id = f"{prefix}-{day}-{number:04d}"
            try:
                with Session(self.engine) as session, session.begin():
                    session.add(Case(
                        id=case_id, process=process, kind="", status="open",
                        customer_name=customer_name, opened_at=events[0].at, last_seq=0,
                    ))
                    session.flush()
                    return self._append(session, CaseState(case_id=case_id), events, config_version)
            except IntegrityError:
                continue  # another intake took this number; take the next
        raise ConcurrentChange(f"could not allocate a case id for {prefix}-{day}")

    def append(self, state: CaseState, events: list[NewEvent], config_version: str,
               also: Callable[[Session, CaseState], None] | None = None) -> CaseState:
        """Append ``events`` after ``state.last_seq``; raises :class:`ConcurrentChange` if stale.

        ``also`` writes what must commit together with the events (e.g. an outbox e-mail)."""
        try:
            with Session(self.engine) as session, session.begin():
                new_state = self._append(session, state, events, config_version)
                if also is not None:
                    also(session, new_state)
                return new_state
        except IntegrityError as exc:
            raise ConcurrentChange(str(exc.orig)) from exc

    def _append(self, session: Session, state: CaseState, events: list[NewEvent],
                config_version: str) -> CaseState:
        # The claim returns the chain's head as this writer found it: the new events link to it.
        claimed = session.execute(
            sa.update(Case)
            .where(Case.id == state.case_id, Case.last_seq == state.last_seq)  # type: ignore[arg-type]
            .values(last_seq=state.last_seq + len(events))
            .returning(Case.last_hash)
        ).all()
        if len(claimed) != 1:
            raise ConcurrentChange(f"{state.case_id} changed after seq {state.last_seq}")
        last_at = state.last_at
        for event in events:
            if last_at is not None and event.at < last_at:
                raise TimeRunsBackwards(state.case_id, str(event.type), event.at, last_at)
            last_at = event.at
        snapshots.record_once(session, config_version)
        new_state = state.model_copy(deep=True)
        recorded_at = clock.now()
        # Each event says how its actor was verified (kefu.core.identity), inside the chained payload.
        events = [replace(event, payload=stamped(event.actor, event.payload)) for event in events]
        rows = [dict(case_id=state.case_id, seq=state.last_seq + offset, type=str(event.type), actor=event.actor,
                     at=event.at, recorded_at=recorded_at, idem_key=event.idem_key, config_version=config_version,
                     payload=event.payload) for offset, event in enumerate(events, start=1)]
        head = chain.chain(state.case_id, claimed[0].last_hash or "", rows)
        for row, event in zip(rows, events):
            session.add(CaseEvent(**row))
            apply(new_state, RecordedEvent(seq=row["seq"], type=event.type, actor=event.actor, at=event.at,
                                           payload=event.payload))
            self._project_deadline(session, state.case_id, event)
        last_seq = state.last_seq + len(events)
        session.execute(
            sa.update(Case).where(Case.id == state.case_id).values(  # type: ignore[arg-type]
                kind=new_state.kind, severity=new_state.severity, status=new_state.status,
                step=new_state.step, closed_at=new_state.closed_at, flow_run_id=new_state.flow_run_id,
                owner=new_state.owner, customer_phone=mask_phone(new_state.intake.get("phone", "")),
                last_hash=head,
                seal=chain.seal_of(state.case_id, last_seq, head) if new_state.status == "closed" else None,
            )
        )
        return new_state

    @staticmethod
    def _project_deadline(session: Session, case_id: str, event: NewEvent) -> None:
        p = event.payload
        if event.type == EventType.DEADLINE_OPENED:
            session.add(Deadline(
                case_id=case_id, step=p["step"], round=p["round"], opened_at=event.at, due_at=_time(p["due_at"]),
                policy=p["policy"], allowed=p.get("allowed", ""), ladder=p.get("ladder", ""),
                rungs=p.get("rungs", []), next_rung=0, next_rung_at=next_rung_at(p.get("rungs", []), 0),
            ))
            session.flush()
            return
        if event.type not in (EventType.DEADLINE_MET, EventType.DEADLINE_RESCHEDULED, EventType.DEADLINE_ESCALATED):
            return
        row = session.exec(select(Deadline).where(
            Deadline.case_id == case_id, Deadline.step == p["step"], Deadline.round == p["round"])).one()
        if event.type == EventType.DEADLINE_MET:
            row.met_at, row.next_rung_at = event.at, None
        elif event.type == EventType.DEADLINE_RESCHEDULED:
            row.due_at, row.rungs = _time(p["due_at"]), p["rungs"]
            row.policy, row.allowed = p.get("policy", row.policy), p.get("allowed", row.allowed)
            row.next_rung_at = next_rung_at(row.rungs, row.next_rung)
        else:
            row.next_rung = p["rung"] + 1
            row.next_rung_at = next_rung_at(row.rungs, row.next_rung)
        session.add(row)
        session.flush()


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def next_rung_at(rungs: list[dict[str, Any]], index: int) -> datetime | None:
    """When rung ``index`` fires (None: no rung left, or the clock is stopped)."""
    return _time(rungs[index]["at"]) if index < len(rungs) else None


def recorded(events: Iterable[CaseEvent]) -> list[RecordedEvent]:
    return [_as_recorded(e) for e in events]
