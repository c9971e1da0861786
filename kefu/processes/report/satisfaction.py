"""The monthly satisfaction analysis 满意度调查分析报告 (PROCESSES.md P8), for the general manager.

Seed 002 (客服部经理职责 7): "负责组织公司产品的满意度调查的分析，并将统计分析报告及产品质量问题
及时通报相关部门和报告总经理" (quoted in simplified characters; the seed is in traditional). kefu's
satisfaction survey is the callback (P2): every call a customer answered in the month says
satisfied, average or unsatisfied. So, for a calendar month: how customers answered, the share
satisfied against the month before, split by why we called, by the complaint's category (for the
callbacks after a complaint) and by who called; the themes of what the less than satisfied said,
in their words; the customers we could not reach; and the month's product-quality complaints, the
quality problems the seed wants reported with it.

Every figure comes from the callbacks' events (a call's outcome and time are on its ``callback.
attempted`` event) and the complaints' fact rows; a month with no answered call says so.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from kefu.core import clock, facts
from kefu.core.rules import Rules
from kefu.core.store import CaseStore
from kefu.core.texts import render_file
from kefu.processes.callback.report import themes_of
from kefu.processes.callback.rules import ANSWERED
from kefu.processes.complaint import FACTS
from kefu.processes.report.registers import Sheet, cases_between, local, short, staff_name
from kefu.processes.report.statistics import Period
from models.callback import PROCESS as CALLBACK
from models.callback import callback_of
from models.case import CaseState
from models.complaint import CONTACT, ComplaintFact
from models.complaint import PROCESS as COMPLAINT

FACT = ComplaintFact.__table__  # type: ignore[attr-defined]
UNREACHABLE = "unreachable"


@dataclass
class SatisfactionAnalysis:
    period: Period
    as_of: str = ""
    outcomes: dict[str, int] = field(default_factory=lambda: {outcome: 0 for outcome in ANSWERED})
    unreachable: int = 0                                                   # closed unreachable in the month
    by_trigger: dict[str, dict[str, int]] = field(default_factory=dict)    # trigger -> outcome -> calls
    by_category: dict[str, dict[str, int]] = field(default_factory=dict)   # complaint category -> outcome -> calls
    by_agent: dict[str, dict[str, int]] = field(default_factory=dict)      # who called -> outcome -> calls
    themes: list[tuple[str, int]] = field(default_factory=list)
    voices: list[dict[str, Any]] = field(default_factory=list)             # what the less than satisfied said
    quality: list[dict[str, Any]] = field(default_factory=list)            # the month's product-quality complaints
    quality_total: int = 0                                                 # of which ``quality`` lists the earliest
    previous: dict[str, Any] = field(default_factory=dict)                 # the month before: answered, satisfied, rate

    @property
    def answered(self) -> int:
        return sum(self.outcomes.values())

    @property
    def rate(self) -> float | None:
        """满意率: satisfied of the calls answered, in per cent; None when nobody answered."""
        return rate(self.outcomes.get("satisfied", 0), self.answered)

    @property
    def empty(self) -> bool:
        return not (self.answered or self.unreachable or self.quality_total)

    def figures(self) -> dict[str, Any]:
        return {"from": self.period.first.isoformat(), "to": self.period.last.isoformat(), "answered": self.answered,
                "outcomes": dict(self.outcomes), "rate": self.rate, "unreachable": self.unreachable,
                "by_trigger": self.by_trigger, "by_category": self.by_category, "by_agent": self.by_agent,
                "themes": [list(theme) for theme in self.themes], "quality_problems": self.quality_total,
                "previous": self.previous}


def english(label: str) -> str:
    """The English part of a bilingual label ("物流配送 Logistics and delivery"), for a chart drawn
    on a machine without a CJK font."""
    return label.split(" ", 1)[1] if " " in label else label


def rate(satisfied: int, answered: int) -> float | None:
    return round(100 * satisfied / answered, 1) if answered else None


def _answers(store: CaseStore, rules: Rules, period: Period) -> list[tuple[CaseState, Any]]:
    """The callbacks answered in the period, each with the call that was answered; and the ones
    closed unreachable in it (with None)."""
    start, end = period.bounds(rules)
    found = []
    for case in cases_between(store, (CALLBACK,), start, end):
        answer = callback_of(case.state).answer
        if answer is not None and start <= answer.at < end:
            found.append((case.state, answer))
        elif answer is None and case.state.outcome == UNREACHABLE and start <= case.state.closed_at < end:
            found.append((case.state, None))
    return found


def _categories(store: CaseStore, answers: list[tuple[CaseState, Any]]) -> dict[str, str | None]:
    """The complaint category of each answered callback's source case (its fact row)."""
    sources = [callback_of(state).source_case for state, _ in answers if callback_of(state).source_case]
    if not sources:
        return {}
    facts.refresh(store, (COMPLAINT, CONTACT), FACTS)
    with store.engine.connect() as connection:
        return dict(connection.execute(sa.select(FACT.c.case_id, FACT.c.category)
                                       .where(FACT.c.case_id.in_(sources))).all())


