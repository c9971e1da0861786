"""《回访总结报告》 Callback summary report, and 《回访记录表》 the call record, for a period.

PROCESSES.md P2 "analyse the results and write the Callback Summary Report → archive": every
figure is computed from the callbacks' events (the record), for the callbacks triggered in the
period (days in the department's zone). Written as XLSX and Markdown, and published as a Prefect
markdown artifact when produced inside a flow run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from kefu.core import clock
from kefu.core.rules import Rules
from kefu.core.store import CaseStore
from kefu.core.texts import mask_phone, render_file
from kefu.processes.callback import decisions as callbacks
from kefu.processes.callback.rules import ANSWERED
from models.callback import CALL, callback_of
from models.case import CaseState


@dataclass
class CallbackSummary:
    period_from: date
    period_to: date
    due: int = 0
    done: int = 0
    on_time: int = 0
    late: int = 0
    unreachable: int = 0
    open: int = 0
    overdue: int = 0
    rebooked: int = 0
    attempts: int = 0
    satisfaction: dict[str, int] = field(default_factory=lambda: {outcome: 0 for outcome in ANSWERED})
    members_due: int = 0
    members_covered: int = 0
    members_open: list[str] = field(default_factory=list)
    themes: list[tuple[str, int]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def member_coverage(self) -> float:
        """Members called back to the end (answered, or unreachable after N attempts), in %."""
        return 100.0 * self.members_covered / self.members_due if self.members_due else 100.0

    def figures(self) -> dict[str, Any]:
        return {"from": self.period_from.isoformat(), "to": self.period_to.isoformat(), "due": self.due,
                "done": self.done, "on_time": self.on_time, "late": self.late, "unreachable": self.unreachable,
                "open": self.open, "overdue": self.overdue, "rebooked": self.rebooked, "attempts": self.attempts,
                "satisfaction": dict(self.satisfaction), "members_due": self.members_due,
                "members_covered": self.members_covered, "member_coverage": round(self.member_coverage, 1),
                "members_open": list(self.members_open), "themes": [list(t) for t in self.themes]}


def _in_period(rules: Rules, state: CaseState, first: date, last: date) -> bool:
    zone = rules.department.department.zone
    return first <= callback_of(state).triggered_at.astimezone(zone).date() <= last


def themes_of(rules: Rules, notes: list[str]) -> list[tuple[str, int]]:
    """Improvement notes sorted into callback.yaml improvement_themes (a note may name several);
    a note that names none counts as "other"."""
    counts: dict[str, int] = {}
    for note in notes:
        text = note.lower()
        hits = [theme for theme, words in rules.callback.improvement_themes.items()
                if any(word.lower() in text for word in words)] or ["other"]
        for theme in hits:
            counts[theme] = counts.get(theme, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:rules.callback.top_themes]


def summarize(store: CaseStore, rules: Rules, first: date, last: date) -> CallbackSummary:
    """The period's figures from the record of every callback triggered in it."""
    summary = CallbackSummary(period_from=first, period_to=last)
    zone = rules.department.department.zone
    states = [s for s in (store.state(case_id) for case_id in callbacks.callback_ids(store)) if _in_period(rules, s, first, last)]
    notes = []
    for state in states:
        callback = callback_of(state)
        deadline = state.deadline(CALL, 1)
        summary.due += 1
        summary.attempts += len(callback.attempts)
        summary.rebooked += any(a.outcome == "not_convenient" for a in callback.attempts)
        answer = callback.answer
        if answer is not None:
            summary.done += 1
            summary.satisfaction[answer.outcome] += 1
            if callbacks.late_by(state, answer.at) is None:
                summary.on_time += 1
            else:
                summary.late += 1
            if answer.note and answer.outcome != "satisfied":
                notes.append(answer.note)
        elif state.outcome == "unreachable":
            summary.unreachable += 1
        else:
            summary.open += 1
            summary.overdue += deadline is not None and deadline.due_at is not None and deadline.due_at < clock.now()
        if callback.customer.member:
            summary.members_due += 1
            if state.status == "closed":
                summary.members_covered += 1
            else:
                summary.members_open.append(state.case_id)
        for a in callback.attempts:
            summary.records.append({
                "case_id": state.case_id, "trigger": callback.trigger, "customer": callback.customer.name,
                "phone": mask_phone(callback.customer.phone), "member": callback.customer.member,
                "attempt": a.attempt, "at": a.at.astimezone(zone).strftime("%Y-%m-%d %H:%M"), "by": a.by,
                "channel": a.channel, "outcome": a.outcome, "note": a.note or "",
                "booked_at": a.booked_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if a.booked_at else "",
            })
    summary.themes = themes_of(rules, notes)
    return summary


def markdown(rules: Rules, summary: CallbackSummary) -> str:
    return render_file(rules, rules.callback.templates.summary, s=summary,
                       period_from=summary.period_from.isoformat(), period_to=summary.period_to.isoformat())


_RECORD_COLUMNS = [("case_id", "回访单号 Callback"), ("trigger", "原因 Trigger"), ("customer", "客户 Customer"),
                   ("phone", "电话 Phone"), ("member", "会员 Member"), ("attempt", "次数 Attempt"),
                   ("at", "时间 Time"), ("by", "回访人 Agent"), ("channel", "方式 Channel"),
                   ("outcome", "结果 Outcome"), ("note", "意见 Notes"), ("booked_at", "约定时间 Booked time")]


def write(rules: Rules, summary: CallbackSummary, out: Path) -> dict[str, Path]:
    """The report as ``callback-summary-<from>-<to>.xlsx`` (summary + call record sheets) and ``.md``."""
    from openpyxl import Workbook

    out.mkdir(parents=True, exist_ok=True)
    stem = f"callback-summary-{summary.period_from.isoformat()}-{summary.period_to.isoformat()}"
    book = Workbook()
    sheet = book.active
    sheet.title = "回访总结报告"
    figures = summary.figures()
    sheet.append(["项目 Item", "数量 Count"])
    for key in ("due", "done", "on_time", "late", "unreachable", "open", "overdue", "rebooked", "attempts",
                "members_due", "members_covered", "member_coverage"):
        sheet.append([key, figures[key]])
    sheet.append([])
    sheet.append(["满意度 Satisfaction", "数量 Count"])
    for outcome, count in summary.satisfaction.items():
        sheet.append([outcome, count])
    sheet.append([])
    sheet.append(["改进主题 Improvement theme", "次数 Mentions"])
    for theme, count in summary.themes:
        sheet.append([theme, count])
    record = book.create_sheet("回访记录表")
    record.append([title for _, title in _RECORD_COLUMNS])
    for row in summary.records:
        record.append([row[key] for key, _ in _RECORD_COLUMNS])
    files = {"xlsx": out / f"{stem}.xlsx", "markdown": out / f"{stem}.md"}
    book.save(files["xlsx"])
    files["markdown"].write_text(markdown(rules, summary) + "\n", encoding="utf-8")
    return files

