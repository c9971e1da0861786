"""P1 Complaint handling 投诉处理 — one flow run per complaint (PROCESSES.md P1; seed 002 §4 (7)).

"有投诉即时受理，迅速有结果，处理后有回访": accepted at once, a quick result, a callback after.
The run is safe to start again at any moment: each step asks the case record whether it is
done, and the run stops at the first step that waits for a person.
"""

from __future__ import annotations

from prefect import flow

from flows.visibility import case_finished
from flows.waiting import decision_of, read_case
from kefu import runtime
from models.complaint import Step, complaint_of
from tasks.callback import open_callback_for_complaint
from tasks.complaint import (
    acknowledge_complaint,
    close_case,
    notify_customer_of_plan,
    record_discipline_note,
    reply_tactfully,
    request_callback,
    request_manager_notification,
)
from tasks.sweep import deliver_outbox


@flow(name="complaint", log_prints=True, on_completion=[case_finished])
async def complaint(case_id: str) -> str:
    """Take one complaint from intake to review; returns its outcome."""
    case = read_case(case_id)
    if case.status == "closed":
        return case.outcome  # a run started again after the end has nothing left to do

    # 1. Intake 投诉受理 — the register was filled by `kefu complaint open`; the customer hears
    #    at once, and a major or crisis complaint goes upward at once.
    acknowledging = "acknowledgement" not in case.notices
    if acknowledging:
        acknowledge_complaint(case_id)
    notifying = case.severity in runtime.rules().complaint.notify_at_intake and not complaint_of(case).notifications
    if notifying:
        request_manager_notification(case_id)
    if acknowledging or notifying:
        deliver_outbox()  # the customer (unless it is their rest time) and the manager hear now, not at the next sweep

    # 2. Judgement 投诉判定 — not upheld: a tactful reply, and the case closes.
    judgement = await decision_of(case_id, Step.JUDGEMENT)
    if not judgement["upheld"]:
        reply_tactfully(case_id)
        close_case(case_id, "not_upheld")
        return "not_upheld"

    # 3. Investigation 展开调查 — the cause and the responsible person.
    await decision_of(case_id, Step.INVESTIGATION)

    # 4.–5. Resolution plan and implementation, round after round until the customer accepts.
    round_ = 1
    while True:
        await decision_of(case_id, Step.PROPOSAL, round_)
        await decision_of(case_id, Step.APPROVAL, round_)
        case = read_case(case_id)
        if round_ not in complaint_of(case).discipline:
            record_discipline_note(case_id, round_)
        if f"plan_notice:{round_}" not in case.notices:
            notify_customer_of_plan(case_id, round_)
        response = await decision_of(case_id, Step.IMPLEMENTATION, round_)
        if response["accepted"]:
            break
        round_ += 1

    # 6. Review 总结评价 — then the callback closes the loop.
    await decision_of(case_id, Step.REVIEW, round_)
    case = read_case(case_id)
    if complaint_of(case).callback is None:
        request_callback(case_id)
    # P2 takes it from here, as its own case and run; opened before the close, so a run started
    # again after a crash in between still opens it (once: one callback per complaint).
    open_callback_for_complaint(case_id)
    close_case(case_id, "resolved")
    return "resolved"
