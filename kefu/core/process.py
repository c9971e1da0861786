"""What a process declares about itself, in one place (``kefu.processes.PROCESSES`` lists them).

The kernel, the sweep, the CLI, the dashboard's forms, the auditor's replay and the executor
know no process by name: they ask the list. A process declares its config section, the steps
that carry deadlines, its human steps (the form, who records it, the command that answers it),
the fixes for its fields, what its forms show, its replay checks and its Prefect deployments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from pydantic import BaseModel

from models.case import CaseState, RecordedEvent, StaffInput

if TYPE_CHECKING:
    from kefu.core.rules import Rules, StaffMember
    from kefu.core.store import CaseStore
    from kefu.core.verdicts import Context, Divergence

# Records a person's input at a human step (refused with InputRefused if it breaks a rule).
Recorder = Callable[["CaseStore", "Rules", str, Any], CaseState]
# What the dashboard shows above a wait's form: (rules, store, case, step, round) -> markdown.
FormDescription = Callable[["Rules", "CaseStore", CaseState, str, int], str]
# A replay check: the rules of the time, the case just before the event, the event -> a divergence or None.
Check = Callable[["Context", CaseState, RecordedEvent], "Divergence | None"]


@dataclass(frozen=True)
class Section:
    """A process's own config file, under ``rules.<name>`` once loaded, with the checks that need
    the other files (staff ids, calendars, templates): ``(key, problem, fix)`` for each problem."""

    name: str
    file: str
    model: type[BaseModel]
    check: Callable[["Rules"], Iterable[tuple[str, str, str]]] | None = None


@dataclass(frozen=True)
class HumanStep:
    """A wait for a person: the typed form, who records it, and the command that answers it
    (followed by the case id in messages that say what to do). The dashboard's form
    (``kefu.core.forms``) offers as ``by`` only the staff ``may_decide`` allows, and a picker for
    each field ``choices`` gives (field → value → label)."""

    name: str
    input: type[StaffInput]
    record: Recorder
    command: str
    may_decide: Callable[["Rules", CaseState, "StaffMember"], bool] | None = None
    choices: Callable[["Rules", CaseState], dict[str, dict[Any, str]]] | None = None

    def deciders(self, rules: "Rules", state: CaseState) -> list["StaffMember"] | None:
        """The staff who may decide this step of the case (None: the step does not restrict who)."""
        if self.may_decide is None:
            return None
        return [member for member in rules.department.staff if self.may_decide(rules, state, member)]


@dataclass(frozen=True)
class Deployment:
    """A Prefect deployment: ``flow`` is its entrypoint as prefect.yaml writes it
    (``flows/complaint.py:complaint``); a schedule makes it run by itself: ``schedule`` gives
    (cron, IANA zone) from the rules (a time of day is an "our choice" of config; None: not on
    a schedule under these rules), or every ``interval`` seconds. The runner (flows/serve.py) and prefect.yaml deploy the same."""

    name: str
    flow: str
    description: str
    tags: tuple[str, ...] = ()  # a process's deployments get its tag (kefu.processes.deployments)
    schedule: Callable[["Rules"], tuple[str, str] | None] | None = None
    interval: int | None = None

    def timed(self, rules: "Rules") -> tuple[str, str] | None:
        """(cron, zone) under ``rules``, or None."""
        return self.schedule(rules) if self.schedule else None

    @property
    def module(self) -> str:
        return self.flow.split(":")[0].removesuffix(".py").replace("/", ".")

    @property
    def function(self) -> str:
        return self.flow.split(":")[1]


@dataclass(frozen=True)
class IntakeTarget:
    """The rows of files a process takes in (``kefu intake <name> FILE --mapping M``): the config
    section whose ``intake:`` holds their field rules, and what a valid row becomes. ``archived``
    gives a historic row's case, closed as it ended in its source: ``(day, customer name, first
    events)`` for ``CaseStore.create_many`` (refused with InputRefused when the process's own rules
    say no). ``registration`` gives the form a live case opens with (``--as open``), and ``opens``
    records it: ``(store, rules, registration, where the row came from, also) -> case``. The first
    of ``modes`` is the default."""

    name: str
    section: Callable[["Rules"], BaseModel]
    case_id_prefix: Callable[["Rules"], str]
    archived: Callable[["Rules", dict[str, Any], dict[str, Any], str], tuple[str, str, list[Any]]] | None = None
    registration: Callable[["Rules", dict[str, Any]], BaseModel] | None = None
    opens: Callable[..., CaseState] | None = None
    modes: tuple[str, ...] = ("archive", "open")


@dataclass(frozen=True)
class Facts:
    """A process's own projection: a table with one row per case (``case_id`` its key, ``last_seq``
    the record it was made from) and the row a case's state makes. The store rewrites it in the
    same transaction as the events (``CaseStore(facts=…)``), so a report groups rows in SQL instead
    of replaying cases; a row missing or behind its case is made again when read
    (``kefu.core.facts.refresh``)."""

    table: type
    row: Callable[[CaseState], dict[str, Any]]


@dataclass(frozen=True)
class Process:
    name: str
    label: str                              # how people call it: "P1 complaint handling 投诉处理"
    tag: str                                # its deployments' tag beside "kefu": the PROCESSES.md number
    config: Section | None
    # Steps with an SLA deadline (sla.yaml must cover each, for every severity below).
    deadline_steps: tuple[str, ...]
    human_steps: tuple[HumanStep, ...]
    # The flow run that executes one case (the first deployment) and the process's scheduled ones.
    deployments: tuple[Deployment, ...]
    # The severities sla.yaml must cover (none: one policy per step serves every case), and what
    # the process calls them on its runs' tags (an order's is its urgency).
    severities: Callable[["Rules"], Sequence[str]] = lambda rules: ()
    severity_word: str = "severity"
    # Steps a case waits at for kefu itself, not a person (a complaint's reply, remedy, closing).
    automatic_steps: tuple[str, ...] = ()
    field_fixes: dict[str, str] = field(default_factory=dict)
    # Commands for steps that are not a form of their own (an order's chase reply window).
    commands: dict[str, str] = field(default_factory=dict)
    form_description: FormDescription | None = None
    replay_checks: tuple[tuple[str, Check], ...] = ()
    intake: IntakeTarget | None = None
    facts: Facts | None = None

    @property
    def deployment(self) -> str:
        """The deployment that runs one case, as Prefect names it (``flow/deployment``)."""
        return f"{self.name}/{self.deployments[0].name}"

    def step(self, name: str) -> HumanStep | None:
        return next((s for s in self.human_steps if s.name == name), None)
