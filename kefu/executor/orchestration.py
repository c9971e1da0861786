"""kefu's side of Prefect: start a case's flow run, and wake it when a person has answered.

The case record is the truth; these functions only make the executor catch up with it.
They are safe to call at any moment: a run that is gone is replaced, a run that is busy is
waited for, a run already past the step is left alone.
"""

from __future__ import annotations

import os
import time
from typing import Any

from kefu import processes, runtime
from kefu.core import casework
from kefu.executor import ownership, prefect_api
from kefu.executor.prefect_api import NotFound, PrefectApi
from models.case import CaseState

_deployment_ids: dict[str, Any] = {}
CALL_SECONDS = prefect_api.CALL_SECONDS


def _client() -> PrefectApi:
    """Prefect's API for one command: each call answered within CALL_SECONDS, not retried."""
    return PrefectApi()


_owner_checked_in: int | None = None  # the process that made sure the server is this kefu's


def _ours(client: PrefectApi) -> None:
    """Refuse to start or wake runs on a Prefect server another kefu holds (once per process)."""
    global _owner_checked_in
    if _owner_checked_in != os.getpid():
        ownership.claim(client)
        _owner_checked_in = os.getpid()


def unreachable() -> str | None:
    """None when the Prefect API answers; else what is wrong, in words for a refusal."""
    try:
        with _client() as client:
            problem = client.healthy()
    except Exception as exc:  # the client could not even be made or used
        problem = exc
    if problem is None:
        return None
    return f"Prefect is not reachable at {prefect_api.api_url()} ({type(problem).__name__})"


def deployment_id(client: PrefectApi, name: str) -> str:
    """The id of deployment ``name`` (``flow/deployment``), asked of Prefect once per process."""
    if name not in _deployment_ids:
        _deployment_ids[name] = client.deployment_id(name)
    return _deployment_ids[name]


def start_run(case: CaseState, attempt: int = 0) -> str:
    """Create the case's flow run: named after the case, tagged ``case:<id>``."""
    with _client() as client:
        _ours(client)
        run = client.create_flow_run(
            deployment_id(client, processes.of(case.process).deployment), parameters={"case_id": case.case_id},
            name=f"{case.case_id} {case.intake.get('name', '')}".strip(),
            tags=[f"case:{case.case_id}", f"kind:{case.kind}"]
            + ([f"{processes.of(case.process).severity_word}:{case.severity}"] if case.severity else [])
            + ([f"owner:{case.owner}"] if case.owner else []),
            idempotency_key=f"{case.case_id}:{attempt}",
        )
    casework.link_flow_run(runtime.store(), runtime.rules(), case.case_id, str(run.id))
    return str(run.id)


def log_to_run(case: CaseState, line: str) -> None:
    """A line in the case's run log (a decision in words, a refusal), written through the API at
    INFO whatever the runner's log level, so the run tells the whole story wherever the decision
    was made (the CLI or the form)."""
    if case.flow_run_id is None:
        return
    with _client() as client:
        client.log(case.flow_run_id, line)


def wake(case: CaseState, step: str, data: dict[str, Any], wait_seconds: float = 20.0) -> str:
    """After the CLI recorded ``step``, move the case's run on. Returns what was done."""
    if case.flow_run_id is None:
        start_run(case)
        return "started"
    deadline = time.monotonic() + wait_seconds
    with _client() as client:
        _ours(client)
        while True:
            try:
                run = client.read_flow_run(case.flow_run_id)
            except NotFound:
                start_run(case, attempt=_attempt(case))
                return "restarted (the old run is gone)"
            state = run.state
            if state is not None and state.is_paused():
                key = state.pause_key or ""
                if not key.startswith(f"{step}-"):
                    return "already moving on"
                # The form asks for a PIN and shows labels; the decision is on record already.
                answer = processes.form(runtime.rules(), case, step).answer(data)
                result = client.resume(run.id, answer)
                if result.accepted:
                    return "resumed"
                # Prefect marks a run Suspended before it saves the form's schema: a resume in
                # between is rejected ("Run input schema not found"). Ask again until it sticks.
                reason = result.reason
                if time.monotonic() > deadline:
                    if _FORM_NEVER_SAVED in reason:
                        return _replace(client, run, case)
                    return f"not woken (Prefect said: {reason}); run `kefu case sync {case.case_id}`"
                time.sleep(0.25)
                continue
            if state is None or state.is_final():
                return _rerun(client, run, case, "its run had ended")
            if time.monotonic() > deadline:
                # Still running towards this step: it will read the record when it gets there.
                return f"running ({state.type.lower()})"
            time.sleep(0.25)


def _attempt(case: CaseState) -> int:
    return case.flow_runs_linked


