"""The complaint process's steps as Prefect tasks; each records through ``kefu.cases``."""

from __future__ import annotations

from typing import Any

from kefu import cases, runtime
from models.complaint import CaseState
from tasks import step


@step(name="acknowledge-complaint")
def acknowledge_complaint(case_id: str) -> CaseState:
    """Tell the customer the complaint is registered, its number, and when to expect a judgement."""
    return cases.acknowledge(runtime.store(), runtime.rules(), case_id)


@step(name="request-manager-notification")
def request_manager_notification(case_id: str) -> CaseState:
    """Major and crisis complaints: record the request to notify the manager (or director) at once."""
    return cases.request_manager_notification(runtime.store(), runtime.rules(), case_id)


@step(name="record-decision")
def record_decision(case_id: str, step: str, round_: int, data: dict[str, Any]) -> CaseState:
    """Record a person's answer from the dashboard form; a rule it breaks is recorded as a refusal."""
    store, rules = runtime.store(), runtime.rules()
    state = store.state(case_id)
    if state.decision(step, round_) is not None:
        return state  # the CLI recorded it before it resumed the run
    try:
        return cases.submit(store, rules, case_id, step, cases.parse_input(step, data))
    except cases.InputRefused as refusal:
        print(f"{case_id}: {step} refused — {refusal}")
        return cases.refuse(store, rules, case_id, step, round_, str(data.get("by", "")), refusal)


@step(name="reply-tactfully")
def reply_tactfully(case_id: str) -> CaseState:
    """Not upheld: a tactful reply with the reason, to clear the misunderstanding."""
    return cases.send_not_upheld_reply(runtime.store(), runtime.rules(), case_id)


@step(name="record-discipline-note")
def record_discipline_note(case_id: str, round_: int) -> CaseState:
    """The disciplinary note for the directly responsible person and the department head."""
    return cases.record_discipline(runtime.store(), runtime.rules(), case_id, round_)


@step(name="notify-customer-of-plan")
def notify_customer_of_plan(case_id: str, round_: int) -> CaseState:
    """Tell the customer the approved plan and ask them to accept (and sign) or reject it."""
    return cases.send_plan_notice(runtime.store(), runtime.rules(), case_id, round_)


@step(name="request-callback")
def request_callback(case_id: str) -> CaseState:
    """Close the loop: ask the callback process to call the customer back."""
    return cases.request_callback(runtime.store(), runtime.rules(), case_id)


@step(name="close-case")
def close_case(case_id: str, outcome: str) -> CaseState:
    """Close and archive the case with its outcome."""
    return cases.close(runtime.store(), runtime.rules(), case_id, outcome)
