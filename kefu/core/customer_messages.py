"""How a customer hears from us: on their own channel, never in their rest hours.

Every message to a customer (an acknowledgement, a reply, a plan notice, a tracking number, the
callback's notice) is recorded as a ``customer.notified`` event and, in the same transaction,
queued in the outbox on the customer's way of being reached (``config/customer_messages.yaml``:
e-mail, SMS through the department's gateway, chat through its webhook). The row is due at the
first moment outside the customer's quiet hours, in the customer's own time zone (seed 001
客服部流程 "一个避免": "避免在客户休息时打扰客户"); the outbox delivers it then, once.

The customer's zone is the one given at intake; else the zone of their phone number
(``phonenumbers`` knows the zones of a number); else the department's.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from kefu.core import clock
from kefu.core.calendar import BusinessCalendar
from kefu.core.config import Strict
from kefu.core.texts import string_template
from models.case import EventType

if TYPE_CHECKING:
    from sqlmodel import Session

    from kefu.core.rules import Rules
    from kefu.core.store import NewEvent

Way = Literal["email", "sms", "chat"]
WAYS: tuple[str, ...] = ("email", "sms", "chat")


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


class CustomerMessageRules(Strict):
    """config/customer_messages.yaml."""

    quiet_hours: QuietHours
    # The region of a phone number written without its country code (ISO 3166: CN, IT …).
    default_region: str = Field(pattern=r"^[A-Z]{2}$")
    # The ways a message may go, by the channel the customer came in on, first that has an
    # address wins; "default" for a channel not listed.
    ways: dict[str, list[Way]] = Field(min_length=1)
    # The subject of a customer e-mail (jinja2: case_id, purpose, department, department_en).
    email_subject: str = Field(min_length=1)
    # The JSON body sent to the SMS gateway and to the chat webhook (jinja2: to, text, key,
    # case_id, purpose; values are JSON-escaped with the ``tojson`` filter).
    sms_body: str = Field(min_length=2)
    chat_body: str = Field(min_length=2)

    @field_validator("ways")
    @classmethod
    def _default_way(cls, ways: dict[str, list[str]]) -> dict[str, list[str]]:
        if "default" not in ways:
            raise ValueError("ways needs a 'default' entry; add e.g. default: [email, sms]")
        empty = [channel for channel, listed in ways.items() if not listed]
        if empty:
            raise ValueError(f"ways.{empty[0]} lists no way; give at least one of {', '.join(WAYS)}")
        return ways


class QuietTime:
    """The customer's quiet hours in their own zone: daily spans and the public holidays."""

    def __init__(self, rules: QuietHours, holidays: BusinessCalendar | None) -> None:
        self.spans = rules.spans()
        self.holidays = holidays

    def in_daily_span(self, at: time) -> bool:
        """Whether a time of day lies in one of the daily quiet spans (holidays aside)."""
        return any((start <= at or at < end) if end <= start else start <= at < end for start, end in self.spans)

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
        """``at`` itself if the customer may be contacted then, else the end of their quiet time."""
        for _ in range(400):  # a config that makes every moment quiet fails here, not in a loop
            end = self._span_end(at.astimezone(zone).replace(tzinfo=None))
            if end is None:
                return at
            # A wall time in a DST gap resolves forward; always move forward at least a minute.
            at = max(end.replace(tzinfo=zone).astimezone(at.tzinfo), at + timedelta(minutes=1))
        raise ValueError("customer_messages.yaml quiet_hours leave no time to reach a customer; "
                         "shorten quiet_hours.daily")


def quiet_time(rules: Rules) -> QuietTime:
    """The quiet hours every customer contact keeps (messages and calls alike)."""
    quiet = rules.customer_messages.quiet_hours
    return QuietTime(quiet, rules.calendar(quiet.holidays_of) if quiet.holidays_of else None)


