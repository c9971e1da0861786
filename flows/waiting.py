"""Waiting for a person, the way every flow does it.

A flow run re-executes from the top after every resume, so waiting is written as a
question to the record first: if the decision is already there (recorded by the CLI, or
by an earlier run), the flow moves on without waiting. Otherwise it suspends with the step's
form for this case (``kefu.core.forms``: pickers from config, a PIN field); the Prefect
dashboard shows it. The answer is read once and deleted from Prefect's database at once, PIN
and all: the PIN is verified here, and only the decision, for the verified person, is recorded.
"""

from __future__ import annotations

import logging
from typing import Any

from prefect.flow_runs import suspend_flow_run
from prefect.input.run_input import run_input_subclass_from_type

from flows.visibility import show_waiting
from kefu import processes, runtime
from kefu.core import clock, identity
from kefu.core.refusals import InputRefused
from kefu.core.texts import local_time, mask_phone, render_file
from models.case import CaseState
from tasks.waiting import ask_deciders, record_decision, record_refusal


class _WaitingIsNotAnError(logging.Filter):
    """Prefect logs every run that ends suspended as ERROR ("Finished in state Suspended"); in
    kefu that is a case waiting for a person, so ops see it at INFO, not as a failure."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and record.getMessage().startswith("Finished in state Suspended"):
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


logging.getLogger("prefect.flow_runs").addFilter(_WaitingIsNotAnError())


def read_case(case_id: str) -> CaseState:
    """The case as its events say it is now (a read, not a step)."""
    return runtime.store().state(case_id)


def _form_description(case: CaseState, step: str, round_: int) -> str:
    """What the dashboard shows above the form: the case, the deadline, a refusal to correct; a
    process may describe its own (a callback: the customer's time and the script)."""
    rules = runtime.rules()
    describe = processes.of(case.process).form_description
    if describe is not None:
        return describe(rules, runtime.store(), case, step, round_)
    intake = case.intake
    deadline = case.deadline(step, round_)
    return render_file(
        rules, "forms/waiting.md.j2", case_id=case.case_id, kind=case.kind, severity=case.severity,
        step=step, round=round_, name=intake.get("name"), phone_masked=mask_phone(intake.get("phone", "")),
        channel=intake.get("channel"), content=intake.get("content"),
        due_at=local_time(rules, deadline.due_at) if deadline and deadline.due_at else None,
        allowed=deadline.allowed if deadline else None,
        refusal=case.last_refusal.get(f"{step}:{round_}"),
        decisions=case.decisions,
        department_names=rules.department_labels(),
    )


async def decision_of(case_id: str, step: str, round_: int = 1) -> dict[str, Any]:
    """The person's decision at ``step`` (in ``round_``): from the record, or wait for it."""
    while True:
        case = read_case(case_id)
        recorded = case.decision(step, round_)
        if recorded is not None:
            return recorded
        form = processes.form(runtime.rules(), case, step)
        description = _form_description(case, step, round_)
        shown = run_input_subclass_from_type(form.model).with_initial_data(description=description)
        if processes.to_ask(runtime.rules(), case, step):  # a task run only when somebody is to be told
            ask_deciders(case_id, step, round_, description)
        # The key names this exact wait; after a refusal the next wait gets a fresh form.
        key = f"{step}-{round_}-{case.refusal_count(step, round_)}"
        await show_waiting(case, step, round_)
        answer = await suspend_flow_run(wait_for_input=shown, key=key, timeout=None)
        await _forget_answer(key)
        secret = answer.pin.get_secret_value()  # type: ignore[attr-defined]
        data = form.values(answer.model_dump(mode="json"))
        try:
            record_decision(case_id, step, round_, data, _verify(str(data.get("by", "")), secret))
        except InputRefused as wrong_pin:  # nothing is decided: the re-opened form says why
            record_refusal(case_id, step, round_, str(data.get("by", "")), wrong_pin.as_dict())


def _verify(staff: str, secret: str) -> identity.Verified:
    """The person the form names, if the PIN is theirs; refused otherwise. A run the CLI woke
    carries no PIN, but then the decision is on record and this is never asked."""
    return identity.verify_pin(runtime.store().engine, runtime.rules(), staff, secret, clock.now())


async def _forget_answer(key: str) -> None:
    """Delete the form's stored answer from Prefect's database: it holds the PIN in clear."""
    from prefect.client.orchestration import get_client
    from prefect.context import FlowRunContext
    from prefect.input import keyset_from_base_key

    run = FlowRunContext.get().flow_run  # type: ignore[union-attr]
    async with get_client() as client:
        await client.delete_flow_run_input(run.id, keyset_from_base_key(f"suspended-{key}")["response"])
