"""The hash chain over each case's events, its seal, and its verification.

Canonical form of an event (what is hashed, sha256, hex): the JSON array
``[case_id, seq, type, actor, at, recorded_at, idem_key, config_version, payload, prev_hash]``
serialised by orjson with sorted keys (UTF-8, no spaces), times as text in UTC with six
decimals, ``2026-11-23T01:30:00.000000Z``. ``prev_hash`` is the previous event's hash, "" for
event 1. Verification reads the times and the payload as the database's own text (formatted in
SQL), so checking an event costs a JSON parse and a hash, not an ORM object.
A closed case's seal is ``sha256("kefu-seal\\0<case_id>\\0<last seq>\\0<last hash>")``.
See docs/audit.md for what this protects against, and what it does not.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models.records import Case, CaseEvent

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
UTC = timezone.utc
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_text(at: datetime | str) -> str:
    """A time in the canonical form (already-canonical text passes through)."""
    if isinstance(at, str):
        return at
    utc = at.astimezone(UTC)
    # isoformat writes TIME_FORMAT's text, three times faster than strftime (the chain of a bulk
    # import hashes two times per event); strftime does not pad a year below 1000.
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z" if utc.year >= 1000 \
        else utc.strftime(TIME_FORMAT)


def _digest(case_id: str, seq: int, type_: str, actor: str, at: str, recorded_at: str, idem_key: str | None,
            config_version: str, payload: Any, prev_hash: str) -> str:
    return hashlib.sha256(orjson.dumps([case_id, seq, type_, actor, at, recorded_at, idem_key, config_version,
                                        payload, prev_hash], option=_OPTIONS)).hexdigest()


def event_hash(case_id: str, seq: int, type_: str, actor: str, at: datetime | str, recorded_at: datetime | str,
               idem_key: str | None, config_version: str, payload: dict[str, Any], prev_hash: str) -> str:
    """The hash of one event's canonical form (module docstring)."""
    return _digest(case_id, seq, str(type_), actor, utc_text(at), utc_text(recorded_at), idem_key, config_version,
                   payload, prev_hash)


def seal_of(case_id: str, last_seq: int, last_hash: str) -> str:
    """The seal of a closed case: its id, its number of events and the hash of its last one."""
    return hashlib.sha256(f"kefu-seal\0{case_id}\0{last_seq}\0{last_hash}".encode()).hexdigest()


def chain(case_id: str, prev_hash: str, rows: Iterable[dict[str, Any]]) -> str:
    """Give each new event row (a dict of kefu_event columns) its ``prev_hash`` and ``hash``;
    returns the new head. Every writer of events calls this."""
    for row in rows:
        row["prev_hash"] = prev_hash
        row["hash"] = prev_hash = event_hash(
            case_id, row["seq"], row["type"], row["actor"], row["at"], row["recorded_at"], row["idem_key"],
            row["config_version"], row["payload"], prev_hash)
    return prev_hash


@dataclass
class Problem:
    case_id: str
    seq: int | None  # the event the problem is found at (None: the case record itself)
    kind: str  # edited | deleted | reordered | inserted | unlinked | seal-missing | seal-broken
    detail: str

    def text(self) -> str:
        where = f"event {self.seq}" if self.seq is not None else "case record"
        return f"{self.case_id} {where}: {self.kind} — {self.detail}"


@dataclass
class Verdict:
    case_id: str
    events: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


class StoredEvent(NamedTuple):
    """An event as verification reads it: times and payload in their canonical text form."""

    case_id: str
    seq: int
    type: str
    actor: str
    at_text: str
    recorded_text: str
    idem_key: str | None
    config_version: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    @property
    def at(self) -> datetime:
        return datetime.fromisoformat(self.at_text)

    @property
    def recorded_at(self) -> datetime:
        return datetime.fromisoformat(self.recorded_text)


