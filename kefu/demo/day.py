"""``kefu demo``: a working day of the department, on the embedded default.

The scenes, one module per process: the day's customer records and their assignment
(``customer``), the complaints and consultations (``complaint``), their
callbacks (``callback``), stalled complaints while the business clock runs ahead
(``complaint.escalations``), three orders (``order``), and the auditor's pass over the day.
Every action goes through :mod:`kefu.executor.service`, the same path as the CLI, and the demo
waits for each case's flow run to reach its next suspension before the next person acts on it.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

from kefu import runtime
from kefu.core import clock
from kefu.demo import callback, complaint, customer, order, report, staff
from kefu.settings import get_settings

# -- waiting for the executor ----------------------------------------------------------------------

class Executor:
    """Reads the flow runs' states (one client for the whole demo)."""

    def __init__(self) -> None:
        from prefect.client.orchestration import get_client

        self._client = get_client(sync_client=True)
        self._client.__enter__()

    def close(self) -> None:
        self._client.__exit__(None, None, None)

    def run_state(self, flow_run_id: str | None) -> tuple[str | None, str]:
        """(state type, pause key) of a flow run; (None, "") if there is none."""
        if flow_run_id is None:
            return None, ""
        try:
            state = self._client.read_flow_run(flow_run_id).state
        except Exception:
            return None, ""
        if state is None:
            return None, ""
        return state.type.value, state.state_details.pause_key or ""

    def failure(self, flow_run_id: str | None) -> str | None:
        """What went wrong, if the run ended without completing (Failed, Crashed, Cancelled)."""
        if flow_run_id is None:
            return None
        try:
            state = self._client.read_flow_run(flow_run_id).state
        except Exception:
            return None
        if state is None or not state.is_final() or state.is_completed():
            return None
        return f"{state.name}: {state.message or ''}".strip()

    def state_name(self, flow_run_id: str | None) -> str:
        if flow_run_id is None:
            return "-"
        try:
            state = self._client.read_flow_run(flow_run_id).state
        except Exception:
            return "missing"
        return state.name if state is not None else "-"


# -- the day ----------------------------------------------------------------------------------------

def run(as_json: bool) -> None:
    started = time.monotonic()
    say: Callable[[str], None] = (lambda text: None) if as_json else print
    from kefu.executor import local

    settings = get_settings()
    rules = runtime.rules()
    say(f"kefu demo — a working day at {rules.department.department.name} "
        f"{rules.department.department.name_en} (KEFU_HOME={settings.home.resolve()})")
    info = local.start(announce=lambda text: None)
    say(f"kefu is running ({', '.join(info['started']) + ' started' if info['started'] else 'reused'}); "
        f"dashboard {settings.dashboard_url}\n")

    executor = Executor()
    problems: list[str] = []
    today = clock.now().astimezone(rules.department.department.zone).date()
    try:
        archive = customer.run(say, problems)
        day = complaint.run(say, executor, problems)
        called_back = callback.run(say, [s.case_id for s in day if s.case_id], problems)
        escalations = complaint.escalations(say, problems)
        summary = {"cases": complaint.summary_rows(day, executor), "elapsed_seconds": round(time.monotonic() - started, 1),
                   "dashboard_url": settings.dashboard_url, "kefu_home": str(settings.home.resolve()),
                   "problems": problems, "escalations": escalations, "callbacks": called_back, "customers": archive,
                   "orders": order.run(say, problems), "customer_messages": _customer_messages(),
                   "statistics": report.run(say, executor, problems, today), "registers": report.registers(say, today),
                   "work_log": report.work_log(say, executor, problems, today),
                   "morning": report.morning(say),
                   "audit": _audit(say, problems),
                   # Issued for whoever tries the dashboard's forms after the demo (shown once, here).
                   "dashboard_pins": staff.dashboard_pins()}
    finally:
        executor.close()
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    else:
        _print_summary(summary)
    if problems:
        raise SystemExit(1)


def _customer_messages() -> dict[str, dict[str, int]]:
    """What the day's customers were sent, by way: delivered, and held for their quiet hours."""
    import sqlalchemy as sa

    from kefu.core import clock
    from kefu.db import current_engine
    from models.outbox import SENT, OutboxMessage

    c = OutboxMessage.__table__.c
    counts: dict[str, dict[str, int]] = {}
    with current_engine().connect() as conn:
        for way, status, due in conn.execute(sa.select(c.channel, c.status, c.next_attempt_at).where(
                c.key.startswith("customer:"))):
            held = status != SENT and due is not None and clock.as_utc(due) > clock.now()
            bucket = counts.setdefault(way, {"sent": 0, "held": 0, "other": 0})
            bucket["sent" if status == SENT else "held" if held else "other"] += 1
    return counts


