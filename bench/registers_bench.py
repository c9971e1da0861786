"""Speed and memory of the registers over a busy month (P8): the morning screen, the daily digest,
the order ledger, the monthly satisfaction analysis and feedback, the statistics with their KPIs,
and an agent's weekly and monthly work log.

A month of November is recorded through kefu's own decisions (hash-chained events, the outbox,
the projections), on every day: ``--complaints`` complaints judged by the agents in turn, half of
them planned, a third of them with a callback answered; ``--questions`` consultations answered;
``--orders`` orders taken, checked, paid and remarked. Then each register is compiled from the
record as its schedule compiles it. Prints the seconds and the peak memory of each; asserts nothing.

    .venv/bin/python -m bench.registers_bench                        # SQLite, 40 + 20 + 30 a day
    .venv/bin/python -m bench.registers_bench --backend postgres
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.databases import scratch_engine  # noqa: E402
from kefu import processes  # noqa: E402
from kefu.core import clock, identity  # noqa: E402
from kefu.core.identity import Acting, Verified  # noqa: E402
from kefu.core.store import CaseStore  # noqa: E402
from kefu.processes.callback import decisions as callbacks  # noqa: E402
from kefu.processes.complaint import decisions as complaints  # noqa: E402
from kefu.processes.order import decisions as orders  # noqa: E402
from kefu.processes.report import digest, feedback, ledger, morning, satisfaction, work_log  # noqa: E402
from kefu.processes.report.statistics import Period, compile_statistics  # noqa: E402
from models.callback import CallAttemptInput  # noqa: E402
from models.case import CaseState  # noqa: E402
from models.complaint import ContactRegistration  # noqa: E402

CST = timezone(timedelta(hours=8))
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))
AGENTS = ("li.na", "wang.fang", "zhang.wei", "liu.yang")
CATEGORIES = ("logistics", "product_quality", "service_attitude", "billing")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def as_(staff: str):
    return identity.acting_as(Acting(staff, Verified(staff, identity.CLI_TOKEN)))


def form(step: str, data: dict):
    """A complaint's (or consultation's) input, shape-checked as the CLI and the dashboard do."""
    return processes.parse_input(CaseState(case_id="", process="contact" if step == "answer" else "complaint"),
                                 step, data)


def complaint_as(store: CaseStore, rules, n: int, agent: str) -> str:
    """One complaint judged by ``agent``: one in five not upheld and closed (a third of those called
    back), every other one of the rest investigated."""
    reg = ContactRegistration(name=f"顾客{n}", phone=f"138{n:08d}", channel="phone", content=f"第{n}件投诉：快递太慢")
    case_id = complaints.register_contact(store, rules, reg).case_id
    with as_(agent):
        upheld = n % 5 != 0
        complaints.submit(store, rules, case_id, "judgement", form("judgement", {
            "upheld": upheld, "category": CATEGORIES[n % 4], "reason": "延误", "by": agent,
            **({"department": "logistics"} if upheld else {})}))
        if not upheld:
            if n % 3 == 0:
                complaints.request_callback(store, rules, case_id)
            complaints.close(store, rules, case_id, "not_upheld")
            if n % 3 == 0:
                callback = callbacks.open_for_complaint(store, rules, case_id).case_id
                callbacks.record_attempt(store, rules, callback, CallAttemptInput(
                    outcome="satisfied" if n % 2 else "unsatisfied", note="回访", by=agent))
        elif n % 2 == 0:
            complaints.submit(store, rules, case_id, "investigation", form("investigation", {
                "cause": "分拣", "responsible": "王五", "by": agent}))
    return case_id


def write_month(store: CaseStore, rules, per_day: tuple[int, int, int]) -> tuple[float, int]:
    """November's record, day by day between 09:30 and 12:00 Shanghai (outside the customers' rest
    hours, so that their callbacks may be made)."""
    complaints_a_day, questions_a_day, orders_a_day = per_day
    started, n, total = time.perf_counter(), 0, complaints_a_day + questions_a_day + orders_a_day
    for day in range(1, 31):
        for k in range(total):
            clock.set_now(datetime(2026, 11, day, 9, 30, tzinfo=CST) + timedelta(seconds=k * 9000 / total))
            agent = AGENTS[n % len(AGENTS)]
            n += 1
            if k < complaints_a_day:
                complaint_as(store, rules, n, agent)
            elif k < complaints_a_day + questions_a_day:
                reg = ContactRegistration(name=f"顾客{n}", phone=f"139{n:08d}", channel="chat", content="营业时间？",
                                          kind="consultation")
                case_id = complaints.register_contact(store, rules, reg).case_id
                with as_(agent):
                    complaints.submit(store, rules, case_id, "answer", form("answer", {"answer": "早九晚六", "by": agent}))
            else:
                ship = date(2026, 11, day) + timedelta(days=3)
                with as_(agent):
                    order_id = orders.create(store, rules, dict(
                        buyer=f"买家{n}", phone=f"137{n:08d}", agent=agent, items=["墙纸"], ship_by=ship.isoformat(),
                        deliver_by=(ship + timedelta(days=2)).isoformat(), delivery_mode="自提"), by=agent).case_id
                with as_("ma.lin"):
                    orders.submit(store, rules, order_id, "stock-check", {"by": "ma.lin"})
                with as_(agent):
                    orders.submit(store, rules, order_id, "payment", {"by": agent})
                    if n % 4:
                        orders.submit(store, rules, order_id, "remark", {
                            "by": agent, "text": f"买家{n},3米*2.5米,图案正常,{ship.month}月{ship.day}日发货,自提。"})
    return time.perf_counter() - started, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=40, help="complaints a day")
    parser.add_argument("--questions", type=int, default=20, help="consultations a day")
    parser.add_argument("--orders", type=int, default=30, help="orders a day")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    rules = processes.load_rules(REPO / "config")
    engine, drop = scratch_engine(args.backend, "registers")
    try:
        store = CaseStore(engine, facts=processes.facts())
        seconds, cases = write_month(store, rules, (args.complaints, args.questions, args.orders))
        print(f"{args.backend}: November recorded through kefu's decisions: {cases:,} cases "
              f"({args.complaints} complaints, {args.questions} questions, {args.orders} orders a day) "
              f"in {seconds:.1f} s")
        clock.set_now(datetime(2026, 12, 1, 7, 45, tzinfo=CST))
        busy = date(2026, 11, 30)
        registers = (
            ("morning screen (1 Dec)", lambda: morning.morning_screen(store, rules, date(2026, 12, 1)),
             lambda r: f"{sum(r.received.values())} received the day before, {len(r.breaches)} breaches"),
            ("daily digest (30 Nov)", lambda: digest.daily_digest(store, rules, busy),
             lambda r: f"{len(r.complaints)} complaints, {r.left_over_total:,} left over"),
            ("order ledger (30 Nov)", lambda: ledger.order_ledger(store, rules, busy),
             lambda r: f"{len(r.orders)} orders, {r.open_orders:,} open, {r.overdue:,} overdue"),
            ("statistics + KPIs", lambda: compile_statistics(store, rules, NOVEMBER),
             lambda r: f"{r.complaints:,} complaints, conversion {r.kpis['conversion']}%, "
                       f"complaint rate {r.kpis['complaint_rate']}%"),
            ("satisfaction analysis", lambda: satisfaction.satisfaction_analysis(store, rules, NOVEMBER),
             lambda r: f"{r.answered} calls answered, {r.rate}% satisfied"),
            ("monthly feedback", lambda: feedback.monthly_feedback(store, rules, NOVEMBER),
             lambda r: f"{r.upheld:,} upheld, {len(r.concerned)} departments"),
            ("work log, a week", lambda: work_log.work_log(store, rules, "li.na", "week",
                                                           Period(date(2026, 11, 23), date(2026, 11, 29))),
             lambda r: f"{r.entries_total:,} entries, {r.breaches_total:,} missed"),
            ("work log, the month", lambda: work_log.work_log(store, rules, "li.na", "month", NOVEMBER),
             lambda r: f"{r.entries_total:,} entries, {r.breaches_total:,} missed"),
        )
        for name, compile_it, say in registers:
            before, started = rss_mb(), time.perf_counter()
            result = compile_it()
            took = time.perf_counter() - started
            print(f"  {name:<24} {took:6.2f} s  {say(result)}; peak RSS {rss_mb():.0f} MB (+{rss_mb() - before:.0f})")
    finally:
        drop()


if __name__ == "__main__":
    main()
