"""An agent's work log 工作日志, weekly report 周报 and monthly report 月报 (PROCESSES.md P8: "Agents:
work log 工作日志, weekly and monthly reports").

Seed 002 第五條 客服代表崗位職責 (4): "負責做好工作日志、周報、月報,及時反饋信息的統計、分析和匯報";
第六條 (6): "客服代表根據每一天的工作狀況,把客戶反饋的不一樣狀況以工作日志的形式進行詳細的登記,特殊客戶
狀況需向部門組長(或本中心負責人)匯報,並每月上報工作總結". The record already holds every contact the
agent took, every call, order and chase: kefu writes that part — the log entry by entry, the
totals, each day's count, the deadlines missed on the agent's cases and what is still open with
them — and the agent adds what only they know (the summary, the special situations, the plan).
pandas shapes the totals; the rows come from one indexed query of the agent's events.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from kefu.core import clock
from kefu.core.rules import Rules
from kefu.core.store import CaseStore
from kefu.core.texts import render_file
from kefu.processes.report.registers import Sheet, local, short, staff_name
from kefu.processes.report.statistics import Period
from models.records import Case, CaseEvent, Deadline
from models.report import PROCESS as REPORT


@dataclass
class WorkLog:
    """What an agent recorded in a period, as kefu compiled it; ``figures()`` is what the record
    keeps (the entries cut at report.yaml work_log.listed: the workbook has all of them)."""

    agent: str
    name: str
    cadence: str     # "week" or "month"
    first: str       # the period, ISO days in the department's zone, both included
    last: str
    as_of: str = ""
    done: dict[str, int] = field(default_factory=dict)              # what the agent did: how often
    by_day: dict[str, dict[str, int]] = field(default_factory=dict)  # day -> what -> how often
    entries: list[dict[str, Any]] = field(default_factory=list)     # the log itself, oldest first
    entries_total: int = 0
    cases: int = 0                                                  # distinct cases worked on
    breaches: list[dict[str, Any]] = field(default_factory=list)    # deadlines missed on their cases
    breaches_total: int = 0
    open: dict[str, int] = field(default_factory=dict)              # their open cases (reports aside), by process

    @property
    def empty(self) -> bool:
        return not (self.entries_total or self.breaches_total or self.open)

    def figures(self, listed: int) -> dict[str, Any]:
        return {**asdict(self), "entries": self.entries[:listed], "breaches": self.breaches[:listed]}

    @classmethod
    def from_figures(cls, figures: dict[str, Any]) -> "WorkLog":
        return cls(**figures)


def work_log(store: CaseStore, rules: Rules, agent: str, cadence: str, period: Period) -> WorkLog:
    """``agent``'s log of ``period`` (days in the department's zone), as the record is now."""
    import pandas as pd  # only a report pays its import, never a flow run

    settings = rules.report.work_log
    start, end = period.bounds(rules)
    late_at = min(clock.now(), end)
    log = WorkLog(agent=agent, name=staff_name(rules, agent), cadence=cadence, first=period.first.isoformat(),
                  last=period.last.isoformat(), as_of=local(rules, late_at, "%Y-%m-%d %H:%M"))
    e, d = CaseEvent.__table__, Deadline.__table__  # type: ignore[attr-defined]
    with Session(store.engine) as session:
        rows = session.execute(
            sa.select(e.c.case_id, e.c.type, e.c.at, Case.process, Case.kind, Case.customer_name)
            .join(Case, Case.id == e.c.case_id)
            .where(e.c.actor == agent, e.c.at >= start, e.c.at < end, e.c.type.in_(list(settings.events)))
            .order_by(e.c.at, e.c.id)).all()
        missed = session.execute(
            sa.select(d.c.case_id, d.c.step, d.c.round, d.c.due_at, d.c.met_at, Case.process)
            .join(Case, Case.id == d.c.case_id)
            .where(Case.owner == agent, d.c.due_at >= start, d.c.due_at < late_at,
                   sa.or_(d.c.met_at.is_(None), d.c.met_at > d.c.due_at))
            .order_by(d.c.due_at, d.c.case_id)).all()
        open_cases = session.execute(
            sa.select(Case.process, sa.func.count()).where(
                Case.owner == agent, Case.status == "open", Case.process != REPORT)  # not the log itself
            .group_by(Case.process)).all()
    log.entries = [{"at": local(rules, row.at, "%Y-%m-%d %H:%M"), "case_id": row.case_id,
                    "what": settings.events[row.type], "kind": rules.label("kinds", row.kind),
                    "customer": short(row.customer_name)} for row in rows]
    log.entries_total = len(log.entries)
    if rows:
        zone = rules.department.department.zone
        frame = pd.DataFrame({"case_id": [r.case_id for r in rows], "what": [settings.events[r.type] for r in rows],
                              "day": [r.at.astimezone(zone).date().isoformat() for r in rows]})
        log.done = {str(k): int(v) for k, v in frame.groupby("what", sort=False).size().items()}
        by_day = frame.groupby(["day", "what"], sort=True).size()
        for (day, what), count in by_day.items():
            log.by_day.setdefault(str(day), {})[str(what)] = int(count)
        log.cases = int(frame["case_id"].nunique())
    log.breaches = [{"case_id": row.case_id, "process": row.process, "step": row.step, "round": row.round,
                     "due": local(rules, row.due_at, "%Y-%m-%d %H:%M"),
                     "met": local(rules, row.met_at, "%Y-%m-%d %H:%M") if row.met_at else "未办 not done"}
                    for row in missed]
    log.breaches_total = len(log.breaches)
    log.open = {process: int(count) for process, count in open_cases}
    return log


def markdown(rules: Rules, log: WorkLog, write_up: dict[str, Any] | None = None) -> str:
    """The log as Markdown (report.yaml work_log.templates.markdown), with the agent's own part
    once written up."""
    settings = rules.report.work_log
    return render_file(rules, settings.templates.markdown, w=log, cadence=settings.cadences[log.cadence],
                       listed=settings.listed, write_up=write_up)


def sheets(rules: Rules, log: WorkLog) -> list[Sheet]:
    """The log's workbook: every entry, the totals, each day, the missed deadlines."""
    whats = list(log.done)
    return [
        Sheet("工作日志 Log", ["时间 When", "案件 Case", "事项 What", "类型 Kind", "客户 Customer"],
              [[x["at"], x["case_id"], x["what"], x["kind"], x["customer"]] for x in log.entries]),
        Sheet("合计 Totals", ["事项 What", "次数 Times"],
              [[what, count] for what, count in log.done.items()]
              + [["经办案件 cases worked on", log.cases], ["超时 deadlines missed", log.breaches_total]]
              + [[f"在办 open: {rules.label('processes', p)} {p}", n] for p, n in log.open.items()]),
        Sheet("每日 By day", ["日期 Day", *whats],
              [[day, *(counts.get(what, 0) for what in whats)] for day, counts in log.by_day.items()]),
        Sheet("超时 Missed deadlines", ["案件 Case", "流程 Process", "环节 Step", "轮次 Round", "时限 Due",
                                      "办结 Met"],
              [[b["case_id"], f"{rules.label('processes', b['process'])} {b['process']}",
                f"{rules.label('steps', b['step'])} {b['step']}", b["round"], b["due"], b["met"]]
               for b in log.breaches]),
    ]
