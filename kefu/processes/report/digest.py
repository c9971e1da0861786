"""The daily digest of complaints and suggestions 每日顾客投诉意见汇总 (PROCESSES.md P8), for the store
manager at the end of the day.

Seed 003 超市客服部经理岗位职责 2: "负责汇总每日顾客投诉意见或建议,及时向店长汇报"; 主要工作 1:
"跟踪服务和商品投诉的处理,且总结当日所遗留的问题与有关部门沟通后确定其解决方案". So, for the day:
every complaint that came in (what, from whom, how serious, where it stands), every suggestion,
consultation and query, what customers said on the day's callbacks, what was closed, and the
problems left over — every complaint still open, the oldest first, with its deadline.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from kefu.core import clock
from kefu.core.rules import Rules
from kefu.core.store import CaseStore
from kefu.core.texts import render_file
from kefu.processes.report.registers import Sheet, day_bounds, local, short, staff_name, worked_on
from models.callback import ATTEMPTED
from models.callback import PROCESS as CALLBACK
from models.complaint import ARCHIVED_OUTCOME, CONTACT, complaint_of
from models.complaint import PROCESS as COMPLAINT
from models.records import Case, Deadline


@dataclass
class DailyDigest:
    day: date
    as_of: str = ""  # the time it was compiled, or the end of a day gone by
    complaints: list[dict[str, Any]] = field(default_factory=list)   # received on the day
    contacts: list[dict[str, Any]] = field(default_factory=list)     # suggestions, consultations, queries
    callbacks: list[dict[str, Any]] = field(default_factory=list)    # what customers said on the day's calls
    closed: dict[str, int] = field(default_factory=dict)             # process -> closed on the day
    left_over: list[dict[str, Any]] = field(default_factory=list)    # open complaints, oldest first
    left_over_total: int = 0
    left_over_late: int = 0

    @property
    def empty(self) -> bool:
        return not (self.complaints or self.contacts or self.callbacks or self.closed or self.left_over_total)

    def figures(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "complaints": len(self.complaints),
                "by_severity": dict(Counter(c["severity"] for c in self.complaints)),
                "by_category": dict(Counter(c["category"] for c in self.complaints)),
                "contacts": dict(Counter(c["kind"] for c in self.contacts)),
                "callbacks": dict(Counter(c["outcome"] for c in self.callbacks)),
                "closed": self.closed, "left_over": self.left_over_total, "left_over_late": self.left_over_late}


def daily_digest(store: CaseStore, rules: Rules, day: date, left_over: int = 20) -> DailyDigest:
    """The digest of ``day`` (a day in the department's zone), as the record is now."""
    start, end = day_bounds(rules, day)
    digest = DailyDigest(day=day, as_of=local(rules, min(clock.now(), end), "%Y-%m-%d %H:%M"))
    categories = rules.complaint.category_labels()
    for case in worked_on(store, rules, (COMPLAINT, CONTACT, CALLBACK), day):
        state = case.state
        if state.outcome == ARCHIVED_OUTCOME:
            continue  # a historic case taken in from a file is no news of the day
        received = state.opened_at is not None and start <= state.opened_at < end
        row = {"case_id": state.case_id, "received": local(rules, state.opened_at, "%H:%M"),
               "customer": state.intake.get("name", "-"), "kind": state.kind,
               "channel": rules.complaint.channel_labels.get(state.intake.get("channel"), state.intake.get("channel")),
               "content": short(state.intake.get("content")), "step": state.step or "-",
               "status": state.status, "owner": staff_name(rules, state.owner)}
        if state.process == COMPLAINT and received:
            category = complaint_of(state).category
            digest.complaints.append({**row, "severity": state.severity or "-", "category": category or "-",
                                      "category_label": categories.get(category or "", "-")})
        elif state.process == CONTACT and received:
            digest.contacts.append(row)
        if state.process in (COMPLAINT, CONTACT) and state.closed_at is not None and start <= state.closed_at < end:
            digest.closed[state.process] = digest.closed.get(state.process, 0) + 1
        if state.process == CALLBACK:
            for event in case.events:
                if event.type == ATTEMPTED:
                    digest.callbacks.append({
                        "case_id": state.case_id, "at": local(rules, event.at, "%H:%M"),
                        "customer": state.intake.get("name", "-"), "subject": short(state.intake.get("content")),
                        "outcome": event.payload["outcome"], "note": short(event.payload.get("note")) or "-",
                        "by": staff_name(rules, event.actor)})
    _left_over(store, rules, digest, end, left_over)
    return digest


def _left_over(store: CaseStore, rules: Rules, digest: DailyDigest, end: Any, limit: int) -> None:
    """当日所遗留的问题: the complaints still open at the end of the day, the oldest first, each with
    its open deadline; how many there are and how many are late, however many are listed."""
    now = clock.now()
    d = Deadline.__table__  # type: ignore[attr-defined]
    due = (sa.select(d.c.case_id, sa.func.min(d.c.due_at).label("due_at")).where(d.c.met_at.is_(None))
           .group_by(d.c.case_id).subquery())
    query = (sa.select(Case.id, Case.step, Case.owner, Case.customer_name, Case.opened_at, Case.severity, due.c.due_at)
             .select_from(Case.__table__.outerjoin(due, due.c.case_id == Case.id))  # type: ignore[attr-defined]
             .where(Case.process == COMPLAINT, Case.status == "open", Case.opened_at < end))
    late_at = min(now, end)
    with Session(store.engine) as session:
        listed = query.subquery()
        counts = session.execute(sa.select(sa.func.count(), sa.func.count().filter(listed.c.due_at < late_at))
                                 .select_from(listed)).one()
        digest.left_over_total, digest.left_over_late = counts[0], counts[1]
        for row in session.execute(query.order_by(Case.opened_at, Case.id).limit(limit)).all():
            digest.left_over.append({
                "case_id": row.id, "customer": row.customer_name, "step": row.step or "-",
                "severity": row.severity or "-", "owner": staff_name(rules, row.owner),
                "opened": local(rules, row.opened_at), "days": (late_at - row.opened_at).days,
                "due": local(rules, row.due_at), "late": row.due_at is not None and row.due_at < late_at})


def markdown(rules: Rules, digest: DailyDigest) -> str:
    """The digest as Markdown (report.yaml daily_digest.templates.markdown)."""
    return render_file(rules, rules.report.daily_digest.templates.markdown, d=digest,
                       outcomes=rules.callback.labels.outcomes)


def sheets(rules: Rules, digest: DailyDigest) -> list[Sheet]:
    """The digest's workbook: one sheet per part, headers zh-CN first, labels from config."""
    label = rules.label
    outcomes = rules.callback.labels.outcomes
    return [
        Sheet("投诉 Complaints", ["案件 Case", "时间 Time", "顾客 Customer", "渠道 Channel", "严重度 Severity",
                                "类别 Category", "内容 Content", "环节 Step", "负责人 Owner"],
              [[c["case_id"], c["received"], c["customer"], c["channel"], label("severities", c["severity"]),
                c["category_label"], c["content"], label("steps", c["step"]) if c["status"] == "open" else "已结案 closed",
                c["owner"]] for c in digest.complaints]),
        Sheet("建议与咨询 Suggestions", ["案件 Case", "时间 Time", "顾客 Customer", "类型 Kind", "渠道 Channel",
                                      "内容 Content", "状态 Status", "负责人 Owner"],
              [[c["case_id"], c["received"], c["customer"], label("kinds", c["kind"]), c["channel"], c["content"],
                "已答复 answered" if c["status"] == "closed" else "待答复 open", c["owner"]] for c in digest.contacts]),
        Sheet("回访意见 Callbacks", ["案件 Case", "时间 Time", "顾客 Customer", "回访事由 Subject", "结果 Outcome",
                                   "意见 What they said", "回访人 By"],
              [[c["case_id"], c["at"], c["customer"], c["subject"], outcomes.get(c["outcome"], c["outcome"]),
                c["note"], c["by"]] for c in digest.callbacks]),
        Sheet("遗留问题 Left over", ["案件 Case", "顾客 Customer", "严重度 Severity", "环节 Step", "负责人 Owner",
                                   "受理 Opened", "天数 Days", "到期 Due", "超时 Late"],
              [[c["case_id"], c["customer"], label("severities", c["severity"]), label("steps", c["step"]), c["owner"],
                c["opened"], c["days"], c["due"], "是 yes" if c["late"] else "否 no"] for c in digest.left_over]),
    ]
