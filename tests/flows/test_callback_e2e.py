"""P2 Callback guarantee 回访, end to end, against a real Prefect server and kefu's runner.

The callback's run waits at each call (Suspended, pause key ``call-<attempt>-…``); the agent
records the call with `kefu callback record` or in the dashboard's form; an unsatisfied answer
opens a follow-up complaint with a run of its own; a closed complaint opens its callback.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from awake import awake_zone

pytestmark = pytest.mark.prefect


def _wait_for_callback_of(kefu, complaint_id: str, timeout: float = 60) -> str:
    from kefu import runtime
    from kefu.processes.callback import decisions as callbacks

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = callbacks.find_by_trigger(runtime.store(), f"complaint_closed:{complaint_id}")
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"no callback opened for {complaint_id}\n{kefu.runner_log_tail()}")


def test_a_callback_is_rebooked_then_answered_unsatisfied_and_opens_a_linked_complaint(kefu, tmp_path):
    """Seed 001 "最好与客户在电话中再约一个方便的时间" and PROCESSES.md P2 (our choice: an
    unsatisfied answer opens a complaint linked to the original case)."""
    # A customer awake now (tests/awake.py): kefu phones nobody in their quiet hours.
    zone = ZoneInfo(awake_zone())
    opened = kefu.ok("callback", "new", "--trigger", "service_completed", "--ref", "E2E-R1", "--service", "热水器维修",
                     "--name", "周敏", "--phone", "13700001111", "--member", "--timezone", zone.key)
    assert opened["flow_run"] == "started", opened
    case_id = opened["case_id"]
    kefu.wait_until_waiting(case_id, "call", key="call-1-0")
    notices = [e for e in kefu.events(case_id) if e["type"] == "customer.notified"]
    assert notices and "周敏" in notices[0]["payload"]["text"] and "Dear" in notices[0]["payload"]["text"]

    # The customer cannot talk: a time inside their quiet hours is refused (exit 2, field and fix) ...
    refused = kefu.cli("callback", "record", case_id, "--outcome", "not_convenient",
                       "--at", datetime(2030, 1, 7, 12, 30, tzinfo=zone).isoformat(), "--by", "zhang.wei", "--json")
    assert refused.exit_code == 2 and '"field": "at"' in refused.stdout
    # ... and one outside them is booked; the run waits for the second attempt.
    booked = kefu.ok("callback", "record", case_id, "--outcome", "not_convenient",
                     "--at", datetime(2030, 1, 7, 10, 0, tzinfo=zone).isoformat(), "--by", "zhang.wei")
    assert booked["next_call"]["set_by"] == "customer" and booked["next_call"]["attempt"] == 2
    kefu.wait_until_waiting(case_id, "call", key="call-2-0")

    # The second call, answered in the dashboard's form (Prefect's resume with the typed input).
    kefu.resume(case_id, {"outcome": "unsatisfied", "channel": "phone", "note": "师傅没有清理现场", "by": "zhang.wei"})
    run = kefu.wait_until_waiting(case_id, None)
    assert run.state.is_completed()
    shown = kefu.ok("callback", "show", case_id)
    assert [a["outcome"] for a in shown["attempts"]] == ["not_convenient", "unsatisfied"]
    follow_up = shown["follow_up"]
    assert follow_up, shown
    kefu.wait_until_waiting(follow_up, "judgement")
    assert kefu.ok("case", "show", follow_up)["follows"] == case_id
    assert kefu.ok("case", "show", case_id)["follow_ups"] == [follow_up]

    # The installed command, as a supervisor runs it at the month's end: files and a dashboard artifact.
    done = kefu.subprocess("report", "callbacks", "--from", "2020-01-01", "--to", "2035-12-31", "--out", str(tmp_path),
                           "--artifact", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["satisfaction"]["unsatisfied"] >= 1 and Path(report["files"]["xlsx"]).exists()
    artifacts = httpx.post(f"http://127.0.0.1:{kefu.port}/api/artifacts/filter",
                           json={"artifacts": {"key": {"any_": ["callback-summary"]}}, "limit": 5}).json()
    assert artifacts and "回访总结报告" in artifacts[0]["data"]


def test_a_closed_complaint_opens_its_callback_with_its_own_run(kefu):
    """P1 "处理后有回访": the complaint's run opens the callback (one per complaint) and starts it."""
    case_id = kefu.open("安装师傅迟到两个小时", "--kind", "complaint", "--severity", "general", "--member",
                        "--timezone", awake_zone())
    kefu.wait_until_waiting(case_id, "judgement")
    kefu.ok("complaint", "judge", case_id, "--upheld", "--department", "repair", "--reason", "派工记录显示迟到", "--by", "li.na")
    kefu.wait_until_waiting(case_id, "investigation")
    kefu.ok("complaint", "investigate", case_id, "--cause", "派工冲突", "--responsible", "调度 王磊", "--by", "li.na")
    kefu.wait_until_waiting(case_id, "proposal")
    kefu.ok("complaint", "propose", case_id, "--option", "赠送保养一次", "--by", "li.na")
    kefu.wait_until_waiting(case_id, "approval")
    kefu.ok("complaint", "approve", case_id, "--choice", "1", "--by", "chen.jing")
    kefu.wait_until_waiting(case_id, "implementation")
    kefu.ok("complaint", "implement", case_id, "--accepted", "--signature", "张伟", "--by", "li.na")
    kefu.wait_until_waiting(case_id, "review")
    kefu.ok("complaint", "review", case_id, "--summary", "调度改进", "--by", "chen.jing")
    kefu.wait_until_waiting(case_id, None)

    callback_id = _wait_for_callback_of(kefu, case_id)
    kefu.wait_until_waiting(callback_id, "call", key="call-1-0")
    shown = kefu.ok("callback", "show", callback_id)
    assert (shown["source_case"], shown["trigger"], shown["customer"]["member"]) == (case_id, "complaint_closed", True)
    assert shown["attempts_allowed"] == 3
    assert shown["case_id"] in [r["case_id"] for r in kefu.ok("callback", "due")]
    kefu.ok("callback", "record", callback_id, "--outcome", "satisfied", "--by", shown["agent"])
    kefu.wait_until_waiting(callback_id, None)
    assert kefu.state(callback_id).outcome == "satisfied"
