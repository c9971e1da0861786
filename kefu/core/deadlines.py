"""Deadlines from history: when a step is due, and when each rung of its ladder fires.

Everything here is a pure function of the case's history (when the step opened, when the
customer paused the clock) and the rules in force, so a deadline can be recomputed after a
calendar or SLA change, and an auditor can recompute it from the record.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal, Sequence

from pydantic import BaseModel

from kefu.core.calendar import BusinessCalendar
from kefu.core.rules import Rules

Pause = tuple[datetime, datetime | None]


class RungPlan(BaseModel):
    rung: int
    share: float
    notify: str
    kind: str
    at: datetime | None  # None while the clock is paused


class DeadlinePlan(BaseModel):
    step: str
    round: int
    opened_at: datetime
    due_at: datetime | None  # None while the clock is paused
    policy: str
    allowed: str
    basis: Literal["working", "calendar"]
    calendar: str
    ladder: str
    rungs: list[RungPlan]

    def event_payload(self) -> dict[str, Any]:
        return {
            "step": self.step, "round": self.round, "due_at": _iso(self.due_at), "policy": self.policy,
            "allowed": self.allowed, "basis": self.basis, "calendar": self.calendar, "ladder": self.ladder,
            "rungs": [{"rung": r.rung, "share": r.share, "notify": r.notify, "kind": r.kind, "at": _iso(r.at)}
                      for r in self.rungs],
        }


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def add_active(calendar: BusinessCalendar, start: datetime, amount: timedelta,
               basis: Literal["working", "calendar"], pauses: Sequence[Pause]) -> datetime | None:
    """``start + amount`` on the calendar, with the clock stopped during ``pauses``.

    Returns None if the time runs out inside a pause that has not ended (the clock is stopped)."""
    cursor, remaining = start, amount
    for pause_start, pause_end in sorted(pauses, key=lambda p: p[0]):
        if pause_end is not None and pause_end <= cursor:
            continue
        pause_start = max(pause_start, cursor)
        candidate = calendar.add(cursor, remaining, basis)
        if candidate <= pause_start:
            return candidate
        remaining -= calendar.between(cursor, pause_start, basis)
        if pause_end is None:
            return None
        cursor = pause_end
    return calendar.add(cursor, remaining, basis)


def plan(rules: Rules, process: str, severity: str | None, step: str, round_: int,
         opened_at: datetime, pauses: Sequence[Pause] = ()) -> DeadlinePlan:
    """The deadline of ``step`` opened at ``opened_at``, and its escalation rungs."""
    allowance, policy = rules.sla_for(process, step, severity)
    calendar_name = rules.sla.calendar
    calendar = rules.calendar(calendar_name)
    ladder_name, rungs = rules.escalation.ladder_for(process, severity)
    due_at = add_active(calendar, opened_at, allowance.amount, allowance.basis, pauses)
    # The 100 % rung is the due time itself: computed once (an auditor's replay plans every
    # deadline of every case again, and the calendar arithmetic is most of its cost).
    return DeadlinePlan(
        step=step, round=round_, opened_at=opened_at, due_at=due_at,
        policy=policy, allowed=allowance.text, basis=allowance.basis, calendar=calendar_name, ladder=ladder_name,
        rungs=[RungPlan(rung=i, share=r.at, notify=r.notify, kind=r.kind,
                        at=due_at if r.at == 1 else add_active(calendar, opened_at, allowance.amount * r.at,
                                                               allowance.basis, pauses))
               for i, r in enumerate(rungs)],
    )


def late_text(now: datetime, due_at: datetime) -> tuple[str, str]:
    """How late (or how soon due), in Chinese and English: ("超时 3 小时 20 分", "late by 3 h 20 min")."""
    delta = now - due_at
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    zh = "".join(part for part in (f"{days} 天" if days else "", f"{hours} 小时" if hours else "",
                                   f"{mins} 分" if mins or not (days or hours) else "") if part)
    en = " ".join(part for part in (f"{days} d" if days else "", f"{hours} h" if hours else "",
                                    f"{mins} min" if mins or not (days or hours) else "") if part)
    if delta >= timedelta(0):
        return f"超时 {zh}", f"late by {en}"
    return f"{zh}后到期", f"due in {en}"
