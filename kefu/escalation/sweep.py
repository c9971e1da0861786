"""The sweep: fire every escalation rung that has come due, exactly once, and queue the e-mails.

One transaction records the rungs in the cases' event logs (``deadline.escalated``), moves each
deadline to its next rung, and queues one digest e-mail per recipient (the transactional
outbox). Exactly once, even with two sweepers at the same time:
- PostgreSQL: the due deadlines and their cases are claimed ``FOR UPDATE SKIP LOCKED``, so two
  sweepers take disjoint sets;
- everywhere: each rung's event carries the idempotency key ``escalated:<step>:<round>:<rung>``
  (unique per case), and each case append checks the case's last sequence number, so a rung
  recorded by someone else makes this sweep's whole transaction roll back and retry.
A crash before the commit leaves nothing recorded (the next sweep fires the rung); a crash
after it leaves the e-mail in the outbox, delivered by the next delivery (at most one resend,
with the same Message-ID: see kefu.escalation.mail).

The query asks the partial index ``ix_deadline_next_rung_due`` for open deadlines whose next
rung is due, so a sweep costs what is due, not what is open.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from kefu.core import chain, clock, snapshots
from kefu.core.deadlines import late_text
from kefu.core.identity import stamped
from kefu.core.rules import Rules
from kefu.core.texts import local_time, run_page
from kefu.escalation import mail
from models.case import EventType
from models.outbox import OutboxMessage
from models.records import Case, CaseEvent, Deadline

ACTOR = "kefu.sweep"


@dataclass
class SweepReport:
    swept_at: datetime
    rungs_fired: int = 0
    cases: int = 0
    messages_queued: int = 0
    seconds: float = 0.0
    fired: list[dict[str, Any]] = field(default_factory=list)


class _Retry(Exception):
    pass


# The command that answers a case's step, given its process and step (``kefu.processes.command_for``):
# each digest item says what to do. None: kefu itself is working on the case.
Commands = Callable[[str, str], "str | None"]


def escalate_due(engine: Engine, rules: Rules, *, dashboard_url: str, commands: Commands,
                 limit: int = 5000) -> SweepReport:
    """Fire the rungs due now (business clock); retry if another writer touched the same cases."""
    started = time.perf_counter()
    now = clock.now()
    collision: Exception | None = None
    for _ in range(10):
        sweep_id = uuid.uuid4().hex[:12]
        try:
            with Session(engine) as session, session.begin():
                report = _sweep(session, rules, now, sweep_id, dashboard_url, commands, limit)
            report.seconds = time.perf_counter() - started
            return report
        except (IntegrityError, _Retry, OperationalError) as exc:
            # OperationalError: SQLite's "database is locked" when a writer committed between
            # our read and our first write; the transaction rolled back, read again.
            collision = exc
            continue
    raise RuntimeError("the sweep kept colliding with other writers; it will run again next minute") from collision


def _sweep(session: Session, rules: Rules, now: datetime, sweep_id: str, dashboard_url: str,
           commands: Commands, limit: int) -> SweepReport:
    report = SweepReport(swept_at=now)
    # A rung is recorded at ``now``: never before what the case's record already holds (a case's
    # time never runs backwards; a clock behind the record waits until it has caught up). The
    # case's last event is one lookup: (case_id, its last seq).
    last_event_at = sa.func.coalesce(
        sa.select(CaseEvent.at).where(CaseEvent.case_id == Deadline.case_id, CaseEvent.seq == Case.last_seq)
        .scalar_subquery(), Deadline.opened_at)
    query = (
        sa.select(Deadline.id, Deadline.case_id, Deadline.step, Deadline.round, Deadline.rungs,
                  Deadline.next_rung, Deadline.due_at, Deadline.policy, Deadline.allowed,
                  Case.last_seq, Case.owner, Case.customer_name, Case.customer_phone, Case.process,
                  Case.severity, Case.flow_run_id, Case.last_hash, Case.status)
        .join(Case, Case.id == Deadline.case_id)
        .where(*_rung_due(now), last_event_at <= now)
        .order_by(Deadline.next_rung_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = session.execute(query).all()
    if not rows:
        return report

    staff = {s.id: s for s in rules.department.staff}
    events: list[dict[str, Any]] = []
    deadline_moves: list[dict[str, Any]] = []
    next_seq: dict[str, int] = {}
    first_seq: dict[str, int] = {}
    head: dict[str, str] = {}  # each case's chain head: the escalations link to it (kefu.core.chain)
    closed: set[str] = set()
    by_recipient: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        seq = next_seq.setdefault(row.case_id, row.last_seq)
        first_seq.setdefault(row.case_id, row.last_seq)
        head.setdefault(row.case_id, row.last_hash or "")
        if row.status == "closed":
            closed.add(row.case_id)
        rung_index = row.next_rung
        while rung_index < len(row.rungs) and row.rungs[rung_index]["at"] is not None \
                and datetime.fromisoformat(row.rungs[rung_index]["at"]) <= now:
            rung = row.rungs[rung_index]
            recipients = _recipients(rules, rung["notify"], row.owner)
            seq += 1
            payload = stamped(ACTOR, {"step": row.step, "round": row.round, "rung": rung_index,
                                      "share": rung["share"], "notify": rung["notify"], "kind": rung["kind"],
                                      "recipients": recipients, "sweep": sweep_id, "policy": row.policy,
                                      "due_at": row.due_at.isoformat() if row.due_at else None})
            event = dict(case_id=row.case_id, seq=seq, type=EventType.DEADLINE_ESCALATED.value,
                         actor=ACTOR, at=now, recorded_at=now, config_version=rules.version,
                         idem_key=f"escalated:{row.step}:{row.round}:{rung_index}", payload=payload)
            head[row.case_id] = chain.chain(row.case_id, head[row.case_id], [event])
            events.append(event)
            item = _digest_item(rules, row, rung, now, dashboard_url, staff, commands)
            for recipient in recipients:
                by_recipient[recipient].append(item)
            report.fired.append({"case_id": row.case_id, "step": row.step, "round": row.round,
                                 "rung": rung_index, "notify": rung["notify"], "recipients": recipients})
            rung_index += 1
        next_seq[row.case_id] = seq
        upcoming = row.rungs[rung_index]["at"] if rung_index < len(row.rungs) else None
        deadline_moves.append({"d_id": row.id, "d_next": rung_index,
                               "d_next_at": datetime.fromisoformat(upcoming) if upcoming else None})

    if events:
        snapshots.record_once(session, rules.version)
        session.execute(sa.insert(CaseEvent.__table__), events)
    claims = [{"c_id": case_id, "c_old": first_seq[case_id], "c_new": last, "c_hash": head[case_id],
               "c_seal": chain.seal_of(case_id, last, head[case_id]) if case_id in closed else None}
              for case_id, last in next_seq.items() if last != first_seq[case_id]]
    if claims:  # each case must still be where we read it: one executemany, all rows or retry
        cases = Case.__table__
        moved = session.execute(
            sa.update(cases).where(cases.c.id == sa.bindparam("c_id"), cases.c.last_seq == sa.bindparam("c_old"))
            .values(last_seq=sa.bindparam("c_new"), last_hash=sa.bindparam("c_hash"), seal=sa.bindparam("c_seal")),
            claims,
        )
        # SQLite and psycopg both report the summed rowcount of an executemany.
        if moved.rowcount != len(claims):
            raise _Retry(f"{len(claims) - moved.rowcount} of {len(claims)} cases changed")
    table = Deadline.__table__
    session.execute(
        sa.update(table).where(table.c.id == sa.bindparam("d_id"))
        .values(next_rung=sa.bindparam("d_next"), next_rung_at=sa.bindparam("d_next_at")),
        deadline_moves,
    )
    for recipient, items in by_recipient.items():
        member = staff[recipient]
        subject, text, html = mail.render_message(
            rules.directory, "escalation/digest", recipient=member.model_dump(), cases=by_case(items), label=rules.label,
            sweep_at=local_time(rules, now), dashboard_url=dashboard_url,
        )
        if mail.enqueue(session, key=f"digest:{sweep_id}:{recipient}", to=[member.email],
                        subject=subject, text=text, html=html):
            report.messages_queued += 1
    report.rungs_fired = len(events)
    report.cases = len(claims)
    return report


# What a digest says once per case; the rest is said per deadline of it.
_CASE_KEYS = ("case_id", "customer_name", "phone_masked", "process", "severity", "owner_name", "act_command",
              "case_url")


def by_case(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A recipient's digest items as one entry per case with a line per deadline of it: two
    deadlines of one case are one entry with both lines, and the rungs one deadline fired in one
    sweep (a catch-up after an outage) are its latest one. Late cases first."""
    cases: dict[str, dict[str, Any]] = {}
    for item in items:
        case = cases.setdefault(item["case_id"], {**{k: item[k] for k in _CASE_KEYS}, "deadlines": {}})
        case["deadlines"][(item["step"], item["round"])] = item  # items come in rung order: the latest wins
    entries = [{**case, "deadlines": list(case["deadlines"].values()),
                "overdue": any(d["overdue"] for d in case["deadlines"].values())} for case in cases.values()]
    return sorted(entries, key=lambda case: not case["overdue"])


