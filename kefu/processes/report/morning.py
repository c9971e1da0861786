"""The supervisor's morning screen 晨会议程 (PROCESSES.md P8): the stand-up's agenda, from the record.

Seed 001 物业主管 每日工作安排 1 (paraphrase): 每日上班时检查《客服工作日志》等，了解前一天本部门的各项
工作记录、完成及跟进情况，并安排当日的工作 — every morning the supervisor checks yesterday's work,
what was finished and what is still being followed up, and plans the day; seed 002 §2: the stand-up
8:00–8:30 (早会). So, for the day: what came in and what closed yesterday; what is still open, by
process and step, the oldest first; every deadline already missed; what falls due today (callbacks
included); the orders at risk; who is away. Read from the projections (``kefu_case``,
``kefu_deadline``, ``kefu_staff_absence``): indexed queries, not replays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from kefu.core import clock
from kefu.core.availability import away_on
from kefu.core.rules import Rules
from kefu.core.store import CaseStore
from kefu.core.texts import render_file
from kefu.processes.report.registers import day_bounds
from models.records import Case, Deadline

ORDER = "order"


@dataclass
class MorningScreen:
    day: date
    received: dict[str, int] = field(default_factory=dict)      # yesterday, by process
    closed: dict[str, int] = field(default_factory=dict)        # yesterday, by process
    open: dict[str, dict[str, int]] = field(default_factory=dict)  # process -> step -> cases
    oldest: list[dict[str, Any]] = field(default_factory=list)  # the longest-open cases
    breaches: list[dict[str, Any]] = field(default_factory=list)  # deadlines missed, still open
    due_today: list[dict[str, Any]] = field(default_factory=list)
    orders_at_risk: list[dict[str, Any]] = field(default_factory=list)
    away: dict[str, str] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "received": self.received, "closed": self.closed, "open": self.open,
                "oldest": self.oldest, "breaches": self.breaches, "due_today": self.due_today,
                "orders_at_risk": self.orders_at_risk, "away": self.away}


def _deadline_row(rules: Rules, row: Any, now: datetime) -> dict[str, Any]:
    zone, due = rules.department.department.zone, row.due_at
    return {"case_id": row.case_id, "process": row.process, "step": row.step, "round": row.round,
            "owner": row.owner or "-", "customer": row.customer_name,
            "due": due.astimezone(zone).strftime("%m-%d %H:%M"),
            "late_hours": round((now - due).total_seconds() / 3600, 1) if due < now else None}


def morning_screen(store: CaseStore, rules: Rules, day: date, oldest: int = 10) -> MorningScreen:
    """The agenda of ``day``'s stand-up (a day in the department's zone), as the record is now."""
    screen = MorningScreen(day=day)
    now = clock.now()
    yesterday_start, today_start = day_bounds(rules, day - timedelta(days=1))[0], day_bounds(rules, day)[0]
    today_end = day_bounds(rules, day)[1]
    d = Deadline.__table__  # type: ignore[attr-defined]
    with Session(store.engine) as session:
        for column, target in ((Case.opened_at, screen.received), (Case.closed_at, screen.closed)):
            rows = session.execute(sa.select(Case.process, sa.func.count()).where(
                column >= yesterday_start, column < today_start).group_by(Case.process)).all()  # type: ignore[operator]
            target.update({process: count for process, count in rows})
        for process, step, count in session.execute(
                sa.select(Case.process, Case.step, sa.func.count()).where(Case.status == "open")
                .group_by(Case.process, Case.step).order_by(Case.process, Case.step)).all():
            screen.open.setdefault(process, {})[step or "-"] = count
        zone = rules.department.department.zone
        for case in session.execute(sa.select(Case).where(Case.status == "open", Case.opened_at < today_start)
                                    .order_by(Case.opened_at).limit(oldest)).scalars():
            screen.oldest.append({"case_id": case.id, "process": case.process, "step": case.step or "-",
                                  "owner": case.owner or "-", "customer": case.customer_name,
                                  "opened": case.opened_at.astimezone(zone).strftime("%m-%d %H:%M"),
                                  "days": (now - case.opened_at).days})
        waiting = (sa.select(d.c.case_id, d.c.step, d.c.round, d.c.due_at, Case.process, Case.owner,
                             Case.customer_name)
                   .select_from(d.join(Case.__table__, Case.id == d.c.case_id))  # type: ignore[attr-defined]
                   .where(d.c.met_at.is_(None), d.c.due_at.isnot(None), Case.status == "open"))
        for row in session.execute(waiting.where(d.c.due_at < now).order_by(d.c.due_at)).all():
            screen.breaches.append(_deadline_row(rules, row, now))
        for row in session.execute(waiting.where(d.c.due_at >= now, d.c.due_at < today_end)
                                   .order_by(d.c.due_at)).all():
            screen.due_today.append(_deadline_row(rules, row, now))
        for row in session.execute(waiting.where(Case.process == ORDER, d.c.due_at < now + timedelta(days=1))
                                   .order_by(d.c.due_at)).all():
            screen.orders_at_risk.append(_deadline_row(rules, row, now))
    screen.away = away_on(store, day)
    return screen


def markdown(rules: Rules, screen: MorningScreen) -> str:
    """The agenda as Markdown (report.yaml morning.templates.markdown)."""
    return render_file(rules, rules.report.morning.templates.markdown, m=screen)
