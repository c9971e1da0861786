"""The reports' scenes (P8 报表与督导): at the end of the day the supervisor's 《顾客投诉分类统计表》 for the
month so far — opened as the monthly schedule opens it, compiled from the day's record by its run,
mailed to the supervisors and the manager (chart inline, workbook attached), then signed off with
the supervisor's analysis and measures; the day's registers (the store manager's digest, the order
ledger), the month's satisfaction analysis for the general manager and its feedback for the
departments concerned; an agent's work log of the week, written up by her; and tomorrow's morning
screen, the 8:00 stand-up's agenda."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any, Callable

from kefu import runtime
from kefu.core import clock
from kefu.demo.staff import signed_in
from kefu.escalation import mail
from kefu.executor import prefect_env, service
from kefu.processes.report import decisions as reports
from kefu.processes.report.statistics import Period
from kefu.settings import get_settings
from models.report import SIGN_OFF, WRITE_UP, report_of

SUPERVISOR = "chen.jing"
AGENT = "li.na"
WAIT_S = 120.0


def _until(executor: Any, case_id: str, done: Callable[[Any, tuple[str | None, str]], bool]) -> bool:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        state = runtime.store().state(case_id)
        if done(state, executor.run_state(state.flow_run_id)):
            return True
        time.sleep(0.5)
    return False


def _reached(executor: Any, problems: list[str], state: Any, step: str) -> bool:
    """Start the report's run and wait until it waits at ``step``; a problem when it does not."""
    note = service.start(state)
    if _until(executor, state.case_id, lambda s, run: run[0] == "PAUSED" and run[1].startswith(f"{step}-")):
        return True
    problems.append(f"{state.case_id}: the report's run did not reach its {step} in {WAIT_S:.0f} s "
                    f"(flow run {note}); see `kefu case show {state.case_id}`")
    return False


def _complete(executor: Any, problems: list[str], case_id: str, step: str, data: dict[str, Any]) -> Any:
    """``data["by"]`` completes the report's ``step`` (signed in as themself); its run completes."""
    decided, woke = service.decide(case_id, step, data, signed_in(data["by"]))
    if not _until(executor, case_id, lambda s, run: s.status == "closed" and run[0] == "COMPLETED"):
        problems.append(f"{case_id}: {step} done, but its run did not complete in {WAIT_S:.0f} s ({woke})")
    return decided


def run(say: Callable[[str], None], executor: Any, problems: list[str], day: date) -> dict[str, Any]:
    """The statistics from the first of ``day``'s month (the demo's day) to today on the business
    clock, which the escalation scene ran days ahead."""
    store, rules = runtime.store(), runtime.rules()
    today = clock.now().astimezone(rules.department.department.zone).date()
    period = Period(day.replace(day=1), today)
    say(f"\nThe supervisor's statistics 顾客投诉分类统计表 — {period.first} to {period.last} (config/report.yaml):")
    state = reports.open_statistics(store, rules, period)
    if not _reached(executor, problems, state, SIGN_OFF):
        return {"case_id": state.case_id}
    compiled = report_of(store.state(state.case_id))
    figures = compiled.figures or {}
    ranked = sorted(figures["by_category"].items(), key=lambda item: -item[1])
    labels = rules.complaint.category_labels()
    say(f"  {state.case_id}  compiled by its run: {figures['total']} contacts, {figures['complaints']} complaints "
        f"({figures['upheld']} upheld, {figures['not_upheld']} not upheld), {figures['late_steps']} steps late; "
        f"by category: {', '.join(f'{labels.get(k, k)} {n}' for k, n in ranked) or '-'}")
    say(f"  mailed to {', '.join(compiled.recipients)} with its chart and workbook; files in "
        f"{get_settings().resolved_reports_dir / state.case_id}")
    lead = rules.complaint.category(ranked[0][0]) if ranked else None
    analysis = (f"本期投诉 {figures['complaints']} 件，以{lead.name}为主 / {figures['complaints']} complaints, "
                f"mostly {lead.name_en.lower()}") if lead else "本期无投诉 / no complaints this period"
    decided = _complete(executor, problems, state.case_id, SIGN_OFF, {"analysis": analysis, "measures": [
        "易碎品双层缓冲包装抽检 / spot-check double cushioning of fragile goods"], "by": SUPERVISOR})
    say(f"  {state.case_id}  signed off by {SUPERVISOR}: {analysis}")
    mail.deliver_due(store.engine, prefect_env.mail_transport())
    return {"case_id": state.case_id, "period": [period.first.isoformat(), period.last.isoformat()],
            "figures": {k: figures[k] for k in ("total", "complaints", "by_category", "upheld", "not_upheld",
                                                "late_steps")},
            "recipients": compiled.recipients, "status": decided.status}


