"""Validated intake: one mechanism for every file kefu takes in (``kefu intake <target> FILE
--mapping M``).

A file is read in chunks (:mod:`kefu.intake.reading`), each chunk turned into kefu's fields by
the mapping (:mod:`kefu.intake.mapping`) and checked by the Great Expectations suite of the
target's field rules (:mod:`kefu.intake.validation`). Every row is accounted for:
``rows = imported + quarantined + duplicates``. A bad row is quarantined with its row number,
the field, the value and the reason, and never stops the good ones; a row whose id its source
already gave kefu (``kefu_intake_key``) is a duplicate when it is the same row, a quarantined
conflict when it is not. Each chunk's cases, keys and quarantined rows commit together, so a
crash loses nothing that was reported and a re-run imports only what is missing.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from kefu.core import clock
from kefu.core.field_rules import allowed_values
from kefu.core.process import IntakeTarget
from kefu.core.refusals import InputRefused, refusal_from_validation
from kefu.core.rules import Rules
from kefu.core.store import CaseStore, bulk_insert
from kefu.intake import reading
from kefu.intake.mapping import IntakeMapping, Plan
from kefu.intake.validation import UNIQUE, Problem, Validator, fingerprint, records_of, shape
from models.case import CaseState
from models.records import ImportBatch, IntakeKey, QuarantinedRow

if TYPE_CHECKING:
    import pandas as pd

CHUNK_ROWS = 10_000
# Opens one live case from a row: (the target, its registration, where the row came from, the key
# writer to commit with it) -> the case. The CLI's goes through kefu.executor.service (the case's
# flow run starts).
Opener = Callable[[IntakeTarget, BaseModel, dict[str, Any], Callable[[Session, CaseState], None]], CaseState]


@dataclass
class Result:
    batch: str
    target: str
    mode: str
    source: str
    rows: int = 0
    imported: int = 0
    quarantined: int = 0
    duplicates: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    dry_run: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"batch": self.batch, "target": self.target, "as": self.mode, "source": self.source,
                "rows": self.rows, "imported": self.imported, "quarantined": self.quarantined,
                "duplicates": self.duplicates, "reasons": dict(self.reasons.most_common()), "dry_run": self.dry_run}


@dataclass
class _Held:
    row: int
    problems: list[Problem]
    external_id: str | None
    raw: dict[str, Any]

    @property
    def first(self) -> Problem:
        return self.problems[0]


def take_in(store: CaseStore, rules: Rules, target: IntakeTarget, path: Path, mapping: IntakeMapping, *,
            mode: str, actor: str, dry_run: bool = False, opener: Opener | None = None,
            progress: Callable[[int], None] | None = None, chunk_rows: int = CHUNK_ROWS) -> Result:
    """Take in every row of ``path`` as ``target``'s cases (``mode``: archived or opened live), for
    ``actor``; ``dry_run`` checks and counts and writes nothing."""
    section = target.section(rules)
    intake = getattr(section, "intake", None)
    if intake is None:
        raise InputRefused("config", f"the rules have no intake rules for {target.name}",
                           "add an intake: section to the process's config file (see the shipped config/)")
    if mode not in target.modes:
        raise InputRefused("as", f"{target.name} rows are not taken in as {mode!r}",
                           f"use {' or '.join(target.modes)}")
    if mode == "open" and opener is None:
        raise InputRefused("as", "nothing opens the live cases", "take the file in with `kefu intake`")
    fields = intake.for_mode(mode)
    allowed = {name: allowed_values(section, rule) for name, rule in fields.items()}
    plan = Plan(mapping, str(path), reading.headers_of(path), fields, allowed)
    validator = Validator(fields, allowed, mapping.values, mapping.date_format, clock.now())
    batch = f"in-{clock.now():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
    result = Result(batch, target.name, mode, mapping.source, dry_run=dry_run)
    if not dry_run:
        with Session(store.engine) as session, session.begin():
            session.add(ImportBatch(id=batch, source=f"{mapping.source}: {path.name}", format=reading.format_of(path),
                                    mapping={"target": target.name, "as": mode, **mapping.model_dump()},
                                    imported_at=clock.now(), statistics={}))
    # External id -> (fingerprint, where: "row N" or a case id) of this file's rows taken in and not
    # yet committed: earlier chunks' are in the database (a dry run writes nothing, so keeps them all).
    taken: dict[str, tuple[str, str]] = {}
    pace = _Pace(intake.open_per_second)
    for raw in reading.chunks(path, chunk_rows, mapping.date_format):
        if not dry_run:
            taken.clear()
        frame = shape(plan, raw)
        ids = frame["external_id"].tolist() if "external_id" in frame else []
        stored = _stored(store, target.name, mapping.source, [i for i in ids if i is not None])
        problems = validator.problems(frame, {i for i in ids if i is not None and (i in stored or i in taken)})
        good: list[tuple[int, dict[str, Any], str]] = []
        held: list[_Held] = []
        for row, record in records_of(frame, fields).items():
            external_id, print_ = record.get("external_id"), fingerprint(record)
            found = [p for p in problems.get(row, []) if p.kind != UNIQUE]
            if not found and external_id is not None:
                earlier = stored.get(external_id) or taken.get(external_id)
                if earlier is not None and earlier[0] == print_:
                    result.duplicates += 1
                    continue
                if earlier is not None:
                    found = [Problem(row, "external_id", external_id, "already taken in with other content",
                                     detail=earlier[1])]
            if found:
                held.append(_Held(row, found, external_id, raw.loc[row].to_dict()))
                continue
            good.append((row, record, print_))
            if external_id is not None:
                taken[external_id] = (print_, f"row {row}")
        if mode == "archive":
            _archive(store, rules, target, mapping, result, good, held, actor, dry_run, raw)
        else:
            _open(store, rules, target, mapping, result, good, held, opener, pace, dry_run, raw)  # type: ignore[arg-type]
        result.rows += len(frame)
        if progress is not None:
            progress(len(frame))
    if not dry_run:
        with Session(store.engine) as session, session.begin():
            session.execute(sa.update(ImportBatch).where(ImportBatch.id == batch)  # type: ignore[arg-type]
                            .values(statistics=result.as_json()))
    return result


def _archive(store: CaseStore, rules: Rules, target: IntakeTarget, mapping: IntakeMapping, result: Result,
             good: list[tuple[int, dict[str, Any], str]], held: list[_Held], actor: str,
             dry_run: bool, raw: "pd.DataFrame") -> None:
    """The chunk's good rows as archived cases, their keys and the chunk's held rows, in one
    transaction; a row the process's own rules refuse is held with its cells as read (``raw``)."""
    prepared, kept = [], []
    for row, record, print_ in good:
        try:
            prepared.append(target.archived(rules, record, _origin(mapping, result.batch, record, row), actor))
            kept.append((row, record, print_))
        except InputRefused as exc:
            held.append(_Held(row, [Problem(row, exc.field, _text(record.get(exc.field)), exc.problem)],
                              record.get("external_id"), raw.loc[row].to_dict()))
    _count_held(result, held)
    if dry_run:
        result.imported += len(prepared)
        return

    def also(session: Session, states: list[CaseState]) -> None:
        _write_keys(session, result, [(record, print_, row, s.case_id) for (row, record, print_), s in zip(kept, states)])
        _write_held(session, result, held)

    states = store.create_many(target.case_id_prefix(rules), prepared, rules.version, also=also) if prepared else []
    if not prepared:
        with Session(store.engine) as session, session.begin():
            _write_held(session, result, held)
    result.imported += len(states)


