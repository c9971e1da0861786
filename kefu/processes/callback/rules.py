"""The callback process's rules (config/callback.yaml), validated like every other config file,
and the one question every proposal and booking asks: is this moment inside the customer's
quiet hours (PROCESSES.md P2 "避免在客户休息时打扰客户")?"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Iterator, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator

from kefu.core.calendar import BusinessCalendar
from kefu.core.config import Strict, known_zone
from kefu.core.policies import AllowanceField
from models.callback import CALL, Channel, Outcome
from models.case import PHONE_PATTERN

if TYPE_CHECKING:
    from kefu.core.rules import Rules

# The callback's one human step (models.callback.CALL): the agent calls and records the answer.
CALLBACK_STEPS = (CALL,)
# Outcomes that end the callback with the customer's answer (the others book another attempt).
ANSWERED = ("satisfied", "average", "unsatisfied")
TRIGGERS = ("complaint_closed", "service_completed", "key_customer", "occasion")


def _clock_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(0, 0) if (hours, minutes) == ("24", "00") else time(int(hours), int(minutes))


class QuietHours(Strict):
    # "HH:MM-HH:MM" in the customer's local time; a span whose end is before its start wraps
    # past midnight ("21:00-09:00").
    daily: list[Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")]]
    # Public holidays of this calendar (calendar.yaml) are quiet all day.
    holidays_of: str | None = None

    def spans(self) -> list[tuple[time, time]]:
        return [(_clock_time(s.split("-")[0]), _clock_time(s.split("-")[1])) for s in self.daily]


class Attempts(Strict):
    # A member's callback ends only as done, or unreachable after this many attempts (P2 100 %).
    member: int = Field(ge=1)
    other: int = Field(ge=1)
    # The next attempt after "unreachable" is proposed this long after the call.
    retry_after: AllowanceField


class Customer(Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    name: str = Field(min_length=1)
    phone: str = Field(pattern=PHONE_PATTERN)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    timezone: str | None = None
    member: bool = False
    key: bool = False  # a key / agreement customer (重点/协议客户)

    _tz = field_validator("timezone")(classmethod(lambda cls, v: v if v is None else known_zone(v)))


class Occasion(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    name: str
    name_en: str
    day: date
    # Who is called: members, key customers, or every customer in the archive.
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
    quiet_hours: QuietHours
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
    customers: list[Customer] = []
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
        ids = [c.id for c in self.customers]
        for i, customer_id in enumerate(ids):
            if customer_id in ids[:i]:
                raise ValueError(f"customers.{i}.id: {customer_id!r} appears twice; ids must be unique")
        return self

    def customer(self, customer_id: str) -> Customer | None:
        return next((c for c in self.customers if c.id == customer_id), None)

    def max_attempts(self, member: bool) -> int:
        return self.attempts.member if member else self.attempts.other


def callback_problems(rules: "Rules") -> Iterator[tuple[str, str, str]]:
    """Cross-file checks of callback.yaml: staff ids, calendar names, templates."""
    callback, staff = rules.callback, {s.id for s in rules.department.staff}
    calendars = list(rules.calendars.calendars)
    for agent in callback.skills:
        if agent not in staff:
            yield f"skills.{agent}", f"unknown staff id {agent!r}", "use an id from department.yaml staff"
    for key, name in (("quiet_hours.holidays_of", callback.quiet_hours.holidays_of),
                      ("agents_calendar", callback.agents_calendar)):
        if name is not None and name not in calendars:
            yield key, f"unknown calendar {name!r}", f"use one of {calendars} from calendar.yaml"
    for field, template in callback.templates.model_dump().items():
        if not (rules.directory / "templates" / template).is_file():
            yield (f"templates.{field}", f"template {template} not found",
                   f"create templates/{template} or name an existing template")


class QuietTime:
    """The customer's quiet hours in their own zone: daily spans and the public holidays."""

    def __init__(self, rules: QuietHours, holidays: BusinessCalendar | None) -> None:
        self.spans = rules.spans()
        self.holidays = holidays

    def _span_end(self, local: datetime) -> datetime | None:
        """The local end of the quiet span ``local`` lies in (None: not quiet)."""
        day, now = local.date(), local.time()
        if self.holidays is not None and self.holidays.is_holiday(day):
            return datetime.combine(day + timedelta(days=1), time(0, 0))
        for start, end in self.spans:
            wraps = end <= start
            if wraps and now >= start:
                return datetime.combine(day + timedelta(days=1), end)
            if (wraps and now < end) or (not wraps and start <= now < end):
                return datetime.combine(day, end)
        return None

    def is_quiet(self, at: datetime, zone: ZoneInfo) -> bool:
        return self._span_end(at.astimezone(zone)) is not None

    def next_waking_moment(self, at: datetime, zone: ZoneInfo) -> datetime:
        """``at`` itself if the customer may be called then, else the end of their quiet time."""
        for _ in range(400):  # a config that makes every moment quiet fails here, not in a loop
            end = self._span_end(at.astimezone(zone).replace(tzinfo=None))
            if end is None:
                return at
            # A wall time in a DST gap resolves forward; always move forward at least a minute.
            at = max(end.replace(tzinfo=zone).astimezone(at.tzinfo), at + timedelta(minutes=1))
        raise ValueError("callback.yaml quiet_hours leave no time to call; shorten quiet_hours.daily")