def _said(answer: Any) -> bool:
    """A customer less than satisfied who said what they want improved."""
    return answer is not None and answer.outcome != "satisfied" and bool(answer.note)


def _voice(rules: Rules, state: CaseState, answer: Any, category: str | None) -> dict[str, Any]:
    """What they said, as the reports quote it."""
    callback = callback_of(state)
    return {"case_id": state.case_id, "at": local(rules, answer.at, "%m-%d"),
            "trigger": rules.report.satisfaction.triggers.get(callback.trigger, callback.trigger),
            "category": rules.complaint.category_labels().get(category, "-") if category else "-",
            "outcome": rules.callback.labels.outcomes.get(answer.outcome, answer.outcome),
            "note": short(answer.note), "by": staff_name(rules, answer.by)}


def opinions(store: CaseStore, rules: Rules, period: Period) -> list[dict[str, Any]]:
    """What the customers less than satisfied said on the period's answered callbacks (the
    monthly feedback's 用户意见), without the rest of the analysis."""
    answers = _answers(store, rules, period)
    categories = _categories(store, answers)
    return [_voice(rules, state, answer, categories.get(callback_of(state).source_case or ""))
            for state, answer in answers if _said(answer)]


def _quality(store: CaseStore, rules: Rules, period: Period) -> tuple[int, list[dict[str, Any]]]:
    """产品质量问题: how many of the period's complaints are in a category report.yaml satisfaction
    names, and the earliest ``listed`` of them (read in full: a month of archived complaints may
    hold thousands)."""
    start, end = period.bounds(rules)
    settings = rules.report.satisfaction
    ours = sa.and_(FACT.c.opened_at >= start, FACT.c.opened_at < end, FACT.c.process == COMPLAINT,
                   FACT.c.category.in_(settings.quality_categories))
    with store.engine.connect() as connection:
        total = int(connection.execute(sa.select(sa.func.count()).where(ours)).scalar())
        rows = connection.execute(
            sa.select(FACT.c.case_id, FACT.c.opened_at, FACT.c.category, FACT.c.department, FACT.c.status,
                      FACT.c.upheld)
            .where(ours).order_by(FACT.c.opened_at, FACT.c.case_id).limit(settings.listed)).all()
    names = rules.complaint.category_labels()
    departments = {d.id: d.name for d in rules.department.departments}
    return total, [{"case_id": row.case_id, "received": local(rules, row.opened_at, "%Y-%m-%d"),
                    "category": names.get(row.category, row.category),
                    "content": short(store.state(row.case_id).intake.get("content")),
                    "department": departments.get(row.department, row.department or "-"),
                    "status": "已结案 closed" if row.status == "closed" else "处理中 open",
                    "upheld": {True: "成立 upheld", False: "不成立 not upheld"}.get(row.upheld, "-")}
                   for row in rows]


def _add(table: dict[str, dict[str, int]], key: str, outcome: str) -> None:
    table.setdefault(key, {o: 0 for o in ANSWERED})[outcome] += 1


def satisfaction_analysis(store: CaseStore, rules: Rules, period: Period) -> SatisfactionAnalysis:
    """The analysis of ``period`` (days in the department's zone), as the record is now."""
    _, end = period.bounds(rules)
    analysis = SatisfactionAnalysis(period=period, as_of=local(rules, min(clock.now(), end), "%Y-%m-%d %H:%M"))
    answers = _answers(store, rules, period)
    categories = _categories(store, answers)
    notes = []
    for state, answer in answers:
        callback = callback_of(state)
        if answer is None:
            analysis.unreachable += 1
            continue
        analysis.outcomes[answer.outcome] += 1
        _add(analysis.by_trigger, callback.trigger, answer.outcome)
        category = categories.get(callback.source_case or "")
        if category:
            _add(analysis.by_category, category, answer.outcome)
        _add(analysis.by_agent, answer.by, answer.outcome)
        if _said(answer):
            notes.append(answer.note)
            analysis.voices.append(_voice(rules, state, answer, category))
    analysis.themes = themes_of(rules, notes)
    analysis.quality_total, analysis.quality = _quality(store, rules, period)
    before = Counter(a.outcome for _, a in _answers(store, rules, period.before()) if a is not None)
    analysis.previous = {"from": period.before().first.isoformat(), "to": period.before().last.isoformat(),
                         "answered": sum(before.values()), "satisfied": before.get("satisfied", 0),
                         "rate": rate(before.get("satisfied", 0), sum(before.values()))}
    return analysis


