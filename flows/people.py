"""Waiting for a person, the way every flow does it.

A flow run re-executes from the top after every resume, so waiting is written as a
question to the record first: if the decision is already there (recorded by the CLI, or
by an earlier run), the flow moves on without waiting. Otherwise it suspends with a
typed form; the Prefect dashboard shows the form, the CLI fills it in the same shape.
"""

from __future__ import annotations

import logging
from typing import Any

from prefect.flow_runs import suspend_flow_run
from prefect.input.run_input import run_input_subclass_from_type

from kefu import runtime
from kefu.texts import local_time, mask_phone
from models.complaint import CaseState
from models.inputs import STEP_INPUT
from flows.visibility import show_waiting
from tasks.complaint import record_decision


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
    rules = runtime.rules()
    intake = case.intake
    lines = [
        f"**{case.case_id}** · {case.kind}/{case.severity or '-'} · {step} (round {round_})",
        f"客户 Customer: {intake.get('name')} {mask_phone(intake.get('phone', ''))} · {intake.get('channel')}",
        f"内容 Content: {intake.get('content')}",
    ]
    due = next((d for d in case.open_deadlines() if d.step == step and d.round == round_), None)
    if due is not None:
        lines.append(f"期限 Due: {local_time(rules, due.due_at)} ({due.policy})")
    refusals = [e for e in runtime.store().events(case.case_id)
                if e.type == "input.refused" and e.payload["step"] == step and e.payload["round"] == round_]
    if refusals:
        last = refusals[-1].payload
        lines.append(f"⚠ 上次提交被拒 Last input refused: {last['field']}: {last['problem']} — {last['fix']}")
    return "\n\n".join(lines)


async def decision_of(case_id: str, step: str, round_: int = 1) -> dict[str, Any]:
    """The person's decision at ``step`` (in ``round_``): from the record, or wait for it."""
    while True:
        case = read_case(case_id)
        recorded = case.decision(step, round_)
        if recorded is not None:
            return recorded
        form = run_input_subclass_from_type(STEP_INPUT[step]).with_initial_data(
            description=_form_description(case, step, round_)
        )
        # The key names this exact wait; after a refusal the next wait gets a fresh form.
        key = f"{step}-{round_}-{case.refusal_count(step, round_)}"
        await show_waiting(case, step, round_)
        answer = await suspend_flow_run(wait_for_input=form, key=key, timeout=None)
        record_decision(case_id, step, round_, answer.model_dump(mode="json"))
