"""The monthly feedback of product, service and quality information 每月信息反馈 (PROCESSES.md P8),
for the head of customer service and the departments concerned.

Seed 002 第五条 客户服务中心职责 (5): "负责收集、建全产品销售服务信息及外部质量信息及用户意见，每月
反馈给客户服务部部长及相关部门" (quoted in simplified characters; the seed is in traditional). So, for
a calendar month: the upheld complaints laid at each responsible department, by category, each with
what the customer said, the cause the investigation found and the measures the review proposed;
the customers' suggestions; and what customers less than satisfied said on their callbacks. The
manager receives all of it, and so does each department concerned that has a mailbox in
department.yaml.

Counts come from one GROUP BY over the complaints' fact rows (archived ones included); only the
complaints listed (``feedback.listed`` per department, the earliest first) are read in full.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from kefu.core import clock, facts
from kefu.core.rules import Rules
from kefu.core.store import CaseStore
from kefu.core.texts import render_file
from kefu.processes.complaint import FACTS
from kefu.processes.report import satisfaction
from kefu.processes.report.registers import Sheet, local, short
from kefu.processes.report.statistics import Period
from models.complaint import CONTACT, ComplaintFact
from models.complaint import PROCESS as COMPLAINT

FACT = ComplaintFact.__table__  # type: ignore[attr-defined]
SUGGESTION = "suggestion"


@dataclass
class MonthlyFeedback:
    period: Period
    as_of: str = ""
    complaints: int = 0                                                   # received in the month
    upheld: int = 0
    by_department: dict[str, dict[str, int]] = field(default_factory=dict)  # department -> category -> upheld
    listed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)   # department -> its complaints
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    suggestions_total: int = 0
    opinions: list[dict[str, Any]] = field(default_factory=list)          # the less than satisfied, on callbacks

    @property
    def empty(self) -> bool:
        return not (self.complaints or self.suggestions_total or self.opinions)

    @property
    def concerned(self) -> list[str]:
        """The departments with upheld complaints laid at them this month."""
        return list(self.by_department)

    def figures(self) -> dict[str, Any]:
        return {"from": self.period.first.isoformat(), "to": self.period.last.isoformat(),
                "complaints": self.complaints, "upheld": self.upheld, "by_department": self.by_department,
                "suggestions": self.suggestions_total, "opinions": len(self.opinions), "concerned": self.concerned}


def _in(rules: Rules, period: Period) -> sa.ColumnElement[bool]:
    start, end = period.bounds(rules)
    return sa.and_(FACT.c.opened_at >= start, FACT.c.opened_at < end)


def monthly_feedback(store: CaseStore, rules: Rules, period: Period) -> MonthlyFeedback:
    """The feedback of ``period`` (days in the department's zone), as the record is now."""
    facts.refresh(store, (COMPLAINT, CONTACT), FACTS)
    _, end = period.bounds(rules)
    listed = rules.report.feedback.listed
    feedback = MonthlyFeedback(period=period, as_of=local(rules, min(clock.now(), end), "%Y-%m-%d %H:%M"))
    order = [d.id for d in rules.department.departments]
    categories = rules.complaint.category_labels()
    with store.engine.connect() as connection:
        feedback.complaints = int(connection.execute(sa.select(sa.func.count()).where(
            _in(rules, period), FACT.c.process == COMPLAINT)).scalar())
        upheld = sa.and_(_in(rules, period), FACT.c.process == COMPLAINT, FACT.c.upheld.is_(True))
        groups = connection.execute(sa.select(FACT.c.department, FACT.c.category, sa.func.count())
                                    .where(upheld).group_by(FACT.c.department, FACT.c.category)).all()
        for department, category, count in sorted(groups, key=lambda g: (order.index(g[0]) if g[0] in order
                                                                         else len(order), str(g[0]), str(g[1]))):
            feedback.by_department.setdefault(department or "-", {})[category or "-"] = int(count)
            feedback.upheld += int(count)
        for department in feedback.by_department:
            rows = connection.execute(
                sa.select(FACT.c.case_id, FACT.c.opened_at, FACT.c.category, FACT.c.status, FACT.c.improvements)
                .where(upheld, FACT.c.department == department if department != "-" else FACT.c.department.is_(None))
                .order_by(FACT.c.opened_at, FACT.c.case_id).limit(listed)).all()
            feedback.listed[department] = [_complaint(store, rules, row, categories) for row in rows]
        suggested = sa.and_(_in(rules, period), FACT.c.process == CONTACT, FACT.c.kind == SUGGESTION)
        feedback.suggestions_total = int(connection.execute(sa.select(sa.func.count()).where(suggested)).scalar())
        for row in connection.execute(sa.select(FACT.c.case_id, FACT.c.opened_at).where(suggested)
                                      .order_by(FACT.c.opened_at, FACT.c.case_id).limit(listed)):
            state = store.state(row.case_id)
            feedback.suggestions.append({"case_id": row.case_id, "received": local(rules, row.opened_at, "%m-%d"),
                                         "customer": state.intake.get("name", "-"),
                                         "content": short(state.intake.get("content"))})
    feedback.opinions = satisfaction.opinions(store, rules, period)
    return feedback


def _complaint(store: CaseStore, rules: Rules, row: Any, categories: dict[str, str]) -> dict[str, Any]:
    """One upheld complaint as its department reads it: what was said, the cause, the measures."""
    state = store.state(row.case_id)
    investigation = state.decision("investigation") or {}
    return {"case_id": row.case_id, "received": local(rules, row.opened_at, "%m-%d"),
            "category": categories.get(row.category, row.category or "-"),
            "content": short(state.intake.get("content")), "cause": short(investigation.get("cause")) or "-",
            "measures": "；".join(row.improvements or []) or "-",
            "status": "已结案 closed" if row.status == "closed" else "处理中 open"}


def department_names(rules: Rules) -> dict[str, str]:
    return {**rules.department_labels(), "-": "未定 not assigned"}


def markdown(rules: Rules, feedback: MonthlyFeedback) -> str:
    """The feedback as Markdown (report.yaml feedback.templates.markdown)."""
    return render_file(rules, rules.report.feedback.templates.markdown, f=feedback,
                       departments=department_names(rules), categories=rules.complaint.category_labels())


def sheets(rules: Rules, feedback: MonthlyFeedback) -> list[Sheet]:
    """The feedback's workbook: the counts, the complaints by department, suggestions, opinions."""
    departments, categories = department_names(rules), rules.complaint.category_labels()
    return [
        Sheet("按部门 By department", ["责任部门 Department", "类别 Category", "成立投诉 Upheld complaints"],
              [[departments.get(d, d), categories.get(c, c), n]
               for d, counts in feedback.by_department.items() for c, n in counts.items()]),
        Sheet("投诉明细 Complaints", ["责任部门 Department", "案件 Case", "受理 Received", "类别 Category",
                                   "内容 Content", "原因 Cause", "改进措施 Measures", "状态 Status"],
              [[departments.get(d, d), c["case_id"], c["received"], c["category"], c["content"], c["cause"],
                c["measures"], c["status"]] for d, rows in feedback.listed.items() for c in rows]),
        Sheet("顾客建议 Suggestions", ["案件 Case", "受理 Received", "顾客 Customer", "内容 Content"],
              [[s["case_id"], s["received"], s["customer"], s["content"]] for s in feedback.suggestions]),
        Sheet("回访意见 Opinions", ["回访单 Callback", "日期 Date", "事由 Reason", "类别 Category", "结果 Outcome",
                                  "意见 What they said", "回访人 By"],
              [[v["case_id"], v["at"], v["trigger"], v["category"], v["outcome"], v["note"], v["by"]]
               for v in feedback.opinions]),
    ]