def catch_up(case: CaseState) -> str:
    """Bring the case's run in line with its record (after Prefect was down, or a run was lost)."""
    if case.flow_run_id is None:
        if case.status == "closed":
            return "closed (no run needed)"
        start_run(case)
        return "started"
    with _client() as client:
        _ours(client)
        try:
            run = client.read_flow_run(case.flow_run_id)
        except NotFound:
            run = None
        if run is None or run.state is None or run.state.is_final():
            if case.status == "closed":
                return "closed"
            if run is None:
                start_run(case, attempt=_attempt(case))
                return "restarted (the old run is gone)"
            return _rerun(client, run, case, "its run had ended")
        if run.state.is_paused():
            step, round_ = _waiting_at(run.state.pause_key or "")
            decision = case.decision(step, round_)
            if decision is not None:
                data = {k: v for k, v in decision.items() if k not in ("round", "at")}
                # The form asks for a PIN and shows labels; the decision is on record already.
                answer = processes.form(runtime.rules(), case, step).answer(data)
                result = client.resume(run.id, answer)
                if not result.accepted and _FORM_NEVER_SAVED in result.reason:
                    return _replace(client, run, case)
                return f"resumed past {step}"
            return f"waiting at {step}"
        return run.state.type.lower()


# How often one run of a case is run again by reconcile() before it is left for a person: a flow
# that fails on every attempt (a bug, a rule it cannot meet) must not loop a minute at a time.
RERUNS = 3
# What a rerun's Scheduled state says: how reconcile() counts the reruns of a run. Not the run's
# run_count, which every resume of a human step raises (a complaint at review has run 6 times).
_RERUN = "kefu runs the case again"


def _reruns(client: PrefectApi, run: prefect_api.FlowRun) -> int:
    """How often kefu has already run ``run`` again."""
    return sum(1 for state in client.read_states(run.id) if state.message.startswith(_RERUN))


def reconcile(client: PrefectApi, limit: int = 1000) -> dict[str, str]:
    """Every open case whose run crashed, failed, was cancelled or is gone runs again, with no
    operator: what a Prefect server that died mid-flight leaves behind after `kefu up`'s start-up
    catch-up has passed (issue 18). One Prefect query for the lot; returns what was done per case.
    A run still going, suspended or completed is left alone (a completed run of an open case is
    not rerun in a loop: `kefu case sync` is for a person who looked at it)."""
    store = runtime.store()
    cases = store.cases(status="open", limit=limit)
    done: dict[str, str] = {}
    _ours(client)
    linked = [c.flow_run_id for c in cases if c.flow_run_id]
    runs = {r.id: r for r in client.read_flow_runs(linked)}
    for case in cases:
        run = runs.get(case.flow_run_id or "")
        if case.flow_run_id and run is not None:
            state = run.state
            if state is not None and state.is_paused() and _decided(case, state):
                done[case.id] = catch_up(store.state(case.id))  # its resume never reached Prefect
                continue
            if state is None or not state.is_final() or state.is_completed():
                continue
            reruns = _reruns(client, run)
            if reruns >= RERUNS:
                done[case.id] = f"left for a person: its run ended {state.name} after {reruns} reruns"
                continue
        done[case.id] = catch_up(store.state(case.id))
    return done


# Prefect's answer to a resume of a run whose form (input schema) is not saved. A suspending run
# saves the schema after it is marked Suspended; if that write fails (a busy Prefect database:
# "database is locked" on SQLite) the process has already ended, and the run can never be resumed.
_FORM_NEVER_SAVED = "schema not found"


def _replace(client: PrefectApi, run: prefect_api.FlowRun, case: CaseState) -> str:
    """A run that can never be resumed ends (Cancelled) and runs again: the record holds every
    decision, so the run goes straight to where the case stands."""
    client.cancel(run.id, "its form was never saved, so it could not resume")
    return _rerun(client, run, case, "the waiting run's form was never saved")


def _rerun(client: PrefectApi, run: prefect_api.FlowRun, case: CaseState, why: str) -> str:
    """Run the case's own flow run again from its start: one run per case on the ops board, however
    often it crashed. Leaving a final state for Scheduled (proposed, not forced, so Prefect's rules
    apply) clears the run's pause keys, so it waits again under the same keys; the record says
    what is done. Only if Prefect refuses does the case go on in a new run."""
    # Its forms of the last attempt go: waiting again saves the same keys' schemas afresh.
    while stale := client.forms(run.id):
        for key in stale:
            client.delete_form(run.id, key)
    result = client.schedule_again(run.id, f"{_RERUN}: {why}")
    if result.accepted:
        return f"rerun ({why})"
    start_run(case, attempt=_attempt(case))
    return f"restarted in a new run ({why}; Prefect said: {result.reason})"


def _decided(case: Any, state: prefect_api.RunState) -> bool:
    """Whether the record has moved past the step a suspended run waits at: its decision was
    recorded, but the resume never reached Prefect (it was down). Read from the case's row, not
    its events, so that a minute's check of every open case stays one query; a new round of the
    same step (a callback rebooked) is caught by `kefu case sync` or the next `kefu up`."""
    key = state.pause_key
    if not key or key.count("-") < 2 or case.step is None:
        return False
    return _waiting_at(key)[0] != case.step


def _waiting_at(pause_key: str) -> tuple[str, int]:
    step, round_, _refusals = pause_key.rsplit("-", 2)
    return step, int(round_)