def zone_of_phone(rules: Rules, phone: str) -> ZoneInfo | None:
    """The time zone of a phone number, when its number plan has one (the department's own zone
    when the plan spans several and the department's is one of them)."""
    import phonenumbers
    from phonenumbers import timezone as number_zones

    try:
        number = phonenumbers.parse(phone, rules.customer_messages.default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    zones = [z for z in number_zones.time_zones_for_number(number) if z != number_zones.UNKNOWN_TIMEZONE]
    if not zones:
        return None
    department = rules.department.department.timezone
    return ZoneInfo(department if department in zones else zones[0])


def customer_zone(rules: Rules, contact: dict[str, Any]) -> ZoneInfo:
    """The customer's zone: given at intake, else their phone number's, else the department's."""
    return ZoneInfo(zone_on_record(rules, contact)["timezone"])


def zone_on_record(rules: Rules, contact: dict[str, Any]) -> dict[str, str]:
    """The customer's zone as the intake records it, with where it came from (given, phone,
    department): every later message and call keeps their rest hours in it."""
    if contact.get("timezone"):
        return {"timezone": contact["timezone"], "timezone_from": "given"}
    by_phone = zone_of_phone(rules, contact["phone"]) if contact.get("phone") else None
    if by_phone is not None:
        return {"timezone": by_phone.key, "timezone_from": "phone"}
    return {"timezone": rules.department.department.timezone, "timezone_from": "department"}


def route(rules: Rules, channel: str | None, contact: dict[str, Any]) -> tuple[str, str]:
    """(way, address) of a message to a customer who came in on ``channel``: the first way
    configured for that channel for which the customer gave an address."""
    ways = rules.customer_messages.ways
    for way in ways.get(channel or "", ways["default"]):
        address = contact.get("email") if way == "email" else contact.get("phone")
        if address:
            return way, address
    # Every case has a phone number (the register requires one): SMS reaches it.
    return "sms", contact["phone"]


def notice(rules: Rules, purpose: str, text: str, contact: dict[str, Any], key: str,
           round_: int | None = None) -> NewEvent:
    """The ``customer.notified`` event of one message to a customer: what it says, the way and
    address it goes by, and the earliest moment it may arrive (the end of the customer's quiet
    hours, in their zone), all on record before the message is queued. ``contact``: the channel
    they came in on, their phone, and their e-mail address and zone when known."""
    from kefu.core.store import NewEvent  # the store loads the rules, whose file this module models

    now = clock.now()
    way, address = route(rules, contact.get("channel"), contact)
    zone = customer_zone(rules, contact)
    deliver_at = quiet_time(rules).next_waking_moment(now, zone)
    payload: dict[str, Any] = {"purpose": purpose, "channel": contact.get("channel"), "to": contact.get("phone"),
                               "text": text, "way": way, "address": address, "zone": zone.key,
                               "deliver_at": deliver_at.isoformat()}
    if round_ is not None:
        payload["round"] = round_
    return NewEvent(EventType.CUSTOMER_NOTIFIED, "kefu", now, payload, idem_key=key)


def queue(session: Session, rules: Rules, case_id: str, event: NewEvent) -> bool:
    """Put the message of a ``customer.notified`` event in the outbox, in the transaction that
    records the event; due at its ``deliver_at``. False when it was queued before."""
    from html import escape

    from kefu.core import outbox

    p = event.payload
    if "way" not in p:  # recorded before customer messages were sent: on record, never sent
        return False
    department = rules.department.department
    subject = "" if p["way"] != "email" else string_template(rules.customer_messages.email_subject).render(
        case_id=case_id, purpose=p["purpose"], department=department.name, department_en=department.name_en)
    html = "<div style=\"white-space: pre-wrap\">" + escape(p["text"]) + "</div>"
    return outbox.put(session, key=f"customer:{case_id}:{event.idem_key}", channel=p["way"], to=[p["address"]],
                      subject=subject, text=p["text"], html=html, due_at=datetime.fromisoformat(p["deliver_at"]))
