"""The human wait's one step (flows/waiting.py): record what a person gave in the dashboard's form."""

from __future__ import annotations

from typing import Any

from kefu import processes, runtime
from kefu.core import casework
from kefu.core.refusals import InputRefused
from models.case import CaseState
from tasks import step


@step(name="record-decision")
def record_decision(case_id: str, step: str, round_: int, data: dict[str, Any]) -> CaseState:
    """Record a person's answer from the dashboard form; a rule it breaks is recorded as a refusal."""
    store, rules = runtime.store(), runtime.rules()
    state = store.state(case_id)
    if state.decision(step, round_) is not None:
        return state  # the CLI recorded it before it resumed the run
    try:
        return processes.record_input(store, rules, state, step, processes.parse_input(state, step, data))
    except InputRefused as refusal:
        print(f"{case_id}: {step} refused — {refusal}")
        return casework.refuse(store, rules, case_id, step, round_, str(data.get("by", "")), refusal)