def _open(store: CaseStore, rules: Rules, target: IntakeTarget, mapping: IntakeMapping, result: Result,
          good: list[tuple[int, dict[str, Any], str]], held: list[_Held], opener: Opener, pace: "_Pace",
          dry_run: bool, raw: "pd.DataFrame") -> None:
    """Each good row of the chunk as a live case through the normal intake, paced; a row the
    intake refuses (a date too old for a live case, a bad phone) is held like any other."""
    for row, record, print_ in good:
        try:
            registration = target.registration(rules, record)  # type: ignore[misc]
        except ValidationError as exc:
            refusal = refusal_from_validation(exc, {})
            held.append(_Held(row, [Problem(row, refusal.field, _text(record.get(refusal.field)), refusal.problem)],
                              record.get("external_id"), raw.loc[row].to_dict()))
            continue
        if dry_run:
            result.imported += 1
            continue
        pace.wait()
        try:
            opener(target, registration, _origin(mapping, result.batch, record, row),
                           lambda session, state, r=record, p=print_, n=row: _write_keys(
                               session, result, [(r, p, n, state.case_id)]))
        except InputRefused as exc:
            held.append(_Held(row, [Problem(row, exc.field, _text(record.get(exc.field)), exc.problem)],
                              record.get("external_id"), raw.loc[row].to_dict()))
            continue
        result.imported += 1
    _count_held(result, held)
    if not dry_run and held:
        with Session(store.engine) as session, session.begin():
            _write_held(session, result, held)


