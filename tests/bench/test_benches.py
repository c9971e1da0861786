"""Every bench under bench/ runs (a bench that cannot run is a defect): each in a small size, as
a person would run it, printing its figures. The figures themselves are the benches' to report
(bench/README.md), not the tests' to judge."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def bench(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    result = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert result.stdout.strip(), "a bench prints its figures"
    return result.stdout


def test_the_calendar_bench_runs():
    assert "µs/call" in bench("bench/calendar_bench.py")


def test_the_audit_bench_runs():
    out = bench("bench/audit_bench.py", "--cases", "40", "--workers", "1")
    assert "verify --all" in out and "replay --all" in out and "40 consistent" in out


def test_the_report_bench_runs():
    out = bench("bench/report_bench.py", "--cases", "3000", "--live", "20")
    assert "November (one month)" in out and "the whole year" in out


def test_the_registers_bench_runs():
    out = bench("bench/registers_bench.py", "--complaints", "3", "--questions", "1", "--orders", "2")
    assert "order ledger (30 Nov)" in out and "work log, the month" in out


@pytest.mark.postgres
def test_the_order_bench_runs_on_both_databases():
    out = bench("bench/order_bench.py", "--orders", "2", "--backend", "both")
    assert "SQLite" in out and "PostgreSQL" in out


@pytest.mark.postgres
def test_the_sweep_bench_runs_on_both_databases():
    out = bench("bench/sweep_bench.py", "--deadlines", "2000", "--due", "20")
    assert out.count("2,000 open deadlines, 20 due") == 2


@pytest.mark.prefect
def test_the_complaint_throughput_bench_runs_on_its_own_kefu(tmp_path):
    """It starts its own Prefect server and runner on a free port under its own home, and stops them."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEFU_", "PREFECT_"))}
    env.update(KEFU_HOME=str(tmp_path / "var"), KEFU_PREFECT_PORT=port)
    result = subprocess.run([sys.executable, "-m", "bench.complaint_throughput", "--cases", "1", "--concurrency", "1"],
                            cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "1/1 cases complete" in result.stdout


def test_the_intake_bench_runs():
    out = bench("bench/intake_bench.py", "--rows", "3000")
    assert "first import: 3,000 rows" in out and "same file again: 3,000 rows" in out
