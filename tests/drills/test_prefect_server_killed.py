"""Drill: the Prefect server killed with SIGKILL while judgements are in flight (issue 18).

The embedded default (`kefu up`), eight complaints waiting at their judgement; the eight
judgements are typed at once and the Prefect server dies under them. The decisions are all on
record (each command says so, within seconds); when the server is back (`kefu up` again, as a
service manager would), every case waits at its next step again without anybody typing `kefu
case sync`: the runs that were executing ended Crashed or Failed after the start-up catch-up
had passed them, and the runner's watch reruns them; a resume that never reached Prefect is
resumed. Nothing is recorded twice; verify and replay are clean. It prints what it counted.
"""

from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from drills.department import BIN, Department

CASES = 8


@pytest.fixture
def department(tmp_path):
    kefu = Department(tmp_path, KEFU_DATABASE_URL=f"sqlite:///{tmp_path / 'kefu.db'}")
    yield kefu
    kefu.run(str(BIN / "kefu"), "down")


def test_cases_in_flight_when_the_prefect_server_dies_wait_again_by_themselves_when_it_is_back(department):
    """Issue 18 (recovery needs no operator): within 60 s of the server's return (plus one watch
    period) every case waits at its next step, with no `kefu case sync`."""
    d = department
    d.run(str(BIN / "kefu"), "up", "--detach", timeout=300)
    d.sign_in_staff()
    cases = [d.kefu("complaint", "open", "--name", f"客户{n}", "--phone", "13800138000", "--channel", "phone",
                    "--content", "收到的商品有破损")["case_id"] for n in range(CASES)]
    runs = {case: d.kefu("case", "show", case)["flow_run_id"] for case in cases}
    for case in cases:
        d.wait_until_waiting_at(runs[case], "judgement", 120)

    server = int((Path(d.env["KEFU_HOME"]) / "run" / "prefect-server.pid").read_text())
    with ThreadPoolExecutor(CASES) as pool:
        judging = [pool.submit(d.kefu_process, "complaint", "judge", case, "--upheld", "--department", "quality",
                               "--reason", "质检记录显示破损", by="li.na") for case in cases]
        deadline = time.monotonic() + 30
        in_flight = 0
        # Until a resume is taken: a run on its way, or one already past the judgement (on a busy
        # machine a run can be resumed and suspended again between two looks).
        while in_flight < 1 and time.monotonic() < deadline:
            in_flight = d.moving(list(runs.values())) or sum(
                not (d.waiting_at(run) or "judgement-").startswith("judgement-") for run in runs.values())
        os.killpg(server, signal.SIGKILL)
        killed_at = time.monotonic()
        answers = [f.result() for f in judging]
    assert all(a.returncode == 0 for a in answers), [a.stdout + a.stderr for a in answers if a.returncode]
    woken = sum(json.loads(a.stdout)["flow_run"] == "resumed" for a in answers)
    slowest = time.monotonic() - killed_at

    d.run(str(BIN / "kefu"), "up", "--detach", timeout=300)
    back_at = time.monotonic()
    waiting: dict[str, float] = {}
    while len(waiting) < CASES:
        for case in cases:
            if case not in waiting and (d.waiting_at(runs[case]) or "").startswith("investigation-"):
                waiting[case] = time.monotonic() - back_at
        assert time.monotonic() - back_at < 60 + 5 + 30, \
            f"not waiting again: {sorted(set(cases) - set(waiting))}; runner log: " \
            f"{(Path(d.env['KEFU_HOME']) / 'log' / 'runner.log').read_text()[-2000:]}"
        time.sleep(0.5)

    events, twice = d.recorded_twice(cases)
    assert twice == []
    verified, replayed = d.audited()
    assert in_flight >= 1
    print(f"\ndrill prefect-server-killed: {CASES} judgements typed, server SIGKILLed with {in_flight} runs in flight; "
          f"{woken} resumed by their command before it died, {CASES - woken} recorded and answered that the case "
          f"continues when Prefect is back (or found it moving on: the watch had resumed it); "
          f"slowest command returned {slowest:.1f} s after the kill; every case waiting at investigation "
          f"{max(waiting.values()):.0f} s after the server's return (median "
          f"{sorted(waiting.values())[CASES // 2]:.0f} s), no case sync; events {events}, recorded twice 0; "
          f"verify {verified} clean, replay {replayed} consistent")
