"""The one list of kefu's processes (PROCESSES.md P1–P9), and the questions everyone asks it.

Each process lives in its own folder here (decisions, rules, replay checks, reports; no
Prefect) and declares itself once (``kefu.core.process.Process``). The config loader, the
human steps of the CLI and the dashboard, the sweep's digests, the auditor's replay and the
runner ask this list; nothing registers itself by being imported. A new process is one line
below (docs/adding-a-process.md).
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from kefu.core.forms import Form, form_for
from kefu.core.process import Check, Deployment, Facts, HumanStep, IntakeTarget, Process
from kefu.core.refusals import FIELD_FIXES, InputRefused, refusal_from_validation
from kefu.core.rules import Rules, StaffMember
from kefu.core.rules import load_rules as _load_rules
from kefu.core.store import CaseStore
from kefu.escalation import requests
from kefu.processes.callback import CALLBACK
from kefu.processes.complaint import COMPLAINT, CONTACT
from kefu.processes.customer import CUSTOMER
from kefu.processes.order import ORDER
from kefu.processes.report import REPORT
from models.case import CaseState, StaffInput

PROCESSES: tuple[Process, ...] = (COMPLAINT, CONTACT, CALLBACK, ORDER, CUSTOMER, REPORT)

_BY_NAME = {p.name: p for p in PROCESSES}


def of(name: str) -> Process:
    """The process called ``name`` (a case's ``process``)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise LookupError(f"no process {name!r}; kefu runs {', '.join(_BY_NAME)}") from None


def intake_target(name: str) -> IntakeTarget:
    """The process that takes in files of ``name`` rows (``kefu intake <name>``)."""
    targets = {p.intake.name: p.intake for p in PROCESSES if p.intake is not None}
    try:
        return targets[name]
    except KeyError:
        raise LookupError(f"kefu takes in no {name!r} files; it takes in {', '.join(targets)}") from None


def facts() -> dict[str, Facts]:
    """The processes' own projections, by process (the store keeps them with every append)."""
    return {p.name: p.facts for p in PROCESSES if p.facts is not None}


def load_rules(directory: Path) -> Rules:
    """The config folder read and validated with every process's section."""
    return _load_rules(directory, PROCESSES)


# -- human steps ----------------------------------------------------------------------------------

def step_names() -> list[str]:
    """Every step a case of any process can be at, a person's or kefu's (``kefu case list --step``)."""
    return list(dict.fromkeys(str(name) for p in PROCESSES
                              for name in (*(s.name for s in p.human_steps), *p.automatic_steps)))


def human_step(state: CaseState, step: str) -> HumanStep:
    """The form at ``step`` of the case's process; refused, naming the case's next action, if it has none."""
    found = of(state.process).step(step)
    if found is None:
        waiting = command_for(state.process, state.step)
        raise InputRefused("step", f"{state.case_id} is a {state.process} case: it has no step {step!r}",
                           f"the next action is `{waiting} {state.case_id}`" if waiting
                           else f"see `kefu case show {state.case_id}`")
    return found


def form(rules: Rules, state: CaseState, step: str) -> Form:
    """The dashboard's form at ``step`` of the case (pickers from config, a PIN field)."""
    return form_for(rules, state, human_step(state, step))


def deciders(rules: Rules, state: CaseState, step: str) -> list[StaffMember] | None:
    """The staff who may decide ``step`` of the case (None: the step does not restrict who)."""
    return human_step(state, step).deciders(rules, state)


def to_ask(rules: Rules, state: CaseState, step: str) -> list[StaffMember]:
    """Who to tell that ``step`` of the case waits for them: nobody when its owner may decide it
    (kefu.escalation.requests.who_to_ask)."""
    return requests.who_to_ask(rules, state, deciders(rules, state, step) or [])


def in_words(rules: Rules, event_type: str, payload: dict) -> str:
    """An event in words, zh-CN first ("判定 judged: 投诉成立 upheld → 维修部 Repair（送错）"), for the
    run's log and ``kefu case show``; "" for an event that says nothing a person reads."""
    from kefu.core.texts import render_file

    answers = getattr(rules.sections.get("complaint"), "answers", None)
    labels = getattr(rules.sections.get("callback"), "labels", None)
    return render_file(
        rules, "forms/said.txt.j2", t=event_type, p=payload,
        departments=rules.department_labels(),
        answers=answers.model_dump() if answers else {"upheld": {True: "upheld", False: "not upheld"},
                                                      "accepted": {True: "accepted", False: "rejected"}},
        outcomes=labels.outcomes if labels else {},
    )


def decision_said(rules: Rules, store: CaseStore, case_id: str, by: str) -> str:
    """``by``'s latest decision on the case in words, with how they were verified (the run's log
    line): "li.na 判定 judged: 投诉成立 upheld → 维修部 Repair（送错）[cli-token]"."""
    decided = next((e for e in reversed(store.events(case_id)) if e.actor == by), None)
    if decided is None:
        return f"{by}: (nothing on record)"
    method = (decided.payload.get("verified") or {}).get("method", "unverified")
    return f"{by} {in_words(rules, decided.type, decided.payload) or decided.type} [{method}]"


def command_for(process: str, step: str | None) -> str | None:
    """The command that answers ``step`` (followed by the case id), or None (kefu itself is working)."""
    if process not in _BY_NAME or step is None:
        return None
    found = of(process).step(step)
    return found.command if found else of(process).commands.get(step)


def parse_input(state: CaseState, step: str, data: dict) -> StaffInput:
    """Shape-check a person's input at ``step`` of the case (the CLI's and the dashboard's) into
    the step's typed form."""
    form = human_step(state, step).input
    try:
        return form.model_validate(data)
    except ValidationError as exc:
        raise refusal_from_validation(exc, of(state.process).field_fixes or FIELD_FIXES) from None


def record_input(store: CaseStore, rules: Rules, state: CaseState, step: str, data: StaffInput) -> CaseState:
    """Record a person's answer at ``step`` of the case, if the rules allow it; else :class:`InputRefused`."""
    return human_step(state, step).record(store, rules, state.case_id, data)


# -- the auditor and the executor --------------------------------------------------------------------

@lru_cache(maxsize=1)
def replay_checks() -> dict[str, list[tuple[str, Check]]]:
    """Every process's replay checks, by the event type they judge: ``[(process, check)]``."""
    checks: dict[str, list[tuple[str, Check]]] = {}
    for process in PROCESSES:
        for event_type, check in process.replay_checks:
            checks.setdefault(str(event_type), []).append((process.name, check))
    return checks


def deployments() -> list[tuple[Process, Deployment]]:
    """Every process's Prefect deployments (the case's own first), tagged with the process's number (a run on a
    kefu's server is kefu's: kefu.executor.ownership; the dashboard shows a run's first seven tags)."""
    return [(process, replace(deployment, tags=(process.tag,)))
            for process in PROCESSES for deployment in process.deployments]