def _audit(say: Callable[[str], None], problems: list[str]) -> dict[str, Any]:
    """The auditor's pass over the day: every case's chain verified, every rule-derived decision
    replayed under the rules in force at the time, and checked against Prefect's runs."""
    from kefu.audit import replay
    from kefu.db import current_engine
    from kefu.executor import prefect_check

    results = list(replay.replay(current_engine()))
    prefect = prefect_check.cross_check(results)
    verdicts = {v: sum(r.verdict == v for r in results) for v in ("consistent", "divergent", "tampered")}
    say(f"\nThe auditor replays all {len(results)} cases 审计复核 (`kefu audit replay --all`): "
        f"{verdicts['consistent']} consistent, {verdicts['divergent']} divergent, {verdicts['tampered']} tampered; "
        f"Prefect: {prefect}")
    problems.extend(r.summary() for r in results if r.verdict != "consistent")
    return {"cases": len(results), **verdicts, "prefect": prefect}


# -- the summary ------------------------------------------------------------------------------------

def _print_summary(summary: dict[str, Any]) -> None:
    rows = summary["cases"]
    print(f"\nThe day in {summary['elapsed_seconds']:.0f} s: {len(rows)} cases, "
          f"{sum(1 for r in rows if r['status'] == 'closed')} closed.\n")
    header = f"{'case':<18} {'kind/severity':<20} {'branch':<23} {'outcome':<11} {'events':>6}  {'deadlines':<18} {'run':<10} url"
    print(header)
    print("-" * len(header))
    for r in rows:
        d = r["deadlines"]
        deadline_text = f"{d['met']} met, {d['open']} open" + (f", {d['late']} late" if d["late"] else "")
        print(f"{r['case_id']:<18} {r['kind'] + '/' + (r['severity'] or '-'):<20} {r['branch']:<23} "
              f"{r['outcome'] or 'at ' + str(r['step']):<11} {r['events']:>6}  {deadline_text:<18} "
              f"{r['flow_run_state']:<10} {r['flow_run_url']}")
    for r in rows:
        if r["notified_at_intake"]:
            print(f"\n{r['case_id']} ({r['severity']}): reported upward at intake to {', '.join(r['notified_at_intake'])}")
        for refusal in r["refusals"]:
            print(f"{r['case_id']}: {refusal['by']} tried to approve and was refused — {refusal['problem']}")
    esc = summary.get("escalations") or {}
    if esc:
        print(f"\nEscalations: {esc['rungs_fired']} rungs fired on {len(esc['cases'])} stalled cases over "
              f"{esc['business_days']} days of business time; {len(esc['messages'])} e-mails in {esc['outbox_dir']}")
        for message in esc["messages"][-4:]:
            print(f"  {message['file']}  to {message['to']}: {message['subject']}")
    told = summary.get("customer_messages") or {}
    if told:
        ways = "; ".join(f"{way}: {n['sent']} delivered" + (f", {n['held']} held until the customer's quiet hours end"
                                                           if n["held"] else "") for way, n in sorted(told.items()))
        print(f"\nCustomers told 客户通知 ({ways}): e-mails as .eml, SMS and chat as .json in {esc.get('outbox_dir', 'the outbox')}"
              " (with KEFU_SMTP_URL, KEFU_SMS_URL and KEFU_CHAT_WEBHOOK_URL they go out for real)")
    for problem in summary["problems"]:
        print(f"PROBLEM: {problem}")
    first = rows[0]["case_id"] if rows else "<id>"
    pins = ", ".join(f"{who} {pin}" for who, pin in summary["dashboard_pins"].items())
    env = _env_prefix()
    print(f"""
Where to look:
  dashboard   {summary['dashboard_url']}  (each flow run is named after its case; Suspended = waits for a person)
  one case    {env}kefu case show {first}  (timeline: who did what, when; deadlines)
  all cases   {env}kefu case list  (--status open, --step approval, --json)
  act         {env}kefu staff token issue li.na, then {env}kefu login: the CLI acts as the token's owner
  forms       a form asks for the PIN of the person deciding: {pins}
  stop kefu   {env}kefu down  (the server and runner keep running in the background until then)""")


def _env_prefix() -> str:
    """The settings a person must repeat for the CLI to find this kefu (none on the default)."""
    import os
    import sys

    settings = "".join(f"{name}={os.environ[name]} " for name in ("KEFU_HOME", "KEFU_DATABASE_URL", "KEFU_PREFECT_PORT",
                                                                 "KEFU_PREFECT_API_URL") if os.environ.get(name))
    # The command as it was typed (``.venv/bin/kefu`` right after the README's first line).
    program = sys.argv[0] if sys.argv and sys.argv[0].endswith("kefu") else "kefu"
    return settings + program.removesuffix("kefu")
