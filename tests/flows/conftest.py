"""End-to-end fixtures: a REAL Prefect server and kefu runner for the whole session.

`kefu up --detach` runs as a subprocess (exactly what an operator types) in a temporary
KEFU_HOME on a free port; `kefu down` stops it at the end, even when tests fail. People's
actions go through the CLI in-process (``typer.testing.CliRunner`` on ``kefu.cli.app``): the
real command path without paying the imports for every command.

The environment is set when this file is imported, before anything imports ``kefu.cli`` or
Prefect: ``kefu.cli`` calls ``configure_prefect()`` at import and Prefect reads its settings
once. kefu's own caches (settings, rules, engine, store) are cleared again before each test
in case another suite changed them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from people import signed_in_env

REPO = Path(__file__).resolve().parents[2]
KEFU = str(Path(sys.executable).with_name("kefu"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


E2E_HOME = Path(tempfile.mkdtemp(prefix="kefu-e2e-"))
E2E_PORT = _free_port()
(E2E_HOME / "var" / "prefect").mkdir(parents=True)  # Prefect creates its home at import
E2E_ENV = {
    "KEFU_HOME": str(E2E_HOME / "var"),
    "KEFU_PREFECT_PORT": str(E2E_PORT),
    "KEFU_CONFIG_DIR": str(REPO / "config"),
    "KEFU_DATABASE_URL": f"sqlite:///{E2E_HOME / 'var' / 'kefu.db'}",
    "PREFECT_API_URL": f"http://127.0.0.1:{E2E_PORT}/api",
    "PREFECT_UI_API_URL": f"http://127.0.0.1:{E2E_PORT}/api",
    "PREFECT_HOME": str(E2E_HOME / "var" / "prefect"),
    "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{E2E_HOME / 'var' / 'prefect' / 'prefect.db'}",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_RUNNER_POLL_FREQUENCY": "1",
    "PREFECT_LOGGING_LEVEL": "WARNING",
}

# Prefect reads its settings once, at import, and kefu.cli calls configure_prefect() at import:
# import both under this suite's environment, then give the other suites their environment back
# (each test here puts E2E_ENV back with the `kefu` fixture; subprocesses get it explicitly).
_environ_before = dict(os.environ)
for _key in [k for k in os.environ if k.startswith(("KEFU_", "PREFECT_"))]:
    del os.environ[_key]
os.environ.update(E2E_ENV)
import prefect.context  # noqa: E402,F401

import kefu.cli  # noqa: E402,F401

os.environ.clear()
os.environ.update(_environ_before)

STAFF = {"agent": "li.na", "agent2": "wang.fang", "supervisor": "chen.jing", "manager": "sun.li",
         "director": "zhou.qiang"}


def _clear_kefu_caches() -> None:
    from kefu import runtime
    from kefu.core import clock
    from kefu.db import engine_for
    from kefu.runtime import rules_from
    from kefu.settings import get_settings

    get_settings.cache_clear()
    rules_from.cache_clear()
    engine_for.cache_clear()
    runtime._store = None
    clock._frozen, clock._loaded = None, False  # the real clock: the runner's processes use it too


def _kefu(*args: str, timeout: float = 240, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The installed `kefu` command as a subprocess, with the e2e environment (and ``env``)."""
    outer = {k: v for k, v in os.environ.items() if not k.startswith(("KEFU_", "PREFECT_"))}
    return subprocess.run([KEFU, *args], env={**outer, **E2E_ENV, **(env or {})}, cwd=E2E_HOME,
                          capture_output=True, text=True, timeout=timeout)


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Kefu:
    """Helpers over the running kefu: CLI, case record, Prefect's view of the runs."""

    home: Path
    port: int
    latencies: list[tuple[str, float]] = field(default_factory=list)
    cli_seconds: list[tuple[str, float]] = field(default_factory=list)
    pins: dict[str, str] = field(default_factory=dict)

    # -- people's actions ------------------------------------------------------------------
    def cli(self, *args: str) -> CliResult:
        """`kefu ARGS` through the real CLI command path, in this process."""
        from typer.testing import CliRunner

        from kefu.cli import app

        started = time.monotonic()
        result = CliRunner().invoke(app, list(args), env={**E2E_ENV, **signed_in_env(args)}, catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr, time.monotonic() - started)

    def ok(self, *args: str) -> dict:
        """A CLI command that must succeed; its --json output."""
        result = self.cli(*args, "--json")
        self.cli_seconds.append((args[1] if len(args) > 1 else args[0], result.seconds))
        assert result.exit_code == 0, f"kefu {' '.join(args)} -> {result.exit_code}\n{result.stdout}\n{result.stderr}"
        return result.json

    def open(self, content: str, *extra: str, name: str = "张伟") -> str:
        data = self.ok("complaint", "open", "--name", name, "--phone", "13800138000", "--channel", "phone",
                       "--content", content, *extra)
        assert data["flow_run"] == "started", data
        return data["case_id"]

    def subprocess(self, *args: str) -> subprocess.CompletedProcess:
        return _kefu(*args, env=signed_in_env(args))

    # -- the record --------------------------------------------------------------------------
    def state(self, case_id: str):
        from kefu import runtime

        return runtime.store().state(case_id)

    def events(self, case_id: str) -> list[dict]:
        return self.ok("case", "show", case_id)["events"]

    def event_types(self, case_id: str) -> Counter:
        return Counter(e["type"] for e in self.events(case_id))

    # -- Prefect -------------------------------------------------------------------------------
    def client(self):
        from prefect.client.orchestration import get_client

        return get_client(sync_client=True)

    def flow_run(self, case_id: str):
        flow_run_id = self.state(case_id).flow_run_id
        assert flow_run_id, f"{case_id} has no flow run"
        with self.client() as client:
            return client.read_flow_run(flow_run_id)

    def wait_until_waiting(self, case_id: str, step: str | None, timeout: float = 60, key: str | None = None) -> Any:
        """Poll until the case waits at ``step`` AND its flow run is Suspended with a pause key
        ``step-…`` (exactly ``key`` if given; ``step=None``: the case is closed and the run
        Completed). Returns the run;
        records how long the wait took (the latency from the previous action)."""
        started = time.monotonic()
        deadline = started + timeout
        last = None
        while True:
            state = self.state(case_id)
            if state.flow_run_id:
                with self.client() as client:
                    run = client.read_flow_run(state.flow_run_id)
                run_state = run.state
                last = (state.status, state.step, run_state.type.value if run_state else None,
                        run_state.name if run_state else None,
                        run_state.state_details.pause_key if run_state else None)
                if step is None:
                    if state.status == "closed" and run_state is not None and run_state.is_completed():
                        break
                elif (state.step == step and run_state is not None and run_state.is_paused()
                      and (run_state.state_details.pause_key or "").startswith(f"{step}-")
                      and (key is None or run_state.state_details.pause_key == key)):
                    break
                if run_state is not None and run_state.is_final() and not run_state.is_completed():
                    raise AssertionError(f"{case_id}: flow run ended {run_state.name}: {run_state.message}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{case_id} not waiting at {step} after {timeout:.0f} s; "
                                     f"(status, step, run type, run state, pause key) = {last}\n"
                                     f"runner log tail:\n{self.runner_log_tail()}")
            time.sleep(0.2)
        self.latencies.append((f"{case_id} -> {step or 'closed'}", time.monotonic() - started))
        return run

    def task_run_counts(self, flow_run_id: str) -> Counter:
        """Task runs of one flow run, counted by task name (all its executions together)."""
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
        from prefect.client.schemas.sorting import TaskRunSort

        counts: Counter = Counter()
        offset = 0
        with self.client() as client:
            while True:
                page = client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                    sort=TaskRunSort.EXPECTED_START_TIME_ASC, limit=200, offset=offset)
                counts.update(run.name.rsplit("-", 1)[0] for run in page)
                if len(page) < 200:
                    return counts
                offset += 200

    def wait_task_runs(self, flow_run_id: str, expected: dict[str, int], timeout: float = 60) -> Counter:
        """Poll until at least ``expected`` task runs per name are readable (the server records
        task runs seconds after they ran); returns the counts at that moment."""
        deadline = time.monotonic() + timeout
        while True:
            counts = self.task_run_counts(flow_run_id)
            if all(counts[name] >= n for name, n in expected.items()):
                return counts
            if time.monotonic() > deadline:
                raise AssertionError(f"task runs of {flow_run_id}: {dict(counts)}, expected at least {expected}")
            time.sleep(0.5)

    def pin_of(self, staff: str) -> str:
        """``staff``'s dashboard PIN (issued once in this kefu)."""
        from kefu import runtime
        from kefu.core import clock, identity

        if staff not in self.pins:
            self.pins[staff] = identity.issue_pin(runtime.store().engine, runtime.rules(), staff, clock.now())
        return self.pins[staff]

    def try_resume(self, case_id: str, values: dict, pin: str | None = None) -> Any:
        """What the dashboard's form does: resume the suspended run with the form filled in —
        the pickers' labels for ``values``, and the PIN of the person named (or ``pin``).
        Prefect's answer (it checks the form's schema: a value no picker offers is refused)."""
        from kefu import processes, runtime

        run = self.flow_run(case_id)
        state = self.state(case_id)
        step = (run.state.state_details.pause_key or "").rsplit("-", 2)[0]
        answer = processes.form(runtime.rules(), state, step).answer(values)
        answer["pin"] = pin if pin is not None else self.pin_of(values["by"])
        with self.client() as client:
            return client.resume_flow_run(run.id, run_input=answer)

    def resume(self, case_id: str, values: dict, pin: str | None = None) -> None:
        result = self.try_resume(case_id, values, pin)
        assert result.status.value == "ACCEPT", f"resume refused: {result}"

    def wait_for_log(self, case_id: str, words: str, timeout: float = 30) -> str:
        """Poll the case's run log until a line contains ``words`` (logs arrive in batches)."""
        from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

        run = self.flow_run(case_id)
        deadline = time.monotonic() + timeout
        while True:
            with self.client() as client:
                lines = [log.message for log in client.read_logs(
                    log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])), limit=200, offset=0)]
            found = next((line for line in lines if words in line), None)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line with {words!r} for {case_id}: {lines}")
            time.sleep(0.5)

    def stored_inputs(self, case_id: str) -> list[Any]:
        """Every input Prefect keeps for the case's run (forms' schemas, descriptions, answers)."""
        run = self.flow_run(case_id)
        with self.client() as client:
            return client.filter_flow_run_input(run.id, key_prefix="", limit=200, exclude_keys=set())

    # -- processes ------------------------------------------------------------------------------
    def runner_pid(self) -> int:
        return int((self.home / "run" / "runner.pid").read_text())

    def runner_log_tail(self, lines: int = 30) -> str:
        log = self.home / "log" / "runner.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"