def _origin(mapping: IntakeMapping, batch: str, record: dict[str, Any], row: int) -> dict[str, Any]:
    return {"source": mapping.source, "batch": batch, "external_id": record.get("external_id"), "row": row}


def _text(value: Any) -> str | None:
    return None if value is None else (value.isoformat() if hasattr(value, "isoformat") else str(value))


def _count_held(result: Result, held: list[_Held]) -> None:
    result.quarantined += len(held)
    result.reasons.update(f"{h.first.field}: {h.first.reason}" for h in held)


def _stored(store: CaseStore, target: str, source: str, ids: list[str]) -> dict[str, tuple[str, str]]:
    """The ids of ``ids`` an earlier import of ``source`` took in: id -> (fingerprint, case id)."""
    found: dict[str, tuple[str, str]] = {}
    table = IntakeKey.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        for start in range(0, len(ids), 5000):
            rows = conn.execute(sa.select(table.c.external_id, table.c.fingerprint, table.c.case_id).where(
                table.c.target == target, table.c.source == source, table.c.external_id.in_(ids[start:start + 5000])))
            found.update({r.external_id: (r.fingerprint, r.case_id) for r in rows})
    return found


def _write_keys(session: Session, result: Result, rows: list[tuple[dict[str, Any], str, int, str]]) -> None:
    keyed = [dict(target=result.target, source=result.source, external_id=record["external_id"], fingerprint=print_,
                  case_id=case_id, batch=result.batch, row=row)
             for record, print_, row, case_id in rows if record.get("external_id") is not None]
    bulk_insert(session, IntakeKey.__table__, keyed)  # type: ignore[attr-defined]


def _write_held(session: Session, result: Result, held: list[_Held]) -> None:
    if held:
        keys = IntakeKey.__table__  # type: ignore[attr-defined]
        keys_before = session.execute(sa.select(sa.func.coalesce(sa.func.max(keys.c.id), 0))).scalar()
        session.execute(sa.insert(QuarantinedRow.__table__), [  # type: ignore[attr-defined]
            dict(batch=result.batch, position=str(h.row), reason=h.first.reason[:500],
                 row={"cells": h.raw, "problems": [{"field": p.field, "value": p.value, "reason": p.reason,
                                                    "detail": p.detail} for p in h.problems]},
                 field=h.first.field, value=None if h.first.value is None else h.first.value[:500],
                 target=result.target, source=result.source, external_id=h.external_id, keys_before=keys_before)
            for h in held])


class _Pace:
    """At most ``per_second`` starts a second (``intake.open_per_second``)."""

    def __init__(self, per_second: float) -> None:
        self.gap, self.last = 1.0 / per_second, 0.0

    def wait(self) -> None:
        delay = self.last + self.gap - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self.last = time.monotonic()


def held_rows(store: CaseStore, batch: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """The quarantined rows still held: not taken in since by a fixed re-import (newest batch first)."""
    q, keys = QuarantinedRow.__table__, IntakeKey.__table__  # type: ignore[attr-defined]
    batches = ImportBatch.__table__  # type: ignore[attr-defined]
    taken_since = sa.exists().where(keys.c.target == q.c.target, keys.c.source == q.c.source,
                                    keys.c.external_id == q.c.external_id, keys.c.id > q.c.keys_before)
    query = (sa.select(q.c.batch, q.c.position, q.c.field, q.c.value, q.c.reason, q.c.external_id, q.c.row)
             .join(batches, batches.c.id == q.c.batch)
             .where(q.c.field.is_not(None), ~taken_since)
             .order_by(batches.c.imported_at.desc(), q.c.id).limit(limit))
    if batch is not None:
        query = query.where(q.c.batch == batch)
    with store.engine.connect() as conn:
        return [{"batch": r.batch, "row": int(r.position), "field": r.field, "value": r.value, "reason": r.reason,
                 "external_id": r.external_id, "problems": r.row.get("problems", [])} for r in conn.execute(query)]
