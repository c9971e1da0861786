"""Cost of recording an order's life (kefu.processes.order.decisions, in-process, no Prefect): what each `kefu order …`
command spends on the record side.

N orders go through the whole chain — create, stock check, payment, remark, one amendment (an
outbox e-mail per supervisor), finance, written confirmation, director, production hand-over,
a chase after the ship date passed, shipment (liability assessed), delivery, close — with the
business clock moved, never slept. Every command re-reads the order from its events, decides
and appends (optimistic, hash-chained), so the figures grow with the order's log (35 events at
the end). Prints the median and p95 per command and the orders per second; asserts nothing.

    .venv/bin/python -m bench.order_bench                  # SQLite file and PostgreSQL
    .venv/bin/python -m bench.order_bench --orders 50 --backend sqlite
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from kefu.core import clock
from kefu.core.store import CaseStore
from kefu.db import make_engine
from kefu.processes import load_rules
from kefu.processes.order import decisions as orders

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DB = "kefu_order_bench"
T0 = datetime(2026, 11, 23, 9, 30, tzinfo=timezone(timedelta(hours=8)))
REMARK = "刘贺,3米*2.5米,图案正常,11月26日发货,自提。送胶。"


def one_order(store: CaseStore, rules, timings: dict[str, list[float]]) -> None:
    def timed(name: str, fn, *args, **kwargs):
        started = time.perf_counter()
        result = fn(*args, **kwargs)
        timings[name].append(time.perf_counter() - started)
        return result

    clock.set_now(T0)
    order_id = timed("new", orders.create, store, rules, dict(
        buyer="刘贺", phone="13812345678", agent="li.na", items=["墙纸"], ship_by="2026-11-26",
        deliver_by="2026-11-28", delivery_mode="自提"), by="li.na").case_id

    def hand_over(step: str, by: str = "li.na", **data) -> None:
        timed(step, orders.submit, store, rules, order_id, step, {"by": by, **data})

    hand_over("stock-check", "ma.lin")
    hand_over("payment")
    hand_over("remark", text=REMARK)
    started = time.perf_counter()
    orders.submit(store, rules, order_id, "remark", {"by": "li.na", "text": REMARK.replace("自提", "送货到楼下")})
    timings["remark amendment (+2 e-mails)"].append(time.perf_counter() - started)
    hand_over("finance-confirmation", "he.jing")
    hand_over("verification", confirmation="旺旺：确认")
    hand_over("director-approval", "qian.hong")
    hand_over("handover")
    clock.set_now(datetime(2026, 11, 26, 19, 0, tzinfo=T0.tzinfo))
    timed("chase", orders.chase, store, rules, order_id, "im", "li.na")
    hand_over("shipment", "ma.lin", tracking="SF1234567890")
    timed("tell buyer", orders.tell_tracking, store, rules, order_id)
    hand_over("delivery")
    timed("close", orders.complete, store, rules, order_id)


def run(label: str, engine, count: int) -> None:
    store, rules = CaseStore(engine), load_rules(CONFIG_DIR)
    one_order(store, rules, defaultdict(list))  # warm-up: imports, templates, statement caches
    timings: dict[str, list[float]] = defaultdict(list)
    started = time.perf_counter()
    for _ in range(count):
        one_order(store, rules, timings)
    elapsed = time.perf_counter() - started
    events = store.events(store.cases(limit=1)[0].id)
    print(f"\n{label}: {count} orders in {elapsed:.2f} s = {count / elapsed:.1f} orders/s "
          f"({len(events)} events per order; load avg {os.getloadavg()[0]:.1f})")
    print(f"  {'command':<32}{'p50 ms':>8}{'p95 ms':>8}")
    for name, values in timings.items():
        values.sort()
        p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
        print(f"  {name:<32}{statistics.median(values) * 1000:>8.1f}{p95 * 1000:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=30)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    before = clock.frozen_at()
    try:
        if args.backend in ("sqlite", "both"):
            with tempfile.TemporaryDirectory() as tmp:
                engine = make_engine(f"sqlite:///{tmp}/kefu.db")
                run("SQLite (file)", engine, args.orders)
                engine.dispose()
        if args.backend in ("postgres", "both"):
            admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {PG_DB}"))
                conn.execute(sa.text(f"CREATE DATABASE {PG_DB}"))
            try:
                engine = make_engine(f"postgresql://postgres@127.0.0.1:5432/{PG_DB}")
                run("PostgreSQL", engine, args.orders)
                engine.dispose()
            finally:
                with admin.connect() as conn:
                    conn.execute(sa.text(f"DROP DATABASE IF EXISTS {PG_DB}"))
                admin.dispose()
    finally:
        clock.set_now(before)


if __name__ == "__main__":
    main()
