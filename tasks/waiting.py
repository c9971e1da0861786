"""The human wait's one step (flows/waiting.py): record what a person gave in the dashboard's form."""

from __future__ import annotations

from typing import Any

from kefu import processes, runtime
from kefu.core import casework, identity
from kefu.core.identity import Verified
from kefu.core.refusals import InputRefused
from kefu.executor import orchestration
from models.case import CaseState
from tasks import step


@step(name="record-decision")
def record_decision(case_id: str, step: str, round_: int, data: dict[str, Any], verified: Verified) -> CaseState:
    """Record the answer of the dashboard form for ``verified`` (its PIN checked); a rule it
    breaks is recorded as a refusal, shown on the re-opened form."""
    store, rules = runtime.store(), runtime.rules()
    state = store.state(case_id)
    if state.decision(step, round_) is not None:
        return state  # the CLI recorded it before it resumed the run
    try:
        with identity.acting_as(identity.acting_for(rules, verified, data.get("by"), step)) as who:
            state = processes.record_input(store, rules, state, step,
                                           processes.parse_input(state, step, {**data, "by": who.by}))
        orchestration.log_to_run(state, processes.decision_said(rules, store, case_id, who.by))
        return state
    except InputRefused as refusal:
        return record_refusal.fn(case_id, step, round_, str(data.get("by", "")), refusal.as_dict())


@step(name="record-refusal")
def record_refusal(case_id: str, step: str, round_: int, by: str, refusal: dict[str, str]) -> CaseState:
    """Put a refused answer on file (field, problem, fix): the re-opened form shows it first, and
    the run's log says it in words."""
    state = casework.refuse(runtime.store(), runtime.rules(), case_id, step, round_, by,
                            InputRefused(refusal["field"], refusal["problem"], refusal["fix"]))
    orchestration.log_to_run(state, f"{step} refused 拒收 ({by}) — {refusal['field']}: {refusal['problem']} "
                                    f"({refusal['fix']})")
    return state


@step(name="ask-deciders")
def ask_deciders(case_id: str, step: str, round_: int, what: str) -> int:
    """Tell the people who may decide ``step`` that it waits for them, when the case's owner may
    not (a plan for the supervisor's 批示): once per round, with the form's text and its link."""
    from kefu.escalation import requests
    from kefu.settings import get_settings

    store, rules = runtime.store(), runtime.rules()
    state = store.state(case_id)
    return requests.ask(store.engine, rules, state, step, round_, processes.to_ask(rules, state, step), what,
                        get_settings().dashboard_url)
