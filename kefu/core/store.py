"""The case store: append events, keep the projections in step, read cases back.

Appends are optimistic: a writer states the sequence number it read; if another writer got
there first, nothing is written and the caller re-reads and re-decides. A step that runs
twice carries the same idempotency key and records once.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from kefu.core import chain, clock, snapshots
from kefu.core.identity import stamped
from kefu.core.refusals import TimeRunsBackwards
from kefu.core.texts import mask_phone
from models.case import CaseState, EventType, RecordedEvent
from models.records import Case, CaseEvent, Deadline, UTCDateTime
from models.reducer import apply, reduce

if TYPE_CHECKING:
    from kefu.core.process import Facts


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
    """``facts``: the processes' own projections by process name (``kefu.processes.facts``), kept
    in step with every append; a store without them leaves those rows to be made when read."""

    def __init__(self, engine: Engine, facts: Mapping[str, Facts] | None = None) -> None:
        self.engine = engine
        self.facts = dict(facts or {})

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

    def histories(self, case_ids: Iterable[str]) -> dict[str, list[RecordedEvent]]:
        """The cases' events, by case in the order given, from one read (a day's register folds its
        cases without a query each); a case with no events is left out."""
        ids = list(dict.fromkeys(case_ids))
        by_case: dict[str, list[CaseEvent]] = {case_id: [] for case_id in ids}
        with Session(self.engine) as session:
            for start in range(0, len(ids), 500):  # bounded IN lists
                for row in session.exec(select(CaseEvent).where(CaseEvent.case_id.in_(ids[start:start + 500]))  # type: ignore[attr-defined]
                                        .order_by(CaseEvent.case_id, CaseEvent.seq)):
                    by_case[row.case_id].append(row)
        return {case_id: recorded(events) for case_id, events in by_case.items() if events}

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
               events: list[NewEvent], config_version: str,
               also: Callable[[Session, CaseState], None] | None = None) -> CaseState:
        """Give a new case the next id of the day (``C-20261123-0001``) and record its first events;
        ``also`` writes what must commit with them."""
        for _ in range(20):
            with Session(self.engine) as session:
                number = _last_number(session, prefix, day) + 1
            case_id = f"{prefix}-{day}-{number:04d}"
            try:
                with Session(self.engine) as session, session.begin():
                    session.add(Case(
                        id=case_id, process=process, kind="", status="open",
                        customer_name=customer_name, opened_at=events[0].at, last_seq=0,
                    ))
                    session.flush()
                    state = self._append(session, CaseState(case_id=case_id), events, config_version)
                    if also is not None:
                        also(session, state)
                    return state
            except IntegrityError:
                continue  # another intake took this number; take the next
        raise ConcurrentChange(f"could not allocate a case id for {prefix}-{day}")

    def create_many(self, prefix: str, cases: list[tuple[str, str, list[NewEvent]]], config_version: str,
                    also: Callable[[Session, list[CaseState]], None] | None = None) -> list[CaseState]:
        """Record many new cases in one transaction: ``(day, customer name, first events)`` each,
        numbered on from each day's last id, chained and projected as :meth:`create` does. For
        cases that open no deadline (a file's archived complaints): thousands a second, where one
        transaction per case is a hundred."""
        for _ in range(20):
            try:
                with Session(self.engine) as session, session.begin():
                    states = self._insert_cases(session, prefix, cases, config_version)
                    if also is not None:
                        also(session, states)
                    return states
            except IntegrityError:
                continue  # a live intake took one of the numbers meanwhile: number the batch again
        raise ConcurrentChange(f"could not allocate {len(cases)} case ids under {prefix}")

    def _insert_cases(self, session: Session, prefix: str, cases: list[tuple[str, str, list[NewEvent]]],
                      config_version: str) -> list[CaseState]:
        snapshots.record_once(session, config_version)
        numbers: dict[str, int] = {}
        recorded_at = clock.now()
        case_rows, event_rows, states = [], [], []
        for day, customer_name, events in cases:
            if day not in numbers:
                numbers[day] = _last_number(session, prefix, day)
            numbers[day] += 1
            case_id = f"{prefix}-{day}-{numbers[day]:04d}"
            if any(e.type == EventType.DEADLINE_OPENED for e in events):
                raise ValueError(f"{case_id}: create_many records no deadlines; open the case with create()")
            for before, after in zip(events, events[1:]):
                if after.at < before.at:
                    raise TimeRunsBackwards(case_id, str(after.type), after.at, before.at)
            events = [NewEvent(e.type, e.actor, e.at, stamped(e.actor, e.payload), e.idem_key) for e in events]
            rows = [dict(case_id=case_id, seq=seq, type=str(event.type), actor=event.actor, at=event.at,
                         recorded_at=recorded_at, idem_key=event.idem_key, config_version=config_version,
                         payload=event.payload) for seq, event in enumerate(events, start=1)]
            head = chain.chain(case_id, "", rows)
            # The rows were built just above: no need to validate them again as models.
            state = reduce(case_id, (RecordedEvent.model_construct(seq=r["seq"], type=r["type"], actor=r["actor"],
                                                                   at=r["at"], payload=r["payload"]) for r in rows))
            closed = state.status == "closed"
            case_rows.append(dict(
                id=case_id, process=state.process, kind=state.kind, severity=state.severity, status=state.status,
                step=state.step, customer_name=customer_name, customer_phone=mask_phone(state.intake.get("phone") or ""),
                owner=state.owner, opened_at=events[0].at, closed_at=state.closed_at, last_seq=len(rows),
                flow_run_id=None, last_hash=head, seal=chain.seal_of(case_id, len(rows), head) if closed else None,
            ))
            event_rows.extend(rows)
            states.append(state)
        if case_rows:
            bulk_insert(session, Case.__table__, case_rows)  # type: ignore[attr-defined]
            bulk_insert(session, CaseEvent.__table__, event_rows)  # type: ignore[attr-defined]
            for process, facts in self.facts.items():
                bulk_insert(session, facts.table.__table__,  # type: ignore[attr-defined]
                            [facts.row(state) for state in states if state.process == process])
        return states

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
                # A customer's record may change its name (kefu customer update).
                customer_name=sa.func.coalesce(new_state.intake.get("name"), Case.customer_name),
                last_hash=head,
                seal=chain.seal_of(state.case_id, last_seq, head) if new_state.status == "closed" else None,
            )
        )
        facts = self.facts.get(new_state.process)
        if facts is not None:
            write_facts(session, facts, [new_state])
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


def write_facts(session: Session, facts: "Facts", states: list[CaseState]) -> None:
    """Rewrite the fact rows of ``states`` (a delete and an insert: the same on both databases)."""
    table = facts.table.__table__  # type: ignore[attr-defined]
    session.execute(sa.delete(table).where(table.c.case_id.in_([state.case_id for state in states])))
    bulk_insert(session, table, [facts.row(state) for state in states])


def bulk_insert(session: Session, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows of ``table`` in one executemany, each value made ready for the driver here
    (JSON as text, a time as naive UTC: what the columns' own types would bind) instead of by
    SQLAlchemy's bind processors, which cost a third of a bulk import. For rows kefu built
    itself; every column of ``table`` not given is NULL (or its server default)."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    sql, positional, names = _plain_insert(table, tuple(c.name for c in table.columns if c.name in rows[0]), dialect)
    values = operator.itemgetter(*names)
    made = [(i, make) for i, make in enumerate(_driver_value_maker(table.columns[n], dialect.name) for n in names)
            if make is not None]
    params: list[Any] = []
    for row in rows:
        value = list(values(row)) if len(names) > 1 else [values(row)]
        for i, make in made:
            value[i] = make(value[i])
        params.append(tuple(value) if positional else dict(zip(names, value)))
    session.connection().exec_driver_sql(sql, params)


def _plain_insert(table: sa.Table, names: tuple[str, ...], dialect: Any) -> tuple[str, bool, tuple[str, ...]]:
    key = (table.name, names, dialect.name)
    if key not in _PLAIN_INSERTS:
        plain = sa.Table(table.name, sa.MetaData(), *(sa.Column(n, sa.types.NullType()) for n in names))
        compiled = sa.insert(plain).compile(dialect=dialect, column_keys=list(names))
        order = tuple(compiled.positiontup) if compiled.positional else names  # type: ignore[arg-type]
        _PLAIN_INSERTS[key] = (str(compiled), compiled.positional, order)
    return _PLAIN_INSERTS[key]


_PLAIN_INSERTS: dict[tuple[str, tuple[str, ...], str], tuple[str, bool, tuple[str, ...]]] = {}


def _driver_value_maker(column: sa.Column, dialect: str) -> Callable[[Any], Any] | None:
    """What the driver is given for a value of ``column``: JSON as text (orjson), a time as naive
    UTC (SQLite: the text SQLAlchemy's DateTime stores); None: the value as it is."""
    if isinstance(column.type, sa.JSON):
        return lambda value: None if value is None else orjson.dumps(value).decode()
    if isinstance(column.type, UTCDateTime):
        if dialect == "sqlite":
            return lambda at: None if at is None else at.astimezone(timezone.utc).replace(tzinfo=None).isoformat(
                " ", "microseconds")
        return lambda at: None if at is None else at.astimezone(timezone.utc).replace(tzinfo=None)
    return None


def _last_number(session: Session, prefix: str, day: str) -> int:
    """The number of the day's last case id (0: none yet). The longest id is the highest: the
    10,000th case of a day (``-10000``) sorts below ``-9999`` as text. A range, not LIKE: SQLite's
    LIKE ignores case, so it cannot use the primary key's index and would read every case."""
    start = f"{prefix}-{day}-"
    taken = session.execute(
        sa.select(Case.id).where(Case.id >= start, Case.id < start[:-1] + ".")  # type: ignore[operator]
        .order_by(sa.func.length(Case.id).desc(), Case.id.desc()).limit(1)  # type: ignore[attr-defined]
    ).scalar()
    return int(taken.rsplit("-", 1)[1]) if taken else 0


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def next_rung_at(rungs: list[dict[str, Any]], index: int) -> datetime | None:
    """When rung ``index`` fires (None: no rung left, or the clock is stopped)."""
    return _time(rungs[index]["at"]) if index < len(rungs) else None


def recorded(events: Iterable[CaseEvent]) -> list[RecordedEvent]:
    return [_as_recorded(e) for e in events]
