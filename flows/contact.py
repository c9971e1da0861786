"""Consultations 咨询 and queries 查询: answered and closed in their own short flow
(seed 002 §3 第七条; PROCESSES.md P1 "Kinds of contact")."""

from __future__ import annotations

from prefect import flow

from flows.visibility import case_finished
from flows.waiting import decision_of, read_case
from models.complaint import Step
from tasks.complaint import close_case
from tasks.contact import send_answer


@flow(name="contact", log_prints=True, on_completion=[case_finished])
async def contact(case_id: str) -> str:
    """Answer one consultation or query and close it."""
    if read_case(case_id).status == "closed":
        return "answered"  # a run started again after the end has nothing left to do
    await decision_of(case_id, Step.ANSWER)
    if "contact_answer" not in read_case(case_id).notices:
        send_answer(case_id)
    close_case(case_id, "answered")
    return "answered"
