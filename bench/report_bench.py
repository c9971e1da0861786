"""Speed and memory of 《顾客投诉分类统计表》 over a large archive: N archived complaints spread over
twelve months (plus a few hundred live ones in the reported month, with their step deadlines), then
the monthly report and the report over the whole year. Target on 2 cores: the monthly report over
1,000,000 archived complaints in ≤ 10 s, memory flat (the grouping is SQL's; pandas shapes a few
hundred groups).

The archive is written as the intake's store writes it for these tables (``kefu_case`` and
``kefu_complaint_fact`` rows in bulk, up to date with their cases); the events themselves are left
out, since the report never reads them for a case whose fact row is current.

    .venv/bin/python -m bench.report_bench                          # SQLite, 1,000,000 complaints
    .venv/bin/python -m bench.report_bench --cases 200000 --backend postgres
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlmodel import Session  # noqa: E402

from bench.databases import scratch_engine  # noqa: E402
from kefu import processes  # noqa: E402
from kefu.core import clock  # noqa: E402
from kefu.core.store import CaseStore, bulk_insert  # noqa: E402
from kefu.processes.complaint.facts import customer_key  # noqa: E402
from kefu.processes.report.statistics import Period, compile_statistics  # noqa: E402
from models.complaint import ComplaintFact  # noqa: E402
from models.records import Case, Deadline  # noqa: E402

YEAR = date(2026, 1, 1)
BATCH = 50_000


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_archive(store: CaseStore, rules, cases: int) -> float:
    """``cases`` archived complaints over 2026, one in 50 by a customer who complained before."""
    rng = random.Random(15)
    categories = [c.id for c in rules.complaint.categories]
    channels, severities = rules.complaint.channels, rules.complaint.severities
    started = time.perf_counter()
    for first in range(0, cases, BATCH):
        case_rows, fact_rows = [], []
        for n in range(first, min(first + BATCH, cases)):
            opened = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=rng.randrange(365 * 86400))
            closed = opened + timedelta(hours=rng.uniform(1, 240))
            case_id = f"C-{opened:%Y%m%d}-A{n:07d}"
            phone = f"138{rng.randrange(10**8):08d}" if n % 50 else "13800000000"
            case_rows.append(dict(id=case_id, process="complaint", kind="complaint", severity=rng.choice(severities),
                                  status="closed", step=None, customer_name="anonymous", customer_phone="",
                                  owner=None, opened_at=opened, closed_at=closed, last_seq=2, flow_run_id=None,
                                  last_hash="", seal=None))
            fact_rows.append(dict(case_id=case_id, last_seq=2, opened_at=opened, closed_at=closed, process="complaint",
                                  kind="complaint", status="closed", outcome="archived", archived=True,
                                  severity=case_rows[-1]["severity"], category=rng.choice(categories),
                                  channel=rng.choice(channels), department=None, upheld=None, rounds=0,
                                  handling_hours=(closed - opened).total_seconds() / 3600, follows=None,
                                  customer=customer_key(phone), improvements=[]))
        with Session(store.engine) as session, session.begin():
            bulk_insert(session, Case.__table__, case_rows)  # type: ignore[attr-defined]
            bulk_insert(session, ComplaintFact.__table__, fact_rows)  # type: ignore[attr-defined]
    return time.perf_counter() - started


def write_live(store: CaseStore, rules, month: Period, live: int) -> None:
    """``live`` complaints of the month judged and worked, with their step deadlines (some late)."""
    rng = random.Random(16)
    start, _ = month.bounds(rules)
    with Session(store.engine) as session, session.begin():
        cases, facts, deadlines = [], [], []
        for n in range(live):
            opened = start + timedelta(hours=rng.uniform(0, 600))
            case_id = f"C-{opened:%Y%m%d}-L{n:04d}"
            upheld = n % 3 != 0
            cases.append(dict(id=case_id, process="complaint", kind="complaint", severity="general", status="open",
                              step="investigation", customer_name="x", customer_phone="", owner="li.na",
                              opened_at=opened, closed_at=None, last_seq=5, flow_run_id=None, last_hash="", seal=None))
            facts.append(dict(case_id=case_id, last_seq=5, opened_at=opened, closed_at=None, process="complaint",
                              kind="complaint", status="open", outcome=None, archived=False, severity="general",
                              category="logistics", channel="phone", department="logistics" if upheld else None,
                              upheld=upheld, rounds=n % 3, handling_hours=None, follows=None, customer=None,
                              improvements=["复核分拣"] if n % 10 == 0 else []))
            for step, hours in (("judgement", 24), ("investigation", 48)):
                deadlines.append(dict(case_id=case_id, step=step, round=1, opened_at=opened,
                                      due_at=opened + timedelta(hours=hours),
                                      met_at=opened + timedelta(hours=rng.uniform(1, 2 * hours)) if step == "judgement"
                                      else None, policy="bench", allowed="", ladder="", rungs=[], next_rung=0,
                                      next_rung_at=None))
        bulk_insert(session, Case.__table__, cases)  # type: ignore[attr-defined]
        bulk_insert(session, ComplaintFact.__table__, facts)  # type: ignore[attr-defined]
        bulk_insert(session, Deadline.__table__, deadlines)  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--live", type=int, default=500)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    rules = processes.load_rules(REPO / "config")
    clock.set_now(datetime(2027, 1, 5, 9, tzinfo=timezone.utc))
    engine, drop = scratch_engine(args.backend, "report")
    try:
        store = CaseStore(engine, facts=processes.facts())
        month = Period(date(2026, 11, 1), date(2026, 11, 30))
        seconds = write_archive(store, rules, args.cases)
        write_live(store, rules, month, args.live)
        print(f"{args.backend}: {args.cases:,} archived complaints over 2026 + {args.live} live in November, "
              f"written in {seconds:.1f} s")
        before = rss_mb()
        for name, period in (("November (one month)", month), ("the whole year", Period(YEAR, date(2026, 12, 31)))):
            started = time.perf_counter()
            stats = compile_statistics(store, rules, period)
            took = time.perf_counter() - started
            print(f"  {name:<22} {took:6.2f} s  {stats.total:>9,} complaints, {len(stats.by_category)} categories, "
                  f"{stats.late_steps} late steps, {stats.repeat_customers:,} repeats, "
                  f"mean {stats.mean_handling_hours} h; peak RSS {rss_mb():.0f} MB (+{rss_mb() - before:.0f})")
    finally:
        drop()


if __name__ == "__main__":
    main()
