"""Complaints taken in from files (``kefu intake complaints``): a historic complaint becomes a
closed archive case (建立投诉归档资料, seed 002 §4 (7)), and a row of another channel's export a
live one through the normal intake (``register_contact``)."""

from __future__ import annotations

from typing import Any

from kefu.core.refusals import InputRefused
from kefu.core.rules import Rules
from kefu.core.store import NewEvent
from models.case import EventType
from models.complaint import ARCHIVED_OUTCOME, PROCESS, ComplaintEvent, ContactRegistration


def archived_complaint(rules: Rules, record: dict[str, Any], origin: dict[str, Any],
                       actor: str) -> tuple[str, str, list[NewEvent]]:
    """A historic complaint as its case's first events: archived when it was received, closed
    when its source closed it (or at once). The day of its id is the day it was received."""
    received = record["received_at"]
    closed = record.get("closed_at") or received
    if closed < received:
        raise InputRefused("closed_at", f"is before received_at ({received.isoformat()})",
                           "check the two dates of the row (or map closed_at to another column)")
    payload = {name: value for name, value in record.items()
               if value is not None and name not in ("external_id", "received_at", "closed_at")}
    payload.update(process=PROCESS, kind="complaint", severity=record.get("severity") or rules.complaint.default_severity,
                   received_at=received.isoformat(), closed_at=closed.isoformat(), imported=origin)
    events = [NewEvent(ComplaintEvent.ARCHIVED, actor, received, payload),
              NewEvent(EventType.CLOSED, actor, closed, {"outcome": ARCHIVED_OUTCOME})]
    day = received.astimezone(rules.department.department.zone).strftime("%Y%m%d")
    return day, record["name"], events


def complaint_registration(rules: Rules, record: dict[str, Any]) -> ContactRegistration:
    """The Complaint Register of a row that opens a live case (its kind is a complaint; its
    severity as the file gives it, or classified like any contact)."""
    return ContactRegistration(
        name=record["name"], phone=record.get("phone") or "", email=record.get("email"), channel=record["channel"],
        content=record["content"], category=record.get("category"), received_at=record["received_at"],
        kind="complaint", severity=record.get("severity"),
    )
