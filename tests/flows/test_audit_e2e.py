"""End to end (issue 6): the demo's working day — every branch, run by a real Prefect server and
runner — verifies intact and replays consistent, cross-checked with Prefect's own record of each
case's flow runs; the audit-replay deployment publishes its report as an artifact on the run.

The day is the session's ``demo_day`` (tests/conftest.py), the one tests/demo/test_day.py
judges: `kefu demo` in a temporary KEFU_HOME on a free port, its server still up."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))

pytestmark = pytest.mark.prefect


def kefu(day, *args: str) -> tuple[int, dict]:
    done = day.kefu(*args)
    return done.returncode, json.loads(done.stdout)


def _artifact(port: str, key: str, timeout: float = 120.0) -> dict | None:
    body = json.dumps({"artifacts": {"key": {"any_": [key]}}, "limit": 1, "sort": "CREATED_DESC"}).encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/artifacts/filter", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            found = json.load(response)
        if found:
            return found[0]
        time.sleep(2)
    return None


def test_the_demo_day_verifies_intact_and_replays_consistent_with_prefect_agreeing(demo_day):
    # The demo's own findings ("problems", exit 1) are tests/demo/test_day.py's to judge; the
    # auditor judges whatever the day recorded.
    assert demo_day.done.stdout.startswith("{"), f"demo: exit {demo_day.done.returncode}\n{demo_day.done.stderr[-3000:]}"
    env, port, summary = demo_day.env, demo_day.port, demo_day.summary
    demo_cases = {r["case_id"] for r in summary["cases"]}

    code, verified = kefu(demo_day, "audit", "verify", "--all", "--json")
    assert code == 0 and verified["tampered"] == [], verified
    assert verified["cases"] >= len(demo_cases)

    code, replayed = kefu(demo_day, "audit", "replay", "--all", "--json")
    results = {r["case_id"]: r for r in replayed["results"]}
    assert code == 0, [r for r in replayed["results"] if r["verdict"] != "consistent"]
    assert demo_cases <= set(results)
    assert replayed["consistent"] == replayed["cases"]
    assert replayed["prefect"].startswith("cross-checked"), replayed["prefect"]
    for case_id in demo_cases:
        runs = results[case_id]["prefect"]["runs"]
        assert runs and all(run["found"] for run in runs), results[case_id]
        assert any(run["state"] == "COMPLETED" and run["task_runs"] for run in runs), runs
        assert all(run["case_id"] == case_id for run in runs)

    # The same replay as a deployment: its report is an artifact on the run.
    params = ["--param", "date_from=2000-01-01", "--param", "date_to=2100-12-31"]  # whatever the business clock says
    prefect_env = {**env, "PREFECT_API_URL": f"http://127.0.0.1:{port}/api"}
    started = subprocess.run([PREFECT, "deployment", "run", "audit-replay/audit-replay", *params, "--watch",
                              "--watch-timeout", "300"], cwd=REPO, env=prefect_env, capture_output=True, text=True,
                             timeout=400)
    assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
    artifact = _artifact(port, "audit-replay")
    assert artifact is not None, "the audit-replay run published no artifact"
    assert "审计报告" in artifact["data"] and "Audit report" in artifact["data"]
