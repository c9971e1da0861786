"""P1 Complaint handling 投诉处理, end to end, against a real Prefect server and kefu's runner.

Each test drives a case the way the department does (the `kefu` CLI, or the dashboard's form
through Prefect's resume API) and checks both sides: the case record (the truth) and the flow
run (the executor) waiting, Suspended, at the right step.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter

import pytest

pytestmark = pytest.mark.prefect


def _notices(events: list[dict]) -> Counter:
    return Counter(e["payload"]["purpose"] for e in events if e["type"] == "customer.notified")


def _upheld_to_approval(kefu, case_id: str, options: tuple[str, ...] = ("更换新机并补偿50元优惠券",)) -> None:
    kefu.wait_until_waiting(case_id, "judgement")
    kefu.ok("complaint", "judge", case_id, "--upheld", "--department", "quality", "--reason", "质检记录显示该批次存在缺陷",
            "--by", "li.na")
    kefu.wait_until_waiting(case_id, "investigation")
    kefu.ok("complaint", "investigate", case_id, "--cause", "温控器批次不良", "--responsible", "质检员 赵强",
            "--by", "wang.fang")
    kefu.wait_until_waiting(case_id, "proposal")
    kefu.ok("complaint", "propose", case_id, *[arg for option in options for arg in ("--option", option)],
            "--by", "li.na")
    kefu.wait_until_waiting(case_id, "approval")


def test_not_upheld_complaint_gets_a_tactful_reply_and_closes(kefu):
    """P1 step 2 Judgement 投诉判定: not upheld → reply tactfully, the case closes as *not upheld*."""
    case_id = kefu.open("快递员态度不好，说话很冲", "--kind", "complaint")
    kefu.wait_until_waiting(case_id, "judgement")

    # the installed `kefu` command, exactly as an agent types it
    judged = kefu.subprocess("complaint", "judge", case_id, "--not-upheld", "--reason", "通话录音显示快递员用语规范",
                             "--by", "li.na")
    assert judged.returncode == 0, judged.stderr

    run = kefu.wait_until_waiting(case_id, None)
    state = kefu.state(case_id)
    assert (state.status, state.outcome) == ("closed", "not_upheld")
    events = kefu.events(case_id)
    assert _notices(events) == Counter({"acknowledgement": 1, "not_upheld_reply": 1})
    reply = next(e for e in events if e["type"] == "customer.notified" and e["payload"]["purpose"] == "not_upheld_reply")
    assert "通话录音显示快递员用语规范" in reply["payload"]["text"]
    assert run.state.is_completed()
    assert [e["type"] for e in events][-1] in ("case.closed", "deadline.met")


def test_upheld_accepted_complaint_runs_every_step_to_closed_with_callback_and_deadlines_met(kefu):
    """P1 steps 1–6: intake → judgement → investigation → plan → approval → implementation (signed)
    → review; then the callback (P2) is requested and the case closes, every deadline met."""
    case_id = kefu.open("新买的热水器漏水，把地板泡坏了", "--kind", "complaint", "--severity", "general", "--member",
                        "--order", "SO-20261120-7788")
    _upheld_to_approval(kefu, case_id, ("更换新机", "维修并赔偿地板损失"))
    kefu.ok("complaint", "approve", case_id, "--choice", "2", "--by", "chen.jing")
    kefu.wait_until_waiting(case_id, "implementation")
    kefu.ok("complaint", "implement", case_id, "--accepted", "--signature", "张伟", "--feedback", "满意", "--by", "li.na")
    kefu.wait_until_waiting(case_id, "review")
    kefu.ok("complaint", "review", case_id, "--summary", "批次问题已反馈质检部", "--improvement", "加强出厂检验",
            "--by", "chen.jing")
    run = kefu.wait_until_waiting(case_id, None)

    shown = kefu.ok("case", "show", case_id)
    assert (shown["status"], shown["outcome"]) == ("closed", "resolved")
    types = Counter(e["type"] for e in shown["events"])
    assert types["callback.requested"] == 1
    callback = next(e for e in shown["events"] if e["type"] == "callback.requested")
    assert callback["payload"]["member"] is True and callback["payload"]["reason"] == "complaint_closed"
    for step_event in ("complaint.judged", "complaint.investigated", "plan.proposed", "plan.approved",
                       "discipline.recorded", "customer.responded", "complaint.reviewed", "case.closed"):
        assert types[step_event] == 1, (step_event, types)
    assert _notices(shown["events"]) == Counter({"acknowledgement": 1, "plan_notice": 1})
    plan = next(e for e in shown["events"] if e["payload"].get("purpose") == "plan_notice")
    assert "维修并赔偿地板损失" in plan["payload"]["text"]
    assert {d["step"] for d in shown["deadlines"]} == {"resolution", "judgement", "investigation", "proposal",
                                                        "approval", "implementation", "review"}
    assert all(d["met_at"] is not None for d in shown["deadlines"]), shown["deadlines"]

    assert run.state.is_completed()
    assert case_id in run.name and f"case:{case_id}" in run.tags
    # one run did it all, each automated step once; the CLI's answers were read from the record
    # (each resumed execution found its decision there and never re-recorded it)
    counts = kefu.wait_task_runs(str(run.id), {"close-case": 1, "request-callback": 1})
    assert counts["acknowledge-complaint"] == 1 and counts["record-decision"] == 0
    assert counts["record-discipline-note"] == 1 and counts["notify-customer-of-plan"] == 1
    assert counts["close-case"] == 1 and counts["request-callback"] == 1


def test_rejected_plan_goes_back_to_proposal_for_a_second_round(kefu):
    """P1 step 5 Implementation 实施处理方案: the customer rejects → back to step 4 (round 2);
    each approved plan brings its own discipline note and plan notice."""
    case_id = kefu.open("维修三次仍然不制冷", "--kind", "complaint", "--severity", "general")
    _upheld_to_approval(kefu, case_id, ("再次上门维修",))
    kefu.ok("complaint", "approve", case_id, "--choice", "1", "--by", "chen.jing")
    kefu.wait_until_waiting(case_id, "implementation", key="implementation-1-0")
    kefu.ok("complaint", "implement", case_id, "--rejected", "--feedback", "不想再修了，要求换机", "--by", "li.na")

    kefu.wait_until_waiting(case_id, "proposal", key="proposal-2-0")
    assert kefu.state(case_id).round == 2
    kefu.ok("complaint", "propose", case_id, "--option", "换新机", "--option", "全额退款", "--by", "li.na")
    kefu.wait_until_waiting(case_id, "approval", key="approval-2-0")
    kefu.ok("complaint", "approve", case_id, "--choice", "1", "--by", "sun.li")
    kefu.wait_until_waiting(case_id, "implementation", key="implementation-2-0")
    kefu.ok("complaint", "implement", case_id, "--accepted", "--signature", "张伟", "--by", "li.na")
    kefu.wait_until_waiting(case_id, "review")
    kefu.ok("complaint", "review", case_id, "--summary", "二次方案获接受", "--by", "chen.jing")
    run = kefu.wait_until_waiting(case_id, None)

    events = kefu.events(case_id)
    discipline = [e["payload"]["round"] for e in events if e["type"] == "discipline.recorded"]
    assert discipline == [1, 2]
    plan_notices = [e["payload"] for e in events if e["payload"].get("purpose") == "plan_notice"]
    assert [p["round"] for p in plan_notices] == [1, 2]
    assert "再次上门维修" in plan_notices[0]["text"] and "换新机" in plan_notices[1]["text"]
    responses = [e["payload"]["accepted"] for e in events if e["type"] == "customer.responded"]
    assert responses == [False, True]
    assert kefu.state(case_id).outcome == "resolved" and run.state.is_completed()


def test_major_complaint_notifies_the_manager_at_intake_and_only_a_manager_may_approve(kefu):
    """P1 escalation "重大问题要及时报告": a major complaint is reported upward at intake; step 4
    批示 of a major complaint needs a manager or director — a supervisor is refused, nothing changes."""
    case_id = kefu.open("燃气灶爆燃导致孩子手部受伤", "--kind", "complaint", "--severity", "major")
    kefu.wait_until_waiting(case_id, "judgement")
    events = kefu.events(case_id)
    notified = [e for e in events if e["type"] == "manager.notification_requested"]
    assert len(notified) == 1
    assert notified[0]["payload"]["recipients"] == ["sun.li"] and notified[0]["payload"]["role"] == "manager"
    # "at intake": before anyone judged the complaint
    assert "complaint.judged" not in {e["type"] for e in events}

    _upheld_to_approval(kefu, case_id)
    before = kefu.events(case_id)
    refused = kefu.cli("complaint", "approve", case_id, "--choice", "1", "--by", "chen.jing", "--json")
    assert refused.exit_code == 2, refused.stdout
    assert refused.json["error"]["field"] == "by"
    assert "sun.li" in refused.json["error"]["fix"]
    assert kefu.events(case_id) == before
    run = kefu.wait_until_waiting(case_id, "approval", key="approval-1-0", timeout=5)
    assert run.state.name == "Suspended"

    kefu.ok("complaint", "approve", case_id, "--choice", "1", "--by", "sun.li")
    kefu.wait_until_waiting(case_id, "implementation")
    approved = next(e for e in kefu.events(case_id) if e["type"] == "plan.approved")
    assert approved["actor"] == "sun.li"


def test_dashboard_form_records_the_same_event_as_the_cli_and_refuses_an_agents_approval(kefu):
    """P1 step 2 Judgement and step 4 批示 through the Prefect dashboard's form (resume with run_input):
    the flow records the same event as the CLI; an approval by an agent is refused on file and the
    form re-opens (key approval-1-1); a valid approval moves the case on."""
    by_cli = kefu.open("网购的衣服尺码与描述不符", "--kind", "complaint", "--severity", "general", name="李雷")
    by_form = kefu.open("网购的鞋子尺码与描述不符", "--kind", "complaint", "--severity", "general", name="韩梅梅")
    kefu.wait_until_waiting(by_cli, "judgement")
    kefu.wait_until_waiting(by_form, "judgement")

    judgement = {"upheld": True, "department": "sales", "reason": "商品详情页尺码表有误", "by": "li.na"}
    kefu.ok("complaint", "judge", by_cli, "--upheld", "--department", "sales", "--reason", judgement["reason"],
            "--by", "li.na")
    kefu.resume(by_form, judgement)
    kefu.wait_until_waiting(by_cli, "investigation")
    kefu.wait_until_waiting(by_form, "investigation")

    def judged(case_id: str) -> dict:
        return next(e for e in kefu.events(case_id) if e["type"] == "complaint.judged")

    # Each decision is a line in words in its run's log, wherever it was made.
    said = "li.na 判定 judged: 投诉成立 upheld → 销售部 Sales（商品详情页尺码表有误）"
    assert kefu.wait_for_log(by_cli, said).endswith("[cli-token]")
    assert kefu.wait_for_log(by_form, said).endswith("[form-pin]")
    cli_event, form_event = judged(by_cli), judged(by_form)
    assert form_event["actor"] == cli_event["actor"] == "li.na"
    # The same decision; each says how li.na was verified (her token, her PIN).
    assert cli_event["payload"].pop("verified") == {"method": "cli-token", "staff": "li.na"}
    assert form_event["payload"].pop("verified") == {"method": "form-pin", "staff": "li.na"}
    # The category neither gave stands as intake proposed it (complaint.yaml default_category).
    assert form_event["payload"] == cli_event["payload"] == {
        "upheld": True, "department": "sales", "reason": "商品详情页尺码表有误", "round": 1, "category": "other"}
    # and the rest of the record moved the same way (deadline met, next one opened)
    assert [e["type"] for e in kefu.events(by_form)] == [e["type"] for e in kefu.events(by_cli)]

    kefu.ok("complaint", "investigate", by_form, "--cause", "尺码表录入错误", "--responsible", "运营 王磊",
            "--by", "li.na")
    kefu.wait_until_waiting(by_form, "proposal")
    kefu.ok("complaint", "propose", by_form, "--option", "免费换货", "--by", "li.na")
    kefu.wait_until_waiting(by_form, "approval", key="approval-1-0")

    # An agent may not approve (批示): the form does not offer her, and Prefect refuses the answer.
    agent = kefu.try_resume(by_form, {"choice": 1, "by": "li.na"})
    assert agent.status.value != "ACCEPT", agent
    # The approver with somebody else's PIN: refused on file, nothing decided, the form re-opens.
    kefu.resume(by_form, {"choice": 1, "by": "chen.jing"}, pin=kefu.pin_of("sun.li"))
    run = kefu.wait_until_waiting(by_form, "approval", key="approval-1-1")
    assert run.state.name == "Suspended"
    events = kefu.events(by_form)
    refusals = [e for e in events if e["type"] == "input.refused"]
    assert len(refusals) == 1
    assert refusals[0]["actor"] == "kefu" and refusals[0]["payload"]["by"] == "chen.jing"
    assert refusals[0]["payload"]["step"] == "approval" and refusals[0]["payload"]["field"] == "pin"
    assert "plan.approved" not in {e["type"] for e in events}
    assert kefu.state(by_form).refusal_count("approval", 1) == 1
    assert "pin" in kefu.wait_for_log(by_form, "approval refused 拒收")

    kefu.resume(by_form, {"choice": 1, "by": "chen.jing"})
    kefu.wait_until_waiting(by_form, "implementation", key="implementation-1-0")
    events = kefu.events(by_form)
    approved = [e for e in events if e["type"] == "plan.approved"]
    assert len(approved) == 1 and approved[0]["actor"] == "chen.jing"
    assert approved[0]["payload"] == {"choice": 1, "round": 1,
                                      "verified": {"method": "form-pin", "staff": "chen.jing"}}
    # No PIN stays in Prefect: each form's answer was deleted once read (what is left are the
    # forms themselves, and the answers the CLI sent when it woke the run, which carry none).
    stored = kefu.stored_inputs(by_form)
    assert stored and not any(kefu.pin_of(who) in i.value for i in stored for who in ("li.na", "chen.jing", "sun.li"))
    assert not any(i.key.startswith(("suspended-judgement", "suspended-approval")) and i.key.endswith("-response")
                   for i in stored)
    assert _notices(events)["plan_notice"] == 1
    # the CLI case is finished off by its own path, to leave nothing half-way
    kefu.ok("complaint", "investigate", by_cli, "--cause", "尺码表录入错误", "--responsible", "运营 王磊", "--by", "li.na")
    kefu.wait_until_waiting(by_cli, "proposal")


def test_runner_killed_mid_case_loses_nothing_and_duplicates_nothing_after_restart(kefu):
    """P1 step 3 Investigation 展开调查, with the runner SIGKILLed while the case waits: the CLI still
    records the investigation (the record is the truth); after `kefu up` restarts the runner the
    run catches up and waits at step 4 — no event lost, none recorded twice."""
    case_id = kefu.open("售后承诺的上门时间没人来", "--kind", "complaint", "--severity", "general")
    kefu.wait_until_waiting(case_id, "judgement")
    kefu.ok("complaint", "judge", case_id, "--upheld", "--department", "repair", "--reason", "维修派单遗漏",
            "--by", "li.na")
    kefu.wait_until_waiting(case_id, "investigation")
    before = kefu.events(case_id)

    pid = kefu.runner_pid()
    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        try:  # reap it if it is ours (it is `kefu up`'s child, normally not)
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    else:
        pytest.fail(f"runner {pid} survived SIGKILL")

    result = kefu.cli("complaint", "investigate", case_id, "--cause", "派单系统未同步", "--responsible", "调度员 钱峰",
                      "--by", "wang.fang", "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.json["step"] == "proposal"  # recorded, whatever became of the wake
    print(f"\nwake with the runner down: {result.json['flow_run']}")

    up = kefu.subprocess("up", "--detach", "--json")
    assert up.returncode == 0, up.stdout + up.stderr
    assert json.loads(up.stdout)["started"] == ["runner"]  # the server kept running
    assert kefu.runner_pid() != pid
    try:
        run = kefu.wait_until_waiting(case_id, "proposal", timeout=45)
    except AssertionError:  # the resume went nowhere: make the executor catch up, as ops would
        sync = kefu.ok("case", "sync", case_id)
        run = kefu.wait_until_waiting(case_id, "proposal", timeout=45)
        print(f"needed `kefu case sync`: {sync}")
    assert run.state.name == "Suspended" and run.state.state_details.pause_key == "proposal-1-0"

    after = kefu.events(case_id)
    assert after[: len(before)] == before  # nothing lost
    types = Counter(e["type"] for e in after)
    assert types["complaint.investigated"] == 1 and types["complaint.judged"] == 1
    assert _notices(after) == Counter({"acknowledgement": 1})
    assert types["case.closed"] == 0
    investigated = next(e for e in after if e["type"] == "complaint.investigated")
    assert investigated["payload"]["cause"] == "派单系统未同步" and investigated["actor"] == "wang.fang"
    from kefu import runtime

    keys = [e.idem_key for e in runtime.store().events(case_id) if e.idem_key]
    assert len(keys) == len(set(keys)), keys
    deadlines = {(d["step"], d["round"]): d["met_at"] for d in kefu.ok("case", "show", case_id)["deadlines"]}
    assert deadlines[("investigation", 1)] is not None and deadlines[("proposal", 1)] is None
    assert kefu.state(case_id).flow_run_id == str(run.id)
    counts = kefu.wait_task_runs(str(run.id), {"acknowledge-complaint": 1})
    assert counts["acknowledge-complaint"] == 1

    # and the restarted runner carries on as before, in the case's one run
    kefu.ok("complaint", "propose", case_id, "--option", "当天加急上门并赠送延保一年", "--by", "li.na")
    kefu.wait_until_waiting(case_id, "approval")
    assert [r.id for r in _runs_of(kefu, case_id)] == [run.id]


def _runs_of(kefu, case_id: str) -> list:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
    from prefect.client.schemas.sorting import FlowRunSort

    with kefu.client() as client:
        return client.read_flow_runs(flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[f"case:{case_id}"])),
                                     sort=FlowRunSort.START_TIME_ASC, limit=20)


def test_a_crashed_run_runs_again_by_itself_as_the_same_run_and_waits_where_the_case_stands(kefu):
    """Recovery needs no operator and keeps the ops board true (issues 17 and 18: one run per
    case, and a Prefect server that dies mid-flight strands no case until someone types `kefu
    case sync`): the runner's watch finds the open case whose run crashed and runs that same run
    again within escalation.yaml sweep_check_seconds; it waits at the same step under the same
    key, and the case finishes in that one run."""
    from prefect.states import Crashed

    from kefu import runtime

    case_id = kefu.open("空调外机噪音很大，安装师傅不肯处理", "--kind", "complaint", "--severity", "general")
    run = kefu.wait_until_waiting(case_id, "judgement")
    with kefu.client() as client:
        client.set_flow_run_state(run.id, Crashed(message="drill: the machine lost power"), force=True)

    deadline = time.monotonic() + runtime.rules().escalation.sweep_check_seconds + 60
    while kefu.flow_run(case_id).state.is_final():  # nobody types `kefu case sync`
        assert time.monotonic() < deadline, "the crashed run was not run again"
        time.sleep(1)
    again = kefu.wait_until_waiting(case_id, "judgement", key="judgement-1-0")
    assert again.id == run.id and again.run_count == 2

    kefu.ok("complaint", "judge", case_id, "--not-upheld", "--reason", "噪音在国标范围内，已上门检测说明", "--by", "li.na")
    done = kefu.wait_until_waiting(case_id, None)
    assert done.id == run.id and [r.id for r in _runs_of(kefu, case_id)] == [run.id]
    assert kefu.event_types(case_id)["flow_run.linked"] == 1


def test_consultation_is_answered_in_the_contact_flow_and_closes(kefu):
    """P1 Kinds of contact: a 咨询 consultation is answered, no complaint flow; closed as answered."""
    data = kefu.ok("complaint", "open", "--name", "王芳", "--phone", "13900139000", "--channel", "chat",
                   "--content", "请问会员积分怎么兑换", "--kind", "consultation")
    case_id = data["case_id"]
    assert (data["kind"], data["severity"], data["step"]) == ("consultation", None, "answer")
    kefu.wait_until_waiting(case_id, "answer")
    kefu.ok("contact", "answer", case_id, "--answer", "登录会员中心即可兑换", "--by", "wang.fang")
    run = kefu.wait_until_waiting(case_id, None)

    state = kefu.state(case_id)
    assert (state.status, state.outcome) == ("closed", "answered")
    events = kefu.events(case_id)
    assert _notices(events) == Counter({"contact_answer": 1})
    assert not {"complaint.judged", "manager.notification_requested"} & {e["type"] for e in events}
    with kefu.client() as client:
        flow = client.read_flow(run.flow_id)
    assert flow.name == "contact" and run.state.is_completed()


def test_a_waiting_run_whose_form_was_never_saved_runs_again_and_the_case_moves_on(kefu):
    """Prefect marks a run Suspended, then saves its form; when that second write fails (seen with
    "database is locked" on a busy SQLite Prefect database) the run can never be resumed. The
    decision is in the record, so kefu ends that run and runs it again: the case goes on in its
    one run (issue 17: one run per case on the ops board)."""
    case_id = kefu.open("订单显示已签收，但我没收到货", "--kind", "complaint", name="马丽")
    stuck = kefu.wait_until_waiting(case_id, "judgement")
    with kefu.client() as client:
        client.delete_flow_run_input(stuck.id, stuck.state.state_details.run_input_keyset["schema"])

    judged = kefu.ok("complaint", "judge", case_id, "--not-upheld", "--reason", "快递柜取件记录显示已由本人取件",
                     "--by", "li.na")
    assert judged["flow_run"] == "rerun (the waiting run's form was never saved)"

    run = kefu.wait_until_waiting(case_id, None)
    assert run.id == stuck.id and run.state.is_completed()
    types = kefu.event_types(case_id)
    assert types["complaint.judged"] == 1 and types["case.closed"] == 1 and types["flow_run.linked"] == 1
