"""What a person does, as one call: record it in the case, then make the flow run catch up.

The CLI, the demo's scripted people and the benchmark all act through these two functions,
so each path a person can take is the same code.
"""

from __future__ import annotations

from typing import Any

from kefu import processes, runtime
from kefu.executor import orchestration
from kefu.processes.complaint import decisions as complaints
from models.case import CaseState
from models.complaint import ContactRegistration


def open_contact(reg: ContactRegistration) -> tuple[CaseState, str]:
    """Register a contact and start its flow run. The case is recorded even if Prefect is down."""
    state = complaints.register_contact(runtime.store(), runtime.rules(), reg)
    note = start(state)  # before the read: the state returned names the run it started
    return runtime.store().state(state.case_id), note


def open_order(data: dict[str, Any], by: str) -> tuple[CaseState, str]:
    """Take an order (P3) and start its flow run. The order is recorded even if Prefect is down."""
    from kefu.processes.order import decisions as orders

    state = orders.create(runtime.store(), runtime.rules(), data, by)
    note = start(state)
    return runtime.store().state(state.case_id), note


def start(state: CaseState) -> str:
    """Start the case's flow run (once); the record stands even when Prefect is down, and says so."""
    if state.flow_run_id is not None:
        return "already running"
    try:
        orchestration.start_run(state)
        return "started"
    except Exception as exc:  # the executor catches up with `kefu case sync`
        return f"not started ({exc.__class__.__name__}: {exc}); run `kefu up`, then `kefu case sync`"


def decide(case_id: str, step: str, data: dict[str, Any]) -> tuple[CaseState, str]:
    """Record a person's decision at ``step`` (refused with :class:`InputRefused` if it breaks
    a rule; nothing is recorded then) and wake the case's flow run."""
    store, rules = runtime.store(), runtime.rules()
    case = store.state(case_id)
    parsed = processes.parse_input(case, step, data)
    state = processes.record_input(store, rules, case, step, parsed)
    try:
        note = orchestration.wake(state, step, parsed.model_dump(mode="json"))
    except Exception as exc:
        note = f"not woken ({exc.__class__.__name__}: {exc}); run `kefu case sync {case_id}`"
    return store.state(case_id), note
