"""Ops see every case in Prefect: one flow run per case, named after it, tagged ``case:<id>``,
visibly Suspended while it waits for a person (PROCESSES.md P1; the dashboard is where ops look)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.prefect


def test_each_case_is_a_flow_run_named_and_tagged_after_it_and_suspended_while_it_waits(kefu):
    """P1 step 1 Intake 投诉受理 → step 2 Judgement: the run waits, Suspended, on the judgement form."""
    case_id = kefu.open("上周买的电饭煲按键失灵，客服电话一直占线", "--kind", "complaint", "--severity", "general",
                        name="周敏")
    run = kefu.wait_until_waiting(case_id, "judgement")

    assert case_id in run.name
    assert f"case:{case_id}" in run.tags
    assert f"owner:{kefu.state(case_id).owner}" in run.tags  # "my cases" is a tag filter
    assert run.state.name == "Suspended"
    assert run.state.state_details.pause_key == "judgement-1-0"
    assert str(run.id) == kefu.state(case_id).flow_run_id
    # ops find the run by its tag, as the dashboard's filter does
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
    from prefect.client.schemas.sorting import FlowRunSort

    with kefu.client() as client:
        found = client.read_flow_runs(flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[f"case:{case_id}"])),
                                       sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=10)
    assert [r.id for r in found] == [run.id]
    # the case says where its run is
    shown = kefu.ok("case", "show", case_id)
    assert shown["flow_run_id"] == str(run.id)
    assert shown["flow_run_url"].endswith(f"/runs/flow-run/{run.id}")

    # and it leaves the Suspended state once it closes
    kefu.ok("complaint", "judge", case_id, "--not-upheld", "--reason", "按键失灵系使用童锁功能，已电话指导解锁",
            "--by", "li.na")
    run = kefu.wait_until_waiting(case_id, None)
    assert run.state.name == "Completed"
    # a finished case waits for nothing: no stale step or due time on the ops board
    import time

    for _ in range(40):
        tags = kefu.flow_run(case_id).tags
        if not any(t.startswith(("step:", "due:")) for t in tags):
            break
        time.sleep(0.5)
    assert not any(t.startswith(("step:", "due:")) for t in tags), tags


def test_a_sweep_run_starts_when_an_email_is_due_and_never_on_a_timer(kefu):
    """Issue 17: the sweep is off the ops board unless it has work — its deployment has no
    schedule (no run a minute); an e-mail queued for a manager starts one sweep run within
    ``escalation.yaml sweep_check_seconds``, which sends it."""
    import time

    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.client.schemas.sorting import FlowRunSort
    from sqlmodel import Session, select

    from kefu import runtime
    from kefu.escalation import mail
    from models.outbox import SENT, OutboxMessage

    with kefu.client() as client:
        assert not client.read_deployment_by_name("sweep/sweep").schedules

    key = f"test:sweep-watch:{time.time()}"
    with Session(runtime.store().engine) as session:
        mail.enqueue(session, key=key, to=["sun.li@kefu.example"], subject="待处理 pending", text="t", html="<p>t</p>")
        session.commit()
        queued = session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).one()
    queued_at = time.time()
    deadline = queued_at + runtime.rules().escalation.sweep_check_seconds + 60
    while time.time() < deadline:
        with Session(runtime.store().engine) as session:
            if session.get(OutboxMessage, queued.id).status == SENT:
                break
        time.sleep(1)
    else:
        raise AssertionError("the queued e-mail was not sent by a sweep run")
    with kefu.client() as client:
        sweeps = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["sweep"])),
                                       sort=FlowRunSort.START_TIME_DESC, limit=20)
    assert any(r.state.is_completed() and r.start_time and r.start_time.timestamp() >= queued_at - 1 for r in sweeps)
