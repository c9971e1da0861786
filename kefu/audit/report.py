"""The auditor's report over a period: a summary (cases replayed, consistent, divergent,
tampered) and each case's timeline in business time (actor, step, decision, deadline met or
missed by how much), as Markdown and HTML from config/templates/audit/."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Callable

import jinja2
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from kefu import processes
from kefu.audit import anchor
from kefu.audit.replay import CONSISTENT, DIVERGENT, TAMPERED, CaseReplay, replay_case
from kefu.core import clock
from kefu.core.chain import events_by_case
from kefu.core.deadlines import late_text
from kefu.core.rules import Rules
from kefu.core.texts import environment, local_time, mask_phone
from models.case import CaseState, EventType, RecordedEvent
from models.complaint import STEP_EVENT, ComplaintEvent, chosen_option
from models.records import Case
from models.reducer import apply

VERDICT_ZH = {CONSISTENT: "一致", DIVERGENT: "不一致", TAMPERED: "被篡改"}
# A mainland mobile number anywhere in a decision's text: shown masked, as everywhere else.
_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
# Payload keys that hold long texts or machinery, not the decision itself.
_NOT_DECISIONS = {"text", "note", "rungs", "round", "step", "sweep", "recipients", "to", "policy", "basis",
                  "calendar", "ladder", "allowed", "received_at", "content", "phone", "classified_by", "due_at"}


@dataclass
class Report:
    period: tuple[date, date]
    results: list[CaseReplay]
    cases: list[dict[str, Any]]
    prefect_note: str | None
    # The seals of the period's cases and, when the auditor brought one, the anchor's check.
    seals: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        counts = {"cases": len(self.results), "consistent": 0, "divergent": 0, "tampered": 0}
        for result in self.results:
            counts[result.verdict] += 1
        return counts


def closed_between(engine: Engine, rules: Rules, start: date, end: date) -> list[str]:
    """Cases closed on the days ``start``..``end`` (inclusive) in the department's zone."""
    zone = rules.department.department.zone
    lower = datetime.combine(start, time(0), zone)
    upper = datetime.combine(end + timedelta(days=1), time(0), zone)
    with engine.connect() as conn:
        return list(conn.execute(sa.select(Case.id).where(Case.closed_at >= lower, Case.closed_at < upper)
                                 .order_by(Case.closed_at, Case.id)).scalars())


def build(engine: Engine, rules: Rules, start: date, end: date,
          cross_check: Callable[[list[CaseReplay]], str] | None = None,
          anchored: tuple[str, dict[str, Any]] | None = None) -> Report:
    """Replay the cases closed in the period and lay out their timelines; ``cross_check`` holds
    them against Prefect's record of their runs (kefu.executor.prefect_check); ``anchored`` (the
    file's name and what kefu.audit.anchor.written read of it) is checked against today's seals."""
    ids = closed_between(engine, rules, start, end)
    results: list[CaseReplay] = []
    timelines: dict[str, list[dict[str, str]]] = {}
    cache: dict[str, Rules] = {}
    if ids:
        for case, rows in events_by_case(engine, ids):
            results.append(replay_case(engine, case, rows, cache))
            timelines[case.id] = timeline(rules, case.id, rows)
    note = cross_check(results) if cross_check else None
    cases = [case_view(rules, r, timelines[r.case_id]) for r in results]
    return Report((start, end), results, cases, note, seals_section(engine, results, anchored))


def seals_section(engine: Engine, results: list[CaseReplay],
                  anchored: tuple[str, dict[str, Any]] | None) -> dict[str, Any]:
    """Whether each case's chain and seal hold, and what an anchor from earlier says of them."""
    broken = [r.case_id for r in results if r.verdict == TAMPERED]
    section: dict[str, Any] = {"intact": len(results) - len(broken), "broken": broken, "anchor": None}
    if anchored is not None:
        name, document = anchored
        in_period = {r.case_id for r in results}
        section["anchor"] = {
            "file": name, "anchored_at": document["anchored_at"], "digest": document["digest"],
            "cases": sum(1 for c in document["seals"] if c in in_period),
            "findings": [f for f in anchor.findings(engine, document) if f["case_id"] in in_period]}
    return section