def _event_columns(dialect: str) -> list[Any]:
    """The event columns with the times formatted canonically and the payload as text, in SQL."""
    c = CaseEvent.__table__.c  # type: ignore[attr-defined]
    if dialect == "postgresql":
        def when(col: Any) -> Any:
            return sa.func.to_char(col, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
        payload = sa.cast(c.payload, sa.Text)
    else:  # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff'
        def when(col: Any) -> Any:
            return sa.func.replace(sa.type_coerce(col, sa.String), " ", "T").concat("Z")
        payload = sa.type_coerce(c.payload, sa.String)
    return [c.case_id, c.seq, c.type, c.actor, when(c.at), when(c.recorded_at), c.idem_key, c.config_version,
            payload, c.prev_hash, c.hash]


def verify_case(case: Any, events: list[Any]) -> Verdict:
    """Check one case's events (ordered by seq) against their hashes, their links and the case's
    seal. Names the first broken event (later ones usually break with it) and the seal."""
    verdict = Verdict(case.id, len(events))
    problem = _first_break(case.id, events)
    if problem is not None:
        verdict.problems.append(problem)
    last_seq, last_hash = (events[-1].seq, events[-1].hash) if events else (0, "")
    if case.last_seq != last_seq:
        if case.last_seq > last_seq:
            verdict.problems.append(Problem(case.id, last_seq + 1, "deleted",
                                            f"the case recorded {case.last_seq} events; the record ends at event {last_seq}"))
        else:
            verdict.problems.append(Problem(case.id, case.last_seq + 1, "inserted",
                                            f"the case recorded {case.last_seq} events; events {case.last_seq + 1}–{last_seq} "
                                            f"were added outside kefu"))
    elif case.last_hash is not None and case.last_hash != last_hash:
        verdict.problems.append(Problem(case.id, last_seq, "edited", "the last event is not the one the case record links to"))
    if case.status == "closed":
        if not case.seal:
            verdict.problems.append(Problem(case.id, None, "seal-missing", "the case is closed but carries no seal"))
        elif case.seal != seal_of(case.id, last_seq, last_hash):
            verdict.problems.append(Problem(case.id, None, "seal-broken",
                                            f"the seal does not match the record's end (event {last_seq}): events were "
                                            f"removed, added or changed after closing"))
    return verdict


def _first_break(case_id: str, events: list[StoredEvent]) -> Problem | None:
    previous_hash, previous_seq = "", 0
    for event in events:
        if (event.seq != previous_seq + 1 or event.prev_hash != previous_hash
                or _digest(*event[:10]) != event.hash):
            return _diagnose(case_id, events, event, previous_seq, previous_hash)
        previous_hash, previous_seq = event.hash, event.seq
    return None


def _diagnose(case_id: str, events: list[StoredEvent], event: StoredEvent, previous_seq: int,
              previous_hash: str) -> Problem:
    """Name what is wrong at the first event that breaks the chain."""
    if event.seq != previous_seq + 1:
        missing = f"{previous_seq + 1}" if event.seq == previous_seq + 2 else f"{previous_seq + 1}–{event.seq - 1}"
        return Problem(case_id, previous_seq + 1, "deleted",
                       f"event {missing} is missing: the record jumps from event {previous_seq} to {event.seq}")
    position = {e.hash: e.seq for e in events}
    linked_to = position.get(event.prev_hash, 0 if event.prev_hash == "" else None)
    if _hash_at(event, event.seq) != event.hash:
        if not event.hash:
            return Problem(case_id, event.seq, "inserted", f"{event.type} carries no hash: kefu did not write it")
        moved_from = next((s for s in range(1, len(events) + 2) if s != event.seq and _hash_at(event, s) == event.hash), None)
        if moved_from is None:
            return Problem(case_id, event.seq, "edited",
                           f"{event.type} by {event.actor} does not match its hash: changed after it was recorded")
        if linked_to is not None and linked_to < event.seq - 1:
            return _inserted(case_id, linked_to, event.seq)
        if linked_to is None and moved_from == event.seq + 1:
            return Problem(case_id, event.seq, "deleted",
                           f"the event recorded as {event.seq} was removed; the ones after it were renumbered "
                           f"(this {event.type} was event {moved_from})")
        return Problem(case_id, event.seq, "reordered", f"this {event.type} was recorded as event {moved_from}, not {event.seq}")
    if linked_to is not None and linked_to < event.seq - 1:
        return _inserted(case_id, linked_to, event.seq)
    return Problem(case_id, previous_seq, "edited",
                   f"event {previous_seq} was replaced (and hashed anew): event {event.seq} links to the original")


def _inserted(case_id: str, linked_to: int, seq: int) -> Problem:
    span = f"{linked_to + 1}" if linked_to + 1 == seq - 1 else f"{linked_to + 1}–{seq - 1}"
    return Problem(case_id, linked_to + 1, "inserted",
                   f"event {span} is not in the chain: the event after it links to event {linked_to}")


def _hash_at(event: StoredEvent, seq: int) -> str:
    return _digest(event.case_id, seq, *event[2:10])


def events_by_case(engine: Engine, case_ids: list[str] | None = None, batch: int = 5000,
                   id_range: tuple[str, str | None] | None = None) -> Iterator[tuple[Any, list[Any]]]:
    """Each case's row and its events (ordered by seq), streamed in case order; a case without
    events comes last with an empty list. ``id_range``: the cases with ``first <= id < last``
    (None: to the end), one worker's share (kefu.audit.parallel)."""
    cases_t, events_t = Case.__table__, CaseEvent.__table__  # type: ignore[attr-defined]
    case_query = sa.select(cases_t.c.id, cases_t.c.process, cases_t.c.status, cases_t.c.last_seq,
                           cases_t.c.last_hash, cases_t.c.seal, cases_t.c.opened_at, cases_t.c.closed_at)
    event_query = sa.select(*_event_columns(engine.dialect.name)).order_by(events_t.c.case_id, events_t.c.seq)
    if case_ids is not None:
        case_query = case_query.where(cases_t.c.id.in_(case_ids))
        event_query = event_query.where(events_t.c.case_id.in_(case_ids))
    if id_range is not None:
        case_query = case_query.where(cases_t.c.id >= id_range[0])
        event_query = event_query.where(events_t.c.case_id >= id_range[0])
        if id_range[1] is not None:
            case_query = case_query.where(cases_t.c.id < id_range[1])
            event_query = event_query.where(events_t.c.case_id < id_range[1])
    with engine.connect() as conn:
        cases = {row.id: row for row in conn.execute(case_query)}
        seen: set[str] = set()
        current: list[StoredEvent] = []
        current_id = None
        loads = orjson.loads
        for row in conn.execute(event_query.execution_options(yield_per=batch)):
            if row[0] != current_id:
                if current:
                    seen.add(current_id)  # type: ignore[arg-type]
                    yield cases[current_id], current
                current, current_id = [], row[0]
            current.append(StoredEvent(*row[:8], loads(row[8]), row[9], row[10]))
        if current:
            seen.add(current_id)  # type: ignore[arg-type]
            yield cases[current_id], current
    for case_id in sorted(set(cases) - seen):
        yield cases[case_id], []


def verify(engine: Engine, case_ids: list[str] | None = None,
           id_range: tuple[str, str | None] | None = None) -> Iterator[Verdict]:
    """Verify the given cases (all when None)."""
    for case, events in events_by_case(engine, case_ids, id_range=id_range):
        yield verify_case(case, events)
