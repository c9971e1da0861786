"""The complaint process's steps as Prefect tasks; each records through its decisions
(``kefu.processes.complaint.decisions``)."""

from __future__ import annotations

from kefu import runtime
from kefu.processes.complaint import decisions as complaints
from models.case import CaseState
from tasks import step


@step(name="acknowledge-complaint")
def acknowledge_complaint(case_id: str) -> CaseState:
    """Tell the customer the complaint is registered, its number, and when to expect a judgement."""
    return complaints.acknowledge(runtime.store(), runtime.rules(), case_id)


@step(name="request-manager-notification")
def request_manager_notification(case_id: str) -> CaseState:
    """Major and crisis complaints: record the request to notify the manager (or director) at once."""
    return complaints.request_manager_notification(runtime.store(), runtime.rules(), case_id)


@step(name="reply-tactfully")
def reply_tactfully(case_id: str) -> CaseState:
    """Not upheld: a tactful reply with the reason, to clear the misunderstanding."""
    return complaints.send_not_upheld_reply(runtime.store(), runtime.rules(), case_id)


@step(name="record-discipline-note")
def record_discipline_note(case_id: str, round_: int) -> CaseState:
    """The disciplinary note for the directly responsible person and the department head."""
    return complaints.record_discipline(runtime.store(), runtime.rules(), case_id, round_)


@step(name="notify-customer-of-plan")
def notify_customer_of_plan(case_id: str, round_: int) -> CaseState:
    """Tell the customer the approved plan and ask them to accept (and sign) or reject it."""
    return complaints.send_plan_notice(runtime.store(), runtime.rules(), case_id, round_)


@step(name="request-callback")
def request_callback(case_id: str) -> CaseState:
    """Close the loop: ask the callback process to call the customer back."""
    return complaints.request_callback(runtime.store(), runtime.rules(), case_id)


@step(name="close-case")
def close_case(case_id: str, outcome: str) -> CaseState:
    """Close and archive the case with its outcome."""
    return complaints.close(runtime.store(), runtime.rules(), case_id, outcome)