def morning(say: Callable[[str], None]) -> dict[str, Any]:
    """The next stand-up's agenda on the business clock, as the 07:45 schedule will mail it: what is
    still open, the deadlines the stalled cases missed, who is away."""
    store, rules = runtime.store(), runtime.rules()
    tomorrow = clock.now().astimezone(rules.department.department.zone).date() + timedelta(days=1)
    screen = reports.send_morning_screen(store, rules, tomorrow)
    mail.deliver_due(store.engine, prefect_env.mail_transport())
    say(f"\nThe next stand-up 晨会议程 ({tomorrow}, mailed to the supervisors; `kefu report morning --on {tomorrow}`): "
        f"{sum(screen.received.values())} received the day before, {sum(screen.closed.values())} closed, "
        f"{sum(n for steps in screen.open.values() for n in steps.values())} open, {len(screen.breaches)} deadlines "
        f"missed, {len(screen.due_today)} due that day, {len(screen.orders_at_risk)} orders at risk, "
        f"{len(screen.away)} away")
    for breach in screen.breaches[:3]:
        say(f"  missed: {breach['case_id']} {breach['step']} (owner {breach['owner']}, due {breach['due']}, "
            f"{breach['late_hours']} h late)")
    return screen.figures()


def registers(say: Callable[[str], None], day: date) -> dict[str, Any]:
    """The demo's day as the evening schedules mail it (the store manager's digest, the order
    ledger), and the month so far as the general manager's satisfaction analysis."""
    store, rules, out = runtime.store(), runtime.rules(), get_settings().resolved_reports_dir
    digest, _ = reports.send_daily_digest(store, rules, day, out / "daily")
    ledger, _ = reports.send_order_ledger(store, rules, day, out / "daily")
    today = clock.now().astimezone(rules.department.department.zone).date()
    month = Period(day.replace(day=1), today)
    analysis, files = reports.send_satisfaction_analysis(store, rules, month, out / "monthly")
    feedback, _ = reports.send_monthly_feedback(store, rules, month, out / "monthly")
    mail.deliver_due(store.engine, prefect_env.mail_transport())
    say(f"\nThe day's registers ({day}; `kefu report digest|ledger --on {day}`): the store manager's digest "
        f"每日投诉意见汇总 — {len(digest.complaints)} complaints, {len(digest.contacts)} suggestions and questions, "
        f"{len(digest.callbacks)} callbacks, {digest.left_over_total} left over; the order ledger 每日台账明细 — "
        f"{len(ledger.orders)} orders worked on, {ledger.overdue} overdue")
    rate = "-" if analysis.rate is None else f"{analysis.rate}%"
    say(f"The satisfaction analysis 满意度调查分析报告 ({analysis.period.first} – {analysis.period.last}, to the general "
        f"manager): {analysis.answered} calls answered, {rate} satisfied, {analysis.quality_total} quality complaints; "
        f"chart {files['chart']}")
    say(f"The monthly feedback 每月信息反馈 (to the manager and {len(feedback.concerned)} departments concerned): "
        f"{feedback.upheld} upheld complaints, {feedback.suggestions_total} suggestions, "
        f"{len(feedback.opinions)} opinions on callbacks")
    return {"digest": digest.figures(), "ledger": ledger.figures(), "satisfaction": analysis.figures(),
            "feedback": feedback.figures()}


def work_log(say: Callable[[str], None], executor: Any, problems: list[str], day: date) -> dict[str, Any]:
    """li.na's work log of the demo's week (Monday to Sunday), as Monday's schedule opens it for the
    week before: compiled from what she recorded by its run and mailed to her; she writes it up and
    it goes to the supervisors."""
    store, rules = runtime.store(), runtime.rules()
    monday = day - timedelta(days=day.weekday())
    state = reports.open_work_log(store, rules, AGENT, "week", Period(monday, monday + timedelta(days=6)))
    say(f"\n{AGENT}'s work log 工作日志 — {monday} to {monday + timedelta(days=6)} (config/report.yaml work_log):")
    if not _reached(executor, problems, state, WRITE_UP):
        return {"case_id": state.case_id}
    figures = report_of(store.state(state.case_id)).figures or {}
    say(f"  {state.case_id}  compiled by its run: {figures['entries_total']} entries on {figures['cases']} cases "
        f"({', '.join(f'{what} {n}' for what, n in figures['done'].items()) or '-'}), "
        f"{figures['breaches_total']} deadlines missed on her cases; mailed to her")
    summary = f"本周记录 {figures['entries_total']} 条 / {figures['entries_total']} entries this week"
    decided = _complete(executor, problems, state.case_id, WRITE_UP, {
        "summary": summary, "special": ["张三快递送错，已换货并回访 / 张三's parcel went astray: replaced, called back"],
        "plans": "跟进在办订单 / follow up the open orders", "by": AGENT})
    mail.deliver_due(store.engine, prefect_env.mail_transport())
    say(f"  {state.case_id}  written up by {AGENT} and sent to the supervisors")
    return {"case_id": state.case_id, "figures": {k: figures[k] for k in ("entries_total", "cases", "done",
                                                                          "breaches_total")},
            "status": decided.status}
