"""Bad input a person can fix: the field, the problem and the fix, never a traceback."""

from __future__ import annotations

from datetime import datetime
from typing import Mapping

from pydantic import ValidationError

# The fixes for fields every process has; each process declares the fixes of its own fields.
FIELD_FIXES = {
    "by": "give your staff id (see `kefu staff`)",
    "phone": "give the customer's phone number in digits, e.g. 13812345678 or +86 138 1234 5678",
    "email": "give the customer's e-mail address as name@host.domain, or leave it out",
    "timezone": "give an IANA time zone such as Asia/Shanghai or Europe/Rome, or leave it out (the phone number's zone is used)",
}


class InputRefused(Exception):
    """Bad input a person can fix; nothing was recorded. Names the field and the fix."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field, self.problem, self.fix = field, problem, fix
        super().__init__(f"{field}: {problem} — {fix}")

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "problem": self.problem, "fix": self.fix}


class TimeRunsBackwards(InputRefused):
    """An event earlier than the case's last one: a case's record never runs backwards."""

    def __init__(self, case_id: str, event: str, at: datetime, last_at: datetime) -> None:
        super().__init__("at", f"{case_id}'s last event is at {last_at.isoformat()}; this {event} would be at "
                               f"{at.isoformat()}, earlier: a case's time never runs backwards",
                         "the business clock is behind the case's record: check KEFU_NOW and the machine's clock")


def refusal_from_validation(exc: ValidationError, fixes: Mapping[str, str] = FIELD_FIXES) -> InputRefused:
    """The first problem of a shape check, with the fix for its field (``fixes``)."""
    error = exc.errors()[0]
    message = error["msg"].removeprefix("Value error, ")
    field = ".".join(str(p) for p in error["loc"])
    if ": " in message and not field:
        field, message = message.split(": ", 1)
    field = field or "input"
    return InputRefused(field, message, fixes.get(field.split(".")[0], "correct this value and try again"))


def unknown_staff(staff_id: str) -> InputRefused:
    return InputRefused("by", f"unknown staff id {staff_id!r}", "use an id from `kefu staff`")