def _recipients(rules: Rules, notify: str, owner: str | None) -> list[str]:
    if notify == "owner":
        return [owner] if owner else [s.id for s in rules.department.staff if s.role == rules.department.roles[1]]
    return [s.id for s in rules.department.staff if s.role == notify]


def _digest_item(rules: Rules, row: Any, rung: dict[str, Any], now: datetime, dashboard_url: str,
                 staff: dict[str, Any], commands: Commands) -> dict[str, Any]:
    zh, en = late_text(now, row.due_at) if row.due_at else ("", "")
    owner = staff.get(row.owner)
    command = commands(row.process, row.step)
    return {
        "case_id": row.case_id, "customer_name": row.customer_name, "phone_masked": row.customer_phone,
        "process": row.process, "step": row.step, "round": row.round, "severity": row.severity or "-",
        "owner_name": f"{owner.name} ({owner.id})" if owner else "-",
        "due_at": local_time(rules, row.due_at) if row.due_at else "-",
        "state": en, "late_by_text_zh": zh, "late_by_text_en": en,
        # Late or not by the clock, not by the rung: a catch-up sweep fires a late case's 50 %
        # reminder too, and that item is no less late than its 200 % rung.
        "overdue": row.due_at is not None and now > row.due_at,
        "percent": round(rung["share"] * 100), "rung_role": rung["notify"], "kind": rung["kind"],
        "rule": row.policy, "allowed": row.allowed,
        "source": rules.sla.sources.get(row.process, ""),
        "act_command": f"{command or 'kefu case show'} {row.case_id}",
        "case_url": run_page(dashboard_url, row.flow_run_id),
    }