def rows(rules: Rules, table: dict[str, dict[str, int]], names: dict[str, str]) -> list[dict[str, Any]]:
    """A split of the answers as the report's rows: label, each outcome, answered, 满意率."""
    return [{"key": key, "label": names.get(key, key), **counts, "answered": sum(counts.values()),
             "rate": rate(counts["satisfied"], sum(counts.values()))}
            for key, counts in sorted(table.items(), key=lambda item: -sum(item[1].values()))]


def splits(rules: Rules, analysis: SatisfactionAnalysis) -> list[dict[str, Any]]:
    """The three splits of the report: by why we called, by complaint category, by who called."""
    staff = {member.id: f"{member.name} {member.id}" for member in rules.department.staff}
    return [{"zh": "按回访事由", "en": "By reason for the call",
             "rows": rows(rules, analysis.by_trigger, rules.report.satisfaction.triggers)},
            {"zh": "按投诉类别（投诉后回访）", "en": "By complaint category (callbacks after a complaint)",
             "rows": rows(rules, analysis.by_category, rules.complaint.category_labels())},
            {"zh": "按回访人", "en": "By who called", "rows": rows(rules, analysis.by_agent, staff)}]


def markdown(rules: Rules, analysis: SatisfactionAnalysis) -> str:
    """The analysis as Markdown (report.yaml satisfaction.templates.markdown)."""
    return render_file(rules, rules.report.satisfaction.templates.markdown, a=analysis, splits=splits(rules, analysis),
                       outcomes=rules.callback.labels.outcomes, themes=rules.report.satisfaction.themes)


def chart_png(rules: Rules, analysis: SatisfactionAnalysis) -> bytes:
    """How customers answered, by why we called and by complaint category: stacked shares (a PNG)."""
    from kefu.processes.report.documents import plotted

    parts = [split for split in splits(rules, analysis)[:2] if split["rows"]] or splits(rules, analysis)[:1]
    colours = {"satisfied": "#2e7d32", "average": "#f9a825", "unsatisfied": "#c62828"}

    def draw(figure: Any, font: str | None) -> None:
        axes_list = figure.subplots(len(parts), 1, squeeze=False)[:, 0]
        for axes, split in zip(axes_list, parts):
            labels = [(row["label"] if font else english(row["label"])) for row in split["rows"]] or ["-"]
            left = [0.0] * len(labels)
            for outcome in ANSWERED:
                shares = [100 * row[outcome] / row["answered"] for row in split["rows"]] or [0.0]
                name = rules.callback.labels.outcomes.get(outcome, outcome)
                axes.barh(labels, shares, left=left, color=colours[outcome], label=name if font else english(name))
                left = [a + b for a, b in zip(left, shares)]
            axes.set_xlim(0, 100)
            axes.invert_yaxis()
            axes.set_title(f"{split['zh']} {split['en']}" if font else split["en"], fontsize=10)
            axes.spines[["top", "right"]].set_visible(False)
        axes_list[-1].set_xlabel("% 接通的回访 answered calls" if font else "% of answered calls")
        axes_list[-1].legend(loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=len(ANSWERED), fontsize=8,
                             frameon=False)

    height = sum(0.45 * max(1, len(split["rows"])) + 1.2 for split in parts) + 1.0
    return plotted(draw, (8, height))


def sheets(rules: Rules, analysis: SatisfactionAnalysis) -> list[Sheet]:
    """The analysis's workbook: the splits, what customers said, the quality problems."""
    outcomes = [rules.callback.labels.outcomes.get(o, o) for o in ANSWERED]
    split_rows = [[f"{split['zh']} {split['en']}", row["label"], *(row[o] for o in ANSWERED), row["answered"],
                   "-" if row["rate"] is None else row["rate"]]
                  for split in splits(rules, analysis) for row in split["rows"]]
    return [
        Sheet("满意度 Satisfaction", ["分组 Split", "项目 Item", *outcomes, "回访 Answered", "满意率 % Satisfied"],
              [["合计 Total", "-", *(analysis.outcomes[o] for o in ANSWERED), analysis.answered,
                "-" if analysis.rate is None else analysis.rate], *split_rows]),
        Sheet("顾客意见 What they said", ["回访单 Callback", "日期 Date", "事由 Reason", "类别 Category",
                                      "结果 Outcome", "意见 What they said", "回访人 By"],
              [[v["case_id"], v["at"], v["trigger"], v["category"], v["outcome"], v["note"], v["by"]]
               for v in analysis.voices]),
        Sheet("产品质量问题 Quality", ["案件 Case", "受理 Received", "类别 Category", "内容 Content",
                                   "责任部门 Department", "判定 Judgement", "状态 Status"],
              [[q["case_id"], q["received"], q["category"], q["content"], q["department"], q["upheld"], q["status"]]
               for q in analysis.quality]),
    ]
