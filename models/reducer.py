"""The reducer: a case's state from its events alone, by one explicit fold table.

Every event type is folded by exactly one module: the shared ones by ``models.case``, each
process's own by its module (an event may be recorded on another process's case: an
unsatisfied callback's follow-up shows on the complaint it was about). A process may also
react to a shared event (a complaint's not-upheld reply closes it). An event type nobody
folds is an error, never silently ignored: a record kefu cannot read is not a record to trust.
"""

from __future__ import annotations

from typing import Iterable

from models import callback, case, complaint, customer, order, report
from models.case import CaseState, Fold, RecordedEvent


class UnknownEvent(ValueError):
    """An event type no module folds (a record written by something that is not kefu)."""


def _one_table(*tables: dict[str, Fold]) -> dict[str, Fold]:
    folds: dict[str, Fold] = {}
    for table in tables:
        for event_type, fold in table.items():
            if event_type in folds:
                raise ValueError(f"event type {event_type!r} is folded by two modules")
            folds[event_type] = fold
    return folds


FOLDS = _one_table(case.FOLDS, complaint.FOLDS, callback.FOLDS, order.FOLDS, customer.FOLDS, report.FOLDS)
# Per process: what it does on an event every process shares.
REACTIONS: dict[str, dict[str, Fold]] = {complaint.PROCESS: complaint.REACTIONS, complaint.CONTACT: complaint.REACTIONS}
_NONE: dict[str, Fold] = {}


def apply(state: CaseState, event: RecordedEvent) -> CaseState:
    """Fold one event into the state (mutates and returns it; the reducer owns the copy)."""
    fold = FOLDS.get(event.type)
    if fold is None:
        raise UnknownEvent(f"{state.case_id or 'case'} event {event.seq}: no module folds event type {event.type!r}")
    state.last_seq = event.seq
    state.last_at = event.at
    fold(state, event)
    reaction = REACTIONS.get(state.process, _NONE).get(event.type)
    if reaction is not None:
        reaction(state, event)
    return state


def reduce(case_id: str, events: Iterable[RecordedEvent]) -> CaseState:
    """The case's current state, from its events alone."""
    state = CaseState(case_id=case_id)
    for event in events:
        apply(state, event)
    return state
