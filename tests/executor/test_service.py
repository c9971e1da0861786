"""kefu.executor.service: what a person does, as one call — the record first, then the run."""

from __future__ import annotations

import pytest

from kefu import runtime
from kefu.core import casework, clock, identity
from kefu.executor import orchestration, service
from models.complaint import ContactRegistration

RUN_ID = "5b6f5d6c-0000-4000-8000-000000000042"


@pytest.fixture
def runs_start(monkeypatch, kefu_env):
    """Prefect accepts the run: start_run links it to the case, as the real one does."""
    def start_run(case, attempt=0):
        casework.link_flow_run(runtime.store(), runtime.rules(), case.case_id, RUN_ID)
        return RUN_ID

    monkeypatch.setattr(orchestration, "start_run", start_run)


def _caller(staff: str) -> identity.Verified:
    engine, rules = runtime.store().engine, runtime.rules()
    return identity.verify_token(engine, rules, identity.issue_token(engine, rules, staff, clock.now()), clock.now())


def test_a_new_contact_comes_back_with_the_run_that_executes_it(runs_start):
    """The state returned is read after the run was started (bench/complaint_throughput.py and
    `kefu complaint open --json` read its flow_run_id)."""
    state, note = service.open_contact(ContactRegistration(name="张三", phone="13812345678", channel="phone",
                                                           content="快递送错了", by="li.na"), _caller("li.na"))
    assert note == "started" and state.flow_run_id == RUN_ID


def test_a_new_order_comes_back_with_the_run_that_executes_it(runs_start):
    state, note = service.open_order(dict(buyer="刘贺", phone="13812345678", agent="li.na", items=["墙纸"],
                                          ship_by="2026-11-26", deliver_by="2026-11-28", delivery_mode="自提"),
                                     _caller("li.na"))
    assert note == "started" and state.flow_run_id == RUN_ID


class _HungServer:
    """A Prefect API that accepts connections and never answers: a server stopped mid-flight."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._hold, daemon=True).start()

    def _hold(self) -> None:
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        for conn in self.held:
            conn.close()
        self.sock.close()


def test_a_decision_made_while_prefect_hangs_is_recorded_and_answers_within_seconds(tmp_path):
    """Issue 18: a decision in flight when the Prefect server stops answering blocked the CLI for
    73-82 s. Every Prefect call of a person's command is bounded (orchestration.CALL_SECONDS, no
    retries); the decision is on record and the command says the case continues when Prefect is
    back (the runner's watch resumes it: test_watch)."""
    import json
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    hung = _HungServer()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEFU_", "PREFECT_"))} | {
        "KEFU_HOME": str(tmp_path / "var"), "KEFU_DATABASE_URL": f"sqlite:///{tmp_path / 'kefu.db'}",
        "KEFU_CONFIG_DIR": str(Path(__file__).resolve().parents[2] / "config"),
        "PREFECT_API_URL": f"http://127.0.0.1:{hung.port}/api", "PREFECT_HOME": str(tmp_path / "prefect")}
    kefu = str(Path(sys.executable).with_name("kefu"))

    def run(*args: str) -> tuple[subprocess.CompletedProcess, float]:
        started = time.monotonic()
        done = subprocess.run([kefu, *args, "--json"], env=env, capture_output=True, text=True, timeout=120)
        return done, time.monotonic() - started

    try:
        issued, _ = run("staff", "token", "issue", "li.na")
        env["KEFU_TOKEN"] = json.loads(issued.stdout)["token"]
        opened, _ = run("complaint", "open", "--name", "张伟", "--phone", "13800138000", "--channel", "phone",
                        "--content", "快递送错了")
        case = json.loads(opened.stdout)
        judged, seconds = run("complaint", "judge", case["case_id"], "--upheld", "--department", "logistics",
                              "--reason", "包裹淋湿")
    finally:
        hung.close()
    assert opened.returncode == 0 and case["flow_run"].startswith("not started (Prefect did not answer")
    answer = json.loads(judged.stdout)
    assert judged.returncode == 0 and answer["step"] == "investigation", judged.stdout + judged.stderr
    assert answer["flow_run"].startswith("not woken (Prefect did not answer within 8 s)")
    assert "continues when Prefect is back" in answer["flow_run"]
    assert seconds < 2 * orchestration.CALL_SECONDS + 10, f"{seconds:.1f} s: a Prefect call was not bounded"