def _stop(home: Path) -> None:
    """kefu down; if that fails, SIGKILL our own process groups by their pid files."""
    down = _kefu("down", "--json", timeout=60)
    if down.returncode != 0:
        import signal

        for name in ("runner", "prefect-server"):
            pid_file = home / "run" / f"{name}.pid"
            if pid_file.exists():
                try:
                    os.killpg(int(pid_file.read_text()), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
    if os.environ.get("KEFU_E2E_KEEP") is None:
        shutil.rmtree(E2E_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def kefu_e2e(request) -> Kefu:
    """kefu up --detach (server + runner) for this suite; stopped right after its last test
    (see pytest_runtest_teardown: other suites then find no server on the port this process's
    Prefect client was configured with), and at the latest when the session ends, failing or not."""
    home = Path(E2E_ENV["KEFU_HOME"])
    started = time.monotonic()
    stopped: list[bool] = []

    def stop() -> None:
        if not stopped:
            stopped.append(True)
            _stop(home)

    request.config._kefu_e2e_stop = stop
    # `timeout`, CI cancelling: SIGTERM becomes KeyboardInterrupt, so pytest still tears down
    # and the server and runner are not left behind.
    import signal

    def interrupt(*_):
        raise KeyboardInterrupt("SIGTERM")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        up = _kefu("up", "--detach", "--json")
        assert up.returncode == 0, f"kefu up failed ({up.returncode}):\n{up.stdout}\n{up.stderr}"
        print(f"\nkefu up took {time.monotonic() - started:.1f} s on port {E2E_PORT}")
        _clear_kefu_caches()
        session = Kefu(home=home, port=E2E_PORT)
        request.config._kefu_e2e = session
        yield session
    finally:
        stop()
        signal.signal(signal.SIGTERM, previous)


def pytest_runtest_teardown(item, nextitem) -> None:
    """Stop kefu as soon as the next test is not one of this suite's."""
    here = Path(__file__).parent
    if nextitem is None or here not in Path(nextitem.path).parents:
        stop = getattr(item.config, "_kefu_e2e_stop", None)
        if stop is not None and here in Path(item.path).parents:
            stop()


@pytest.fixture
def kefu(kefu_e2e: Kefu, monkeypatch):
    """The suite's kefu, with this suite's environment in force for the test."""
    from kefu.settings import get_settings

    for key in [k for k in os.environ if k.startswith(("KEFU_", "PREFECT_"))]:
        monkeypatch.delenv(key)
    for key, value in E2E_ENV.items():
        monkeypatch.setenv(key, value)
    if str(get_settings().home) != E2E_ENV["KEFU_HOME"]:
        _clear_kefu_caches()
    yield kefu_e2e
    _clear_kefu_caches()  # nothing of this suite's settings, rules or engine is left for others


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    """Print the measured latencies: from a CLI action to the run's next suspension."""
    session = getattr(config, "_kefu_e2e", None)
    if session is None:
        return
    for title, rows in (("CLI command (record + wake)", session.cli_seconds),
                        ("after the CLI returned -> next suspension", session.latencies)):
        if rows:
            seconds = sorted(s for _, s in rows)
            terminalreporter.write_line(
                f"kefu e2e {title}: n={len(seconds)} median={seconds[len(seconds) // 2]:.1f}s "
                f"max={seconds[-1]:.1f}s ({max(rows, key=lambda r: r[1])[0]})")