def timeline(rules: Rules, case_id: str, rows: list[Any]) -> list[dict[str, str]]:
    """One line per event: business time, actor, step, what was decided in words, and for a
    deadline its due time, how it was met, or who its rung reached, by name."""
    names = {s.id: f"{s.name} ({s.id})" for s in rules.department.staff}
    state = CaseState(case_id=case_id)
    lines = []
    for row in rows:
        event = RecordedEvent(seq=row.seq, type=row.type, actor=row.actor, at=row.at, payload=row.payload)
        p = row.payload
        step = p.get("step") or next((str(s) for s, t in STEP_EVENT.items() if t == row.type), None) or state.step or ""
        deadline = ""
        if row.type == EventType.DEADLINE_MET:
            due = state.deadline(p["step"], p["round"])
            deadline = _met(row.at, due.due_at) if due is not None and due.due_at is not None else "met 已完成"
        elif row.type in (EventType.DEADLINE_OPENED, EventType.DEADLINE_RESCHEDULED) and p.get("due_at"):
            deadline = f"due 期限 {local_time(rules, datetime.fromisoformat(p['due_at']))}"
            if p.get("set_by"):
                deadline += f" (set by {p['set_by']})"
        elif row.type in (EventType.DEADLINE_OPENED, EventType.DEADLINE_RESCHEDULED):
            deadline = "clock stopped 计时暂停"
        elif row.type == EventType.DEADLINE_ESCALATED:
            reached = ", ".join(names.get(r, r) for r in p.get("recipients", [])) or "-"
            deadline = f"第 {p['rung'] + 1} 级 rung {p['rung'] + 1} → {p.get('notify', '')}: {reached}"
        apply(state, event)  # the decision is said with it on record (the approved option by its text)
        lines.append({"at": local_time(rules, row.at), "actor": names.get(row.actor, row.actor), "step": str(step),
                      "event": row.type, "decision": _decision(rules, state, row.type, p), "deadline": deadline})
    return lines


def _met(at: datetime, due_at: datetime) -> str:
    zh, en = late_text(at, due_at)
    if at > due_at:
        return f"missed by {en.removeprefix('late by ')} {zh}"
    return f"met {en.removeprefix('due in ')} early 提前 {zh.removesuffix('后到期')} 完成"


def _decision(rules: Rules, state: CaseState, event_type: str, payload: dict[str, Any]) -> str:
    """What the event decided, as the run's log says it (kefu.processes.in_words: labels from
    config, the chosen option by its text); else its plain fields, yes/no for a flag. Phones masked.
    ``state``: the case with this event applied."""
    if event_type == ComplaintEvent.PLAN_APPROVED:
        payload = {**payload, "option": chosen_option(state, payload.get("round", state.round))}
    said = processes.in_words(rules, event_type, payload)
    if not said:
        parts = []
        for key, value in payload.items():
            if key in _NOT_DECISIONS or value in (None, "", [], {}) or isinstance(value, dict):
                continue
            if isinstance(value, bool):
                value = "是 yes" if value else "否 no"
            elif isinstance(value, (list, tuple)):
                value = " / ".join(str(v) for v in value)
            text = str(value)
            parts.append(f"{key}: {text if len(text) <= 60 else text[:57] + '…'}")
        said = "; ".join(parts)
    return _PHONE.sub(lambda m: mask_phone(m.group()), said)


def case_view(rules: Rules, result: CaseReplay, lines: list[dict[str, str]]) -> dict[str, Any]:
    state = result.state
    finding = result.problems[0].text() if result.problems else (result.divergence.text() if result.divergence else "")
    runs = []
    for run in (result.prefect or {}).get("runs", []):
        runs.append(f"{run['id']} {run['state']} ({len(run['task_runs'])} task runs)" if run["found"]
                    else f"{run['id']} {run['note']}")
    return {
        "case_id": result.case_id, "verdict": result.verdict, "verdict_zh": VERDICT_ZH[result.verdict],
        "process": result.process, "kind": state.kind if state else "", "severity": state.severity if state else None,
        "outcome": state.outcome if state else None, "versions": result.versions, "finding": finding,
        "notes": result.notes, "prefect_runs": runs, "timeline": lines,
    }


def render(rules: Rules, report: Report) -> tuple[str, str]:
    """The report as (Markdown, HTML)."""
    env = environment(str(rules.directory / "templates" / "audit"), autoescape=jinja2.select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    values = {
        "department_name": rules.department.department.name, "department_name_en": rules.department.department.name_en,
        "period_from": report.period[0].isoformat(), "period_to": report.period[1].isoformat(),
        "zone": str(rules.department.department.zone), "generated_at": local_time(rules, clock.now()),
        "summary": report.summary(), "prefect_note": report.prefect_note, "cases": report.cases,
        "seals": report.seals,
    }
    return env.get_template("report.md.j2").render(**values), env.get_template("report.html.j2").render(**values)


def write(rules: Rules, report: Report, out: Path) -> dict[str, str]:
    out.mkdir(parents=True, exist_ok=True)
    markdown, html = render(rules, report)
    stem = f"audit-{report.period[0].isoformat()}-{report.period[1].isoformat()}"
    paths = {"markdown": out / f"{stem}.md", "html": out / f"{stem}.html"}
    paths["markdown"].write_text(markdown, encoding="utf-8")
    paths["html"].write_text(html, encoding="utf-8")
    return {k: str(v) for k, v in paths.items()}
