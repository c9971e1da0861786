"""Shared fixtures: the shipped rules, a case store on SQLite and on PostgreSQL, a frozen
business clock, and an environment for in-process CLI runs.

Generic on purpose: suites with special needs (tests/flows/) bring their own conftest.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
from mailserver import SmtpServer

from kefu.core import clock
from kefu.core.rules import Rules
from kefu.core.store import CaseStore
from kefu.db import make_engine
from kefu.processes import load_rules

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "config"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
# The business clock's default for tests: a Monday morning in the department's zone.
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=timezone(timedelta(hours=8)))


def pytest_sessionstart(session: pytest.Session) -> None:
    """The machine's services the tests need (PostgreSQL, Chromium), set up once by the first
    process — never by an xdist worker: the controller did it before they started."""
    if not hasattr(session.config, "workerinput"):
        subprocess.run(["bash", str(REPO / "tests" / "prepare.sh")], check=False, timeout=900)


@pytest.hookimpl(tryfirst=True)  # before xdist turns the group markers into scheduling scopes
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that share a real Prefect server run together on one xdist worker (a worker
    would otherwise start its own server): those of the demo day on one, those of tests/flows'
    server on the other. They wait on Prefect far more than they compute, so the two groups and
    the unit tests share the two cores well (pyproject.toml)."""
    for item in items:
        if "demo_day" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("demo-day"))
        elif item.get_closest_marker("prefect"):
            item.add_marker(pytest.mark.xdist_group("prefect-server"))


_DRILL_FIGURES: dict[str, None] = {}  # ordered, once each: a phase's report repeats earlier phases' output


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Keep what each drill printed (its figures: ``drill …`` lines), also from xdist workers."""
    if report.when in ("call", "teardown") and "tests/drills/" in report.nodeid.replace("\\", "/"):
        for _, text in report.sections:
            _DRILL_FIGURES.update(dict.fromkeys(line for line in text.splitlines() if line.startswith("drill ")))


def pytest_terminal_summary(terminalreporter) -> None:
    """The drills' figures at the end of every run, where CI's log shows them."""
    if _DRILL_FIGURES:
        terminalreporter.section("drills: what kefu survived")
        for line in _DRILL_FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def rules() -> Rules:
    """The shipped config/ (immutable, so one load serves the session)."""
    return load_rules(CONFIG_DIR)


@pytest.fixture
def config_copy(tmp_path) -> Path:
    """A copy of the shipped config/ to break on purpose (config errors must name file and key)."""
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    return target


@pytest.fixture
def frozen_clock():
    """The business clock frozen at 2026-11-23 09:30 +08:00; restored afterwards."""
    previous_frozen, previous_loaded = clock._frozen, clock._loaded
    clock.set_now(NOW)
    yield clock
    clock._frozen, clock._loaded = previous_frozen, previous_loaded


@pytest.fixture
def sqlite_store(tmp_path) -> CaseStore:
    engine = make_engine(f"sqlite:///{tmp_path / 'kefu.db'}")
    yield CaseStore(engine)
    engine.dispose()


@pytest.fixture
def pg_store() -> CaseStore:
    """A CaseStore on PostgreSQL, in a schema of its own that is dropped afterwards."""
    schema = f"kefu_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    # libpq's `options` puts every connection of this engine into the schema.
    engine = make_engine(f"{PG_URL}?options=-csearch_path%3D{schema}")
    try:
        yield CaseStore(engine)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request) -> CaseStore:
    """The same tests on both backends kefu supports."""
    return request.getfixturevalue({"sqlite": "sqlite_store", "postgres": "pg_store"}[request.param])


def _clear_caches() -> None:
    from kefu import runtime
    from kefu.db import engine_for
    from kefu.runtime import rules_from
    from kefu.settings import get_settings

    get_settings.cache_clear()
    rules_from.cache_clear()
    engine_for.cache_clear()
    runtime._store = None


@contextmanager
def _kefu_home(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> Iterator[Path]:
    """KEFU_HOME and KEFU_DATABASE_URL under ``tmp``, the shipped config, and kefu's cached
    settings/rules/engine/store cleared before and after."""
    home = tmp / "home"
    monkeypatch.setenv("KEFU_HOME", str(home))
    monkeypatch.setenv("KEFU_DATABASE_URL", f"sqlite:///{tmp / 'kefu.db'}")
    monkeypatch.setenv("KEFU_CONFIG_DIR", str(CONFIG_DIR))
    monkeypatch.delenv("KEFU_NOW", raising=False)
    _clear_caches()
    yield home
    from kefu import runtime

    if runtime._store is not None:
        runtime._store.engine.dispose()
    _clear_caches()


@pytest.fixture
def kefu_env(tmp_path, monkeypatch, frozen_clock):
    """A kefu home of the test's own (:func:`_kefu_home`), on a frozen clock."""
    with _kefu_home(monkeypatch, tmp_path) as home:
        yield home


@pytest.fixture(scope="module")
def module_kefu_env(tmp_path_factory):
    """A kefu home shared by a module's tests (:func:`_kefu_home`), on the real clock."""
    with pytest.MonkeyPatch.context() as monkeypatch, _kefu_home(monkeypatch, tmp_path_factory.mktemp("kefu")) as home:
        yield home


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    yield server
    server.stop()


@dataclass
class DemoDay:
    """One `kefu demo --json` on a fresh KEFU_HOME: its environment, its Prefect port, the run."""

    env: dict[str, str]
    port: str
    done: subprocess.CompletedProcess

    @property
    def summary(self) -> dict:
        return json.loads(self.done.stdout)

    def kefu(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        """A `kefu` command against the demo's home (and its still-running Prefect server)."""
        return subprocess.run(KEFU_MODULE + list(args), cwd=REPO, env=self.env, capture_output=True, text=True,
                              timeout=timeout)


KEFU_MODULE = [sys.executable, "-m", "kefu.cli"]
DEMO_SECRET = "smtp-secret-9f3b27c4e1"


@pytest.fixture(scope="session")
def demo_day(tmp_path_factory) -> DemoDay:
    """The demo's working day, run exactly as a new user runs it (its own Prefect server and runner
    on a free port, the embedded default), once per test process: tests/demo/test_day.py judges the
    day itself, tests/flows/test_audit_e2e.py its audit; the "demo-day" xdist group keeps both on
    one worker (with pytest < 9.2: pyproject.toml). Nothing of the calling shell's kefu or Prefect
    settings leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEFU_", "PREFECT_"))}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    env.update(KEFU_HOME=str(tmp_path_factory.mktemp("demo") / "var"), KEFU_PREFECT_PORT=port, PYTHONUNBUFFERED="1",
               # A secret configured as a department would (tests/demo/test_day.py searches for it).
               KEFU_SMTP_PASSWORD=DEMO_SECRET)
    day = DemoDay(env, port, subprocess.CompletedProcess([], 1))
    try:
        day.done = day.kefu("demo", "--json", timeout=1200)
        yield day
    finally:
        day.kefu("down", timeout=120)
