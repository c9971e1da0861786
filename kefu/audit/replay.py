"""Replay: rebuild each case from its events alone and recompute every rule-derived decision
with the rules of the config version recorded on the event, then compare.

Per event type, checks run against the case state as it was just before the event: the checks
of the shared events here (every deadline), and each process's own, declared with the process
(``kefu.processes``: ``replay_checks``). A due time that ``deadlines.plan`` did not compute
carries ``set_by`` (e.g. "customer") in its payload: replay lists it as set by that source
instead of recomputing it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Iterator

from sqlalchemy.engine import Engine

from kefu import processes
from kefu.audit.snapshots import VersionNotOnRecord, rules_of
from kefu.core import chain, deadlines, identity
from kefu.core.process import Check
from kefu.core.rules import Rules
from kefu.core.verdicts import Context, Divergence
from models.case import CaseState, EventType, RecordedEvent
from models.reducer import apply

CONSISTENT, DIVERGENT, TAMPERED = "consistent", "divergent", "tampered"


@dataclass
class CaseReplay:
    case_id: str
    process: str
    status: str
    events: int
    verdict: str = CONSISTENT
    divergence: Divergence | None = None
    problems: list[chain.Problem] = field(default_factory=list)  # tampering found by the chain
    notes: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    state: CaseState | None = None
    flow_run_ids: list[str] = field(default_factory=list)
    prefect: dict[str, Any] | None = None

    def summary(self) -> str:
        if self.verdict == TAMPERED:
            return f"{self.case_id}: tampered 被篡改 — {self.problems[0].text()}"
        if self.divergence is not None:
            return f"{self.case_id}: divergent 不一致 — {self.divergence.text()}"
        return f"{self.case_id}: consistent 一致 ({self.events} events, rules {', '.join(self.versions)})"


# What a check reads of an event: seq, type, actor, at, payload (a stored or a reducer's event).
Event = RecordedEvent | chain.StoredEvent


@cache
def _checks() -> dict[str, list[tuple[str | None, Check]]]:
    """The shared events' checks (every process) and each process's own, by event type."""
    table: dict[str, list[tuple[str | None, Check]]] = {t: [(None, fn)] for t, fn in SHARED_CHECKS.items()}
    for event_type, own in processes.replay_checks().items():
        table.setdefault(event_type, []).extend(own)  # type: ignore[arg-type]
    return table


def replay_case(engine: Engine, case: Any, rows: list[Any], rules_cache: dict[str, Rules] | None = None) -> CaseReplay:
    """The verdict on one case: tampered (chain), divergent (first divergence) or consistent."""
    result = CaseReplay(case.id, case.process, case.status, len(rows))
    verdict = chain.verify_case(case, rows)
    if not verdict.intact:
        result.verdict, result.problems = TAMPERED, verdict.problems
        return result
    rules_cache = {} if rules_cache is None else rules_cache
    checks = _checks()
    state = CaseState(case_id=case.id)
    for row in rows:
        # The stored event has what the reducer and the checks read (seq, type, actor, at, payload):
        # no RecordedEvent per event (a fifth of replay's own time).
        event = row
        rules = rules_cache.get(row.config_version)
        if rules is None:
            try:
                rules = rules_cache[row.config_version] = rules_of(engine, row.config_version)
            except VersionNotOnRecord as missing:
                result.verdict = DIVERGENT
                result.divergence = Divergence(row.seq, row.type, "rules in force", str(missing), row.config_version)
                return result
        if row.config_version not in result.versions:
            result.versions.append(row.config_version)
        context = Context(rules, result.notes)
        if state.last_at is not None and row.at < state.last_at:
            result.verdict = DIVERGENT
            result.divergence = Divergence(row.seq, row.type, "time order (a case's time never runs backwards)",
                                           f"at or after {state.last_at.isoformat()}", row.at.isoformat())
            return result
        try:
            missing = identity.unverified(rules, state.step, event.actor, event.payload)
            if missing is not None:
                result.verdict = DIVERGENT
                result.divergence = Divergence(row.seq, row.type, "who decided (department.yaml access)", *missing)
                return result
            for process, fn in checks.get(row.type, ()):
                if process is None or process == (state.process or case.process):  # the first event opens the case
                    divergence = fn(context, state, event)
                    if divergence is not None:
                        result.verdict, result.divergence = DIVERGENT, divergence
                        return result
            if row.type == EventType.FLOW_RUN_LINKED:
                result.flow_run_ids.append(event.payload["flow_run_id"])
            apply(state, event)
        except (KeyError, IndexError, TypeError, ValueError) as exc:  # UnknownEvent is a ValueError
            # One unreadable event makes its case divergent; it does not stop the audit of the rest.
            result.verdict = DIVERGENT
            result.divergence = Divergence(row.seq, row.type, "an event the rules and the reducer can read",
                                           "the fields its type needs", f"{type(exc).__name__}: {exc}")
            return result
    result.state = state
    return result


def replay(engine: Engine, case_ids: list[str] | None = None,
           id_range: tuple[str, str | None] | None = None) -> Iterator[CaseReplay]:
    """Replay the given cases (all when None), streaming."""
    rules_cache: dict[str, Rules] = {}
    for case, rows in chain.events_by_case(engine, case_ids, id_range=id_range):
        yield replay_case(engine, case, rows, rules_cache)


# -- the checks of the shared events ----------------------------------------------------------------

_PLANNED = ("due_at", "rungs", "policy", "allowed", "basis", "calendar", "ladder")


def _set_by(context: Context, event: Event) -> bool:
    source = event.payload.get("set_by")
    if source:
        p = event.payload
        context.notes.append(f"event {event.seq}: {p.get('step')} round {p.get('round')} due {p.get('due_at')} "
                             f"set by {source}, not computed by the rules (accepted as recorded)")
    return bool(source)


def _compare(event: Event, expected: dict[str, Any], keys: tuple[str, ...]) -> Divergence | None:
    p = event.payload
    for key in keys:
        if key in p and p[key] != expected[key]:
            return Divergence(event.seq, event.type, f"deadline {p['step']} round {p['round']}: {key}",
                              expected[key], p[key])
    return None


def deadline_opened(context: Context, state: CaseState, event: Event) -> Divergence | None:
    """The due time and rungs follow from the SLA, the ladder and the calendar at the opening."""
    if _set_by(context, event):
        return None
    p = event.payload
    expected = deadlines.plan(context.rules, state.process, state.severity, p["step"], p["round"], event.at,
                              state.pauses).event_payload()
    return _compare(event, expected, _PLANNED)


def deadline_rescheduled(context: Context, state: CaseState, event: Event) -> Divergence | None:
    """A moved deadline is the plan again from its opening, with the customer's pauses so far."""
    if _set_by(context, event):
        return None
    p = event.payload
    deadline = state.deadline(p["step"], p["round"])
    if deadline is None:
        return Divergence(event.seq, event.type, "deadline to move", "an opened deadline", f"{p['step']} round {p['round']}")
    expected = deadlines.plan(context.rules, state.process, state.severity, deadline.step, deadline.round,
                              deadline.opened_at, state.pauses).event_payload()
    return _compare(event, expected, ("due_at", "rungs", "policy", "allowed"))


