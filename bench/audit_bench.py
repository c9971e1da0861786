"""Speed of the auditor's tools: verify and replay (events/s) over 100,000 closed complaints, and
import of the Italian help-desk log (events/s).

The cases are realistic and generated fast: one complaint is taken to the end through kefu's own
code (registration, acknowledgement, judgement, a customer pause, investigation late enough for
the sweep to fire two rungs, proposal, approval, discipline, plan notice, acceptance, review,
callback, close: ~36 events with 10 deadline events), then cloned under new case ids with bulk
inserts, each clone chained and sealed anew (chain.chain / seal_of), exactly what the store
writes. Replay recomputes every deadline of every case with the business calendar (nothing is
shared between cases but the rules). Targets on 2 cores: verify ≥ 100,000 events/s, replay
≥ 20,000 events/s.

    .venv/bin/python -m bench.audit_bench                        # SQLite, 100,000 cases
    .venv/bin/python -m bench.audit_bench --backend postgres --cases 20000
    .venv/bin/python -m bench.audit_bench --profile              # pyinstrument around replay
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the scripted complaint of the audit tests
sys.path.insert(0, str(REPO))  # bench.databases, also when run as a script

from audit_cases import resolved_complaint  # noqa: E402

from bench.databases import scratch_engine  # noqa: E402
from kefu.audit import importer, parallel, replay  # noqa: E402
from kefu.core import (
    chain,  # noqa: E402
    clock,  # noqa: E402
)
from kefu.core.store import CaseStore  # noqa: E402
from kefu.processes import load_rules  # noqa: E402
from models.records import Case, CaseEvent  # noqa: E402

LOG = REPO / "tests" / "data" / "helpdesk_italy.csv.gz"
MAPPING = REPO / "docs" / "mappings" / "helpdesk_italy.yaml"


def populate(engine: sa.Engine, cases: int) -> int:
    """One complaint through kefu, then ``cases - 1`` chained clones; returns the number of events."""
    rules = load_rules(REPO / "config")
    clock.set_now(datetime(2026, 11, 23, 9, 30, tzinfo=timezone(timedelta(hours=8))))
    store = CaseStore(engine)
    template_id = resolved_complaint(store, rules, pause=True, escalate=True)
    template = store.events(template_id)
    head = store.cases(limit=1)[0]
    columns = ("type", "actor", "at", "recorded_at", "idem_key", "config_version", "payload")
    started = time.perf_counter()
    case_rows, event_rows = [], []
    for n in range(2, cases + 1):
        case_id = f"C-20261123-{n:06d}"
        rows = [dict(case_id=case_id, seq=e.seq, **{c: getattr(e, c) for c in columns}) for e in template]
        last = chain.chain(case_id, "", rows)
        event_rows += rows
        case_rows.append(dict(id=case_id, process=head.process, kind=head.kind, severity=head.severity,
                              status="closed", step=None, customer_name=head.customer_name,
                              customer_phone=head.customer_phone, owner=head.owner, opened_at=head.opened_at,
                              closed_at=head.closed_at, last_seq=len(rows), flow_run_id=None, last_hash=last,
                              seal=chain.seal_of(case_id, len(rows), last)))
        if len(case_rows) >= 2000:
            _flush(engine, case_rows, event_rows)
            case_rows, event_rows = [], []
    _flush(engine, case_rows, event_rows)
    print(f"generated {cases:,} cases × {len(template)} events = {cases * len(template):,} events "
          f"in {time.perf_counter() - started:.1f} s", flush=True)
    return cases * len(template)


def _flush(engine: sa.Engine, case_rows: list[dict], event_rows: list[dict]) -> None:
    if not case_rows:
        return
    with engine.begin() as conn:
        conn.execute(sa.insert(Case.__table__), case_rows)
        conn.execute(sa.insert(CaseEvent.__table__), event_rows)


def _cpu() -> float:
    """CPU seconds of this process and of its reaped workers."""
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def timed(label: str, events: int, run: callable) -> float:
    """Wall time and CPU time: the machine is shared, so CPU s says what the work itself costs."""
    started, cpu = time.perf_counter(), _cpu()
    outcome = run()
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    print(f"{label:<40} {seconds:8.2f} s  {events / seconds:>10,.0f} events/s   CPU {cpu:7.1f} s "
          f"({events / cpu:>9,.0f} events per CPU-s)   {outcome}", flush=True)
    return events / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="processes for verify and replay (2 cores: 2)")
    parser.add_argument("--profile", action="store_true", help="pyinstrument around a one-process replay")
    args = parser.parse_args()
    engine, drop = scratch_engine(args.backend, "audit")
    try:
        events = populate(engine, args.cases)

        def verify() -> str:
            verdicts = parallel.run_all(engine, "verify", args.workers)
            return f"{len(verdicts):,} cases, {sum(not v.intact for v in verdicts)} tampered"

        def replay_all() -> str:
            results = parallel.run_all(engine, "replay", args.workers)
            return f"{len(results):,} cases, {sum(r.verdict == 'consistent' for r in results):,} consistent"

        print(f"backend {args.backend}, {args.workers} worker processes")
        timed("verify --all (hash chain + seals)", events, verify)
        timed("replay --all (verify + rules)", events, replay_all)
        if args.profile:
            from pyinstrument import Profiler

            with Profiler() as profiler:
                list(replay.replay(engine))
            profiler.print()
        if LOG.is_file():
            timed(f"import {LOG.name} (21,348 events)", 21_348,
                  lambda: {k: v for k, v in importer.import_log(engine, LOG, "csv", importer.load_mapping(MAPPING)).items()
                           if k in ("cases", "events", "activities", "variants")})
    finally:
        drop()


if __name__ == "__main__":
    main()
