"""The callback process's steps as Prefect tasks; each records through its decisions
(``kefu.processes.callback.decisions``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from kefu import runtime
from kefu.executor import orchestration
from kefu.processes.callback import decisions as callbacks
from models.case import CaseState
from tasks import step


@step(name="open-callback-for-complaint")
def open_callback_for_complaint(complaint_id: str) -> CaseState:
    """Open the callback a closed complaint asked for (one per complaint) and start its run."""
    state = callbacks.open_for_complaint(runtime.store(), runtime.rules(), complaint_id)
    if state.flow_run_id is None:
        orchestration.start_run(state)
    return state


@step(name="announce-call")
def announce_call(case_id: str) -> CaseState:
    """Tell the customer by SMS when we will call, so the call is expected, not a disturbance."""
    return callbacks.announce_call(runtime.store(), runtime.rules(), case_id)


@step(name="open-follow-up-complaint")
def open_follow_up_complaint(case_id: str) -> str | None:
    """Unsatisfied: open a complaint linked to the original case and start its run."""
    store = runtime.store()
    follow_up = callbacks.open_follow_up(store, runtime.rules(), case_id)
    if follow_up is not None and store.state(follow_up).flow_run_id is None:
        orchestration.start_run(store.state(follow_up))
    return follow_up


@step(name="write-callback-report")
def write_callback_report(first: date, last: date, out: str) -> dict[str, str]:
    """《回访总结报告》 for the period: XLSX and Markdown files; returns their paths and the text."""
    from kefu.processes.callback import report as callback_report

    rules = runtime.rules()
    summary = callback_report.summarize(runtime.store(), rules, first, last)
    files = callback_report.write(rules, summary, Path(out))
    return {"text": callback_report.markdown(rules, summary), **{k: str(v) for k, v in files.items()}}


@step(name="select-due-customers")
def select_due_customers(day: date) -> list[str]:
    """Pick key customers (every two months) and occasion audiences from the archive; start their runs."""
    opened = callbacks.select_due_customers(runtime.store(), runtime.rules(), day)
    for state in opened:
        if state.flow_run_id is None:
            orchestration.start_run(state)
    return [state.case_id for state in opened]
