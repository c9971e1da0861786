"""What every drill needs: a kefu of its own (home, port, config with faster watch periods), its
processes, its people signed in, its CLI as a person types it, and Prefect's view of its runs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STAFF = ["li.na", "chen.jing", "wang.fang", "zhou.qiang", "zhang.wei", "ma.lin", "he.jing", "qian.hong"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def until(what: str, done: Any, seconds: float) -> float:
    """Wait until ``done()`` is true; fails naming ``what`` after ``seconds``; returns how long it took."""
    started = time.monotonic()
    while not done():
        assert time.monotonic() - started < seconds, f"{what} did not happen within {seconds:.0f} s"
        time.sleep(0.3)
    return time.monotonic() - started


class Department:
    """A kefu on this machine for one drill."""

    def __init__(self, home: Path, **env: str) -> None:
        self.home, self.port = home, free_port()
        self.api = f"http://127.0.0.1:{self.port}/api"
        config = home / "config"
        shutil.copytree(REPO / "config", config)
        escalation = yaml.safe_load((config / "escalation.yaml").read_text())
        # Faster than the shipped choices, within their bounds, so a drill takes minutes.
        escalation.update(sweep_check_seconds=5, run_silent_seconds=60)
        (config / "escalation.yaml").write_text(yaml.safe_dump(escalation, allow_unicode=True))
        outer = {k: v for k, v in os.environ.items() if not k.startswith(("KEFU_", "PREFECT_"))}
        self.env = outer | {
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            "KEFU_HOME": str(home / "var"),
            "KEFU_CONFIG_DIR": str(config),
            "KEFU_PREFECT_PORT": str(self.port),
            "PREFECT_API_URL": self.api,
            "PREFECT_HOME": str(home / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
        } | env
        self.processes: dict[str, subprocess.Popen] = {}
        self.tokens: dict[str, str] = {}
        self.logs = home / "logs"
        self.logs.mkdir()

    # -- processes -----------------------------------------------------------------------------
    def start(self, name: str, *command: str, **env: str) -> None:
        log = (self.logs / f"{name}.log").open("w")
        self.processes[name] = subprocess.Popen(command, cwd=REPO, env=self.env | env, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True)

    def run(self, *command: str, timeout: float = 300) -> subprocess.CompletedProcess:
        done = subprocess.run(command, cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"{' '.join(command)} -> {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done

    def stop(self) -> None:
        for process in self.processes.values():
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=30)

    def sign_in_staff(self) -> None:
        for person in STAFF:
            self.tokens[person] = self.kefu("staff", "token", "issue", person)["token"]

    # -- people ----------------------------------------------------------------------------------
    def kefu_process(self, *args: str, by: str | None = None) -> subprocess.CompletedProcess:
        token = self.tokens.get(by or "li.na")
        env = self.env | ({"KEFU_TOKEN": token} if token else {})
        return subprocess.run([str(BIN / "kefu"), *args, *(["--by", by] if by else []), "--json"], cwd=self.home,
                              env=env, capture_output=True, text=True, timeout=300)

    def kefu(self, *args: str, by: str | None = None) -> Any:
        """`kefu ARGS --json` signed in as ``by`` (who is recorded), else as the agent li.na."""
        done = self.kefu_process(*args, by=by)
        assert done.returncode == 0, f"kefu {' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
        return json.loads(done.stdout)

    # -- Prefect's view ------------------------------------------------------------------------------
    def flow_run(self, run_id: str) -> dict:
        return httpx.get(f"{self.api}/flow_runs/{run_id}", timeout=10).json()

    def moving(self, run_ids: list[str]) -> int:
        """How many of ``run_ids`` are not suspended (resumed and on their way), in one request: a
        resumed run is out of its pause for about a second, too short to catch one run at a time."""
        runs = httpx.post(f"{self.api}/flow_runs/filter", json={"flow_runs": {"id": {"any_": run_ids}},
                                                               "limit": len(run_ids)}, timeout=10).json()
        return sum((r.get("state") or {}).get("type") != "PAUSED" for r in runs)

    def waiting_at(self, run_id: str) -> str | None:
        """The pause key a run waits under, if it is suspended."""
        state = self.flow_run(run_id).get("state") or {}
        return (state.get("state_details") or {}).get("pause_key") if state.get("type") == "PAUSED" else None

    def wait_until_waiting_at(self, run_id: str, step: str, seconds: float) -> dict:
        """The run is Suspended at ``step`` (its pause key); fails after ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            run = self.flow_run(run_id)
            state = run.get("state") or {}
            if state.get("type") == "PAUSED" and (state.get("state_details") or {}).get("pause_key", "").startswith(f"{step}-"):
                return run
            assert time.monotonic() < deadline, f"run {run_id} is {state.get('name')}, not waiting at {step}"
            time.sleep(0.5)

    # -- the record ----------------------------------------------------------------------------------
    def recorded_twice(self, cases: list[str]) -> tuple[int, list[str]]:
        """(events, the events recorded twice with the same content) of ``cases``."""
        events, twice = 0, []
        for case in cases:
            recorded = self.kefu("case", "show", case)["events"]
            events += len(recorded)
            same = Counter((e["type"], json.dumps(e["payload"], sort_keys=True)) for e in recorded)
            twice += [f"{case}: {kind} ×{n}" for (kind, _), n in same.items() if n > 1]
        return events, twice

    def audited(self) -> tuple[int, int]:
        """(cases verified intact, cases replayed consistent); fails on any other verdict."""
        verified = self.kefu("audit", "verify", "--all")
        replayed = self.kefu("audit", "replay", "--all")
        assert verified["tampered"] == [], verified
        assert all(r["verdict"] == "consistent" for r in replayed["results"]), replayed
        return verified["cases"], len(replayed["results"])
