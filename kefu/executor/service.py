"""What a person does, as one call: record it in the case, then make the flow run catch up.

The CLI, the demo's scripted people and the benchmark all act through these functions, so each
path a person can take is the same code. Each takes the verified caller
(:mod:`kefu.core.identity`): what is recorded is recorded for them.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session

from kefu import processes, runtime
from kefu.core import identity
from kefu.core.identity import Acting, Verified
from kefu.core.process import IntakeTarget
from kefu.executor import orchestration
from kefu.processes.complaint import decisions as complaints
from models.case import CaseState
from models.complaint import ContactRegistration


@contextmanager
def acting(caller: Verified, by: str | None = None, step: str | None = None) -> Iterator[Acting]:
    """What happens inside is recorded for ``caller`` (or for ``by``, if the rules make the caller
    their deputy at ``step``; refused otherwise)."""
    with identity.acting_as(identity.acting_for(runtime.rules(), caller, by, step)) as who:
        yield who


def open_contact(reg: ContactRegistration, caller: Verified) -> tuple[CaseState, str]:
    """Register a contact and start its flow run. The case is recorded even if Prefect is down."""
    with acting(caller, reg.by) as who:
        state = complaints.register_contact(runtime.store(), runtime.rules(), reg.model_copy(update={"by": who.by}))
    note = start(state)  # before the read: the state returned names the run it started
    return _as_recorded(state), note


def open_from_file(target: IntakeTarget, registration: Any, caller: Verified, imported: dict[str, Any],
                   also: Callable[[Session, CaseState], None]) -> tuple[CaseState, str]:
    """Open a live case from a file's row (``kefu intake … --as open``) for the verified caller and
    start its flow run: it keeps where it came from and commits its row's key with it."""
    with acting(caller) as who:
        state = target.opens(runtime.store(), runtime.rules(),  # type: ignore[misc]
                             registration.model_copy(update={"by": who.by}), imported, also)
    note = start(state)
    return _as_recorded(state), note


def open_customer(reg: Any, caller: Verified) -> tuple[CaseState, str]:
    """Register a new customer (P5) for the verified caller and start its run (it waits for the
    supervisor's assignment). The record is kept even if Prefect is down."""
    from kefu.processes.customer import decisions as customers

    with acting(caller, reg.by) as who:
        state = customers.register_customer(runtime.store(), runtime.rules(), reg.model_copy(update={"by": who.by}))
    note = start(state)
    return _as_recorded(state), note


def open_order(data: dict[str, Any], caller: Verified, by: str | None = None) -> tuple[CaseState, str]:
    """Take an order (P3) and start its flow run. The order is recorded even if Prefect is down."""
    from kefu.processes.order import decisions as orders

    with acting(caller, by) as who:
        state = orders.create(runtime.store(), runtime.rules(), data, who.by)
    note = start(state)
    return _as_recorded(state), note


def _as_recorded(state: CaseState) -> CaseState:
    """The case as recorded now, with the run a start or a wake linked. If the database went away
    after the decision was committed, the state the decision left: it is on record, so the command
    succeeded and must say so (a person told it failed types it again: a second complaint)."""
    try:
        return runtime.store().state(state.case_id)
    except (OperationalError, InterfaceError):
        return state


def _why(exc: Exception) -> str:
    """What Prefect did, in a phrase: a timeout or refused connection says so, a refusal says why."""
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return f"Prefect did not answer within {orchestration.CALL_SECONDS:g} s"
    if isinstance(exc, httpx.TransportError):
        return f"Prefect is not reachable: {exc.__class__.__name__}"
    return f"{exc.__class__.__name__}: {exc}"


def start(state: CaseState) -> str:
    """Start the case's flow run (once); the record stands even when Prefect is down, and says so."""
    if state.flow_run_id is not None:
        return "already running"
    try:
        orchestration.start_run(state)
        return "started"
    except Exception as exc:  # the executor catches up with `kefu case sync`
        return (f"not started ({_why(exc)}); the case is recorded and starts when Prefect is back (the runner's "
                f"watch starts it within a minute; `kefu up` if it is down)")


def decide(case_id: str, step: str, data: dict[str, Any], caller: Verified) -> tuple[CaseState, str]:
    """Record ``caller``'s decision at ``step`` (refused with :class:`InputRefused` if it breaks
    a rule; nothing is recorded then) and wake the case's flow run."""
    store, rules = runtime.store(), runtime.rules()
    case = store.state(case_id)
    with acting(caller, data.get("by"), step) as who:
        parsed = processes.parse_input(case, step, {**data, "by": who.by})
        state = processes.record_input(store, rules, case, step, parsed)
    try:
        note = orchestration.wake(state, step, parsed.model_dump(mode="json"))
    except Exception as exc:
        note = (f"not woken ({_why(exc)}); the decision is recorded and the case continues when Prefect is back "
                f"(the runner's watch resumes it within a minute; `kefu case sync {case_id}` at once)")
    state = _as_recorded(state)  # the run the wake started or restarted, if it did
    if not note.startswith("not woken"):
        try:
            orchestration.log_to_run(state, processes.decision_said(rules, store, case_id, who.by))
        except Exception:  # noqa: S110 — the run's log is a view; the decision is on record and in `case show`
            pass
    return state, note
