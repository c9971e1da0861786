"""Cost of the escalation sweep (kefu.escalation.sweep.escalate_due) over 1,000,000 open deadlines.

Builds 1,000,000 open complaint cases, each with an open judgement deadline and its ladder
(config/escalation.yaml rungs, as the projection holds them). 999,000 have their next rung weeks
away; 1,000 have it a few minutes after the start time. Then it times

  (a) a sweep with nothing due (clock before the 1,000)          target ≤ 50 ms
  (b) the sweep that records and queues those 1,000 rungs
  (c) delivering the resulting digests to a local aiosmtpd server  target (b)+(c) ≤ 5 s

and prints the query plan of the sweep's claim query, which must use the partial index
``ix_deadline_next_rung_due``. SQLite in a temporary file; PostgreSQL in a database of its own
(``kefu_sweep_bench``, created and dropped here). The 1,000 due deadlines are half general
complaints (rung 0: the owning agent; 4 agents) and half major (rung 0: the 2 supervisors),
so the sweep queues 6 digests: 4 × 125 items and 2 × 500 items.

    .venv/bin/python -m bench.sweep_bench                 # both backends
    .venv/bin/python -m bench.sweep_bench --backend sqlite
    .venv/bin/python -m bench.sweep_bench --profile       # pyinstrument around (b) and (c)

The event log of the 1,000,000 cases is not loaded (the sweep appends to it through its unique
index only); each case's ``last_seq`` is 2, as after registration and the deadline opening.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from kefu import processes
from kefu.core import clock
from kefu.db import make_engine
from kefu.escalation import mail, sweep
from kefu.processes import load_rules

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
TOTAL = 1_000_000
DUE = 1_000
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432"
PG_DB = "kefu_sweep_bench"
T0 = datetime(2026, 11, 23, 1, 30, tzinfo=timezone.utc)  # Monday 09:30 in Shanghai
AGENTS = ["li.na", "wang.fang", "zhang.wei", "liu.yang"]
DASHBOARD = "http://127.0.0.1:4200"


def iso(at: datetime) -> str:
    return at.isoformat()


def rows(n: int, due: int):
    """(case row, deadline row) for n cases; the last ``due`` have a rung due a few minutes after T0."""
    rnd = random.Random(7)
    for i in range(n):
        is_due = i >= n - due
        major = i % 2 == 1
        severity = "major" if major else "general"
        case_id = f"C-2026{(i // 100000) + 1:02d}01-{i % 1000000:07d}"
        owner = AGENTS[(i // 2) % 4]
        if is_due:
            opened = T0 - timedelta(minutes=60 if major else 60 * 8) + timedelta(seconds=rnd.randint(60, 600))
            first = T0 + timedelta(seconds=rnd.randint(60, 600))
        else:
            opened = T0 + timedelta(days=rnd.randint(5, 60), seconds=rnd.randint(0, 86400))
            first = opened + timedelta(hours=1)
        if major:
            allowed, policy = "2 hours", "sla.yaml policies.1: complaint judgement major 2 hours"
            ladder = [(0.5, "supervisor", "reminder"), (1.0, "manager", "breach"), (1.5, "director", "breach")]
            step = timedelta(hours=1)
        else:
            allowed, policy = "24 working hours", "sla.yaml policies.10: complaint judgement any 24 working hours"
            ladder = [(0.5, "owner", "reminder"), (1.0, "supervisor", "breach"),
                      (1.5, "manager", "breach"), (2.0, "director", "breach")]
            step = timedelta(days=2)
        rungs = [{"rung": k, "share": share, "notify": notify, "kind": kind, "at": iso(first + k * step)}
                 for k, (share, notify, kind) in enumerate(ladder)]
        due_at = first + step
        case = (case_id, "complaint", "complaint", severity, "open", "judgement", f"客户{i}", "138****5678",
                owner, opened, None, 2, None)
        deadline = (i + 1, case_id, "judgement", 1, opened, due_at, None, policy, allowed,
                    "serious" if major else "standard", json.dumps(rungs, ensure_ascii=False), 0, first)
        yield case, deadline


CASE_COLS = ("id", "process", "kind", "severity", "status", "step", "customer_name", "customer_phone",
             "owner", "opened_at", "closed_at", "last_seq", "flow_run_id")
DEADLINE_COLS = ("id", "case_id", "step", "round", "opened_at", "due_at", "met_at", "policy", "allowed",
                 "ladder", "rungs", "next_rung", "next_rung_at")


def sqlite_time(at: datetime | None) -> str | None:
    # What SQLAlchemy's SQLite DateTime stores for kefu's UTC columns.
    return None if at is None else at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def load_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=OFF")  # a throwaway file: load fast, then reopen normally
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")  # 1 GB: the indexes stay in memory while loading
    cases, deadlines = [], []

    def flush() -> None:
        conn.executemany(f"INSERT INTO kefu_case ({','.join(CASE_COLS)}) VALUES ({','.join('?' * len(CASE_COLS))})",
                         cases)
        conn.executemany(
            f"INSERT INTO kefu_deadline ({','.join(DEADLINE_COLS)}) VALUES ({','.join('?' * len(DEADLINE_COLS))})",
            deadlines)
        cases.clear()
        deadlines.clear()

    for case, deadline in rows(TOTAL, DUE):
        cases.append(tuple(sqlite_time(v) if isinstance(v, datetime) else v for v in case))
        deadlines.append(tuple(sqlite_time(v) if isinstance(v, datetime) else v for v in deadline))
        if len(cases) == 50_000:
            flush()
    flush()
    conn.commit()
    conn.execute("ANALYZE")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()


def pg_time(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def load_postgres(engine: sa.Engine) -> None:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(f"COPY kefu_case ({','.join(CASE_COLS)}) FROM STDIN") as case_copy:
            for case, _ in rows(TOTAL, DUE):
                case_copy.write_row(tuple(pg_time(v) if isinstance(v, datetime) else v for v in case))
        with cur.copy(f"COPY kefu_deadline ({','.join(DEADLINE_COLS)}) FROM STDIN") as deadline_copy:
            for _, deadline in rows(TOTAL, DUE):
                deadline_copy.write_row(tuple(pg_time(v) if isinstance(v, datetime) else v for v in deadline))
        cur.execute(f"SELECT setval(pg_get_serial_sequence('kefu_deadline', 'id'), {TOTAL})")
        raw.commit()
        raw.driver_connection.autocommit = True
        cur.execute("VACUUM ANALYZE kefu_case")
        cur.execute("VACUUM ANALYZE kefu_deadline")
    finally:
        raw.close()


class Sink:
    """An SMTP handler that only counts: the server shares the CPU with what is measured."""

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self.message_ids: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001
        head = envelope.content[:4000]
        mid = next((line.split(b":", 1)[1].strip().decode() for line in head.splitlines()
                    if line.lower().startswith(b"message-id:")), "")
        with self.lock:
            self.messages += 1
            self.bytes += len(envelope.content)
            self.message_ids.append(mid)
        return "250 OK"


def capture_claim_sql(engine: sa.Engine) -> list[tuple[str, object]]:
    seen: list[tuple[str, object]] = []

    def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if "FROM kefu_deadline JOIN kefu_case" in statement and not seen:
            seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", before)
    return seen


def explain(engine: sa.Engine, statement: str, parameters: object) -> list[str]:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "sqlite":
            cur.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            return [" ".join(str(c) for c in row[1:]) for row in cur.fetchall()]
        cur.execute("EXPLAIN (ANALYZE, COSTS OFF) " + statement.replace("FOR UPDATE SKIP LOCKED", ""), parameters)
        return [row[0] for row in cur.fetchall()]
    finally:
        raw.rollback()
        raw.close()


def run(backend: str, profile: bool) -> dict:
    from aiosmtpd.controller import Controller

    rules = load_rules(CONFIG_DIR)
    if backend == "sqlite":
        tmp = Path(tempfile.mkdtemp(prefix="kefu-sweep-bench-"))
        url = f"sqlite:///{tmp / 'kefu.db'}"
        make_engine(url).dispose()  # the schema
        t = time.perf_counter()
        load_sqlite(tmp / "kefu.db")
        load_seconds = time.perf_counter() - t
        engine = make_engine(url)
    else:
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", PG_DB], check=True)
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", PG_DB], check=True)
        engine = make_engine(f"{PG_ADMIN}/{PG_DB}")
        t = time.perf_counter()
        load_postgres(engine)
        load_seconds = time.perf_counter() - t
    figures: dict = {"backend": backend, "load_s": load_seconds}
    try:
        with engine.connect() as conn:
            figures["deadlines"] = conn.execute(sa.text("SELECT count(*) FROM kefu_deadline")).scalar_one()
        seen = capture_claim_sql(engine)

        # (a) nothing due: the clock stands before the 1,000.
        clock.set_now(T0)
        sweep.escalate_due(engine, rules, dashboard_url=DASHBOARD,
                           commands=processes.command_for)  # warm: imports, templates, pool
        empty = []
        for _ in range(20):
            report = sweep.escalate_due(engine, rules, dashboard_url=DASHBOARD, commands=processes.command_for)
            assert report.rungs_fired == 0, report
            empty.append(report.seconds)
        empty.sort()
        figures["empty_median_ms"] = empty[len(empty) // 2] * 1000
        figures["empty_max_ms"] = empty[-1] * 1000
        statement, parameters = seen[0]
        figures["plan"] = explain(engine, statement, parameters)

        # (b) 1,000 due.
        clock.set_now(T0 + timedelta(hours=1))
        profiler = None
        if profile:
            from pyinstrument import Profiler

            profiler = Profiler()
            profiler.start()
        t, cpu = time.perf_counter(), time.process_time()
        report = sweep.escalate_due(engine, rules, dashboard_url=DASHBOARD, commands=processes.command_for)
        figures["sweep_s"] = time.perf_counter() - t
        figures["sweep_cpu_s"] = time.process_time() - cpu
        assert report.rungs_fired == DUE, report.rungs_fired
        figures["rungs"], figures["digests"] = report.rungs_fired, report.messages_queued

        # (c) deliver them to aiosmtpd.
        sink = Sink()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            t, cpu = time.perf_counter(), time.process_time()
            delivered = mail.deliver_due(engine, mail.SmtpTransport(f"smtp://127.0.0.1:{port}"))
            figures["deliver_s"] = time.perf_counter() - t
            figures["deliver_cpu_s"] = time.process_time() - cpu  # client and aiosmtpd thread
        finally:
            controller.stop()
        if profiler is not None:
            profiler.stop()
            figures["profile"] = profiler.output_text(unicode=True, color=False, show_all=False)
        assert delivered.sent == report.messages_queued == sink.messages and delivered.pending_left == 0
        figures["smtp_bytes"] = sink.bytes
        figures["total_s"] = figures["sweep_s"] + figures["deliver_s"]
        after = sweep.escalate_due(engine, rules, dashboard_url=DASHBOARD, commands=processes.command_for)
        assert after.rungs_fired == 0
    finally:
        engine.dispose()
        clock.set_now(None)
        if backend == "postgres":
            subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", PG_DB], check=True)
        else:
            for f in tmp.iterdir():
                f.unlink()
            tmp.rmdir()
    return figures


def report(f: dict) -> str:
    out = io.StringIO()
    ok_a = "ok" if f["empty_median_ms"] <= 50 else "MISSED"
    ok_bc = "ok" if f["total_s"] <= 5 else "MISSED"
    print(f"== {f['backend']}: {f['deadlines']:,} open deadlines, {DUE:,} due (load {f['load_s']:.1f} s)", file=out)
    print(f"(a) sweep, nothing due:   median {f['empty_median_ms']:.2f} ms, max {f['empty_max_ms']:.2f} ms"
          f" of 20   [target ≤ 50 ms: {ok_a}]", file=out)
    print(f"(b) sweep, {f['rungs']:,} rungs:   {f['sweep_s']:.3f} s (CPU {f['sweep_cpu_s']:.3f} s)"
          f"  ({f['digests']} digests queued)", file=out)
    print(f"(c) deliver over SMTP:    {f['deliver_s']:.3f} s (CPU {f['deliver_cpu_s']:.3f} s)"
          f"  ({f['digests']} messages, {f['smtp_bytes'] / 1e6:.2f} MB)", file=out)
    print(f"(b)+(c):                  {f['total_s']:.3f} s (CPU {f['sweep_cpu_s'] + f['deliver_cpu_s']:.3f} s)"
          f"   [target ≤ 5 s: {ok_bc}]", file=out)
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", file=out)
    print("claim query plan:", file=out)
    for line in f["plan"]:
        print(f"    {line}", file=out)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--deadlines", type=int, default=TOTAL, help="open deadlines (the target is for 1,000,000)")
    parser.add_argument("--due", type=int, default=DUE, help="of which due now")
    args = parser.parse_args()
    globals().update(TOTAL=args.deadlines, DUE=args.due)  # the figures' sizes, read by run() and report()
    for backend in (["sqlite", "postgres"] if args.backend == "both" else [args.backend]):
        figures = run(backend, args.profile)
        print(report(figures), flush=True)
        if args.profile:
            print(figures["profile"])


if __name__ == "__main__":
    main()
