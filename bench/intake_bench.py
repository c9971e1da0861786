"""Speed and memory of validated intake: N complaint rows (a CFPB-shaped CSV, one row in 200
faulty in one of six ways, one in 1,000 a repeat of the row before, one in 1,000 another row
under its id) through reading, the Great Expectations suite
and the archive import, then the same file again (every row a duplicate or held again).
Target on 2 cores: ≥ 5,000 rows/s, memory flat (streamed in chunks: the peak does not grow
with the file).

    .venv/bin/python -m bench.intake_bench                     # SQLite, 100,000 rows
    .venv/bin/python -m bench.intake_bench --rows 20000 --backend postgres
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.databases import scratch_engine  # noqa: E402
from kefu import intake, processes  # noqa: E402
from kefu.core import clock  # noqa: E402
from kefu.core.store import CaseStore  # noqa: E402
from kefu.intake.mapping import load_mapping  # noqa: E402
from kefu.intake.validation import warm_up  # noqa: E402

MAPPING = REPO / "docs" / "mappings" / "cfpb_complaints_2014.yaml"
HEADER = ["Complaint ID", "Product", "Sub-product", "Issue", "Sub-issue", "State", "ZIP code", "Submitted via",
          "Date received", "Date sent to company", "Company", "Company response", "Timely response?",
          "Consumer disputed?"]
PRODUCTS = ["Mortgage", "Debt collection", "Credit reporting", "Bank account or service", "Credit card"]
VIA = ["Web", "Referral", "Phone", "Postal mail", "Fax"]
ISSUES = ["Loan servicing, payments, escrow account", "Cont'd attempts collect debt not owed",
          "Incorrect information on credit report", "Account opening, closing, or management"]


# The six faults, in turn on every 200th row: (name, column, the value written there).
FAULTS = (("missing issue", 3, ""), ("bad date", 8, "2014-13-45"), ("future date", 8, "01/01/2099"),
          ("unmapped channel", 7, "Carrier pigeon"), ("invisible character", 3, "Refund \u202e"),
          ("too long", 3, "x" * 5000))


def write_file(path: Path, rows: int) -> dict[str, int]:
    """A CFPB-shaped file; returns how many rows carry each fault."""
    rng = random.Random(7)
    faults = dict.fromkeys([name for name, _, _ in FAULTS] + ["repeat", "conflict"], 0)
    start, previous = date(2014, 1, 1), []
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for n in range(rows):
            received = start + timedelta(days=n % 300)
            row = [str(1_000_000 + n), rng.choice(PRODUCTS), "", rng.choice(ISSUES), "", "NY", "10001",
                   rng.choice(VIA), received.strftime("%m/%d/%Y"), received.strftime("%m/%d/%Y"), "Bank",
                   "Closed with explanation", "Yes", ""]
            if n % 1000 == 999:
                row = previous  # the previous row again: a duplicate, imported once
                faults["repeat"] += 1
            elif n % 1000 == 499:
                row[0] = str(1_000_000 + n - 1)  # the previous row's id on another row: a conflict
                faults["conflict"] += 1
            elif n % 200 == 199:
                name, column, value = FAULTS[(n // 200) % len(FAULTS)]
                row[column] = value
                faults[name] += 1
            out.writerow(row)
            previous = row
    return faults


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    clock.set_now(datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc))
    folder = Path(tempfile.mkdtemp(prefix="kefu-intake-file-"))
    path = folder / "complaints.csv"
    faults = write_file(path, args.rows)
    print(f"{args.rows:,} rows ({path.stat().st_size / 1e6:.1f} MB), faults: "
          + ", ".join(f"{k} {v}" for k, v in faults.items()))
    engine, drop = scratch_engine(args.backend, "intake")
    try:
        rules, store = processes.load_rules(REPO / "config"), CaseStore(engine)
        target, mapping = processes.intake_target("complaints"), load_mapping(MAPPING)
        started = time.perf_counter()
        warm_up()  # Great Expectations' import (~3 s, once per command) is not per row
        warm = time.perf_counter() - started
        print(f"Great Expectations import: {warm:.2f} s (once per command)")
        for label in ("first import", "same file again"):
            before = _peak_mb()
            started = time.perf_counter()
            result = intake.take_in(store, rules, target, path, mapping, mode="archive", actor="li.na")
            took = time.perf_counter() - started
            assert result.rows == result.imported + result.quarantined + result.duplicates == args.rows
            print(f"{label}: {result.rows:,} rows in {took:.1f} s = {result.rows / took:,.0f} rows/s; "
                  f"{result.imported:,} imported, {result.quarantined:,} quarantined, {result.duplicates:,} duplicates; "
                  f"peak RSS {_peak_mb():.0f} MB (before {before:.0f} MB)")
            for reason, count in result.reasons.most_common():
                print(f"    {count:>6} × {reason}")
        with engine.connect() as conn:
            cases = conn.execute(sa.text("SELECT count(*) FROM kefu_case")).scalar()
            events = conn.execute(sa.text("SELECT count(*) FROM kefu_event")).scalar()
        print(f"stored: {cases:,} archived cases, {events:,} events ({args.backend})")
    finally:
        drop()


if __name__ == "__main__":
    main()