def _rung_due(now: datetime) -> tuple[Any, ...]:
    """A deadline whose next rung is due at ``now`` (the partial index ``ix_deadline_next_rung_due``)."""
    return (Deadline.met_at.is_(None), Deadline.next_rung_at.is_not(None),  # type: ignore[union-attr]
            Deadline.next_rung_at <= now)  # type: ignore[operator]


def work_due(engine: Engine, now: datetime) -> bool:
    """Whether a sweep would do anything now: a rung due, or an e-mail whose attempt is due. Two
    lookups in the partial indexes of what is left (``ix_deadline_next_rung_due``,
    ``ix_outbox_due``): what decides whether a sweep run starts at all (kefu.executor.watch)."""
    rung_due = sa.exists().where(*_rung_due(now))
    mail_due = sa.exists().where(OutboxMessage.next_attempt_at.is_not(None),  # type: ignore[union-attr]
                                 OutboxMessage.next_attempt_at <= now)  # type: ignore[operator]
    with Session(engine) as session:
        return bool(session.execute(sa.select(sa.or_(rung_due, mail_due))).scalar())


def due_deadlines(engine: Engine, *, only_due: bool, limit: int = 500) -> list[Deadline]:
    """Open deadlines, soonest first (``kefu deadlines``); ``only_due``: those already past due."""
    query = select(Deadline).where(Deadline.met_at.is_(None)).order_by(Deadline.due_at).limit(limit)  # type: ignore[union-attr]
    if only_due:
        query = query.where(Deadline.due_at <= clock.now())  # type: ignore[operator]
    with Session(engine) as session:
        return list(session.exec(query).all())