def deadline_escalated(context: Context, state: CaseState, event: Event) -> Divergence | None:
    """Each rung fires once, in order, at or after its time, while the deadline is open."""
    p = event.payload
    deadline = state.deadline(p["step"], p["round"])
    what = f"escalation of {p['step']} round {p['round']}"
    if deadline is None:
        return Divergence(event.seq, event.type, what, "an opened deadline", None)
    if deadline.met_at is not None:
        return Divergence(event.seq, event.type, what, f"none: met at {deadline.met_at.isoformat()}", f"rung {p['rung']}")
    expected_rung = deadline.escalated[-1] + 1 if deadline.escalated else 0
    if p["rung"] != expected_rung or p["rung"] >= len(deadline.rungs):
        return Divergence(event.seq, event.type, f"{what}: rung", expected_rung, p["rung"])
    rung = deadline.rungs[p["rung"]]
    if rung["at"] is None or event.at < datetime.fromisoformat(rung["at"]):
        return Divergence(event.seq, event.type, f"{what}: rung {p['rung']} fired", f"at or after {rung['at']}",
                          event.at.isoformat())
    for key in ("notify", "kind", "share"):
        if key in p and p[key] != rung[key]:
            return Divergence(event.seq, event.type, f"{what}: rung {p['rung']} {key}", rung[key], p[key])
    return None


def deadline_met(context: Context, state: CaseState, event: Event) -> Divergence | None:
    p = event.payload
    deadline = state.deadline(p["step"], p["round"])
    if deadline is None or deadline.met_at is not None:
        return Divergence(event.seq, event.type, f"deadline {p['step']} round {p['round']}", "an open deadline",
                          "none open" if deadline is None else f"met at {deadline.met_at.isoformat()}")  # type: ignore[union-attr]
    return None


SHARED_CHECKS: dict[str, Check] = {
    EventType.DEADLINE_OPENED: deadline_opened,  # type: ignore[dict-item]
    EventType.DEADLINE_RESCHEDULED: deadline_rescheduled,  # type: ignore[dict-item]
    EventType.DEADLINE_ESCALATED: deadline_escalated,  # type: ignore[dict-item]
    EventType.DEADLINE_MET: deadline_met,  # type: ignore[dict-item]
}
