"""The callback process's rules (config/callback.yaml), validated like every other config file,
and their cross-file checks. The customer's quiet hours every call keeps are every customer contact's
(config/customer_messages.yaml, kefu.core.customer_messages)."""

from __future__ import annotations

from datetime import date, time
from typing import TYPE_CHECKING, Iterator, Literal, get_args

from pydantic import Field, field_validator, model_validator

from kefu.core.config import Strict, known_zone
from kefu.core.policies import AllowanceField
from kefu.core.texts import template_problems
from models.callback import CALL, Channel, Outcome

if TYPE_CHECKING:
    from kefu.core.rules import Rules

# The callback's one human step (models.callback.CALL): the agent calls and records the answer.
CALLBACK_STEPS = (CALL,)
# Outcomes that end the callback with the customer's answer (the others book another attempt).
ANSWERED = ("satisfied", "average", "unsatisfied")
TRIGGERS = ("complaint_closed", "service_completed", "key_customer", "occasion")


class Attempts(Strict):
    # A member's callback ends only as done, or unreachable after this many attempts (P2 100 %).
    member: int = Field(ge=1)
    other: int = Field(ge=1)
    # The next attempt after "unreachable" is proposed this long after the call.
    retry_after: AllowanceField


class Occasion(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    name: str
    name_en: str
    day: date
    # Who is called: members, key customers, or every customer in the archive (kefu customer list).
    audience: Literal["members", "key", "all"]
    # The callbacks open this many days before the occasion.
    days_before: int = Field(default=0, ge=0, le=60)


class Templates(Strict):
    script: str
    improvement_question: str
    message: str
    summary: str
    subject: str
    follow_up: str
    form: str


class Labels(Strict):
    outcomes: dict[str, str]
    channels: dict[str, str]

    @model_validator(mode="after")
    def _every_answer_named(self) -> "Labels":
        for key, given, needed in (("outcomes", self.outcomes, get_args(Outcome)),
                                   ("channels", self.channels, get_args(Channel))):
            missing = [n for n in needed if n not in given]
            if missing or set(given) - set(needed):
                raise ValueError(f"labels.{key}: give a label for exactly {list(needed)}"
                                 + (f"; missing {missing}" if missing else f"; unknown {sorted(set(given) - set(needed))}"))
        return self


class CallbackRules(Strict):
    case_id_prefix: str = Field(pattern=r"^[A-Z]{1,4}$")
    default_timezone: str
    # The first call is proposed this long after the trigger (then moved out of quiet hours).
    propose_after: AllowanceField
    # Prefer a time inside the agents' working hours (this calendar) when the customer's
    # waking hours allow one within `search_days`; the customer's rest always wins.
    agents_calendar: str | None = None
    search_days: int = Field(default=7, ge=1, le=60)
    attempts: Attempts
    channels: list[Literal["phone", "email", "sms"]] = Field(min_length=1)
    # Optional: a trigger that needs a skill goes to agents who have it.
    trigger_skills: dict[str, str] = {}
    skills: dict[str, list[str]] = {}
    key_customers_every_months: int = Field(ge=1, le=12)
    # The daily selection of key customers and occasions, "HH:MM" in the department's zone.
    selection_at: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    occasions: list[Occasion] = []
    # Improvement notes are grouped into themes by these words for the summary report.
    improvement_themes: dict[str, list[str]] = {}
    top_themes: int = Field(default=5, ge=1)
    templates: Templates
    # What the call form's pickers show for each outcome and channel (every one needs a label;
    # rules on record from before the pickers have none).
    labels: Labels | None = None

    _tz = field_validator("default_timezone")(classmethod(lambda cls, v: known_zone(v)))

    @model_validator(mode="after")
    def _consistent(self) -> "CallbackRules":
        for trigger, skill in self.trigger_skills.items():
            if trigger not in TRIGGERS:
                raise ValueError(f"trigger_skills.{trigger}: unknown trigger; use one of {list(TRIGGERS)}")
            if not any(skill in held for held in self.skills.values()):
                raise ValueError(f"trigger_skills.{trigger}: no agent has skill {skill!r}; add it under skills")
        return self

    def max_attempts(self, member: bool) -> int:
        return self.attempts.member if member else self.attempts.other


def selection_schedule(rules: "Rules") -> tuple[str, str]:
    """(cron, zone) of the daily selection: callback.yaml selection_at in the department's zone."""
    hours, minutes = rules.callback.selection_at.split(":")
    return f"{int(minutes)} {int(hours)} * * *", rules.department.department.timezone


def callback_problems(rules: "Rules") -> Iterator[tuple[str, str, str]]:
    """Cross-file checks of callback.yaml: staff ids, calendar names, templates."""
    callback, staff = rules.callback, {s.id for s in rules.department.staff}
    calendars = list(rules.calendars.calendars)
    for agent in callback.skills:
        if agent not in staff:
            yield f"skills.{agent}", f"unknown staff id {agent!r}", "use an id from department.yaml staff"
    from kefu.core.customer_messages import quiet_time

    hours, minutes = (int(x) for x in callback.selection_at.split(":"))
    if quiet_time(rules).in_daily_span(time(hours, minutes)):
        yield ("selection_at", f"{callback.selection_at} lies in the customers' quiet hours "
               f"({', '.join(rules.customer_messages.quiet_hours.daily)} in customer_messages.yaml)",
               "pick a time when customers may be contacted, e.g. 09:30")
    if callback.agents_calendar is not None and callback.agents_calendar not in calendars:
        yield ("agents_calendar", f"unknown calendar {callback.agents_calendar!r}",
               f"use one of {calendars} from calendar.yaml")
    yield from template_problems(rules, callback.templates.model_dump().items())


